"""The spam filter on a real database: tokens, training, re-labelling, and the corpus goal."""

from __future__ import annotations

import time

import pytest

from commentd.services import filter as spam_filter
from commentd.services.audit import Actor
from commentd.services.clients import Client
from commentd.services.comments import CommentService
from commentd.services.keys import Keys
from commentd.services.moderation import ModerationService
from commentd.storage.database import connection, write_transaction
from commentd.storage.models import TOTALS_TOKEN, Comment, FilterToken, Status, Thread
from tests.concurrency import in_threads
from tests.spam_corpus import split, store

CLI = Actor("cli", "tester")
PHARMA = "Buy cheap viagra online without prescription https://cheap-pills-online.com"
GENUINE = "Thanks, the backup section finally convinced me to set up restic."


@pytest.fixture
def world(make_config, make_app):
    config = make_config(**{"moderation.mode": "all"})
    make_app(config)  # opens and migrates the database
    comments = CommentService(config, Keys.from_secret(config.security.secret))
    with connection():
        yield comments, ModerationService(config)


def post(comments, text, **fields):
    return comments.create("/p/", {"text": text, **fields}, Client("198.51.100.7")).comment


def model(text: str, **fields) -> dict[str, tuple[int, int]]:
    """The model's (spam, ham) count of each token of ``text``, by token."""
    wanted = {
        spam_filter.token_id(token): token
        for token in spam_filter.features(
            text, fields.get("author"), fields.get("website"), fields.get("email")
        )
    }
    rows = FilterToken.select().where(FilterToken.token.in_(list(wanted)))
    return {wanted[row.token]: (row.spam, row.ham) for row in rows}


def totals() -> tuple[int, int]:
    row = FilterToken.get_or_none(FilterToken.token == TOTALS_TOKEN)
    return (row.spam, row.ham) if row else (0, 0)


# -- tokens -------------------------------------------------------------------------------


def test_words_are_folded_and_normalized_and_links_give_their_domains_words():
    tokens = spam_filter.features(
        "\uff23\uff28\uff25\uff21\uff30 Straße! Visit https://www.Cheap-Pills-Online.com/buy now",
        author="Pill Shop",
        website="https://pills.example.net/",
        email="Sales@Pills.Example.NET",
    )
    assert {"cheap", "strasse", "visit", "now"} <= tokens  # NFKC, then casefold
    assert {"url:cheap-pills-online.com", "url.word:cheap", "url.word:pills"} <= tokens
    assert "url.tld:com" in tokens
    assert "url.shape:hyphens" in tokens
    assert {"author:pill", "author:shop", "site:pills.example.net"} <= tokens
    assert {"email:sales@pills.example.net", "mail:pills.example.net"} <= tokens
    assert "links:1" in tokens


def test_bare_host_names_are_links_and_emails_and_numbers_are_not():
    tokens = spam_filter.features("see cheap-meds.top/buy, mail me@mail.example.org, pi is 3.14")
    assert "url:cheap-meds.top" in tokens
    assert "links:1" in tokens
    assert not any(token.startswith("url:mail") for token in tokens)


