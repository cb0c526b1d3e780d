"""Remapping thread uris: the rules, the plan, and merges that keep every comment."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from commentd.errors import ValidationError
from commentd.services import audit
from commentd.services.audit import Actor
from commentd.services.clients import Client
from commentd.services.comments import CommentService
from commentd.services.importers import Importer
from commentd.services.keys import Keys
from commentd.services.remap import MAX_PATTERN, Move, Rules, apply, plan
from commentd.services.site import open_site
from commentd.services.threads import ThreadService
from commentd.storage.database import connection
from commentd.storage.models import AuditEntry, Comment, Report, Thread, Vote

SHELL = Actor("cli", "editor")


def refused(source, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Rules.parse(source)
    assert caught.value.code == "invalid_rules"
    assert message in caught.value.message, caught.value.message


class TestRules:
    def test_every_kind_of_rule_and_comments(self):
        rules = Rules.parse(
            "# moving from /blog/ to /posts/\n"
            "\n"
            "strip-query\n"
            "   # an indented comment\n"
            "prefix /blog/ /posts/\n"
            r"regex ^/(\d{4})/(\d\d)/(.*)$ /posts/\3" + "\n"
            "exact /about.html /about/\n"
        )
        assert rules.apply("/blog/hello/?utm=x") == "/posts/hello/"
        assert rules.apply("/2015/03/post-0/?utm_source=feed") == "/posts/post-0/"
        assert rules.apply("/about.html") == "/about/"
        assert rules.apply("/contact/") == "/contact/"  # no rule matches: unchanged
        assert rules("/blog/x") == "/posts/x"  # rules are a Callable[[str], str]

    def test_rules_apply_in_order_each_to_the_result_of_the_one_before(self):
        rules = Rules.parse("prefix /a/ /b/\nprefix /b/ /c/\n")
        assert rules.apply("/a/x") == "/c/x"
        assert Rules.parse("prefix /b/ /c/\nprefix /a/ /b/\n").apply("/a/x") == "/b/x"
        # a query string left in stops a later exact rule from matching
        assert Rules.parse("exact /p/ /q/\nstrip-query\n").apply("/p/?utm=x") == "/p/"
        assert Rules.parse("strip-query\nexact /p/ /q/\n").apply("/p/?utm=x") == "/q/"

    def test_a_regex_replaces_its_first_match_with_named_groups(self):
        rules = Rules.parse(r"regex (?P<year>\d{4})-(\d\d) \g<year>/\2")
        assert rules.apply("/2015-03-2016-04/") == "/2015/03-2016-04/"

    def test_consecutive_exact_rules_are_one_table_looked_up_once(self):
        rules = Rules.parse("exact /a/ /b/\nexact /b/ /a/\n")
        assert (rules.apply("/a/"), rules.apply("/b/")) == ("/b/", "/a/")  # a swap
        separate = Rules.parse("exact /a/ /b/\nstrip-query\nexact /b/ /c/\n")
        assert separate.apply("/a/") == "/c/"  # two tables, one after the other

    def test_full_urls_stand_for_their_path_and_query(self):
        rules = Rules.parse(
            "exact https://old.example.com/about.html?x=1 /about/\n"
            "prefix https://old.example.com/blog/ https://new.example.com/posts/\n"
        )
        assert rules.apply("/about.html?x=1") == "/about/"
        assert rules.apply("/blog/hi/") == "/posts/hi/"

    def test_a_csv_file_is_an_exact_table_with_an_optional_header(self, tmp_path):
        with_header = tmp_path / "moves.csv"
        with_header.write_text(
            "\ufeffold,new\r\n/a.html,/a/\r\n\r\n https://old.example.com/b.html , /b/\r\n",
            encoding="utf-8",
        )
        rules = Rules.parse(with_header)
        assert [rules.apply(u) for u in ("/a.html", "/b.html", "/old,new")] == [
            "/a/",
            "/b/",
            "/old,new",
        ]
        bare = tmp_path / "MOVES.CSV"
        bare.write_text('/a/,/b/\n"/with,comma/",/c/\n', encoding="utf-8")
        assert Rules.parse(bare).apply("/with,comma/") == "/c/"
        assert Rules.parse(bare).apply("/a/") == "/b/"

    def test_a_rules_file_by_path(self, tmp_path):
        path = tmp_path / "moves.txt"
        path.write_text("strip-query\n", encoding="utf-8")
        assert Rules.parse(path).apply("/p/?utm=x") == "/p/"

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("strip-query\nprefx /a/ /b/\n", "rules line 2: unknown rule 'prefx' (use strip-query"),
            ("prefix /a/\n", "rules line 1: prefix takes OLD and NEW"),
            ("exact /a/ /b/ /c/\n", "rules line 1: exact takes OLD and NEW"),
            ("strip-query now\n", "rules line 1: strip-query takes nothing after it"),
            ("regex ^/(a\n", "rules line 1: regex takes a PATTERN and a REPLACEMENT"),
            ("# ok\nregex ^/(a /b/\n", "rules line 2: bad regular expression: missing )"),
            (r"regex ^/(a)/ /\2/", r"rules line 1: bad regular expression: invalid group"),
            (r"regex ^/(a)/ /\g<year>/", "rules line 1: bad regular expression: unknown group"),
            (f"regex {'a' * (MAX_PATTERN + 1)} /b/", f"longer than {MAX_PATTERN} characters"),
            ("exact /a/ /b\x07/\n", "rules line 1: '/b\\x07/': uri must not contain control"),
            ("exact /a/ /b/\nexact /a/ /c/\n", "rules line 2: /a/ is already mapped on line 1"),
            ("# nothing but comments\n\n", "rules holds no rules."),
        ],
    )
    def test_bad_rules_are_refused_naming_the_line(self, text, message):
        refused(text, message)

    def test_the_same_exact_rule_twice_is_no_conflict(self):
        assert Rules.parse("exact /a/ /b/\nexact /a/ /b/\n").apply("/a/") == "/b/"

    def test_bad_files_are_refused_naming_the_file_and_line(self, tmp_path):
        rows = tmp_path / "moves.csv"
        rows.write_text("old,new\n/a/,/b/\n/c/,/d/,/e/\n", encoding="utf-8")
        refused(rows, "moves.csv line 3: a row is two uris: old,new")
        rows.write_text("/a/,\n", encoding="utf-8")
        refused(rows, "moves.csv line 1: a row is two uris")
        rows.write_text("old,new\n", encoding="utf-8")
        refused(rows, "moves.csv holds no rules.")
        text = tmp_path / "moves.rules"
        text.write_text("strip-query\nprefix /a/\n", encoding="utf-8")
        refused(text, "moves.rules line 2: prefix takes OLD and NEW")
        text.write_bytes(b"prefix /\xff/ /b/\n")
        refused(text, "Cannot read")


@pytest.fixture
def site(make_config):
    config = make_config()
    open_site(config)
    comments = CommentService(config, Keys.from_secret(config.security.secret))
    with connection():
        yield config, comments


def post(comments, uri, text, parent=None, address="198.51.100.7", **fields):
    data = {"text": text, **fields}
    if parent is not None:
        data["parent"] = parent
    return comments.create(uri, data, Client(address)).comment


def shown(config, uri):
    """The thread as readers get it: the text of each node's html, replies nested."""

    def walk(nodes):
        return [(n.comment.html.strip()[3:-4], walk(n.replies)) for n in nodes]

    return walk(ThreadService(config).page(uri).comments)


