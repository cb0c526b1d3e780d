"""The local spam filter: a Robinson-Fisher (chi-square) classifier that learns from moderators.

A comment becomes a set of tokens (``features``): its words (NFKC, casefolded, Unicode-aware;
scripts written without spaces as character pairs), the domains it links to, a few shapes
(phone numbers, currency, shouting), the author's name words, the website's domain, and the
email's domain and the email itself. Tokens are stored as 64-bit
hashes only (``FilterToken``): the model holds counts, never text or addresses.

The model is the number of spam and ham comments each token was seen in, in the database, so
every process shares it. Training adds 1 per token with one atomic upsert per batch of
tokens (``count = count + n``: safe with any number of concurrent writers), in the caller's
transaction; ``comment.filter_label`` records the class a comment trained, so it trains once
and a re-labelled comment is first untrained from the old class.

``score_text`` follows Gary Robinson's method as SpamBayes uses it (``combine``): each token's
spam probability is shrunk towards 0.5 by how little it was seen, the 150 most telling tokens
are combined by Fisher's chi-square test in both directions, and the score is 0 (ham) .. 1
(spam).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from peewee import Case

from commentd.services import audit, metrics
from commentd.services.audit import Actor
from commentd.storage import writes
from commentd.storage.database import database_proxy, is_sqlite, write_transaction
from commentd.storage.models import TOTALS_TOKEN, Comment, FilterToken, Status

SPAM = "spam"
HAM = "ham"
LABELS = (SPAM, HAM)
LABEL_OF_STATUS = {Status.SPAM: SPAM, Status.APPROVED: HAM}

STRENGTH = 1.0  # Robinson's s: how much an unseen token's 0.5 weighs against its counts
UNKNOWN = 0.5  # Robinson's x
MIN_STRENGTH = 0.1  # tokens this close to 0.5 say nothing
MAX_CLUES = 150
CHUNK = 300  # rows per statement (3 parameters each, well under SQLite's limits)
MAX_WORD = 30
LEARNED_FIELDS = (
    Comment.id,
    Comment.status,
    Comment.text,
    Comment.author,
    Comment.website,
    Comment.email,
    Comment.filter_label,
)

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]+")
# A bare host name (example.com) is a dotted run of labels whose last one is a usual
# top-level domain. Found with a pattern that has nothing after its repetition, so it never
# backtracks (a pattern such as labels-then-".com" takes quadratic time on "a.a.a.a...").
_BARE_HOST = re.compile(r"(?<![\w@.-])[a-z0-9-]+(?:\.[a-z0-9-]+)+")
BARE_TLDS = frozenset(
    {
        *("com", "net", "org", "info", "biz", "io", "ru", "cn", "xyz", "top", "online"),
        *("site", "shop", "club", "vip", "pro", "me", "co", "us", "uk", "de", "fr", "in"),
    }
)
_WORD = re.compile(r"[^\W_]+(?:['\u2019.-][^\W_]+)*")
_NO_SPACES = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d ().-]{7,}\d(?!\w)")
_MONEY = re.compile(r"[$€£¥₹₽₿]|\b(?:usd|eur|btc|usdt|eth)\b", re.IGNORECASE)
_SHOUT = re.compile(r"\b[A-Z]{4,}\b")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    host = re.split(r"[/?#:]", rest, maxsplit=1)[0].strip(".")
    return host[4:] if host.startswith("www.") else host


def _domain_tokens(prefix: str, host: str) -> list[str]:
    """A domain as tokens: itself, its last two labels, its top-level domain, and the words
    its name is made of (``cheap-pills-online.com``: cheap, pills, online), which is what
    generalizes from one throwaway domain to the next."""
    if not host:
        return []
    labels = host.split(".")
    found = [f"{prefix}:{host}", f"{prefix}.tld:{labels[-1]}"]
    if len(labels) > 2:
        found.append(f"{prefix}:{'.'.join(labels[-2:])}")
    name = labels[:-1]
    found.extend(f"{prefix}.word:{word}" for word in re.split(r"[-.]", ".".join(name)) if word)
    if host.count("-") >= 2:
        found.append(f"{prefix}.shape:hyphens")
    return found


def _words(text: str) -> list[str]:
    words: list[str] = []
    for word in _WORD.findall(text):
        if _NO_SPACES.search(word) and len(word) > 2:
            words.extend(word[n : n + 2] for n in range(len(word) - 1))
        elif len(word) > MAX_WORD:
            words.append(f"long:{word[:8]}")
        else:
            words.append(word)
    return words


def _links(folded: str) -> tuple[list[str], str]:
    """The hosts a folded text links to (URLs, ``www.`` names, bare host names), and the text
    without those links."""
    hosts = [_host(url) for url in _URL.findall(folded)]
    rest = _URL.sub(" ", folded)

    def bare(match: re.Match[str]) -> str:
        name = match.group(0)
        if name.rpartition(".")[2] not in BARE_TLDS:
            return name
        hosts.append(_host(name))
        return " "

    return hosts, _BARE_HOST.sub(bare, rest)


def _bucket(count: int) -> str:
    return str(count) if count < 3 else "3+"


def features(
    text: str, author: str | None = None, website: str | None = None, email: str | None = None
) -> set[str]:
    """The tokens the filter sees in a comment and its author fields."""
    raw = unicodedata.normalize("NFKC", text or "")
    folded = raw.casefold()
    hosts, rest = _links(folded)
    found: set[str] = {f"links:{_bucket(len(hosts))}"}
    for host in hosts:
        found.update(_domain_tokens("url", host))
    words = _words(rest)
    found.update(words)
    found.add(f"words:{min(len(words).bit_length(), 9)}")
    if _PHONE.search(raw):
        found.add("shape:phone")
    if _MONEY.search(raw):
        found.add("shape:money")
    if "!!" in raw:
        found.add("shape:exclaims")
    if len(_SHOUT.findall(raw)) >= 2:
        found.add("shape:shouting")
    name = _words(_fold(author or ""))
    found.update(f"author:{word}" for word in name or ["none"])
    site = _host(_fold(website or ""))
    found.update(_domain_tokens("site", site) or ["site:none"])
    if site and site in hosts:
        found.add("site:linked")  # the text links to the author's own website
    address = _fold((email or "").strip())
    if address:
        found.add(f"email:{address}")  # stored hashed, like every token
        found.update(_domain_tokens("mail", address.rpartition("@")[2]))
    else:
        found.add("email:none")
    return found


def token_id(token: str) -> int:
    """A token's 64-bit hash as the model stores it (never ``TOTALS_TOKEN``)."""
    digest = hashlib.blake2b(token.encode(), digest_size=8, person=b"commentd-filter").digest()
    return int.from_bytes(digest, "big", signed=True) or 1


