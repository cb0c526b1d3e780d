"""``commentd import``, ``export`` and ``backup``: moving data in and out."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from commentd.cli.common import CONFIG_OPTION, actor, open_site_for
from commentd.cli.remap import rules_option
from commentd.errors import CommentdError
from commentd.services import export_xml
from commentd.services.backup import backup as backup_database
from commentd.services.export import ExportCounts, lines
from commentd.services.importers import FORMATS, Importer
from commentd.services.remap import Rules
from commentd.services.thread_files import write_thread_files
from commentd.services.threads import ThreadService
from commentd.storage.database import connection
from commentd.web.static_site import THREAD_FORMATS, thread_renderer


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@CONFIG_OPTION
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("auto", *FORMATS)),
    default="auto",
    show_default=True,
    help="The file's format; auto detects it.",
)
@click.option("--dry-run", is_flag=True, help="Read and check everything, write nothing.")
@click.option(
    "--pingbacks",
    type=click.Choice(("skip", "keep")),
    default="skip",
    show_default=True,
    help="WordPress pingbacks and trackbacks: leave them out or keep them as comments.",
)
@rules_option
def import_command(
    file: Path,
    config_path: str | None,
    fmt: str,
    dry_run: bool,
    pingbacks: str,
    remap_rules: Rules | None,
) -> None:
    """Import comments from a Disqus, WordPress, Waline, Artalk or commentd export, an Isso
    database or a CSV file."""
    site = open_site_for(config_path)
    importer = Importer(site.config, site.keys)
    show_bar = sys.stderr.isatty()
    # Off a terminal there is no bar at all (click would print its label to standard output).
    bar_context = (
        click.progressbar(length=file.stat().st_size, label="importing", file=sys.stderr)
        if show_bar
        else contextlib.nullcontext()
    )
    with bar_context as bar, connection():
        try:
            summary = importer.run(
                file,
                format=fmt,
                dry_run=dry_run,
                progress=bar.update if show_bar else None,
                keep_pings=pingbacks == "keep",
                actor=actor(),
                remap=remap_rules,
            )
        except CommentdError as exc:
            raise click.ClickException(exc.message) from exc
    verb = "would import" if dry_run else "imported"
    click.echo(
        f"{verb} {summary.comments_imported} comments in {summary.threads_created} new threads "
        f"({summary.format}); already there: {summary.comments_existing} comments, "
        f"{summary.threads_existing} threads"
        + (f"; {summary.votes_imported} votes" if summary.votes_imported else "")
        + (
            f"; {summary.bans_imported} blocked user{'s' * (summary.bans_imported != 1)} banned"
            if summary.bans_imported
            else ""
        )
        + (
            f"; the spam filter learned from {summary.filter_trained}"
            if summary.filter_trained
            else ""
        )
    )
    if summary.filter_untrained:
        click.echo(
            f"{summary.filter_untrained} more comments can teach the spam filter:"
            " run `commentd spam train`"
        )
    if summary.comments_hidden:
        click.echo(
            f"held {summary.comments_hidden} comments of threads the source had deleted"
            " (pending, in locked threads: approve any you want shown)"
        )
    if summary.skipped:
        click.echo(f"skipped {summary.skipped_total}:")
        for reason, count in summary.skipped.most_common():
            click.echo(f"  {count:>7}  {reason}")


@click.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@CONFIG_OPTION
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("jsonl", *export_xml.FORMATS, *THREAD_FORMATS)),
    default="jsonl",
    show_default=True,
    help="jsonl: everything, to FILE or standard output; wxr (WordPress) and disqus: the "
    "threads and comments other engines import, to FILE or standard output; html and "
    "json-threads: one file per thread in --out, for static sites.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder for --format html or json-threads.",
)
@click.option("--lang", default="en", show_default=True, help="The language of html files.")
def export_command(
    file: Path | None, config_path: str | None, fmt: str, out: Path | None, lang: str
) -> None:
    """Write everything (threads, comments, votes, settings; no secrets) as JSON Lines, the
    threads and comments as WordPress WXR or Disqus XML, or each thread as a file for a static
    site (only the threads changed since the last run).

    Without FILE, jsonl, wxr and disqus go to standard output.
    """
    if fmt in THREAD_FORMATS:
        if out is None or file is not None:
            raise click.UsageError(f"--format {fmt} writes to a folder: give --out DIR, no FILE.")
        _export_threads(config_path, fmt, out, lang)
        return
    if out is not None:
        raise click.UsageError("--out is for --format html or json-threads.")
    site = open_site_for(config_path)
    counts = ExportCounts()
    with connection():
        try:
            pieces = (
                lines(counts) if fmt == "jsonl" else export_xml.FORMATS[fmt](site.config, counts)
            )
        except CommentdError as exc:
            raise click.ClickException(exc.message) from exc
        if file is None:
            for piece in pieces:
                click.echo(piece, nl=False)
        else:
            partial = file.with_name(file.name + ".partial")
            try:
                with open(partial, "w", encoding="utf-8") as handle:
                    handle.writelines(pieces)
                partial.replace(file)
            except OSError as exc:
                partial.unlink(missing_ok=True)
                raise click.ClickException(f"cannot write {file}: {exc.strerror}.") from exc
    votes = f", {counts.votes} votes" if fmt == "jsonl" else ""
    click.echo(f"exported {counts.threads} threads, {counts.comments} comments{votes}", err=True)


def _export_threads(config_path: str | None, fmt: str, out: Path, lang: str) -> None:
    site = open_site_for(config_path)
    filename, stamp, render = thread_renderer(site, fmt, lang)
    with connection():
        try:
            done = write_thread_files(out, filename, stamp, ThreadService(site.config), render)
        except CommentdError as exc:
            raise click.ClickException(exc.message) from exc
    click.echo(
        f"wrote {done.written} threads, {done.unchanged} unchanged, {done.removed} removed "
        f"({fmt}, {out})",
        err=True,
    )
    for uri in done.skipped:
        click.echo(f"skipped {uri!r}: another thread's uri maps to the same file", err=True)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@CONFIG_OPTION
def backup_command(file: Path, config_path: str | None) -> None:
    """Copy the live SQLite database to FILE, consistently, without stopping the server."""
    site = open_site_for(config_path)
    try:
        size = backup_database(site.config, file)
    except CommentdError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"wrote {file} ({size:,} bytes)")