def set_thread(uri, days_old, title=None, locked=False):
    created = dt.datetime(2015, 1, 1) + dt.timedelta(days=1000 - days_old)
    Thread.update(created=created, title=title, locked=locked).where(Thread.uri == uri).execute()


def snapshot():
    """Every comment with what hangs on it: (text, thread uri, parent text, votes, reports,
    notification choices)."""
    rows = []
    for comment in Comment.select().order_by(Comment.id):
        rows.append(
            (
                comment.text,
                comment.parent.text if comment.parent_id else None,
                comment.likes,
                sorted(v.value for v in Vote.select().where(Vote.comment == comment.id)),
                Report.select().where(Report.comment == comment.id).count(),
                comment.notify,
                comment.notify_thread,
            )
        )
    return rows


RULES = Rules.parse("strip-query\nprefix /2015/ /posts/\n")


class TestPlanAndApply:
    def test_a_plan_lists_each_move_and_writes_nothing(self, site):
        _, comments = site
        post(comments, "/2015/post-0/", "one")
        post(comments, "/2015/post-0/?utm=x", "two")
        post(comments, "/2015/post-0/?utm=x", "three")
        post(comments, "/about/", "stays")
        set_thread("/2015/post-0/", 10)
        set_thread("/2015/post-0/?utm=x", 5)
        threads = list(Thread.select().tuples())
        assert plan(RULES) == [
            Move("/2015/post-0/", "/posts/post-0/", 1),
            Move("/2015/post-0/?utm=x", "/posts/post-0/", 2, into="/2015/post-0/"),
        ]
        assert list(Thread.select().tuples()) == threads
        assert AuditEntry.select().count() == 0

    def test_a_rename_keeps_the_thread_and_bumps_its_version(self, site):
        config, comments = site
        first = post(comments, "/2015/a/", "hello")
        before = Thread.get(Thread.uri == "/2015/a/")
        done = apply(plan(RULES), SHELL)
        assert done == [Move("/2015/a/", "/posts/a/", 1)]
        after = Thread.get(Thread.uri == "/posts/a/")
        assert (after.id, after.version) == (before.id, before.version + 1)
        assert Comment.get_by_id(first.id).thread_id == before.id
        assert shown(config, "/posts/a/") == [("hello", [])]
        assert shown(config, "/2015/a/") == []

    def test_threads_landing_on_one_uri_merge_into_the_oldest_keeping_everything(self, site):
        config, comments = site
        root = post(comments, "/2015/p/?utm=x", "root", notify=True, email="a@example.com")
        post(
            comments,
            "/2015/p/?utm=x",
            "reply",
            parent=root.id,
            notify_thread=True,
            email="b@example.com",
        )
        other = post(comments, "/2015/p/", "canonical")
        post(comments, "/2015/p/", "answer", parent=other.id)
        post(comments, "/2015/p/?utm=y", "stray")
        comments.vote(root.id, 1, Client("203.0.113.9"))
        comments.vote(other.id, -1, Client("203.0.113.9"))
        comments.report(other.id, "spam", Client("192.0.2.4"))
        set_thread("/2015/p/?utm=x", 30)  # the oldest: it survives
        set_thread("/2015/p/", 20, title="The post")
        set_thread("/2015/p/?utm=y", 10, locked=True)
        oldest = Thread.get(Thread.uri == "/2015/p/?utm=x")
        versions = [t.version for t in Thread.select()]
        before, count = snapshot(), Comment.select().count()

        done = apply(plan(RULES), SHELL)

        assert done == [
            Move("/2015/p/?utm=x", "/posts/p/", 2),
            Move("/2015/p/", "/posts/p/", 2, into="/2015/p/?utm=x"),
            Move("/2015/p/?utm=y", "/posts/p/", 1, into="/2015/p/?utm=x"),
        ]
        assert Comment.select().count() == count == 5
        assert snapshot() == before  # every reply link, vote, report and choice kept
        merged = Thread.get()
        assert (merged.id, merged.uri, merged.title) == (oldest.id, "/posts/p/", "The post")
        assert (merged.created, merged.locked) == (oldest.created, True)
        assert merged.version == max(versions) + 1
        assert {c.thread_id for c in Comment.select()} == {oldest.id}
        assert shown(config, "/posts/p/") == [
            ("root", [("reply", [])]),
            ("canonical", [("answer", [])]),
            ("stray", []),
        ]
        entry = AuditEntry.get()
        assert (entry.actor, entry.actor_name, entry.action) == ("cli", "editor", "remap")
        assert (entry.target_type, entry.target_id) == ("thread", None)
        assert audit.detail_of(entry) == {
            "threads": 3,
            "merged": 2,
            "comments": 5,
            "moves": {
                "/2015/p/?utm=x": "/posts/p/",
                "/2015/p/": "/posts/p/",
                "/2015/p/?utm=y": "/posts/p/",
            },
        }

    def test_a_thread_already_at_the_new_uri_takes_the_others_in(self, site):
        config, comments = site
        post(comments, "/2015/q/", "old page")
        post(comments, "/posts/q/", "new page")
        set_thread("/2015/q/", 50, title="Q")
        set_thread("/posts/q/", 1)
        staying = Thread.get(Thread.uri == "/posts/q/")
        older = Thread.get(Thread.uri == "/2015/q/").created
        assert apply(plan(RULES), SHELL) == [Move("/2015/q/", "/posts/q/", 1, into="/posts/q/")]
        merged = Thread.get()
        assert (merged.id, merged.title, merged.created) == (staying.id, "Q", older)
        assert [text for text, _ in shown(config, "/posts/q/")] == ["old page", "new page"]

    def test_two_threads_swap_their_uris(self, site):
        config, comments = site
        post(comments, "/a/", "was a")
        post(comments, "/b/", "was b")
        ids = {t.uri: t.id for t in Thread.select()}
        done = apply(plan(Rules.parse("exact /a/ /b/\nexact /b/ /a/\n")), SHELL)
        assert done == [Move("/b/", "/a/", 1), Move("/a/", "/b/", 1)]  # by new uri
        assert {t.uri: t.id for t in Thread.select()} == {"/a/": ids["/b/"], "/b/": ids["/a/"]}
        assert shown(config, "/a/") == [("was b", [])]

    def test_a_second_run_moves_nothing_and_logs_nothing(self, site):
        _, comments = site
        post(comments, "/2015/a/?utm=x", "hello")
        apply(plan(RULES), SHELL)
        threads = list(Thread.select().tuples())
        assert plan(RULES) == []
        assert apply([Move("/2015/a/?utm=x", "/posts/a/", 1)], SHELL) == []
        assert list(Thread.select().tuples()) == threads
        assert AuditEntry.select().count() == 1

    def test_a_rule_making_an_invalid_uri_refuses_the_plan(self, site):
        _, comments = site
        post(comments, "/?only=query", "hello")
        with pytest.raises(ValidationError) as caught:
            plan(Rules.parse("strip-query\nregex ^/(x?)$ \\1"))
        assert caught.value.code == "invalid_rules"
        assert caught.value.message == "The rules make '/?only=query' into '': uri is required."
        with pytest.raises(ValidationError) as caught:
            plan(Rules.parse("regex ^/ /\\t"))
        assert "uri must not contain control characters" in caught.value.message
        assert Thread.get().uri == "/?only=query"

    def test_a_thread_gone_since_the_plan_is_left_out(self, site):
        _, comments = site
        post(comments, "/2015/a/", "a")
        post(comments, "/2015/b/", "b")
        moves = plan(RULES)
        Thread.get(Thread.uri == "/2015/b/").delete_instance(recursive=True)
        assert apply(moves, SHELL) == [Move("/2015/a/", "/posts/a/", 1)]


