"""Building the nested tree a reader sees from a thread's rows."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from commentd.services.threads import build_tree
from commentd.storage.models import Status

START = dt.datetime(2026, 1, 1)


def row(cid, parent=None, status=Status.APPROVED, minute=None):
    return SimpleNamespace(
        id=cid,
        parent_id=parent,
        status=status,
        created=START + dt.timedelta(minutes=cid if minute is None else minute),
    )


def shape(nodes):
    """``[(id, [children...]), ...]`` for readable assertions."""
    return [(n.comment.id, shape(n.replies)) for n in nodes]


def chain(length):
    return [row(1)] + [row(i, parent=i - 1) for i in range(2, length + 1)]


def test_flat_and_nested():
    rows = [row(1), row(2, 1), row(3), row(4, 2), row(5, 1)]
    assert shape(build_tree(rows, 6)) == [(1, [(2, [(4, [])]), (5, [])]), (3, [])]


@pytest.mark.parametrize(
    ("max_depth", "expected"),
    [
        (4, [(1, [(2, [(3, [(4, []), (5, []), (6, [])])])])]),
        (3, [(1, [(2, [(3, []), (4, []), (5, []), (6, [])])])]),
        (2, [(1, [(2, []), (3, []), (4, []), (5, []), (6, [])])]),
        (1, [(1, []), (2, []), (3, []), (4, []), (5, []), (6, [])]),
    ],
)
def test_replies_beyond_max_depth_are_shown_at_max_depth(max_depth, expected):
    assert shape(build_tree(chain(6), max_depth)) == expected


def test_deep_branches_keep_chronological_order_at_the_deepest_level():
    # 1 > 2 > 3 and 1 > 2 > 4 > 5, with 5 written before 4's sibling 6
    rows = [row(1), row(2, 1), row(3, 2), row(4, 2), row(5, 4), row(6, 2)]
    assert shape(build_tree(rows, 3)) == [(1, [(2, [(3, []), (4, []), (5, []), (6, [])])])]


def test_deleted_placeholder_only_while_it_has_visible_replies():
    rows = [
        row(1, status=Status.DELETED),
        row(2, 1),
        row(3, status=Status.DELETED),
        row(4, status=Status.DELETED),
        row(5, 4, status=Status.DELETED),
    ]
    assert shape(build_tree(rows, 6)) == [(1, [(2, [])])]


def test_deleted_chain_above_a_visible_reply_is_kept():
    rows = [row(1, status=Status.DELETED), row(2, 1, status=Status.DELETED), row(3, 2)]
    assert shape(build_tree(rows, 6)) == [(1, [(2, [(3, [])])])]


def test_reply_to_an_unshown_parent_goes_to_the_top_level():
    rows = [row(1), row(3, parent=2)]  # 2 is pending or spam, so not among the rows
    assert shape(build_tree(rows, 6)) == [(1, []), (3, [])]


def test_children_sorted_by_time_even_when_ids_disagree():
    rows = [row(1), row(2, 1, minute=50), row(3, 1, minute=10)]
    assert shape(build_tree(rows, 6)) == [(1, [(3, []), (2, [])])]


def test_a_hostile_chain_of_thousands_does_not_exhaust_the_stack():
    roots = build_tree(chain(20_000), 6)
    level5 = roots[0].replies[0].replies[0].replies[0].replies[0]
    assert len(level5.replies) == 20_000 - 5
