"""Configuration: the registry, loading, precedence, validation and the example file."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import pytest

from commentd.config import (
    INT,
    LIST,
    SECTIONS,
    SETTINGS,
    STR,
    CommentsConfig,
    Config,
    DatabaseConfig,
    ModerationConfig,
    RateLimitConfig,
    SecurityConfig,
    ServerConfig,
    Setting,
    default_config,
    example_ini,
    format_duration,
    format_size,
    load_config,
    parse_duration,
    parse_size,
)
from commentd.errors import CommentdError, ConfigError

SECRET = "s" * 40


def write(tmp_path: Path, text: str, name: str = "commentd.ini") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def env_value(name: str, text: str) -> object:
    """The typed value of setting ``name`` when the environment sets it to ``text``."""
    setting = next(s for s in SETTINGS if s.name == name)
    config = load_config(environ={setting.env_var: text})
    return getattr(getattr(config, setting.section), setting.key)


def env_error(name: str, text: str) -> ConfigError:
    setting = next(s for s in SETTINGS if s.name == name)
    with pytest.raises(ConfigError) as info:
        load_config(environ={setting.env_var: text})
    return info.value


# --- the registry --------------------------------------------------------------------------


def test_registry_names_are_unique_and_sections_known():
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert {s.section for s in SETTINGS} == set(SECTIONS)


@pytest.mark.parametrize(
    ("section", "cls"),
    [
        ("server", ServerConfig),
        ("database", DatabaseConfig),
        ("comments", CommentsConfig),
        ("security", SecurityConfig),
    ],
)
def test_section_dataclass_fields_follow_the_registry(section, cls):
    fields = [f.name for f in dataclasses.fields(cls)]
    assert fields == [s.key for s in SETTINGS if s.section == section]


def test_config_has_one_field_per_section_and_source():
    assert [f.name for f in dataclasses.fields(Config)] == [*SECTIONS, "source"]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_default_is_valid(setting):
    setting.parse(setting.default)
    assert setting.help.strip()
    assert setting.env_var == f"COMMENTD_{setting.section}_{setting.key}".upper()


# --- defaults ------------------------------------------------------------------------------


def test_zero_config_gives_the_defaults():
    config = load_config(environ={})
    assert config.source is None
    assert config.server == ServerConfig(
        host="127.0.0.1",
        port=8080,
        threads=8,
        public_url="",
        allowed_origins=(),
        max_body_size=64 * 1024,
        trusted_proxies=(),
        workers=1,
        access_log="text",
    )
    assert config.ratelimit == RateLimitConfig(
        comments_per_minute=5,
        comments_per_hour=30,
        votes_per_minute=30,
        votes_per_network=10,
        reports_per_hour=10,
        confirmations_per_network=10,
        confirmations_per_address=3,
    )
    assert config.database == DatabaseConfig(url="sqlite:///commentd.db", cache_memory=8 * 2**20)
    assert config.comments == CommentsConfig(
        max_length=10000,
        max_depth=6,
        edit_window=15 * 60,
        require_author=False,
        require_email=False,
        page_size=50,
        max_page_size=200,
        max_links=10,
        gravatar=False,
    )
    assert config.moderation == ModerationConfig(
        mode=("off",),
        lock_after=0,
        blocked_words=(),
        blocked_emails=(),
        blocked_networks=(),
        blocklist_action="reject",
        min_submit_time=3,
        akismet_key="",
        akismet_url="https://rest.akismet.com",
        reports_to_hide=3,
    )
    assert config.mail.enabled is False
    assert (config.mail.port, config.mail.security, config.mail.link_expiry) == (
        587,
        "starttls",
        7 * 86400,
    )
    assert config.webhooks.urls == ()
    assert (config.cache.max_age, config.cache.stale_while_revalidate) == (0, 0)
    assert config.cache.memory == 8 * 1024 * 1024
    assert config.metrics.allowed_networks == ("127.0.0.0/8", "::1/128")
    assert (config.metrics.token, config.metrics.statsd) == ("", "")
    assert (config.outbox.max_attempts, config.outbox.retry_delay) == (10, 60)
    assert (config.admin.session_lifetime, config.admin.login_attempts) == (7 * 86400, 5)
    assert config.security == SecurityConfig(secret="")
    assert default_config() == config


def test_default_public_url_is_built_from_host_and_port():
    config = load_config(environ={}, overrides={"server.port": 9000})
    assert config.public_url == "http://127.0.0.1:9000"
    assert config.server.base_url == "http://127.0.0.1:9000"


def test_default_public_url_brackets_an_ipv6_host():
    config = load_config(environ={}, overrides={"server.host": "::1"})
    assert config.public_url == "http://[::1]:8080"


def test_explicit_public_url_loses_its_trailing_slash():
    config = load_config(
        environ={}, overrides={"server.public_url": "https://example.com/comments/"}
    )
    assert config.server.public_url == "https://example.com/comments/"
    assert config.public_url == "https://example.com/comments"


# --- the file ------------------------------------------------------------------------------


def test_file_values_are_read(tmp_path):
    path = write(
        tmp_path,
        f"""