MOVED_BLOG = """<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">
  <thread dsq:id="1"><link>https://old.example.com/blog/2015/post-0/?utm=x</link>
    <title>Post zero</title><createdAt>2015-02-01T10:00:00Z</createdAt>
    <isClosed>false</isClosed><isDeleted>false</isDeleted></thread>
  <thread dsq:id="2"><link>https://old.example.com/blog/2015/post-0/</link>
    <title>Post zero</title><createdAt>2015-02-03T10:00:00Z</createdAt>
    <isClosed>false</isClosed><isDeleted>false</isDeleted></thread>
  <thread dsq:id="3"><link>https://old.example.com/blog/2016/other/?utm_source=feed</link>
    <title>Other</title><createdAt>2016-05-01T10:00:00Z</createdAt>
    <isClosed>false</isClosed><isDeleted>false</isDeleted></thread>
  <post dsq:id="11"><message>&lt;p&gt;from a campaign link&lt;/p&gt;</message>
    <createdAt>2015-02-01T11:00:00Z</createdAt><author><name>Ann</name></author>
    <isDeleted>false</isDeleted><isSpam>false</isSpam><thread dsq:id="1" /></post>
  <post dsq:id="12"><message>&lt;p&gt;a reply to it&lt;/p&gt;</message><parent dsq:id="11" />
    <createdAt>2015-02-01T12:00:00Z</createdAt><author><name>Bob</name></author>
    <isDeleted>false</isDeleted><isSpam>false</isSpam><thread dsq:id="1" /></post>
  <post dsq:id="21"><message>&lt;p&gt;on the plain link&lt;/p&gt;</message>
    <createdAt>2015-02-04T09:00:00Z</createdAt><author><name>Cy</name></author>
    <isDeleted>false</isDeleted><isSpam>false</isSpam><thread dsq:id="2" /></post>
  <post dsq:id="31"><message>&lt;p&gt;older, on the other post&lt;/p&gt;</message>
    <createdAt>2016-05-02T09:00:00Z</createdAt><author><name>Di</name></author>
    <isDeleted>false</isDeleted><isSpam>false</isSpam><thread dsq:id="3" /></post>
</disqus>
"""


