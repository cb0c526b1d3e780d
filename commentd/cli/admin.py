"""``commentd admin ...``: the web admin page's password."""

from __future__ import annotations

import sys

import click

from commentd.cli.common import CONFIG_OPTION, _interactive, actor, open_site_for
from commentd.errors import CommentdError
from commentd.services import admin_auth
from commentd.storage.database import connection


@click.group()
def admin() -> None:
    """The web admin page at /admin."""


@admin.command("set-password")
@CONFIG_OPTION
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (for scripts) instead of asking.",
)
def set_password(config_path: str | None, password_stdin: bool) -> None:
    """Set the admin password for /admin; every admin session is signed out."""
    if password_stdin:
        password = sys.stdin.read().rstrip("\r\n")
    elif _interactive():
        password = click.prompt(
            f"New admin password (at least {admin_auth.MIN_PASSWORD_LENGTH} characters)",
            hide_input=True,
            confirmation_prompt=True,
        )
    else:
        raise click.UsageError("Not in a terminal: pipe the password in with --password-stdin.")
    site = open_site_for(config_path)
    with connection():
        try:
            admin_auth.set_password(password, actor())
        except CommentdError as exc:
            raise click.ClickException(exc.message) from exc
    click.echo(f"admin password set; sign in at {site.config.public_url}/admin")
