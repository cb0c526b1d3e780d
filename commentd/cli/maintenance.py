"""``commentd stats``, ``purge``, ``privacy`` and ``check``."""

from __future__ import annotations

import click

from commentd.cli.common import CONFIG_OPTION, _load, actor, open_site_for, run_service
from commentd.cli.output import JSON_OPTION, emit_json, table
from commentd.config import parse_duration
from commentd.services import checks, privacy
from commentd.services.purge import purge as purge_service
from commentd.services.stats import stats as site_stats


class Duration(click.ParamType):
    """A duration such as 30d, 12h or 1w, in seconds."""

    name = "duration"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_duration(value)
        except ValueError:
            self.fail(f"{value!r} is not a duration such as 30d, 12h or 1w", param, ctx)


DURATION = Duration()


@click.command()
@CONFIG_OPTION
@JSON_OPTION
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True)
def stats(config_path: str | None, as_json: bool, days: int) -> None:
    """Comments by status, the busiest threads, and new comments per day."""
    open_site_for(config_path)
    result = run_service(lambda: site_stats(days=days))
    if as_json:
        emit_json(
            {
                "by_status": result.by_status,
                "threads": result.threads,
                "top_threads": [{"uri": u, "approved": n} for u, n in result.top_threads],
                "by_day": [{"day": d, "comments": n} for d, n in result.by_day],
            }
        )
        return
    table(("STATUS", "COMMENTS"), sorted(result.by_status.items()))
    click.echo(f"\n{result.threads} threads; the busiest:")
    table(("THREAD", "APPROVED"), result.top_threads, widths={0: 60})
    click.echo(f"\nnew comments, last {days} days:")
    peak = max((n for _, n in result.by_day), default=0) or 1
    table(("DAY", "NEW", ""), [(d, n, "#" * round(30 * n / peak)) for d, n in result.by_day])


@click.command()
@CONFIG_OPTION
@click.option("--pending-older-than", type=DURATION, help="Delete held comments older than this.")
@click.option("--spam-older-than", type=DURATION, help="Delete spam older than this.")
@click.option(
    "--ip-older-than", type=DURATION, help="Erase the stored network of comments older than this."
)
def purge(
    config_path: str | None,
    pending_older_than: int | None,
    spam_older_than: int | None,
    ip_older_than: int | None,
) -> None:
    """Delete old held and spam comments; forget stored client networks after a while."""
    if pending_older_than is None and spam_older_than is None and ip_older_than is None:
        raise click.UsageError(
            "Say what to purge: --pending-older-than, --spam-older-than or --ip-older-than."
        )
    open_site_for(config_path)
    done = run_service(
        lambda: purge_service(actor(), pending_older_than, spam_older_than, ip_older_than)
    )
    click.echo(
        f"purged {done.pending} pending and {done.spam} spam comments; "
        f"erased {done.addresses} stored networks"
    )


@click.group("privacy")
def privacy_group() -> None:
    """Answer data requests: export or delete one person's comments."""


@privacy_group.command("export")
@CONFIG_OPTION
@click.option("--email", required=True, help="The person's email address.")
def privacy_export(config_path: str | None, email: str) -> None:
    """Print every comment stored with this email address, as JSON."""
    open_site_for(config_path)
    emit_json(run_service(lambda: privacy.export(email)))


@privacy_group.command("delete")
@CONFIG_OPTION
@click.option("--email", required=True, help="The person's email address.")
@click.option(
    "--mode",
    type=click.Choice(privacy.MODES),
    default="erase",
    show_default=True,
    help="erase: remove text and identity; anonymize: keep the text, remove who wrote it.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def privacy_delete(config_path: str | None, email: str, mode: str, yes: bool) -> None:
    """Erase or anonymize every comment stored with this email address."""
    open_site_for(config_path)
    if not yes:
        click.confirm(f"{mode} every comment by {email}?", abort=True)
    changed = run_service(lambda: privacy.delete(email, mode, actor()))
    click.echo(f"{mode}d {changed} comments")


@click.command()
@CONFIG_OPTION
def check(config_path: str | None) -> None:
    """Check the configuration, the database and the SMTP server; exit 1 on a problem."""
    config = _load(config_path)
    failed = False
    for result in checks.run_all(config):
        mark = {True: click.style("ok  ", fg="green"), False: click.style("FAIL", fg="red")}
        click.echo(f"{mark.get(result.ok, 'skip')}  {result.name:<9} {result.detail}")
        failed |= result.ok is False
    if failed:
        click.get_current_context().exit(1)
