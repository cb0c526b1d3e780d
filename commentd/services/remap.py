"""Moving a blog: rewrite thread uris by rules, merging the threads that land on one uri.

A rules file holds one rule a line (``#`` starts a comment line; blank lines are ignored):

- ``strip-query``: drop the query string (``/2015/post/?utm=x`` is ``/2015/post/``);
- ``prefix OLD NEW``: a uri starting with ``OLD`` starts with ``NEW`` instead;
- ``regex PATTERN REPLACEMENT``: the first match of a Python regular expression is replaced
  (``\\1`` or ``\\g<name>`` name its groups);
- ``exact OLD NEW``: the uri ``OLD`` becomes ``NEW``.

Every rule rewrites what the rules above it made of the uri, top to bottom; a rule that does
not match leaves it as it is. Consecutive ``exact`` lines form one table, in which a uri is
looked up once (so ``exact /a/ /b/`` and ``exact /b/ /a/`` swap two pages). A ``.csv`` file is
such a table: two columns, old and new uri; a first row in which neither cell holds a ``/``
(``old,new``) is a header. In ``prefix`` and ``exact`` rules a full URL stands for its path
and query, as thread uris are stored.

Applying a plan moves each thread to its new uri in one write transaction. Threads that land
on one uri merge: the thread already there (and staying) survives, else the oldest of them;
it gets every comment of the others (with their replies, votes, reports and notification
choices, which hang on the comments), the oldest creation time, the first title there is, and
stays closed if any of them was locked; the emptied threads are deleted.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from peewee import fn

from commentd.errors import CommentdError, ValidationError
from commentd.services import audit, validation
from commentd.services.audit import Actor
from commentd.services.importers.records import uri_of
from commentd.storage.database import write_transaction
from commentd.storage.models import Comment, Thread

# Python's re has no time limit: a short pattern, applied to a uri of at most
# validation.MAX_URI characters, keeps a careless one from running for long.
MAX_PATTERN = 200
# What a moving thread is called for a moment, so that two threads can swap their uris: no
# thread has it, as a thread uri cannot hold control characters.
PARKED = "\x01remap {}"


def _invalid(where: str, line: int, problem: str) -> ValidationError:
    return ValidationError(f"{where} line {line}: {problem}", code="invalid_rules")


def _path_of(value: str) -> str:
    """A rule's uri: a full URL stands for its path and query."""
    return uri_of(value) if "://" in value else value


def _strip_query(uri: str) -> str:
    return uri.split("?", 1)[0]


@dataclass(frozen=True)
class _Prefix:
    old: str
    new: str

    def __call__(self, uri: str) -> str:
        return self.new + uri[len(self.old) :] if uri.startswith(self.old) else uri


@dataclass(frozen=True)
class _Regex:
    pattern: re.Pattern[str]
    replacement: str

    def __call__(self, uri: str) -> str:
        return self.pattern.sub(self.replacement, uri, count=1)


