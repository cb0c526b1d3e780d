"""``commentd mail ...`` and ``commentd outbox ...``: test the mail setup, watch the queue."""

from __future__ import annotations

import signal
from typing import Any

import click

from commentd.cli.common import CONFIG_OPTION, actor, open_site_for, run_service
from commentd.cli.output import JSON_OPTION, emit_json, table
from commentd.errors import CommentdError
from commentd.services import mail as mail_service
from commentd.services import outbox as outbox_service


@click.group()
def mail() -> None:
    """Check that commentd can send mail."""


@mail.command("test")
@CONFIG_OPTION
@click.option("--to", "to", help="Where to send it (default: [mail] admin).")
def test_mail(config_path: str | None, to: str | None) -> None:
    """Send a test mail now, through the configured SMTP server (not the outbox)."""
    site = open_site_for(config_path)
    settings = site.config.mail
    if not settings.enabled:
        raise click.ClickException("No mail server is configured: set [mail] host.")
    recipient = to or settings.admin
    if not recipient:
        raise click.UsageError("Give --to ADDRESS, or set [mail] admin.")
    try:
        message = mail_service.probe_message(settings, recipient)
    except ValueError as exc:
        raise click.ClickException(f"Cannot send to {recipient!r}: {exc}") from exc
    try:
        mail_service.send_now(settings, message)
    except CommentdError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"sent a test mail to {recipient} through {settings.host}:{settings.port}")


@click.group()
def outbox() -> None:
    """The queue of mail and webhooks: list, retry, send."""


@outbox.command("list")
@CONFIG_OPTION
@click.option(
    "--status",
    type=click.Choice(outbox_service.STATUSES),
    help="Only messages in this state (default: all).",
)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@JSON_OPTION
def list_messages(config_path: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """List queued, sent and failed messages, newest first."""
    open_site_for(config_path)

    def rows() -> tuple[list, dict[str, int]]:
        return outbox_service.messages(status, limit=limit), outbox_service.counts()

    found, counts = run_service(rows)
    if as_json:
        emit_json(
            {
                "counts": counts,
                "messages": [
                    {
                        "id": m.id,
                        "status": m.status,
                        "kind": m.kind,
                        "recipient": m.recipient,
                        "attempts": m.attempts,
                        "created": m.created,
                        "next_attempt": m.next_attempt,
                        "sent": m.sent,
                        "last_error": m.last_error,
                    }
                    for m in found
                ],
            }
        )
        return
    table(
        ("ID", "STATUS", "KIND", "TO", "ATTEMPTS", "SENT OR DUE", "LAST ERROR"),
        [
            (
                m.id,
                m.status,
                m.kind,
                m.recipient,
                m.attempts,
                m.sent or m.next_attempt,
                m.last_error,
            )
            for m in found
        ],
        widths={3: 40, 6: 60},
    )
    summary = ", ".join(f"{count} {name}" for name, count in counts.items())
    click.echo(f"{len(found)} shown; {summary}", err=True)


@outbox.command("retry")
@click.argument("message_id", type=click.IntRange(1))
@CONFIG_OPTION
def retry_message(message_id: int, config_path: str | None) -> None:
    """Queue a failed message again, due now, with a fresh attempt count (audited)."""
    open_site_for(config_path)
    run_service(lambda: outbox_service.retry(message_id, actor()))
    click.echo(f"message {message_id} is pending again")


@outbox.command("run")
@CONFIG_OPTION
@click.option("--once", is_flag=True, help="Send what is due now, then exit (for cron).")
def run_outbox(config_path: str | None, once: bool) -> None:
    """Send queued messages: in the foreground until Ctrl-C or SIGTERM, or just once."""
    site = open_site_for(config_path)
    worker = outbox_service.Worker(site.config)
    if once:
        handled = worker.run_once()
        counts = run_service(outbox_service.counts)
        click.echo(
            f"handled {handled}; now {counts['pending']} pending, {counts['sent']} sent, "
            f"{counts['failed']} failed"
        )
        return

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    worker.start()
    click.echo("sending queued messages (Ctrl-C to stop)", err=True)
    try:
        while worker.is_alive():
            worker.join(1)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        worker.stop()
    click.echo("outbox worker stopped", err=True)
