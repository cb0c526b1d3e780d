"""``commentd fediverse``: publishing posts to the blog's followers, and listing them."""

from __future__ import annotations

import click

from commentd.cli.common import CONFIG_OPTION, actor, open_site_for, run_service
from commentd.cli.output import emit_json, table


@click.group()
def fediverse() -> None:
    """The blog's Fediverse account ([fediverse] in the config)."""


@fediverse.command()
@CONFIG_OPTION
@click.argument("url")
@click.option("--title", help="The post's title (else the thread's, else the URL).")
@click.option("--summary", default="", help="A line about the post, shown under its title.")
def publish(config_path: str | None, url: str, title: str | None, summary: str) -> None:
    """Publish the blog post at URL to every follower: a Create the first time, an Update
    after that. Run it from the site's build or deploy hook for each new post."""
    from commentd.services.fediverse.publish import Publisher

    config = open_site_for(config_path).config
    done = run_service(lambda: Publisher(config).publish(url, title, summary, actor()))
    what = "published" if done.created else "updated"
    click.echo(f"{done.post.url}  {what}  {done.queued} inboxes queued")


@fediverse.command()
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def followers(config_path: str | None, as_json: bool) -> None:
    """List the accounts that follow the blog."""
    from commentd.services.fediverse.delivery import followers as all_followers

    open_site_for(config_path)
    rows = run_service(all_followers)
    if as_json:
        emit_json(rows)
        return
    columns = ("handle", "uri", "since")
    table(columns, [[row[name] for name in columns] for row in rows])
    click.echo(f"{len(rows)} followers", err=True)
