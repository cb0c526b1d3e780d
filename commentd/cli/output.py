"""Terminal output: aligned tables (colour on a terminal, plain when piped) or JSON."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import click

JSON_OPTION = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON instead of a table (for scripts)."
)

STATUS_COLOURS = {
    "approved": "green",
    "pending": "yellow",
    "spam": "red",
    "deleted": "bright_black",
}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds") + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def emit_json(value: Any) -> None:
    """``value`` as indented JSON on standard output."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=_plain))


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(_plain(value))
    return " ".join(text.split())  # one line per row, whatever the text held


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: dict[int, int] | None = None
):
    """Print ``rows`` under ``headers``, columns aligned; ``widths`` caps some columns.

    Colour (bold headers, status colours) only reaches a terminal: click drops it when piped.
    """
    widths = widths or {}
    texts = [[cell(value) for value in row] for row in rows]
    for index, limit in widths.items():
        for row in texts:
            if len(row[index]) > limit:
                row[index] = row[index][: limit - 1] + "…"
    sizes = [len(h) for h in headers]
    for row in texts:
        sizes = [max(size, len(text)) for size, text in zip(sizes, row, strict=True)]
    click.echo(
        click.style(
            "  ".join(h.ljust(s) for h, s in zip(headers, sizes, strict=True)).rstrip(), bold=True
        )
    )
    for row in texts:
        parts = []
        for text, size in zip(row, sizes, strict=True):
            padded = text.ljust(size)
            colour = STATUS_COLOURS.get(text)
            parts.append(click.style(padded, fg=colour) if colour else padded)
        click.echo("  ".join(parts).rstrip())
