"""The one normal form of what commentd compares: email addresses and blocked phrases.

Both sides of every comparison go through these, so ``ADA@Example.com `` is the address
``ada@example.com`` was, and the ban ``cheap pills`` matches ``CHEAP   Pills`` and the same
words in full-width letters alike.
"""

from __future__ import annotations

import unicodedata


def email(value: str) -> str:
    """An address without surrounding space, in lower case (how mail systems treat it)."""
    return value.strip().lower()


def text(value: str) -> str:
    """``value`` in Unicode NFKC, case-folded, each run of white space one space."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())
