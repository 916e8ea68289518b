"""AIP-160 filter parsing and its translation to SQL."""

from __future__ import annotations

import pytest

from longreel.server.api.operations import FILTER_FIELDS
from longreel.server.filtering import And, Compare, FilterError, Not, Or, parse
from longreel.server.store.sqlfilter import compile_filter

DONE = Compare("done", "=", True)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("", None),
        ("   ", None),
        ("done = true", DONE),
        ("done=TRUE", DONE),
        ("done != false", Compare("done", "!=", False)),
        ('metadata.verb = "create"', Compare("verb", "=", "create")),
        ("metadata.verb = 'delete'", Compare("verb", "=", "delete")),
        ("error.code >= 1", Compare("error_code", ">=", 1)),
        ("NOT done = true", Not(DONE)),
        ("-done = true", Not(DONE)),
        (
            # OR binds tighter than AND (AIP-160).
            "done = true AND error.code = 1 OR error.code = 2",
            And((DONE, Or((Compare("error_code", "=", 1), Compare("error_code", "=", 2))))),
        ),
        ("done = true error.code = 0", And((DONE, Compare("error_code", "=", 0)))),
        ("(done = true)", DONE),
        (
            'metadata.create_time > "2026-01-01T00:00:00Z"',
            Compare("create_time", ">", 1_767_225_600_000_000),
        ),
    ],
)
def test_filters_parse_into_typed_trees(text, tree):
    assert parse(text, FILTER_FIELDS) == tree


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope = 1", "unknown field 'nope'"),
        ("done = 1", "true or false"),
        ("done > true", "operators = !="),
        ("error.code = one", "whole number"),
        ("metadata.verb = rename", "one of create, delete"),
        ("metadata.create_time > yesterday", "RFC 3339"),
        ('metadata.create_time > "2026-01-01T00:00:00"', "RFC 3339"),
        ("done =", "ends too early"),
        ("(done = true", "missing ')'"),
        ("done = true)", "unexpected ')'"),
        ("AND done = true", "expected a field name"),
        ("done = true; DROP TABLE operations", "true or false, not 'true;'"),
        ("done = true ; x = 1", "unknown field ';'"),
        ("(" * 40 + "done = true" + ")" * 40, "deeper than"),
    ],
)
def test_bad_filters_say_what_is_wrong(text, message):
    with pytest.raises(FilterError) as err:
        parse(text, FILTER_FIELDS)
    assert message in str(err.value)


def test_values_become_parameters_never_sql_text():
    tree = parse('metadata.target = "x\' OR 1=1 --"', FILTER_FIELDS)
    assert tree is not None
    sql, params = compile_filter(tree, {"target": "target"}, lambda name: f":{name}")
    assert sql == "target = :filter0"
    assert params == {"filter0": "x' OR 1=1 --"}


def test_nested_filters_compile_with_their_grouping():
    tree = parse("NOT (done = true OR error.code != 0)", FILTER_FIELDS)
    assert tree is not None
    columns = {"done": "done", "error_code": "error_code"}
    sql, params = compile_filter(tree, columns, lambda name: f"%({name})s")
    assert sql == "NOT ((done = %(filter0)s OR error_code <> %(filter1)s))"
    assert params == {"filter0": True, "filter1": 0}