def comment_tokens(comment: Comment) -> list[int]:
    """The hashed tokens of a stored comment, sorted (the order rows are locked in)."""
    found = features(comment.text, comment.author, comment.website, comment.email)
    return sorted({token_id(token) for token in found})


# -- scoring ------------------------------------------------------------------------------


def _chi2q(chi: float, freedom: int) -> float:
    """P(X > chi) for a chi-square distribution with an even number of degrees of freedom."""
    half = chi / 2.0
    term = total = math.exp(-half)
    for n in range(1, freedom // 2):
        term *= half / n
        total += term
    return min(total, 1.0)


@dataclass(frozen=True)
class Counts:
    """What the model knows about one comment's tokens: ``(spam, ham)`` per known token,
    and the number of spam and ham comments trained."""

    tokens: dict[int, tuple[int, int]]
    spam: int
    ham: int


def counts(tokens: Sequence[int]) -> Counts:
    """Read the model's rows for ``tokens`` (and the totals) in one query per chunk."""
    wanted = [TOTALS_TOKEN, *tokens]
    rows: dict[int, tuple[int, int]] = {}
    for start in range(0, len(wanted), CHUNK * 3):
        chunk = wanted[start : start + CHUNK * 3]
        query = FilterToken.select(FilterToken.token, FilterToken.spam, FilterToken.ham).where(
            FilterToken.token.in_(chunk)
        )
        rows.update((token, (spam, ham)) for token, spam, ham in query.tuples())
    spam, ham = rows.pop(TOTALS_TOKEN, (0, 0))
    return Counts(rows, spam, ham)


def probability(spam: int, ham: int, spams: int, hams: int) -> float:
    """One token's spam probability, shrunk towards 0.5 by how rarely it was seen."""
    spam_ratio = spam / spams
    ham_ratio = ham / hams
    if spam_ratio + ham_ratio == 0:
        return UNKNOWN
    raw = spam_ratio / (spam_ratio + ham_ratio)
    seen = spam + ham
    return (STRENGTH * UNKNOWN + seen * raw) / (STRENGTH + seen)


def combine(known: Counts) -> float:
    """The score 0..1 of a comment from its tokens' counts (Fisher-Robinson chi-square)."""
    if not known.spam or not known.ham:
        return UNKNOWN
    clues = []
    for spam, ham in known.tokens.values():
        prob = probability(spam, ham, known.spam, known.ham)
        if abs(prob - 0.5) >= MIN_STRENGTH:
            clues.append(prob)
    if not clues:
        return UNKNOWN
    clues.sort(key=lambda p: -abs(p - 0.5))
    clues = clues[:MAX_CLUES]
    ham_log = sum(math.log(p) for p in clues)
    spam_log = sum(math.log1p(-p) for p in clues)
    freedom = 2 * len(clues)
    spamminess = 1.0 - _chi2q(-2.0 * spam_log, freedom)
    hamminess = 1.0 - _chi2q(-2.0 * ham_log, freedom)
    return (spamminess - hamminess + 1.0) / 2.0


@dataclass(frozen=True)
class Score:
    """A comment's score, and whether the model had seen enough of both classes to give it."""

    value: float
    trained: bool


def score_text(
    text: str,
    author: str | None,
    website: str | None,
    email: str | None,
    min_trained: int,
) -> Score:
    """Score a submission against the stored model."""
    tokens = sorted({token_id(t) for t in features(text, author, website, email)})
    known = counts(tokens)
    trained = known.spam >= max(1, min_trained) and known.ham >= max(1, min_trained)
    return Score(combine(known) if trained else UNKNOWN, trained)


# -- training -----------------------------------------------------------------------------


def _add(deltas: dict[int, list[int]]) -> None:
    """Add ``[spam, ham]`` to each token's row, creating missing rows: atomic upserts."""
    writes.add_token_counts(
        [(token, spam, ham) for token, (spam, ham) in sorted(deltas.items()) if spam or ham]
    )


def _retract(tokens: Sequence[int], label: str) -> None:
    """Take one ``label`` comment off each token (never below zero)."""
    column = FilterToken.spam if label == SPAM else FilterToken.ham
    lowered = Case(None, [(column > 0, column - 1)], 0)
    wanted = [TOTALS_TOKEN, *tokens]
    for start in range(0, len(wanted), CHUNK * 3):
        chunk = wanted[start : start + CHUNK * 3]
        FilterToken.update({column: lowered}).where(FilterToken.token.in_(chunk)).execute()


def _deltas(token_lists: Iterable[tuple[Sequence[int], str]]) -> dict[int, list[int]]:
    deltas: dict[int, list[int]] = {}
    for tokens, label in token_lists:
        slot = 0 if label == SPAM else 1
        for token in (TOTALS_TOKEN, *tokens):
            deltas.setdefault(token, [0, 0])[slot] += 1
    return deltas


def learn(comment: Comment, label: str) -> bool:
    """Train the filter with ``comment`` as ``label`` (``spam`` or ``ham``), once.

    A comment that trained the other class is untrained from it first. Call it inside the
    transaction of the decision; the claim on ``comment.filter_label`` is a conditional
    UPDATE, so two moderators deciding at once train it once. Returns whether it trained.
    """
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}")
    if not comment.text:
        return False
    mine = Comment.id == comment.id
    other = HAM if label == SPAM else SPAM
    tokens = comment_tokens(comment)
    if Comment.update(filter_label=label).where(mine & Comment.filter_label.is_null()).execute():
        _add(_deltas([(tokens, label)]))
    elif Comment.update(filter_label=label).where(mine & (Comment.filter_label == other)).execute():
        _retract(tokens, other)
        _add(_deltas([(tokens, label)]))
    else:
        return False
    comment.filter_label = label
    metrics.FILTER_TRAINED.inc({"label": label})
    return True


