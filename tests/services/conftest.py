"""Fixtures the service tests share."""

from __future__ import annotations

import pytest

from commentd.services.importers import Importer
from commentd.services.keys import Keys
from commentd.services.site import open_site
from commentd.storage.database import connection


@pytest.fixture
def site(make_config):
    """A site opened on the test's database, and an importer for it."""
    config = make_config()
    open_site(config)
    with connection():
        yield config, Importer(config, Keys.from_secret(config.security.secret))
