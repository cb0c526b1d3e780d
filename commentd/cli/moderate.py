"""``commentd comments ...`` and ``commentd threads ...``: moderation from the shell."""

from __future__ import annotations

import click

from commentd.cli.common import CONFIG_OPTION, actor, open_site_for, run_service
from commentd.services.moderation import QUEUE_STATUSES


@click.group()
def comments() -> None:
    """List and moderate comments."""


@comments.command("list")
@CONFIG_OPTION
@click.option(
    "--status",
    type=click.Choice(QUEUE_STATUSES),
    default="pending",
    show_default=True,
    help="Which comments to list.",
)
@click.option("--thread", "thread_uri", help="Only this thread's comments (its uri).")
@click.option("--search", help="Only comments whose text, author or email contains this.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
def list_comments(
    config_path: str | None, status: str, thread_uri: str | None, search: str | None, limit: int
) -> None:
    """List comments, the moderation queue (pending) by default."""
    site = open_site_for(config_path)
    page = run_service(
        lambda: site.moderation().queue(status, thread=thread_uri, search=search, limit=limit)
    )
    for comment in page.comments:
        author = comment.author or "anonymous"
        first_line = (comment.text.splitlines() or [""])[0][:60]
        click.echo(
            f"{comment.id}\t{comment.status.value}\t{comment.thread.uri}\t{author}\t{first_line}"
        )
    click.echo(f"{len(page.comments)} of {page.total} {status} comments", err=True)


def _comment_action(name: str, verb: str, method: str, doc: str) -> click.Command:
    @click.argument("ids", nargs=-1, required=True, type=click.IntRange(1))
    @CONFIG_OPTION
    def command(ids: tuple[int, ...], config_path: str | None) -> None:
        site = open_site_for(config_path)
        changed = run_service(lambda: getattr(site.moderation(), method)(ids, actor()))
        click.echo(f"{verb} {len(changed)} of {len(ids)} comments")

    command.__doc__ = doc
    return comments.command(name)(command)


_comment_action("approve", "approved", "approve", "Publish held comments, by id (all or none).")
_comment_action(
    "delete", "deleted", "delete", "Delete comments, by id; their content is erased (all or none)."
)
_comment_action(
    "spam", "marked as spam", "mark_spam", "Hide comments as spam, by id (all or none)."
)


@comments.command()
@click.argument("comment_id", type=click.IntRange(1))
@CONFIG_OPTION
@click.option("--off", is_flag=True, help="Unpin instead.")
def pin(comment_id: int, config_path: str | None, off: bool) -> None:
    """Pin a top-level comment to the top of its thread (or unpin it with --off)."""
    site = open_site_for(config_path)
    run_service(lambda: site.moderation().pin(comment_id, not off, actor()))
    click.echo(f"{'unpinned' if off else 'pinned'} comment {comment_id}")


@click.group()
def threads() -> None:
    """List, lock and unlock threads."""


@threads.command("list")
@CONFIG_OPTION
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
def list_threads(config_path: str | None, limit: int) -> None:
    """List threads, newest first, with their approved and pending counts."""
    site = open_site_for(config_path)
    for row in run_service(lambda: site.moderation().threads(limit=limit)):
        state = "closed" if row.closed else "open"
        click.echo(f"{row.thread.uri}\t{row.approved} approved\t{row.pending} pending\t{state}")


def _lock_command(name: str, locked: bool) -> click.Command:
    @click.argument("uri")
    @CONFIG_OPTION
    def command(uri: str, config_path: str | None) -> None:
        site = open_site_for(config_path)
        run_service(lambda: site.moderation().lock(uri, locked, actor()))
        click.echo(f"{name}ed {uri}")

    command.__doc__ = (
        "Close a thread to new comments, replies and votes."
        if locked
        else "Open a locked thread again."
    )
    return threads.command(name)(command)


_lock_command("lock", True)
_lock_command("unlock", False)