def relearn(before: Sequence[int], comment: Comment) -> None:
    """A trained comment's text or author changed: move its training to the new tokens
    (``before`` are its tokens as they were). Call it in the transaction of the edit."""
    label = Comment.select(Comment.filter_label).where(Comment.id == comment.id).scalar()
    if label not in LABELS:
        return
    _retract(before, label)
    _add(_deltas([(comment_tokens(comment), label)]))
    # the totals row counts comments, not edits: it was taken down once and put back once


def learn_many(comments: Sequence[Comment]) -> int:
    """Train every comment of ``comments`` that has not trained yet, by its status
    (approved = ham, spam = spam), in one pass of upserts; the caller's write transaction
    must hold their rows (the import and ``commentd spam train`` run it per batch)."""
    chosen = [
        (c, LABEL_OF_STATUS[c.status])
        for c in comments
        if c.filter_label is None and c.text and c.status in LABEL_OF_STATUS
    ]
    if not chosen:
        return 0
    for label in LABELS:
        ids = [c.id for c, chosen_label in chosen if chosen_label == label]
        for start in range(0, len(ids), CHUNK * 3):
            Comment.update(filter_label=label).where(
                Comment.id.in_(ids[start : start + CHUNK * 3])
            ).execute()
    _add(_deltas((comment_tokens(c), label) for c, label in chosen))
    for label in LABELS:
        metrics.FILTER_TRAINED.inc({"label": label}, sum(1 for _, x in chosen if x == label))
    return len(chosen)