[server]
host = 192.0.2.10
port = 9000
allowed_origins = https://blog.example.com, https://www.example.com
max_body_size = 1MiB

[database]
url = postgresql://commentd:p%40ss@db/commentd

[comments]
edit_window = 1h30m
require_email = yes

[security]
secret = {SECRET}
""",
    )
    config = load_config(path, environ={})
    assert config.source == str(path)
    assert config.server.host == "192.0.2.10"
    assert config.server.port == 9000
    assert config.server.allowed_origins == ("https://blog.example.com", "https://www.example.com")
    assert config.server.max_body_size == 1024 * 1024
    assert config.database.url == "postgresql://commentd:p%40ss@db/commentd"
    assert config.comments.edit_window == 5400
    assert config.comments.require_email is True
    assert config.security.secret == SECRET
    # Untouched settings keep their defaults.
    assert config.server.threads == 8
    assert config.comments.page_size == 50


def test_path_may_be_a_str(tmp_path):
    path = write(tmp_path, "[server]\nport = 9001\n")
    assert load_config(str(path), environ={}).server.port == 9001


def test_keys_are_case_insensitive_and_colon_works(tmp_path):
    path = write(tmp_path, "[server]\nPORT: 9002\n")
    assert load_config(path, environ={}).server.port == 9002


def test_empty_file_gives_defaults(tmp_path):
    path = write(tmp_path, "")
    config = load_config(path, environ={})
    assert dataclasses.replace(config, source=None) == default_config()


def test_file_with_utf8_bom_is_read(tmp_path):
    path = tmp_path / "bom.ini"
    path.write_bytes("\ufeff[server]\nport = 9003\n".encode())
    assert load_config(path, environ={}).server.port == 9003


def test_commentd_config_names_the_file(tmp_path):
    path = write(tmp_path, "[server]\nport = 9004\n")
    config = load_config(environ={"COMMENTD_CONFIG": str(path)})
    assert config.server.port == 9004
    assert config.source == str(path)


def test_empty_commentd_config_means_no_file():
    assert load_config(environ={"COMMENTD_CONFIG": ""}).source is None


def test_explicit_path_beats_commentd_config(tmp_path):
    chosen = write(tmp_path, "[server]\nport = 9005\n", "chosen.ini")
    other = write(tmp_path, "[server]\nport = 9006\n", "other.ini")
    config = load_config(chosen, environ={"COMMENTD_CONFIG": str(other)})
    assert config.server.port == 9005


def test_missing_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "nope.ini"
    with pytest.raises(ConfigError, match="not found") as info:
        load_config(path, environ={})
    assert str(path) in str(info.value)


def test_missing_file_from_commentd_config_is_an_error(tmp_path):
    path = tmp_path / "nope.ini"
    with pytest.raises(ConfigError, match=r"nope\.ini"):
        load_config(environ={"COMMENTD_CONFIG": str(path)})


def test_directory_is_an_error_naming_it(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, environ={})
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "port = 8080\n",  # no section header
        "[server]\nport = 1\nport = 2\n",  # duplicate key
        "[server]\n[server]\n",  # duplicate section
        "[server\nport = 1\n",  # broken header
        "[server]\nport\n",  # no value
    ],
)
def test_unparsable_file_is_an_error_naming_it(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="cannot parse") as info:
        load_config(path, environ={})
    assert str(path) in str(info.value)


def test_undecodable_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "latin1.ini"
    path.write_bytes(b"[server]\nhost = caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(path) in str(info.value)


def test_unknown_key_in_file_is_named_with_a_suggestion(tmp_path):
    path = write(tmp_path, "[server]\nprot = 9000\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    message = str(info.value)
    assert message.startswith(f"unknown setting [server] prot in {path}")
    assert "did you mean [server] port?" in message
    assert info.value.field == "server.prot"


def test_unknown_key_without_a_close_match_has_no_suggestion(tmp_path):
    path = write(tmp_path, "[comments]\nzzzzzz = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value) == f"unknown setting [comments] zzzzzz in {path}"


def test_key_in_the_wrong_section_is_unknown(tmp_path):
    path = write(tmp_path, "[comments]\nport = 9000\n")
    with pytest.raises(ConfigError, match=r"unknown setting \[comments\] port"):
        load_config(path, environ={})


def test_unknown_section_is_named_with_a_suggestion(tmp_path):
    path = write(tmp_path, "[srever]\nport = 9000\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    message = str(info.value)
    assert message.startswith(f"unknown section [srever] in {path}")
    assert "did you mean [server]?" in message


def test_default_section_is_refused(tmp_path):
    path = write(tmp_path, "[DEFAULT]\nport = 9000\n")
    with pytest.raises(ConfigError, match=r"unknown section \[DEFAULT\]"):
        load_config(path, environ={})


def test_inline_comment_is_part_of_the_value(tmp_path):
    path = write(tmp_path, "[server]\nport = 9000  # the port\n")
    with pytest.raises(ConfigError, match="port: expected an integer"):
        load_config(path, environ={})


def test_percent_is_not_interpolated(tmp_path):
    secret = "%(x)s" + "%" * 30
    path = write(tmp_path, f"[security]\nsecret = {secret}\n")
    assert load_config(path, environ={}).security.secret == secret


def test_bad_value_in_file_names_section_key_value_and_path(tmp_path):
    path = write(tmp_path, "[server]\nport = abc\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value) == (
        f"[server] port: expected an integer from 1 to 65535, got 'abc' (in {path})"
    )
    assert info.value.field == "server.port"
    assert isinstance(info.value, CommentdError)


def test_bad_value_in_file_is_an_error_even_when_the_environment_replaces_it(tmp_path):
    path = write(tmp_path, "[server]\nport = abc\n")
    with pytest.raises(ConfigError, match="abc"):
        load_config(path, environ={"COMMENTD_SERVER_PORT": "9000"})


# --- environment and overrides -------------------------------------------------------------


def test_environment_sets_values():
    config = load_config(
        environ={"COMMENTD_SERVER_PORT": "9000", "COMMENTD_COMMENTS_EDIT_WINDOW": "30m"}
    )
    assert config.server.port == 9000
    assert config.comments.edit_window == 1800


def test_environment_beats_file_setting_by_setting(tmp_path):
    path = write(tmp_path, "[server]\nport = 9000\nthreads = 4\n")
    config = load_config(path, environ={"COMMENTD_SERVER_PORT": "9100"})
    assert config.server.port == 9100
    assert config.server.threads == 4


def test_overrides_beat_environment_and_file(tmp_path):
    path = write(tmp_path, "[server]\nport = 9000\nthreads = 4\n")
    config = load_config(
        path,
        environ={"COMMENTD_SERVER_PORT": "9100", "COMMENTD_SERVER_THREADS": "5"},
        overrides={"server.port": "9200"},
    )
    assert config.server.port == 9200
    assert config.server.threads == 5


def test_overrides_accept_typed_values():
    config = load_config(
        environ={},
        overrides={
            "server.port": 9000,
            "server.allowed_origins": ["https://Blog.example.com/"],
            "server.max_body_size": 2048,
            "comments.require_author": True,
            "comments.edit_window": datetime.timedelta(hours=1),
        },
    )
    assert config.server.port == 9000
    assert config.server.allowed_origins == ("https://blog.example.com",)
    assert config.server.max_body_size == 2048
    assert config.comments.require_author is True
    assert config.comments.edit_window == 3600


def test_overrides_accept_int_seconds_and_bytes():
    config = load_config(
        environ={}, overrides={"comments.edit_window": 60, "server.max_body_size": 4096}
    )
    assert config.comments.edit_window == 60
    assert config.server.max_body_size == 4096


def test_none_override_means_not_given():
    config = load_config(environ={"COMMENTD_SERVER_PORT": "9100"}, overrides={"server.port": None})
    assert config.server.port == 9100


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("server.port", 0),
        ("server.port", 70000),
        ("server.port", True),
        ("server.port", 8080.0),
        ("server.host", 127),
        ("comments.require_author", 1),
        ("comments.require_author", "maybe"),
        ("comments.edit_window", -1),
        ("comments.edit_window", datetime.timedelta(seconds=1.5)),
        ("comments.edit_window", datetime.timedelta(seconds=-60)),
        ("server.max_body_size", 10),
        ("server.max_body_size", -1),
        ("server.allowed_origins", "ftp://x"),
        ("server.allowed_origins", ["https://ok.example", 5]),
        ("server.allowed_origins", 5),
        ("database.url", 5),
    ],
)
def test_bad_override_values_are_refused(name, value):
    with pytest.raises(ConfigError, match="from overrides") as info:
        load_config(environ={}, overrides={name: value})
    assert info.value.field == name


def test_unknown_override_is_named():
    with pytest.raises(ConfigError) as info:
        load_config(environ={}, overrides={"server.prot": 9000})
    assert "unknown setting server.prot" in str(info.value)
    assert "did you mean server.port?" in str(info.value)


def test_unknown_key_in_a_known_section_from_the_environment_is_named():
    with pytest.raises(ConfigError) as info:
        load_config(environ={"COMMENTD_SERVER_PROT": "9000"})
    message = str(info.value)
    assert message.startswith(
        "unknown setting [server] prot from environment variable COMMENTD_SERVER_PROT"
    )
    assert "did you mean COMMENTD_SERVER_PORT?" in message
    assert info.value.field == "server.prot"


def test_bad_environment_value_names_the_variable():
    error = env_error("server.port", "abc")
    assert str(error) == (
        "[server] port: expected an integer from 1 to 65535, got 'abc' "
        "(from environment variable COMMENTD_SERVER_PORT)"
    )
    assert error.field == "server.port"


def test_other_environment_variables_are_ignored():
    environ = {
        "COMMENTD_TEST_POSTGRES": "postgresql://x/y",
        "COMMENTD_SERVERLESS": "1",
        "COMMENTD_FOO_BAR": "1",
        "COMMENTD_": "",
        "SERVER_PORT": "1",
        "PATH": "/usr/bin",
    }
    assert load_config(environ=environ) == default_config()


def test_environment_defaults_to_os_environ(monkeypatch):
    monkeypatch.setenv("COMMENTD_SERVER_PORT", "9300")
    monkeypatch.delenv("COMMENTD_CONFIG", raising=False)
    assert load_config().server.port == 9300


# --- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("server.port", "1", 1),
        ("server.port", "65535", 65535),
        ("server.port", " 9000 ", 9000),
        ("server.threads", "256", 256),
        ("comments.max_length", "1000000", 1_000_000),
        ("comments.max_depth", "1", 1),
        ("server.host", "::", "::"),
        ("server.host", "example.internal", "example.internal"),
    ],
)
def test_good_int_and_text_values(name, text, expected):
    assert env_value(name, text) == expected


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("server.port", "0"),
        ("server.port", "65536"),
        ("server.port", "-1"),
        ("server.port", "abc"),
        ("server.port", ""),
        ("server.port", "80.5"),
        ("server.port", "0x50"),
        ("server.threads", "0"),
        ("server.threads", "257"),
        ("comments.max_length", "1000001"),
        ("comments.max_depth", "51"),
        ("comments.page_size", "1001"),
        ("comments.max_page_size", "0"),
        ("server.host", ""),
        ("server.host", "   "),
    ],
)
def test_bad_int_and_text_values(name, text):
    error = env_error(name, text)
    section, key = name.split(".")
    assert str(error).startswith(f"[{section}] {key}: expected ")
    assert f"got {text.strip()!r}" in str(error)
    assert error.field == name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("yes", True),
        ("on", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("off", False),
        ("0", False),
    ],
)
def test_good_bool_values(text, expected):
    assert env_value("comments.require_author", text) is expected


@pytest.mark.parametrize("text", ["", "maybe", "2", "y", "t", "true!"])
def test_bad_bool_values(text):
    error = env_error("comments.require_author", text)
    assert "expected true or false" in str(error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("900", 900),
        ("90s", 90),
        ("15m", 900),
        ("15M", 900),
        ("2h", 7200),
        ("30d", 30 * 86400),
        ("1w", 7 * 86400),
        ("1h30m", 5400),
        ("1d 12h", 36 * 3600),
        ("30m1h", 5400),
    ],
)
def test_good_duration_values(text, expected):
    assert env_value("comments.edit_window", text) == expected
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "  ", "-5m", "-1", "abc", "m", "1.5h", "15 minutes", "1y", "1m1m", "h1"]
)
def test_bad_duration_values(text):
    error = env_error("comments.edit_window", text)
    assert "expected a duration" in str(error)
    with pytest.raises(ValueError, match="invalid value"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (90, "1m30s"), (900, "15m"), (5400, "1h30m"), (604800, "1w")]
)
def test_format_duration_round_trips(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("65536", 65536),
        ("1024", 1024),
        ("64KiB", 65536),
        ("64KB", 65536),
        ("64k", 65536),
        ("64kib", 65536),
        ("1MiB", 1024**2),
        ("1M", 1024**2),
        ("1 MB", 1024**2),
        ("1GiB", 1024**3),
    ],
)
def test_good_size_values(text, expected):
    assert env_value("server.max_body_size", text) == expected
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "k", "-1k", "1.5M", "64XB", "1T", "1023", "1000"])
def test_bad_size_values(text):
    error = env_error("server.max_body_size", text)
    assert "expected a size" in str(error)
    assert "at least 1KiB" in str(error)


@pytest.mark.parametrize(
    ("size", "text"), [(1000, "1000"), (1024, "1KiB"), (65536, "64KiB"), (3 * 1024**2, "3MiB")]
)
def test_format_size_round_trips(size, text):
    assert format_size(size) == text
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("https://blog.example.com", ("https://blog.example.com",)),
        ("https://Blog.Example.COM/", ("https://blog.example.com",)),
        ("HTTPS://blog.example.com:443", ("https://blog.example.com",)),
        ("http://blog.example.com:80", ("http://blog.example.com",)),
        ("http://localhost:8000", ("http://localhost:8000",)),
        ("https://blog.example.com:8443", ("https://blog.example.com:8443",)),
        ("http://127.0.0.1:4000", ("http://127.0.0.1:4000",)),
        ("http://[::1]:4000", ("http://[::1]:4000",)),
        (
            "https://a.example, https://b.example",
            ("https://a.example", "https://b.example"),
        ),
        ("https://a.example https://b.example,,", ("https://a.example", "https://b.example")),
    ],
)
def test_good_origin_lists(text, expected):
    assert env_value("server.allowed_origins", text) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "ftp://blog.example.com",
        "blog.example.com",
        "//blog.example.com",
        "https://",
        "https://blog.example.com/path",
        "https://blog.example.com/?q=1",
        "https://blog.example.com?q=1",
        "https://blog.example.com#top",
        "https://user@blog.example.com",
        "https://*.example.com",
        "https://blog.example.com:99999",
        "https://blog.example.com:port",
        "http://[nothex]:80",
        "http://[v1.example]",
        "http://[127.0.0.1]",
    ],
)
def test_bad_origins_are_named(bad):
    error = env_error("server.allowed_origins", f"https://ok.example.com, {bad}")
    assert f"got {bad!r}" in str(error)
    assert "expected origins" in str(error)


@pytest.mark.parametrize(
    "text",
    [
        "sqlite:///commentd.db",
        "sqlite:////var/lib/commentd/commentd.db",
        "sqlite://:memory:",
        "sqlite:///:memory:",
        "postgresql://commentd:p%25ss@localhost:5432/commentd",
        "postgres://localhost/commentd",
        "postgresql+pool://localhost/commentd",
        "postgres+pool://localhost/commentd",
    ],
)
def test_good_database_urls(text):
    assert env_value("database.url", text) == text


@pytest.mark.parametrize(
    "text", ["", "commentd.db", "sqlite:///", "sqlite://commentd.db", "mysql://x/y", "SQLITE"]
)
def test_bad_database_urls(text):
    error = env_error("database.url", text)
    assert "expected a database URL starting with sqlite:///" in str(error)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "https://comments.example.com",
        "http://localhost:8080",
        "https://blog.example.com/comments/",
    ],
)
def test_good_public_urls(text):
    assert env_value("server.public_url", text) == text


@pytest.mark.parametrize(
    "text",
    [
        "comments.example.com",
        "ftp://comments.example.com",
        "https://",
        "https://example.com/?a=1",
        "https://example.com/#top",
        "https://example.com:99999",
        "https://exa mple.com",
    ],
)
def test_bad_public_urls(text):
    error = env_error("server.public_url", text)
    assert "expected empty or an http:// or https:// URL" in str(error)


@pytest.mark.parametrize("secret", ["", "x" * 32, "x" * 100])
def test_good_secrets(secret):
    assert env_value("security.secret", secret) == secret


@pytest.mark.parametrize("secret", ["short", "y" * 31])
def test_short_secret_is_refused_without_printing_it(secret):
    error = env_error("security.secret", secret)
    message = str(error)
    assert "[security] secret: expected empty or text of at least 32 characters" in message
    assert f"got a {len(secret)}-character value" in message
    assert secret not in message
    assert error.field == "security.secret"


def test_page_size_greater_than_max_page_size_is_refused():
    with pytest.raises(ConfigError) as info:
        load_config(environ={"COMMENTD_COMMENTS_PAGE_SIZE": "300"})
    assert str(info.value) == (
        "[comments] page_size (300) must not be greater than [comments] max_page_size (200)"
    )
    assert info.value.field == "comments.page_size"


def test_page_size_may_equal_max_page_size_and_follow_it_up(tmp_path):
    path = write(tmp_path, "[comments]\npage_size = 500\nmax_page_size = 500\n")
    config = load_config(path, environ={})
    assert config.comments.page_size == config.comments.max_page_size == 500


def test_lowering_max_page_size_below_the_default_page_size_is_refused():
    with pytest.raises(ConfigError, match="page_size"):
        load_config(environ={}, overrides={"comments.max_page_size": 10})


# --- kinds used by no setting yet ----------------------------------------------------------


def test_list_kind():
    setting = Setting("test", "items", LIST, "", "Some items.")
    assert setting.parse("a, b c,,d\n e") == ("a", "b", "c", "d", "e")
    assert setting.parse("") == ()
    assert setting.parse(["a", " b "]) == ("a", "b")
    with pytest.raises(ConfigError, match="expected a list"):
        setting.parse(5)
    with pytest.raises(ConfigError, match="got 1"):
        setting.parse(["a", 1])
    with pytest.raises(ConfigError, match="got ''"):
        setting.parse(["a", ""])


@pytest.mark.parametrize(
    ("minimum", "maximum", "expected"),
    [
        (1, 9, "an integer from 1 to 9"),
        (1, None, "an integer of at least 1"),
        (None, 9, "an integer of at most 9"),
        (None, None, "an integer"),
    ],
)
def test_bounds_are_described(minimum, maximum, expected):
    setting = Setting("test", "n", INT, "1", "A number.", minimum=minimum, maximum=maximum)
    assert setting.expected() == expected
    if maximum is not None:
        with pytest.raises(ConfigError, match="got 10"):
            setting.parse(10)


def test_choices_constraint():
    setting = Setting("test", "mode", STR, "open", "The mode.", choices=("open", "closed"))
    assert setting.parse(" closed ") == "closed"
    with pytest.raises(ConfigError) as info:
        setting.parse("ajar", "in x.ini")
    assert str(info.value) == "[test] mode: expected one of open, closed, got 'ajar' (in x.ini)"
    assert info.value.field == "test.mode"


# --- the result is immutable ---------------------------------------------------------------


def test_config_is_frozen():
    config = default_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.server.port = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.server = config.server  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.source = "x"  # type: ignore[misc]
    assert isinstance(config.server.allowed_origins, tuple)
    hash(config)


def test_dataclasses_replace_works():
    config = default_config()
    changed = dataclasses.replace(
        config, server=dataclasses.replace(config.server, port=1234), source="x.ini"
    )
    assert changed.server.port == 1234
    assert changed.source == "x.ini"
    assert changed.public_url == "http://127.0.0.1:1234"
    assert config.server.port == 8080


# --- the example file ----------------------------------------------------------------------


def test_example_ini_round_trips_through_a_file(tmp_path):
    text = example_ini(
        {"security.secret": SECRET, "server.allowed_origins": "https://blog.example.com"}
    )
    path = write(tmp_path, text)
    config = load_config(path, environ={})
    assert config.security.secret == SECRET
    assert config.server.allowed_origins == ("https://blog.example.com",)
    expected = dataclasses.replace(
        default_config(),
        server=dataclasses.replace(
            default_config().server, allowed_origins=("https://blog.example.com",)
        ),
        security=SecurityConfig(secret=SECRET),
        source=str(path),
    )
    assert config == expected


def test_example_ini_sets_only_the_values_given():
    text = example_ini({"server.port": "9000"})
    lines = text.splitlines()
    assigned = [line for line in lines if line and not line.startswith(("#", "["))]
    assert assigned == ["port = 9000"]


def test_example_ini_without_values_loads_as_defaults(tmp_path):
    path = write(tmp_path, example_ini())
    assert dataclasses.replace(load_config(path, environ={}), source=None) == default_config()


def test_example_ini_documents_every_setting():
    text = example_ini()
    for section in SECTIONS:
        assert f"\n[{section}]\n" in text
    for setting in SETTINGS:
        default_line = f"# {setting.key} = {setting.default}".rstrip()
        assert f"\n{default_line}\n" in text
        assert setting.env_var in text
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    assert all(line == line.rstrip() for line in text.splitlines())


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"server.prot": "1"}, "unknown setting server.prot"),
        ({"server.port": "abc"}, r"\[server\] port: expected an integer"),
        ({"server.port": 9000}, "single line of text"),
        ({"security.secret": SECRET + "\n[server]"}, "single line of text"),
        ({"comments.page_size": "500"}, "max_page_size"),
    ],
)
def test_example_ini_refuses_values_that_would_not_load(values, match):
    with pytest.raises(ConfigError, match=match):
        example_ini(values)


def test_moderation_rules_combine_and_off_stands_alone():
    config = load_config(environ={}, overrides={"moderation.mode": "first, links"})
    assert config.moderation.mode == ("first", "links")
    with pytest.raises(ConfigError, match="off cannot be combined"):
        load_config(environ={}, overrides={"moderation.mode": "off links"})
    with pytest.raises(ConfigError, match=r"\[moderation\] mode: .* got 'sometimes'"):
        load_config(environ={}, overrides={"moderation.mode": "first sometimes"})


def test_blocked_words_are_phrases_split_on_commas_only():
    config = load_config(environ={}, overrides={"moderation.blocked_words": "buy now, casino"})
    assert config.moderation.blocked_words == ("buy now", "casino")


def test_webhooks_need_a_secret_and_http_urls():
    with pytest.raises(ConfigError, match="secret of at least 16"):
        load_config(environ={}, overrides={"webhooks.urls": "https://hooks.example.com/x"})
    with pytest.raises(ConfigError, match="http:// or https://"):
        load_config(
            environ={},
            overrides={"webhooks.urls": "ftp://example.com", "webhooks.secret": "s" * 16},
        )
    config = load_config(
        environ={},
        overrides={"webhooks.urls": "https://h.example/a?b=1", "webhooks.secret": "s" * 16},
    )
    assert config.webhooks.urls == ("https://h.example/a?b=1",)
