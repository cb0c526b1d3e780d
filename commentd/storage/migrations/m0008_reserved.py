"""Reserved for proof of work (issue #20, section 1): changes nothing.

Migration numbers must run 1..N without gaps, and 0009 (the spam filter) was written before
0008; a branch that brings its own 0008 replaces this file.
"""

from __future__ import annotations


def up(db) -> None:
    """Nothing to do."""
