"""``commentd audit``: the audit log from the shell."""

from __future__ import annotations

import datetime as dt

import click

from commentd.cli.common import CONFIG_OPTION, open_site_for, run_service
from commentd.cli.moderate import Since
from commentd.cli.output import JSON_OPTION, emit_json, table
from commentd.services import audit as audit_service


def _entry_json(entry, detail: dict) -> dict:
    return {
        "id": entry.id,
        "created": entry.created,
        "actor": entry.actor,
        "actor_name": entry.actor_name,
        "network": entry.address,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "detail": detail,
    }


def _target(entry) -> str:
    return f"{entry.target_type} #{entry.target_id}" if entry.target_id else entry.target_type


@click.command()
@CONFIG_OPTION
@click.option("--since", type=Since(), help="Only entries since a date or for an age (7d).")
@click.option("--actor", help="Only entries by this actor: admin, cli, email, system, or a name.")
@click.option(
    "--limit",
    type=click.IntRange(1, audit_service.MAX_LIMIT),
    default=50,
    show_default=True,
    help="At most this many entries.",
)
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@JSON_OPTION
def audit(
    config_path: str | None,
    since: dt.datetime | None,
    actor: str | None,
    limit: int,
    page: int,
    as_json: bool,
) -> None:
    """Who did what, from where and when: the audit log, newest first."""
    open_site_for(config_path)

    def load() -> tuple[list, int]:
        found = audit_service.entries(limit, (page - 1) * limit, since=since, actor=actor)
        return [(e, audit_service.detail_of(e)) for e in found], audit_service.count(since, actor)

    rows, total = run_service(load)
    if as_json:
        emit_json({"total": total, "entries": [_entry_json(e, d) for e, d in rows]})
        return
    table(
        ("WHEN", "WHO", "FROM", "WHAT", "ON", "DETAIL"),
        [
            (
                e.created,
                e.actor + (f" ({e.actor_name})" if e.actor_name else ""),
                e.address,
                e.action,
                _target(e),
                ", ".join(f"{key}: {value}" for key, value in sorted(d.items())),
            )
            for e, d in rows
        ],
        widths={5: 80},
    )
    shown_to = (page - 1) * limit + len(rows)
    more = f"; --page {page + 1} for older" if shown_to < total else ""
    click.echo(f"{len(rows)} of {total} entries{more}", err=True)