HOSTILE = {
    "dotted": "a." * 5_000,
    "hyphens then dots": "a-" * 3_000 + "b." * 2_000,
    "digits": "1" * 9_999 + "a",
    "digits and spaces": "1 " * 5_000,
    "apostrophes": "a'" * 5_000,
    "schemes": "http://" * 1_400,
    "capitals": "ABCD " * 2_000,
    "han": "\u7f51" * 10_000,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_text_tokenizes_in_linear_time(name):
    """The longest comment of any shape takes milliseconds, never seconds (a bare-domain
    pattern that backtracks took 9 s on "a-a-...b.b.")."""
    start = time.perf_counter()
    spam_filter.features(HOSTILE[name])
    assert time.perf_counter() - start < 0.25


def test_scripts_without_spaces_become_character_pairs():
    tokens = spam_filter.features("网站优化")
    assert {"网站", "站优", "优化"} <= tokens


def test_the_model_stores_hashes_only_never_text_or_addresses(world):
    comments, moderation = world
    held = post(comments, GENUINE, email="ada@example.org", author="Ada")
    moderation.approve([held.id], CLI)
    stored = [row.token for row in FilterToken.select()]
    assert stored
    assert all(isinstance(token, int) for token in stored)
    assert spam_filter.token_id("email:ada@example.org") in stored


# -- training -----------------------------------------------------------------------------


def test_approve_trains_ham_and_spam_trains_spam_once(world):
    comments, moderation = world
    ham = post(comments, GENUINE)
    spam = post(comments, PHARMA)
    moderation.approve([ham.id], CLI)
    moderation.mark_spam([spam.id], CLI)
    moderation.mark_spam([spam.id], CLI)  # acting twice trains nothing more
    assert totals() == (1, 1)
    assert model(GENUINE)["restic"] == (0, 1)
    assert model(PHARMA)["viagra"] == (1, 0)
    assert Comment.get_by_id(ham.id).filter_label == "ham"
    assert Comment.get_by_id(spam.id).filter_label == "spam"


def test_a_relabelled_comment_is_untrained_from_the_old_class_first(world):
    comments, moderation = world
    comment = post(comments, PHARMA)
    moderation.approve([comment.id], CLI)
    assert model(PHARMA)["viagra"] == (0, 1)
    moderation.mark_spam([comment.id], CLI)
    assert model(PHARMA)["viagra"] == (1, 0)
    assert totals() == (1, 0)
    moderation.approve([comment.id], CLI)
    assert model(PHARMA)["viagra"] == (0, 1)
    assert totals() == (0, 1)


def test_an_edit_of_a_trained_comment_moves_its_training_to_the_new_words(world):
    comments, moderation = world
    comment = post(comments, "first words here")
    moderation.approve([comment.id], CLI)
    moderation.edit(comment.id, {"text": "second version"}, CLI)
    assert "first" not in {t for t, (s, h) in model("first words here").items() if s or h}
    assert model("second version")["second"] == (0, 1)
    assert totals() == (0, 1)


def test_a_reader_edit_of_a_trained_comment_moves_its_training_too(world):
    comments, moderation = world
    created = comments.create("/p/", {"text": "typo teh"}, Client("198.51.100.7"))
    moderation.approve([created.comment.id], CLI)
    comments.edit(created.comment.id, created.token, {"text": "typo the"})
    assert model("typo teh")["teh"] == (0, 0)
    assert model("typo the")["the"] == (0, 1)


def test_deleting_trains_nothing(world):
    comments, moderation = world
    comment = post(comments, PHARMA)
    moderation.delete([comment.id], CLI)
    assert FilterToken.select().count() == 0


def test_train_stored_learns_every_decided_comment_once(world):
    _comments, _ = world
    thread = Thread.create(uri="/old/")
    for n in range(7):
        status = Status.SPAM if n % 2 else Status.APPROVED
        Comment.create(thread=thread, text=f"old comment {n}", html="", status=status)
    Comment.create(thread=thread, text="still pending", html="", status=Status.PENDING)
    done = spam_filter.train_stored(CLI, batch=3)  # several batches
    assert (done.spam, done.ham) == (3, 4)
    assert totals() == (3, 4)
    again = spam_filter.train_stored(CLI)
    assert (again.spam, again.ham) == (0, 0)
    assert totals() == (3, 4)
    assert model("old comment 1")["comment"] == (3, 4)


def test_concurrent_training_counts_every_comment(world, database_url):
    """Atomic upserts: moderators deciding at the same moment lose no count (on PostgreSQL
    they run in parallel; on SQLite one after another)."""
    comments, moderation = world
    held = [post(comments, f"common words and number {n}").id for n in range(8)]

    def decide(n: int) -> None:
        with connection():
            if n % 2:
                moderation.mark_spam([held[n]], CLI)
            else:
                moderation.approve([held[n]], CLI)

    assert in_threads(decide, len(held)) == []
    assert totals() == (4, 4)
    assert model("common words")["common"] == (4, 4)


def test_untraining_never_goes_below_zero(world):
    comments, _ = world
    comment = post(comments, "lonely words")
    with write_transaction():
        spam_filter.learn(comment, "spam")
        FilterToken.update(spam=0).execute()  # a model someone reset by hand
        spam_filter.learn(comment, "ham")
    assert set(model("lonely words").values()) == {(0, 1)}


# -- scores -------------------------------------------------------------------------------


def test_the_filter_is_silent_until_it_has_seen_enough_of_each_class(world):
    comments, moderation = world
    assert not spam_filter.score_text(PHARMA, None, None, None, 1).trained
    moderation.mark_spam([post(comments, PHARMA).id], CLI)
    assert not spam_filter.score_text(PHARMA, None, None, None, 1).trained
    moderation.approve([post(comments, GENUINE).id], CLI)
    assert spam_filter.score_text(PHARMA, None, None, None, 1).trained
    assert not spam_filter.score_text(PHARMA, None, None, None, 2).trained


def test_the_corpus_goal_on_the_held_out_split(world):
    """Trained on two thirds of the labelled corpus, the filter at the default hold
    threshold holds at least 95% of the held-out spam and under 1% of the genuine comments."""
    comments, _ = world
    train, test = split()
    store(train)
    spam_filter.train_stored(CLI)
    hold = comments.config.spam.filter_hold / 100
    held = {True: 0, False: 0}
    for sample in test:
        score = spam_filter.score_text(sample.text, sample.author, sample.website, sample.email, 1)
        assert score.trained
        held[sample.spam] += score.value >= hold
    spam_total = sum(sample.spam for sample in test)
    ham_total = len(test) - spam_total
    assert spam_total >= 70
    assert ham_total >= 110
    assert held[True] / spam_total >= 0.95, held
    assert held[False] / ham_total < 0.01, held