class TestImport:
    def test_imported_threads_land_on_the_remapped_uris(self, site, tmp_path):
        config, comments = site
        post(comments, "/posts/2016/other/", "written on the new site")
        importer = Importer(config, Keys.from_secret(config.security.secret))
        path = tmp_path / "disqus.xml"
        path.write_text(MOVED_BLOG, encoding="utf-8")
        rules = Rules.parse("strip-query\nprefix /blog/ /posts/\n")

        summary = importer.run(path, remap=rules)

        assert (summary.threads_created, summary.threads_existing) == (1, 2)
        assert summary.comments_imported == 4
        assert sorted(Thread.select(Thread.uri).tuples()) == [
            ("/posts/2015/post-0/",),
            ("/posts/2016/other/",),
        ]
        assert Thread.get(Thread.uri == "/posts/2015/post-0/").title == "Post zero"
        assert shown(config, "/posts/2015/post-0/") == [
            ("from a campaign link", [("a reply to it", [])]),
            ("on the plain link", []),
        ]
        assert [text for text, _ in shown(config, "/posts/2016/other/")] == [
            "older, on the other post",
            "written on the new site",
        ]
        again = importer.run(path, remap=rules)
        assert (again.comments_imported, again.comments_existing) == (0, 4)
        assert Thread.select().count() == 2

    def test_a_dry_run_counts_what_the_real_run_does(self, site, tmp_path):
        """Threads 1 and 2 land on one new uri: one is created, the other then exists."""
        config, _ = site
        importer = Importer(config, Keys.from_secret(config.security.secret))
        path = tmp_path / "disqus.xml"
        path.write_text(MOVED_BLOG, encoding="utf-8")
        rules = Rules.parse("strip-query\nprefix /blog/ /posts/\n")

        dry = importer.run(path, remap=rules, dry_run=True)
        assert Thread.select().count() == 0
        real = importer.run(path, remap=rules)

        assert (dry.threads_created, dry.threads_existing) == (2, 1)
        # the same summary, but for the spam filter, which a dry run does not teach
        assert replace(dry, dry_run=False, filter_trained=real.filter_trained) == real
        assert Thread.select().count() == 2

    def test_a_callable_remaps_too_and_a_bad_uri_skips_its_thread(self, site, tmp_path):
        config, _ = site
        importer = Importer(config, Keys.from_secret(config.security.secret))
        path = tmp_path / "disqus.xml"
        path.write_text(MOVED_BLOG, encoding="utf-8")
        summary = importer.run(path, remap=lambda uri: "" if "other" in uri else uri.upper())
        assert sorted(Thread.select(Thread.uri).tuples()) == [
            ("/BLOG/2015/POST-0/",),
            ("/BLOG/2015/POST-0/?UTM=X",),
        ]
        assert summary.skipped["thread: uri is required."] == 1


DOC = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text()


def doc_block(kind: str) -> str:
    section = DOC.split("## Moving a blog", 1)[1].split("\n## ", 1)[0]
    return section.split(f"```{kind}\n", 1)[1].split("```", 1)[0]


def test_the_documented_examples_do_what_the_docs_say(tmp_path):
    rules = Rules.parse(doc_block("text"))
    assert rules.apply("/blog/2015/03/hello/?utm_source=feed") == "/posts/hello/"
    assert rules.apply("/blog/notes") == "/posts/notes/"
    assert rules.apply("/about.html") == "/about/"
    table = tmp_path / "moves.csv"
    table.write_text(doc_block("csv"), encoding="utf-8")
    rules = Rules.parse(table)
    assert rules.apply("/2015/03/hello.html") == "/posts/hello/"
    assert rules.apply("/about.html") == "/about/"
