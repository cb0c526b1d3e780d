"""``commentd webmention send URL``: Webmentions for the links of one of the site's pages."""

from __future__ import annotations

import click

from commentd.cli.common import CONFIG_OPTION, _load, open_site_for, run_service
from commentd.errors import CommentdError
from commentd.services import webmention_send


@click.group()
def webmention() -> None:
    """Webmentions: telling the pages your posts link to that they were mentioned."""


@webmention.command()
@CONFIG_OPTION
@click.argument("url")
@click.option(
    "--dry-run", is_flag=True, help="Discover the endpoints and print them; send nothing."
)
def send(config_path: str | None, url: str, dry_run: bool) -> None:
    """Send a Webmention from the site's page URL to every page it links to that has an
    endpoint, through the outbox (with retries)."""
    if dry_run:  # writes nothing, so the database is not opened
        config = _load(config_path)
        try:
            results = webmention_send.send(config, url, dry_run=True)
        except CommentdError as exc:
            raise click.ClickException(exc.message) from exc
    else:
        config = open_site_for(config_path).config
        results = run_service(lambda: webmention_send.send(config, url))
    for found in results:
        if found.endpoint is None:
            reason = f" ({found.error})" if found.error else ""
            click.echo(f"{found.target}  no endpoint{reason}")
        else:
            state = "queued" if found.queued else "not queued (dry run)"
            click.echo(f"{found.target}  {found.endpoint}  {state}")
    queued = sum(found.queued for found in results)
    click.echo(f"{len(results)} links, {queued} Webmentions queued", err=True)
