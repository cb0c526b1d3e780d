"""Mail: messages built safely, sent through a real (in-process) SMTP server.

Also home of the ``Mailbox`` helper and ``mailbox`` fixture other notification tests import.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from commentd.errors import CommentdError
from commentd.services import mail
from tests.net import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes


class Mailbox:
    """An SMTP server on 127.0.0.1 that keeps what it accepts.

    ``mode``: ``accept``; ``reject`` (550 every mail); ``block`` (hold the DATA command until
    ``release`` is set, then answer 451 without keeping the mail; ``entered`` is set when a
    mail is being held).
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.mode = "accept"
        self.entered = threading.Event()
        self.release = threading.Event()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.mode == "block":
            self.entered.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return "451 held and dropped"
        if self.mode == "reject":
            return "550 not today"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), message, envelope.content)
        )
        return "250 OK"

    def settings(self) -> dict[str, object]:
        """Config overrides that send mail here."""
        return {
            "mail.host": "127.0.0.1",
            "mail.port": self.port,
            "mail.security": "none",
            "mail.sender": "Blog comments <comments@blog.example.com>",
            "mail.timeout": 5,
        }

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    yield box
    box.release.set()
    box.controller.stop()


@pytest.fixture
def mail_config(make_config, mailbox):
    return make_config(**mailbox.settings(), **{"mail.admin": "admin@blog.example.com"})


def test_a_message_has_the_headers_and_body_it_was_queued_with(mail_config, mailbox):
    data = mail.payload(
        mail_config.mail,
        "ada@example.com",
        "Hello",
        "Body text ü\n",
        to_name="Ada Lovelace",
        headers={"List-Unsubscribe": "<https://c.example/unsubscribe/x>"},
    )
    message = mail.build(data)
    assert message["From"] == "Blog comments <comments@blog.example.com>"
    assert message["To"] == "Ada Lovelace <ada@example.com>"
    assert message["Subject"] == "Hello"
    assert message["Message-ID"] == data["message_id"]
    assert message["Message-ID"].endswith("@blog.example.com>")
    assert message["List-Unsubscribe"] == "<https://c.example/unsubscribe/x>"
    # the Message-ID is fixed when queued: building again (a retry) gives the same one
    assert mail.build(data)["Message-ID"] == message["Message-ID"]

    mail.send(mail_config.mail, message)
    (got,) = mailbox.received
    assert got.mail_from == "comments@blog.example.com"
    assert got.rcpt_tos == ["ada@example.com"]
    assert got.message["Message-ID"] == data["message_id"]
    assert got.message.get_content().replace("\r\n", "\n") == "Body text ü\n"


@pytest.mark.parametrize(
    "evil",
    ["Eve\r\nBcc: evil@x", "Eve\nBcc: evil@x", "Eve\rBcc: evil@x", "Eve\u2028Bcc: evil@x"],
)
def test_no_header_can_be_injected_through_names_or_subjects(mail_config, mailbox, evil):
    data = mail.payload(
        mail_config.mail, "ada@example.com", f"Reply from {evil}", "hi", to_name=evil
    )
    mail.send(mail_config.mail, mail.build(data))
    (got,) = mailbox.received
    assert got.rcpt_tos == ["ada@example.com"]
    assert got.message["Bcc"] is None
    header_lines = got.raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert not [line for line in header_lines if line.lower().startswith(b"bcc")]
    assert "\n" not in got.message["Subject"]
    assert "\r" not in got.message["Subject"]
    assert "Bcc: evil@x" in got.message["Subject"]  # kept as harmless text on one line


@pytest.mark.parametrize("bad", ["a@x.example\r\nBcc: evil@x", "a@x.example, evil@x.example"])
def test_a_recipient_must_be_one_address(mail_config, bad):
    with pytest.raises(ValueError, match="single mail address"):
        mail.build(mail.payload(mail_config.mail, bad, "s", "t"))


def test_a_closed_port_is_a_clear_failure(make_config):
    config = make_config(**{"mail.host": "127.0.0.1", "mail.port": free_port()})
    message = mail.probe_message(config.mail, "admin@example.com")
    with pytest.raises(CommentdError) as caught:
        mail.send_now(config.mail, message)
    assert caught.value.code == "mail_failed"
    assert caught.value.status == 502
    assert "ConnectionRefusedError" in caught.value.message


def test_no_server_configured_is_refused(config):
    with pytest.raises(CommentdError, match=r"\[mail\] host"):
        mail.send(config.mail, EmailMessage())


def test_a_refused_mail_raises(mail_config, mailbox):
    mailbox.mode = "reject"
    with pytest.raises(CommentdError, match="550"):
        mail.send_now(mail_config.mail, mail.probe_message(mail_config.mail, "a@example.com"))
    assert mailbox.received == []
