"""Fixtures for the CLI tests: a live site and a CLI runner on its database."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from commentd.cli import cli


@pytest.fixture
def cli_site(serve, make_app, make_config, database_url, monkeypatch):
    """``start(**settings)`` -> (API client, ``run(*args, ok=True, **invoke_kwargs)``).

    The site is served live; the runner reaches the same database through the environment,
    as an admin's shell on the server would.
    """

    def start(**overrides):
        config = make_config(**overrides)
        client = serve(make_app(config))
        monkeypatch.setenv("COMMENTD_DATABASE_URL", database_url)
        monkeypatch.setenv("COMMENTD_SECURITY_SECRET", config.security.secret)
        runner = CliRunner()

        def run(*args, ok: bool = True, **kwargs):
            result = runner.invoke(cli, [str(arg) for arg in args], **kwargs)
            if ok:
                assert result.exit_code == 0, result.output
            return result

        return client, run

    return start
