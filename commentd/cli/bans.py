"""``commentd ban``, ``unban`` and ``bans list``."""

from __future__ import annotations

import click

from commentd.cli.common import CONFIG_OPTION, actor, open_site_for, run_service
from commentd.cli.output import JSON_OPTION, emit_json, table
from commentd.services import bans as ban_service

KIND = click.Choice(ban_service.KINDS)


@click.command()
@click.argument("kind", type=KIND)
@click.argument("value")
@CONFIG_OPTION
@click.option("--reason", help="A note for the other moderators.")
def ban(kind: str, value: str, config_path: str | None, reason: str | None) -> None:
    """Ban an email (or @domain), an ip (address or CIDR network), a word, or a domain
    (Webmentions from it and its subdomains)."""
    open_site_for(config_path)
    made = run_service(lambda: ban_service.add(kind, value, actor(), reason))
    click.echo(f"banned {made.kind} {made.value}")


@click.command()
@click.argument("kind", type=KIND)
@click.argument("value")
@CONFIG_OPTION
def unban(kind: str, value: str, config_path: str | None) -> None:
    """Lift a ban."""
    open_site_for(config_path)
    run_service(lambda: ban_service.remove(kind, value, actor()))
    click.echo(f"unbanned {kind} {ban_service.normalize(kind, value)}")


@click.group()
def bans() -> None:
    """The ban list."""


@bans.command("list")
@CONFIG_OPTION
@JSON_OPTION
def list_bans(config_path: str | None, as_json: bool) -> None:
    """List every ban."""
    open_site_for(config_path)
    rows = run_service(ban_service.all_bans)
    if as_json:
        emit_json(
            [
                {"kind": b.kind, "value": b.value, "created": b.created, "reason": b.reason}
                for b in rows
            ]
        )
        return
    table(
        ("KIND", "VALUE", "SINCE", "REASON"), [(b.kind, b.value, b.created, b.reason) for b in rows]
    )
