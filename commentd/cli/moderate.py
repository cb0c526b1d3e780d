"""``commentd comments ...`` and ``commentd threads ...``: moderation from the shell."""

from __future__ import annotations

import datetime as dt

import click

from commentd.cli.common import CONFIG_OPTION, actor, open_site_for, run_service
from commentd.cli.output import JSON_OPTION, emit_json, table
from commentd.config import parse_duration
from commentd.services.moderation import QUEUE_STATUSES


class Since(click.ParamType):
    """A moment: an ISO date or time (UTC), or an age such as 7d or 12h (that long ago)."""

    name = "since"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.datetime):
            return value
        try:
            now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            return now - dt.timedelta(seconds=parse_duration(value))
        except ValueError:
            pass
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is neither an age (7d, 12h) nor a date (2026-01-31)", param, ctx)
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return moment


def _comment_json(comment, reports=None) -> dict:
    return {
        "id": comment.id,
        "thread": comment.thread.uri,
        "parent": comment.parent_id,
        "status": comment.status.value,
        "author": comment.author,
        "email": comment.email,
        "website": comment.website,
        "text": comment.text,
        "html": comment.html,
        "created": comment.created,
        "modified": comment.modified,
        "likes": comment.likes,
        "dislikes": comment.dislikes,
        "pinned": comment.pinned,
        "network": comment.remote_addr,
        "reports": dict(reports.reasons) if reports else {},
    }


@click.group()
def comments() -> None:
    """List, show and moderate comments."""


@comments.command("list")
@CONFIG_OPTION
@click.option(
    "--status",
    type=click.Choice((*QUEUE_STATUSES, "all")),
    default="pending",
    show_default=True,
    help="Which comments to list.",
)
@click.option("--thread", "thread_uri", help="Only this thread's comments (its uri).")
@click.option("--search", help="Only comments whose text, author or email contains this.")
@click.option("--since", type=Since(), help="Only comments since a date or for an age (7d).")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@JSON_OPTION
def list_comments(
    config_path: str | None,
    status: str,
    thread_uri: str | None,
    search: str | None,
    since: dt.datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """List comments, the moderation queue (pending, oldest first) by default."""
    site = open_site_for(config_path)
    page = run_service(
        lambda: site.moderation().queue(
            None if status == "all" else status,
            thread=thread_uri,
            search=search,
            limit=limit,
            since=since,
        )
    )
    if as_json:
        comments = [_comment_json(c, page.reports.get(c.id)) for c in page.comments]
        emit_json({"total": page.total, "comments": comments})
        return
    table(
        ("ID", "STATUS", "CREATED", "REPORTS", "THREAD", "AUTHOR", "TEXT"),
        [
            (
                c.id,
                c.status.value,
                c.created,
                page.reports[c.id].total if c.id in page.reports else 0,
                c.thread.uri,
                c.author or "anonymous",
                c.text,
            )
            for c in page.comments
        ],
        widths={4: 40, 5: 24, 6: 60},
    )
    click.echo(f"{len(page.comments)} of {page.total} {status} comments", err=True)


@comments.command()
@click.argument("comment_id", type=click.IntRange(1))
@CONFIG_OPTION
@JSON_OPTION
def show(comment_id: int, config_path: str | None, as_json: bool) -> None:
    """Show one comment in full, whatever its status."""
    site = open_site_for(config_path)

    def load():
        moderation = site.moderation()
        return _comment_json(moderation.comment(comment_id), moderation.reports(comment_id))

    data = run_service(load)
    if as_json:
        emit_json(data)
        return
    for key in ("id", "status", "thread", "parent", "author", "email", "website", "network"):
        click.echo(f"{key + ':':<9} {data[key] if data[key] is not None else '-'}")
    click.echo(f"{'created:':<9} {data['created']:%Y-%m-%d %H:%M:%S} UTC")
    click.echo(f"{'votes:':<9} +{data['likes']} -{data['dislikes']}")
    click.echo(f"{'pinned:':<9} {'yes' if data['pinned'] else 'no'}")
    reports = ", ".join(f"{reason} x{count}" for reason, count in data["reports"].items())
    click.echo(f"{'reports:':<9} {reports or '-'}")
    click.echo("")
    click.echo(data["text"])


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
@click.option("--text", help="The new Markdown text; without it, $EDITOR opens.")
@click.option("--author", help="A new author name.")
def edit(comment_id: int, config_path: str | None, text: str | None, author: str | None) -> None:
    """Edit a comment's text in $EDITOR (or give --text), at any time."""
    site = open_site_for(config_path)
    moderation = site.moderation()
    changes: dict[str, str] = {}
    if text is None and author is None:
        current = run_service(lambda: moderation.comment(comment_id).text)
        edited = click.edit(current, extension=".md")
        if edited is None or edited.rstrip("\n") == current.rstrip("\n"):
            click.echo("no change")
            return
        changes["text"] = edited.rstrip("\n")
    if text is not None:
        changes["text"] = text
    if author is not None:
        changes["author"] = author
    run_service(lambda: moderation.edit(comment_id, changes, actor()))
    click.echo(f"edited comment {comment_id}")


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
    """List, lock, unlock, rename, remap and delete threads."""


@threads.command("list")
@CONFIG_OPTION
@click.option("--search", help="Only threads whose uri or title contains this.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@JSON_OPTION
def list_threads(config_path: str | None, search: str | None, limit: int, as_json: bool) -> None:
    """List threads, newest first, with their approved and pending counts."""
    site = open_site_for(config_path)
    rows = run_service(lambda: site.moderation().threads(limit=limit, search=search))
    if as_json:
        emit_json(
            [
                {
                    "uri": r.thread.uri,
                    "title": r.thread.title,
                    "created": r.thread.created,
                    "approved": r.approved,
                    "pending": r.pending,
                    "closed": r.closed,
                }
                for r in rows
            ]
        )
        return
    table(
        ("URI", "TITLE", "APPROVED", "PENDING", "STATE"),
        [
            (r.thread.uri, r.thread.title, r.approved, r.pending, "closed" if r.closed else "open")
            for r in rows
        ],
        widths={0: 60, 1: 40},
    )


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


@threads.command()
@click.argument("old")
@click.argument("new")
@CONFIG_OPTION
def rename(old: str, new: str, config_path: str | None) -> None:
    """A page moved: move its thread to NEW, merging into the thread there if there is one."""
    site = open_site_for(config_path)
    thread = run_service(lambda: site.moderation().rename(old, new, actor()))
    click.echo(f"{old} is now {thread.uri}")


@threads.command("delete")
@click.argument("uri")
@CONFIG_OPTION
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_thread(uri: str, config_path: str | None, yes: bool) -> None:
    """Delete a thread and every comment in it."""
    site = open_site_for(config_path)
    if not yes:
        click.confirm(f"Delete {uri} and all its comments?", abort=True)
    count = run_service(lambda: site.moderation().delete_thread(uri, actor()))
    click.echo(f"deleted {uri} and its {count} comments")
