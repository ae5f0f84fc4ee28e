"""YAML with line marks: duplicate keys, syntax errors, YAML 1.1 surprises, merges, aliases."""

from __future__ import annotations

import pytest

from gtm.config.loader import Map, Scalar, Seq, load_yaml
from gtm.model.errors import Reason


def test_lines_of_keys_and_values() -> None:
    root, reasons = load_yaml("a: 1\nb:\n  - x\n  - {c: d}\n", "f")
    assert reasons == []
    assert isinstance(root, Map)
    assert root.key_lines == {"a": 1, "b": 2}
    seq = root.items["b"]
    assert isinstance(seq, Seq)
    assert [item.line for item in seq.items] == [3, 4]
    inner = seq.items[1]
    assert isinstance(inner, Map)
    assert inner.items["c"] == Scalar("d", 4, "d") or inner.items["c"].line == 4


def test_duplicate_key_is_an_error_at_the_second() -> None:
    _, reasons = load_yaml("a:\n  x: 1\n  y: 2\n  x: 3\n", "f")
    assert reasons == [Reason("f", 4, "a.x", "duplicate key 'x' (first at line 2)")]


def test_duplicate_key_in_a_list_item() -> None:
    _, reasons = load_yaml("a:\n  - {x: 1, x: 2}\n", "f")
    assert reasons == [Reason("f", 2, "a[0].x", "duplicate key 'x' (first at line 2)")]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a: [1, 2\nb: 3\n", 2, "expected ',' or ']'"),
        ("a: 1\n  b: 2\n", 2, "mapping values are not allowed here"),
        ("a: 1\n\tb: 2\n", 2, "YAML syntax error"),
        ("a: 'open\n", 2, "found unexpected end of stream"),
        ("a: 1\n---\nb: 2\n", 2, "expected a single document"),
        ("a: *nowhere\n", 1, "found undefined alias"),
    ],
)
def test_syntax_error_has_the_problem_line(text: str, line: int, message: str) -> None:
    root, reasons = load_yaml(text, "f")
    assert root is None
    assert len(reasons) == 1
    assert reasons[0].line == line
    assert reasons[0].path == ""
    assert message in reasons[0].message


def test_unreadable_character() -> None:
    root, reasons = load_yaml("a: 1\nb: \x07\n", "f")
    assert root is None
    assert reasons[0].line == 2


def test_empty_document() -> None:
    assert load_yaml("", "f") == (None, [])
    assert load_yaml("# only a comment\n", "f") == (None, [])


def test_plain_text_is_kept_for_yaml_11_surprises() -> None:
    root, _ = load_yaml("a: NO\nb: 'NO'\nc: 1.5\nd: 2001-12-14\n", "f")
    assert isinstance(root, Map)
    no, quoted, number, date = (root.items[k] for k in "abcd")
    assert isinstance(no, Scalar)
    assert (no.value, no.plain) == (False, "NO")
    assert isinstance(quoted, Scalar)
    assert (quoted.value, quoted.plain) == ("NO", None)
    assert isinstance(number, Scalar)
    assert (number.value, number.plain) == (1.5, "1.5")
    assert isinstance(date, Scalar)
    assert date.plain == "2001-12-14"


def test_keys_are_strings_as_written() -> None:
    root, reasons = load_yaml("1: a\non: b\nnull: c\n", "f")
    assert reasons == []
    assert isinstance(root, Map)
    assert list(root.items) == ["1", "on", "null"]


def test_complex_key_is_an_error() -> None:
    _, reasons = load_yaml("? [a, b]\n: 1\n", "f")
    assert reasons == [Reason("f", 1, "", "a mapping key must be a plain string")]


def test_merge_keys_and_aliases() -> None:
    text = "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\nother: *b\n"
    root, reasons = load_yaml(text, "f")
    assert reasons == []
    assert isinstance(root, Map)
    use = root.items["use"]
    assert isinstance(use, Map)
    assert {k: v.value for k, v in use.items.items() if isinstance(v, Scalar)} == {"x": 1, "y": 3}
    assert use.key_lines["x"] == 1


def test_bad_merge() -> None:
    _, reasons = load_yaml("a:\n  <<: 5\n", "f")
    assert reasons == [Reason("f", 2, "a", "'<<' must merge a mapping or a list of mappings")]


def test_recursive_alias_does_not_loop() -> None:
    _, reasons = load_yaml("a: &x [1, *x]\n", "f")
    assert [r.message for r in reasons] == ["recursive YAML alias"]


def test_unknown_tag() -> None:
    root, reasons = load_yaml("a: !secret x\n", "f")
    assert isinstance(root, Map)
    assert len(reasons) == 1
    assert reasons[0].line == 1
    assert reasons[0].path == "a"
    assert "could not determine a constructor" in reasons[0].message
