"""Benchmark and measurement of the spam filter on the labelled corpus; a script, not a test.

    .venv/bin/python tests/bench/bench_filter.py

Trains the filter, on a fresh SQLite file, with the corpus' training split
(tests/fixtures/spam_corpus/, every third comment held out) through the same code as
``commentd spam train``, then scores the held-out comments and prints, at the default
thresholds, precision, recall and the false-positive rate of holding (score >= filter_hold)
and of marking spam (score >= filter_spam). Speed is set against baselines measured in the
same run: tokenizing alone (``features``), and scoring from a model already in memory (the
arithmetic without the database), so the ratios hold on any machine.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from commentd.config import default_config
from commentd.services import filter as spam_filter
from commentd.services.audit import Actor
from commentd.storage.database import close_database, connection, open_database
from commentd.storage.migrations import migrate
from tests.spam_corpus import Sample, split, store

ROUNDS = 5


def per_second(work: Callable[[], None], items: int) -> float:
    """Items per second, the best of ``ROUNDS`` runs of ``work``."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return items / best


def rates(scored: list[tuple[float, Sample]], threshold: float) -> tuple[float, float, float]:
    """(precision, recall, false-positive rate) of calling ``score >= threshold`` spam."""
    caught = [s for score, s in scored if score >= threshold]
    true_positives = sum(s.spam for s in caught)
    spam = sum(s.spam for _, s in scored)
    ham = len(scored) - spam
    precision = true_positives / len(caught) if caught else 1.0
    return precision, true_positives / spam, (len(caught) - true_positives) / ham


def main() -> None:
    train, test = split()
    settings = default_config().spam
    folder = tempfile.mkdtemp()
    db = open_database(f"sqlite:///{folder}/bench.db")
    with connection():
        migrate(db)
        store(train)
        start = time.perf_counter()
        spam_filter.train_stored(Actor("cli", "bench"))
        trained = time.perf_counter() - start

        def score(sample: Sample) -> float:
            return spam_filter.score_text(
                sample.text, sample.author, sample.website, sample.email, 1
            ).value

        scored = [(score(sample), sample) for sample in test]
        spams = sum(s.spam for s in test)
        print(
            f"corpus: {len(train)} comments to train ({sum(s.spam for s in train)} spam), "
            f"{len(test)} held out ({spams} spam, {len(test) - spams} genuine)"
        )
        print(f"training: {len(train) / trained:,.0f} comments/s through commentd spam train")
        print()
        print(f"{'threshold':<28}{'precision':>10}{'recall':>9}{'false pos.':>12}")
        for name, value in (("hold", settings.filter_hold), ("spam", settings.filter_spam)):
            precision, recall, fpr = rates(scored, value / 100)
            label = f"{name} (filter_{name} = {value})"
            print(f"{label:<28}{precision:>10.1%}{recall:>9.1%}{fpr:>12.2%}")
        print()

        tokens = [{spam_filter.token_id(t) for t in spam_filter.features(*fields(s))} for s in test]
        known = [spam_filter.counts(sorted(t)) for t in tokens]
        tokenize = per_second(lambda: [spam_filter.features(*fields(s)) for s in test], len(test))
        combine = per_second(lambda: [spam_filter.combine(k) for k in known], len(test))
        full = per_second(lambda: [score(s) for s in test], len(test))
        print(f"{'step':<44}{'per second':>12}{'vs tokenizing':>15}")
        for name, value in (
            ("tokenizing alone (features)", tokenize),
            ("combining counts already in memory", combine),
            ("scoring: tokenize, read the model, combine", full),
        ):
            print(f"{name:<44}{value:>12,.0f}{value / tokenize:>14.2f}x")
    close_database(db)


def fields(sample: Sample) -> tuple[str, str | None, str | None, str | None]:
    return sample.text, sample.author, sample.website, sample.email


if __name__ == "__main__":
    main()
