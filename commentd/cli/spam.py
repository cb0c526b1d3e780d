"""``commentd spam train`` and ``commentd spam stats``: the spam filter and what caught what."""

from __future__ import annotations

import click

from commentd.cli.common import CONFIG_OPTION, actor, open_site_for, run_service
from commentd.cli.output import JSON_OPTION, emit_json, table
from commentd.services import catches
from commentd.services import filter as spam_filter


@click.group()
def spam() -> None:
    """The spam filter, and what each screening signal caught."""


@spam.command()
@CONFIG_OPTION
def train(config_path: str | None) -> None:
    """Train the filter with every approved and spam comment it has not learned from yet."""
    open_site_for(config_path)
    done = run_service(lambda: spam_filter.train_stored(actor()))
    spams, hams, tokens = run_service(spam_filter.model_size)
    click.echo(
        f"learned from {done.spam} spam and {done.ham} approved comments; the filter knows "
        f"{spams} spam and {hams} approved comments, {tokens} tokens"
    )


@spam.command()
@CONFIG_OPTION
@JSON_OPTION
@click.option(
    "--days",
    type=click.IntRange(1, catches.MAX_DAYS),
    default=30,
    show_default=True,
    help="How many days back, today included.",
)
def stats(config_path: str | None, as_json: bool, days: int) -> None:
    """What each signal caught in the last days, and how many of those a moderator approved."""
    open_site_for(config_path)
    found = run_service(lambda: catches.report(days))
    spams, hams, tokens = run_service(spam_filter.model_size)
    if as_json:
        emit_json(
            {
                "days": found.days,
                "since": found.since,
                "comments": found.comments,
                "signals": [
                    {
                        "signal": s.signal,
                        "caught": s.caught,
                        "stored": s.stored,
                        "refused": s.refused,
                        "approved": s.approved,
                    }
                    for s in found.signals
                ],
                "filter": {"spam": spams, "ham": hams, "tokens": tokens},
            }
        )
        return
    click.echo(f"since {found.since.isoformat()} ({days} days): {found.comments} new comments")
    table(
        ("SIGNAL", "CAUGHT", "HELD OR SPAM", "REFUSED", "APPROVED SINCE"),
        [(s.signal, s.caught, s.stored, s.refused, s.approved) for s in found.signals],
    )
    click.echo(f"\nthe filter has learned from {spams} spam and {hams} approved comments")
