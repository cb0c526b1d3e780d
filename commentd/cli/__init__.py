"""The ``commentd`` command: a thin click layer over the same services as the web app."""

from __future__ import annotations

import logging
import multiprocessing
import secrets
from pathlib import Path

import click

from commentd.cli.common import CONFIG_OPTION, _interactive, _load
from commentd.config import example_ini
from commentd.errors import CommentdError
from commentd.version import __version__


@click.group()
@click.version_option(__version__, prog_name="commentd")
@CONFIG_OPTION
def cli(config_path: str | None) -> None:
    """commentd: a self-hosted comment engine.

    --config works here for every command (commentd --config F comments list) or on the
    command itself.
    """


@cli.command()
@CONFIG_OPTION
@click.option("--host", help="Address to listen on (overrides [server] host).")
@click.option("--port", type=int, help="Port to listen on (overrides [server] port).")
@click.option("--threads", type=int, help="Worker threads (overrides [server] threads).")
@click.option(
    "--workers",
    type=int,
    help="Processes sharing the port (overrides [server] workers; Linux only).",
)
def serve(
    config_path: str | None,
    host: str | None,
    port: int | None,
    threads: int | None,
    workers: int | None,
):
    """Run the server (waitress) until SIGTERM or Ctrl-C; SIGHUP restarts the workers."""
    from commentd.app import create_app
    from commentd.services.outbox import Worker
    from commentd.web.server import limit_malloc_arenas, make_server, run

    limit_malloc_arenas()  # before any thread starts; forked workers inherit it
    overrides = {
        f"server.{name}": value
        for name, value in (
            ("host", host),
            ("port", port),
            ("threads", threads),
            ("workers", workers),
        )
        if value is not None
    }
    config = _load(config_path, overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if config.server.workers > 1:
        _serve_forked(config, lambda: _load(config_path, overrides))
        return
    try:
        app = create_app(config)
        server = make_server(
            app,
            host=config.server.host,
            port=config.server.port,
            threads=config.server.threads,
            max_body_size=config.server.max_body_size,
        )
    except OSError as exc:
        raise click.ClickException(f"cannot start: {exc}") from exc
    except CommentdError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"commentd {__version__} serving {config.database.url} on "
        f"http://{config.server.host}:{config.server.port}/ (Ctrl-C to stop)",
        err=True,
    )
    worker = Worker(config)  # sends queued mail and webhooks while the server runs
    worker.start()
    try:
        run(server)
    finally:
        worker.stop()
    click.echo("commentd stopped", err=True)


def _serve_forked(config, load) -> None:
    """``serve`` with ``[server] workers`` > 1: a supervisor forking that many processes."""
    from commentd.web.prefork import StartError, serve_forked

    click.echo(
        f"commentd {__version__} serving {config.database.url} on "
        f"http://{config.server.host}:{config.server.port}/ with {config.server.workers} "
        "workers (Ctrl-C to stop, SIGHUP to restart them)",
        err=True,
    )
    try:
        serve_forked(config, load, config.server.workers)
    except (OSError, StartError) as exc:
        raise click.ClickException(f"cannot start: {exc}") from exc
    click.echo("commentd stopped", err=True)


@cli.command()
@CONFIG_OPTION
def migrate(config_path: str | None) -> None:
    """Apply pending database migrations (serve also does this on start)."""
    from commentd.services.site import with_database
    from commentd.storage.migrations import current_version
    from commentd.storage.migrations import migrate as run_migrations

    config = _load(config_path)
    try:
        applied, version = with_database(
            config, lambda db: (run_migrations(db), current_version(db)), read_only_ok=False
        )
    except CommentdError as exc:
        raise click.ClickException(exc.message) from exc
    for migration in applied:
        click.echo(f"applied {migration.version}: {migration.description}")
    click.echo(f"schema version {version}" + ("" if applied else " (up to date)"))


@cli.command()
@click.option("--site-url", help="The blog's URL, e.g. https://blog.example.com.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default="commentd.ini",
    show_default=True,
    help="Where to write the config.",
)
@click.option("--database", "database_url", help="Database URL (default: a SQLite file).")
@click.option("--public-url", help="The URL readers reach commentd at.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(
    site_url: str | None,
    output: str,
    database_url: str | None,
    public_url: str | None,
    force: bool,
) -> None:
    """Write a commented config file for a site, with a fresh secret."""
    if site_url is None:
        if not _interactive():
            raise click.UsageError("--site-url is required when not run in a terminal.")
        site_url = click.prompt("Your blog's URL (e.g. https://blog.example.com)")
    path = Path(output)
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; use --force to overwrite it.")
    values = {
        "site.url": site_url.strip().rstrip("/"),
        "server.allowed_origins": site_url.strip(),
        "security.secret": secrets.token_urlsafe(48),
    }
    if database_url:
        values["database.url"] = database_url
    if public_url:
        values["server.public_url"] = public_url
    try:
        text = example_ini(values)  # refuses values that would not load
    except CommentdError as exc:
        raise click.ClickException(exc.message) from exc
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)  # it holds the secret
    click.echo(f"wrote {path}; start with: commentd serve --config {path}")


def _register_groups() -> None:
    """Add the commands and groups that live in modules of their own."""
    from commentd.cli import (
        admin,
        audit,
        bans,
        data,
        fediverse,
        mail,
        maintenance,
        moderate,
        remap,
        spam,
        webmention,
    )

    moderate.threads.add_command(remap.remap)

    for command in (
        moderate.comments,
        moderate.threads,
        bans.ban,
        bans.unban,
        bans.bans,
        data.import_command,
        data.export_command,
        data.backup_command,
        maintenance.stats,
        maintenance.purge,
        maintenance.privacy_group,
        maintenance.check,
        mail.mail,
        mail.outbox,
        admin.admin,
        audit.audit,
        spam.spam,
        webmention.webmention,
        fediverse.fediverse,
    ):
        cli.add_command(command)


_register_groups()


def main() -> None:
    """Entry point of the ``commentd`` console script."""
    multiprocessing.freeze_support()  # a single-file build starting an import's reader process
    cli(prog_name="commentd")
