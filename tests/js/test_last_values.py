"""``_`` and ``_error``: literals rebuilt on the client (repl.js.last_values)."""

from __future__ import annotations

import pytest

from repl.js.last_values import LastValueError, LastValues, literal_of, substitute_last_values


@pytest.mark.parametrize(
    "text",
    ["42", "-1.5", "'hi'", '"it\'s"', "`a'b\"c`", "true", "null", "undefined", "NaN", "-Infinity", "12n",
     "[ 1, 2, 3 ]", "{ a: 1, 'b-c': [ 'x' ], d: { e: null } }", "[]", "{}"],
)
def test_printed_literals_are_accepted(text: str) -> None:
    assert literal_of(text) == text


@pytest.mark.parametrize(
    "text",
    ["[Function: f]", "Map(1) { 'a' => 1 }", "Foo { a: 1 }", "<ref *1> { a: [Circular *1] }",
     "[ 1, 2, ... 98 more items ]", "process.exit()", "{ a: globalThis }", "[Object: null prototype] {}"],
)
def test_other_printed_values_are_refused(text: str) -> None:
    assert literal_of(text) is None


def test_references_are_replaced_not_properties_or_strings() -> None:
    last = LastValues(value_text="{ a: 1 }")
    out = substitute_last_values("const y = _.a + o._ + '_'; f(_); ({_})", last)
    assert out == "const y = ({ a: 1 }).a + o._ + '_'; f(({ a: 1 })); ({_: ({ a: 1 })})"


def test_no_reference_sends_the_code_unchanged() -> None:
    assert substitute_last_values("const a_b = 1", LastValues(value_text="1")) is None


def test_a_session_that_declares_underscore_keeps_its_own() -> None:
    last = LastValues(value_text="1")
    assert substitute_last_values("const _ = require('lodash')", last) is None
    assert last.user_owned
    assert substitute_last_values("_.chunk([1, 2], 1)", last) is None


def test_unusable_values_say_why_and_nothing_is_sent() -> None:
    with pytest.raises(LastValueError, match="nothing has run yet"):
        substitute_last_values("_ + 1", LastValues())
    with pytest.raises(LastValueError, match=r"\[Function: f\].*Assign the value to a variable"):
        substitute_last_values("_()", LastValues(value_text="[Function: f]"))
    with pytest.raises(LastValueError, match="no run has failed"):
        substitute_last_values("_error.message", LastValues(value_text="1"))