class _Table:
    """Exact uris: each found once, with the line that mapped it (for duplicates' errors)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.moves: dict[str, tuple[str, int]] = {}

    def add(self, line: int, old: str, new: str) -> None:
        old, new = _exact_uri(self.where, line, old), _exact_uri(self.where, line, new)
        before = self.moves.get(old)
        if before is not None and before[0] != new:
            raise _invalid(self.where, line, f"{old} is already mapped on line {before[1]}")
        self.moves[old] = (new, line)

    def __call__(self, uri: str) -> str:
        found = self.moves.get(uri)
        return found[0] if found else uri


def _exact_uri(where: str, line: int, value: str) -> str:
    try:
        return validation.uri(_path_of(value))
    except CommentdError as exc:
        raise _invalid(where, line, f"{value!r}: {exc.message}") from exc


def _regex(where: str, line: int, pattern: str, replacement: str) -> _Regex:
    if len(pattern) > MAX_PATTERN:
        raise _invalid(where, line, f"the pattern is longer than {MAX_PATTERN} characters")
    try:
        compiled = re.compile(pattern)
        compiled.sub(replacement, "", count=1)  # checks the replacement's group references
    except (re.error, IndexError) as exc:
        raise _invalid(where, line, f"bad regular expression: {exc}") from exc
    return _Regex(compiled, replacement)


USAGE = {
    "strip-query": "strip-query takes nothing after it",
    "prefix": "prefix takes OLD and NEW",
    "regex": "regex takes a PATTERN and a REPLACEMENT (without spaces in them)",
    "exact": "exact takes OLD and NEW",
}
KINDS = tuple(USAGE)


class Rules:
    """Rewrites applied in order, each to the result of the one before (see the module)."""

    def __init__(self, rules: Iterable[Callable[[str], str]]) -> None:
        self.rules = tuple(rules)

    @classmethod
    def parse(cls, source: str | Path) -> Rules:
        """Rules from a rules text, or from a file: a rules file, or a ``.csv`` table."""
        if isinstance(source, str):
            return cls._lines(source, "rules")
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError(f"Cannot read {path}: {exc}", code="invalid_rules") from exc
        if path.suffix.lower() == ".csv":
            return cls._csv(text, path.name)
        return cls._lines(text, path.name)

    @classmethod
    def _lines(cls, text: str, where: str) -> Rules:
        rules: list[Callable[[str], str]] = []
        table: _Table | None = None  # the table consecutive exact lines go to
        for number, line in enumerate(text.splitlines(), 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            kind, args = words[0], words[1:]
            if kind not in KINDS:
                raise _invalid(where, number, f"unknown rule {kind!r} (use {', '.join(KINDS)})")
            if len(args) != (0 if kind == "strip-query" else 2):
                raise _invalid(where, number, USAGE[kind])
            if kind == "exact":
                if table is None:
                    table = _Table(where)
                    rules.append(table)
                table.add(number, *args)
                continue
            table = None
            if kind == "strip-query":
                rules.append(_strip_query)
            elif kind == "prefix":
                rules.append(_Prefix(_path_of(args[0]), _path_of(args[1])))
            else:
                rules.append(_regex(where, number, *args))
        return cls._some(rules, where)

    @classmethod
    def _csv(cls, text: str, where: str) -> Rules:
        table = _Table(where)
        rows = csv.reader(io.StringIO(text))
        first = True
        try:
            for row in rows:
                cells = [cell.strip() for cell in row]
                if not any(cells):
                    continue
                if len(cells) != 2 or not all(cells):
                    raise _invalid(where, rows.line_num, "a row is two uris: old,new")
                header, first = first and not any("/" in cell for cell in cells), False
                if not header:
                    table.add(rows.line_num, *cells)
        except csv.Error as exc:
            raise _invalid(where, rows.line_num, f"not CSV: {exc}") from exc
        return cls._some([table] if table.moves else [], where)

    @classmethod
    def _some(cls, rules: list[Callable[[str], str]], where: str) -> Rules:
        if not rules:
            raise ValidationError(f"{where} holds no rules.", code="invalid_rules")
        return cls(rules)

    def apply(self, uri: str) -> str:
        """What the rules make of ``uri`` (``uri`` itself when none matches)."""
        for rule in self.rules:
            uri = rule(uri)
        return uri

    __call__ = apply


@dataclass(frozen=True)
class Move:
    """One thread the rules move: from ``old`` to ``new`` with its ``comments`` (every status);
    ``into`` is the uri the thread it merges into has before the move, when it merges."""

    old: str
    new: str
    comments: int
    into: str | None = None


@dataclass
class _Group:
    """The threads that end at one uri, and the one of them that survives."""

    new: str
    survivor: Thread
    members: list[Thread]

    @property
    def others(self) -> list[Thread]:
        return [t for t in self.members if t.id != self.survivor.id]


def _threads() -> dict[str, Thread]:
    return {thread.uri: thread for thread in Thread.select().order_by(Thread.id)}


def _checked(old: str, new: str) -> str:
    try:
        return validation.uri(new)
    except CommentdError as exc:
        raise ValidationError(
            f"The rules make {old!r} into {new!r}: {exc.message}", code="invalid_rules"
        ) from exc


def _groups(pairs: dict[str, str], threads: dict[str, Thread]) -> list[_Group]:
    """Where each moving thread lands, with the thread staying at that uri if there is one."""
    landing: dict[str, list[Thread]] = {}
    for old, new in pairs.items():
        landing.setdefault(new, []).append(threads[old])
    groups = []
    for new, moving in sorted(landing.items()):
        staying = threads.get(new) if new not in pairs else None
        members = sorted(moving, key=lambda t: (t.created, t.id))
        survivor = staying or members[0]
        groups.append(_Group(new, survivor, ([staying] if staying else []) + members))
    return groups


def _moves(groups: list[_Group]) -> list[Move]:
    counts = dict(
        Comment.select(Comment.thread, fn.COUNT(Comment.id)).group_by(Comment.thread).tuples()
    )
    return [
        Move(
            thread.uri,
            group.new,
            counts.get(thread.id, 0),
            None if thread.id == group.survivor.id else group.survivor.uri,
        )
        for group in groups
        for thread in group.members
        if thread.uri != group.new
    ]


def plan(rules: Callable[[str], str]) -> list[Move]:
    """Every thread ``rules`` move, grouped by new uri (the surviving thread first); reads
    only. A rule that makes an invalid uri refuses the whole plan."""
    threads = _threads()
    pairs = {}
    for uri in threads:
        new = _checked(uri, rules(uri))
        if new != uri:
            pairs[uri] = new
    return _moves(_groups(pairs, threads))


def apply(moves: Iterable[Move], actor: Actor) -> list[Move]:
    """Carry out a plan in one transaction, audited as ``actor``'s; returns what it moved (a
    thread of the plan that is gone by now is left out). Nothing moves twice: a second run of
    the same plan finds every thread at its new uri."""
    with write_transaction():
        threads = _threads()
        pairs = {m.old: _checked(m.old, m.new) for m in moves if m.old in threads}
        groups = _groups({old: new for old, new in pairs.items() if old != new}, threads)
        done = _moves(groups)
        if not done:
            return done
        for group in groups:
            _merge(group)
        targets = {g.new for g in groups}
        for group in groups:  # out of the way of a thread moving to its uri
            if group.survivor.uri != group.new and group.survivor.uri in targets:
                Thread.update(uri=PARKED.format(group.survivor.id)).where(
                    Thread.id == group.survivor.id
                ).execute()
        for group in groups:
            group.survivor.uri = group.new
            group.survivor.save()
        audit.record(
            actor,
            "remap",
            "thread",
            None,
            {
                "threads": len(done),
                "merged": sum(1 for m in done if m.into is not None),
                "comments": sum(m.comments for m in done),
                "moves": {m.old: m.new for m in done},
            },
        )
    return done


def _merge(group: _Group) -> None:
    """Give the survivor the others' comments and what it keeps of them; delete the others.
    Its version passes every member's, so no reader's cached page of any of them is kept."""
    survivor, others = group.survivor, group.others
    if others:
        ids = [t.id for t in others]
        Comment.update(thread=survivor.id).where(Comment.thread.in_(ids)).execute()
        Thread.delete().where(Thread.id.in_(ids)).execute()
    oldest = sorted(group.members, key=lambda t: (t.created, t.id))
    survivor.created = oldest[0].created
    survivor.title = survivor.title or next((t.title for t in oldest if t.title), None)
    survivor.locked = any(t.locked for t in group.members)
    survivor.version = max(t.version for t in group.members) + 1
