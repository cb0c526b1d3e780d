"""The labelled spam corpus in tests/fixtures/spam_corpus/, and its train/test split.

Each line of ``spam.txt`` and ``ham.txt`` is ``author | website | email | text`` ("-" for an
empty field, ``\\n`` for a line break). The split is deterministic: every third comment of
each file (the 3rd, 6th, ...) is held out for testing, the rest trains the filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "fixtures" / "spam_corpus"
HELD_OUT_EVERY = 3


@dataclass(frozen=True)
class Sample:
    """One labelled comment."""

    author: str | None
    website: str | None
    email: str | None
    text: str
    spam: bool


def _field(value: str) -> str | None:
    value = value.strip()
    return None if value == "-" else value


def load(name: str) -> list[Sample]:
    """Every comment of ``spam.txt`` or ``ham.txt``, in file order."""
    samples = []
    for line in (CORPUS / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        author, website, email, text = line.split(" | ", 3)
        samples.append(
            Sample(
                _field(author),
                _field(website),
                _field(email),
                text.strip().replace("\\n", "\n"),
                name == "spam",
            )
        )
    return samples


def split() -> tuple[list[Sample], list[Sample]]:
    """(train, test): both classes, every ``HELD_OUT_EVERY``-th comment held out."""
    train: list[Sample] = []
    test: list[Sample] = []
    for name in ("spam", "ham"):
        for number, sample in enumerate(load(name), start=1):
            (test if number % HELD_OUT_EVERY == 0 else train).append(sample)
    return train, test


def store(samples: list[Sample], uri: str = "/corpus/") -> None:
    """Store ``samples`` as comments a moderator decided (spam, or approved), untrained, in
    one thread; call it with a connection to a migrated database."""
    from commentd.storage.database import write_transaction
    from commentd.storage.models import Comment, Status, Thread

    thread = Thread.create(uri=uri)
    with write_transaction():
        for sample in samples:
            Comment.create(
                thread=thread,
                text=sample.text,
                html="",
                author=sample.author,
                website=sample.website,
                email=sample.email,
                status=Status.SPAM if sample.spam else Status.APPROVED,
            )
