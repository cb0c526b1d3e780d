"""What every command shares: the --config option, loading it, opening the site."""

from __future__ import annotations

import sys

import click

from commentd.config import Config, load_config
from commentd.errors import CommentdError

CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="COMMENTD_CONFIG",
    help="INI file to read (default: none; env COMMENTD_CONFIG).",
)


def _interactive() -> bool:
    """Whether a person is at the terminal to answer questions."""
    return sys.stdin.isatty()


def _group_config() -> str | None:
    """The ``--config`` given to ``commentd`` itself (``commentd --config F comments list``)."""
    context = click.get_current_context(silent=True)
    if context is None:
        return None
    return context.find_root().params.get("config_path")


def _load(config_path: str | None, overrides: dict | None = None) -> Config:
    """The command's ``--config``, else the group's, else $COMMENTD_CONFIG, else defaults."""
    config_path = config_path or _group_config()
    try:
        return load_config(config_path, overrides=overrides or {})
    except CommentdError as exc:
        raise click.ClickException(exc.message) from exc


def open_site_for(config_path: str | None):
    """Load the config and open the site's database (migrated) for a command."""
    from commentd.services.site import open_site

    config = _load(config_path)
    try:
        return open_site(config)
    except CommentdError as exc:
        raise click.ClickException(exc.message) from exc


def actor():
    """The audit log's actor for a shell command: ``cli`` and the shell user's name."""
    import getpass

    from commentd.services.audit import Actor

    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        name = None
    return Actor("cli", name)


def run_service(action):
    """Run ``action`` with a database connection; domain errors become one-line errors."""
    from commentd.storage.database import connection

    with connection():
        try:
            return action()
        except CommentdError as exc:
            raise click.ClickException(exc.message) from exc
