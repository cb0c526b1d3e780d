"""Fixtures the web tests share: the admin page's, defined beside their first tests."""

from tests.web.test_admin import admin_site, signed_in  # noqa: F401 - fixtures