def model_size() -> tuple[int, int, int]:
    """The number of spam and ham comments trained, and of distinct tokens known."""
    row = FilterToken.get_or_none(FilterToken.token == TOTALS_TOKEN)
    tokens = FilterToken.select().where(FilterToken.token != TOTALS_TOKEN).count()
    return (row.spam, row.ham, tokens) if row else (0, 0, tokens)


@dataclass(frozen=True)
class Trained:
    """What ``train_stored`` did: comments learned as spam and as ham."""

    spam: int
    ham: int


def train_stored(actor: Actor, batch: int = 500) -> Trained:
    """Train the filter with every approved (ham) and spam comment that has not trained it
    yet, oldest first, in transactions of ``batch`` comments; audited when it learned any.
    Running it again adds nothing."""
    learned = {SPAM: 0, HAM: 0}
    after = 0
    while True:
        with write_transaction():
            query = (
                Comment.select(*LEARNED_FIELDS)
                .where(
                    (Comment.id > after)
                    & Comment.filter_label.is_null()
                    & Comment.status.in_(list(LABEL_OF_STATUS))
                )
                .order_by(Comment.id)
                .limit(batch)
            )
            rows = list(query if is_sqlite(database_proxy.obj) else query.for_update())
            if not rows:
                if learned[SPAM] or learned[HAM]:
                    audit.record(actor, "train", "filter", None, learned)
                return Trained(learned[SPAM], learned[HAM])
            learn_many(rows)
        for row in rows:
            if row.text:
                learned[LABEL_OF_STATUS[row.status]] += 1
        after = rows[-1].id
