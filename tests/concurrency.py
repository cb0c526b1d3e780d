"""Running a test's work on several threads at once."""

from __future__ import annotations

import threading
from collections.abc import Callable


def in_threads(work: Callable[[int], None], count: int, timeout: float = 30) -> list[str]:
    """Run ``work(n)`` for n in ``range(count)``, each on its own thread, all at once; return
    the errors they raised, as ``repr`` strings (none when all went well)."""
    errors: list[str] = []

    def guarded(n: int) -> None:
        try:
            work(n)
        except Exception as error:  # reported to the test, which asserts there are none
            errors.append(repr(error))

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return errors
