"""``commentd threads remap``: move many threads at once by rules (a blog moved)."""

from __future__ import annotations

from pathlib import Path

import click

from commentd.cli.common import CONFIG_OPTION, actor, open_site_for, run_service
from commentd.errors import CommentdError
from commentd.services import remap as remapping


def _line(move: remapping.Move) -> str:
    comments = f"{move.comments} comment" + ("" if move.comments == 1 else "s")
    merged = f", merged into {move.into}" if move.into is not None else ""
    return f"{move.old} -> {move.new}  ({comments}{merged})"


def _summary(moves: list[remapping.Move]) -> str:
    merged = sum(1 for m in moves if m.into is not None)
    comments = sum(m.comments for m in moves)
    return f"{len(moves)} threads ({merged} merged into others), {comments} comments"


@click.command("remap")
@click.argument("rules", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@CONFIG_OPTION
@click.option("--dry-run", is_flag=True, help="Print what would move, change nothing.")
def remap(rules: Path, config_path: str | None, dry_run: bool) -> None:
    """Move threads to the uris RULES gives them (a rules file, or a .csv of old,new);
    threads that land on one uri merge."""
    open_site_for(config_path)

    def work() -> list[remapping.Move]:
        moves = remapping.plan(remapping.Rules.parse(rules))
        return moves if dry_run or not moves else remapping.apply(moves, actor())

    moves = run_service(work)
    for move in moves:
        click.echo(_line(move))
    if not moves:
        click.echo("nothing to move: every thread is where the rules put it")
    elif dry_run:
        click.echo(f"would move {_summary(moves)}")
    else:
        click.echo(f"moved {_summary(moves)}")


def rules_option(function):
    """``--remap RULES``, for ``commentd import``: the rules, parsed (or None)."""

    def parse(ctx, param, value: Path | None):
        if value is None:
            return None
        try:
            return remapping.Rules.parse(value)
        except CommentdError as exc:
            raise click.BadParameter(exc.message, ctx, param) from exc

    return click.option(
        "--remap",
        "remap_rules",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        callback=parse,
        help="Rewrite each thread's uri by these rules (see threads remap) before importing.",
    )(function)
