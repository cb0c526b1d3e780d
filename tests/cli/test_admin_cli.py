"""``commentd admin set-password``: prompts, --password-stdin, and what /admin then accepts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from commentd.cli import cli
from commentd.services import admin_auth, audit
from commentd.storage.database import connection
from commentd.storage.models import Setting
from tests.web.test_admin import AdminBrowser, signed_out


@pytest.fixture
def shell(serve, make_app, make_config, database_url, monkeypatch):
    """A running site, a CLI runner on its database, and an admin browser for its page."""
    config = make_config()
    client = serve(make_app(config))
    monkeypatch.setenv("COMMENTD_DATABASE_URL", database_url)
    monkeypatch.setenv("COMMENTD_SECURITY_SECRET", config.security.secret)
    return CliRunner(), AdminBrowser(client.port)


def stored_hash() -> str | None:
    with connection():
        row = Setting.get_or_none(Setting.key == admin_auth.PASSWORD_SETTING)
        return row.value if row else None


def test_password_stdin_sets_the_password_the_page_accepts(shell):
    runner, admin = shell
    result = runner.invoke(
        cli, ["admin", "set-password", "--password-stdin"], input="piped password\n"
    )
    assert result.exit_code == 0, result.output
    assert "admin password set" in result.output
    assert "piped password" not in result.output
    assert stored_hash().startswith("scrypt$")
    assert admin.login("piped password").status == 303
    with connection():
        assert audit.entries(limit=5)[-1].action == "set_password"


def test_in_a_terminal_it_asks_twice_without_echo(shell, monkeypatch):
    runner, admin = shell
    monkeypatch.setattr("commentd.cli.admin._interactive", lambda: True)
    result = runner.invoke(cli, ["admin", "set-password"], input="typed password\ntyped password\n")
    assert result.exit_code == 0, result.output
    assert "typed password" not in result.output  # hidden input
    assert "Repeat for confirmation" in result.output
    assert admin.login("typed password").status == 303


def test_a_mismatched_confirmation_asks_again(shell, monkeypatch):
    runner, _ = shell
    monkeypatch.setattr("commentd.cli.admin._interactive", lambda: True)
    result = runner.invoke(
        cli,
        ["admin", "set-password"],
        input="first password\nother password\nfinal password\nfinal password\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output.lower()
    with connection():
        assert admin_auth.check_password("final password", stored_hash())


def test_a_short_password_is_refused_and_nothing_is_stored(shell):
    runner, _ = shell
    result = runner.invoke(cli, ["admin", "set-password", "--password-stdin"], input="short\n")
    assert result.exit_code == 1
    assert "Error: The password must be at least 10 characters long." in result.output
    assert "Traceback" not in result.output
    assert stored_hash() is None


def test_without_a_terminal_or_stdin_flag_it_explains(shell):
    runner, _ = shell
    result = runner.invoke(cli, ["admin", "set-password"], input="")
    assert result.exit_code == 2
    assert "--password-stdin" in result.output
    assert stored_hash() is None


def test_setting_it_again_signs_out_the_web_session(shell):
    runner, admin = shell
    runner.invoke(cli, ["admin", "set-password", "--password-stdin"], input="first password\n")
    admin.login("first password")
    assert not signed_out(admin.get("/admin"))
    runner.invoke(cli, ["admin", "set-password", "--password-stdin"], input="second password\n")
    assert signed_out(admin.get("/admin"))
