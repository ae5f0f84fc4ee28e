"""Names: absolute vs relative, the apex, wildcards, case, lengths and the ambiguity rule."""

from __future__ import annotations

import re

import pytest

from gtm.config import names

ORIGIN = "gtm.example.test."


@pytest.mark.parametrize(
    ("written", "want"),
    [
        ("gtm.example.test", "gtm.example.test."),
        ("GTM.Example.Test.", "gtm.example.test."),
        ("a_b.example", "a_b.example."),
        ("xn--bcher-kva.example", "xn--bcher-kva.example."),
    ],
)
def test_absolute(written: str, want: str) -> None:
    assert names.absolute(written) == want


LONG = "x" * 64  # one octet over a label's limit


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("", "not the root"),
        (".", "not the root"),
        ("a..b", "empty label"),
        ("*.example", "only allowed in owner names"),
        ("bücher.example", re.escape("must be ASCII (write an IDN in its xn-- form)")),
        ("a b.example", "may only contain letters, digits, '-' and '_'"),
        ("a/b.example", "may only contain"),
        (LONG + ".example", f"label '{LONG}' is longer than 63 octets"),
        (".".join(["x" * 63] * 4), "longer than 255 octets"),
    ],
)
def test_absolute_errors(written: str, message: str) -> None:
    with pytest.raises(names.BadName, match=message):
        names.absolute(written)


def test_longest_name_fits() -> None:
    name = ".".join(["x" * 63, "x" * 63, "x" * 63, "x" * 61])  # 253 characters, 255 octets
    assert names.absolute(name) == name + "."


@pytest.mark.parametrize(
    ("written", "want"),
    [
        ("@", ORIGIN),
        ("www", "www.gtm.example.test."),
        ("WWW", "www.gtm.example.test."),
        ("*.static", "*.static.gtm.example.test."),
        ("*", "*.gtm.example.test."),
        ("_sip._tcp", "_sip._tcp.gtm.example.test."),
        ("www.gtm.example.test.", "www.gtm.example.test."),
        ("GTM.example.test.", ORIGIN),
    ],
)
def test_owner(written: str, want: str) -> None:
    assert names.owner(written, ORIGIN) == want


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("www.example.net.", "is not inside the zone 'gtm.example.test.'"),
        ("agtm.example.test.", "is not inside the zone"),
        ("a.*", "must be the leftmost label"),
        ("*a", "may only contain"),
        (
            "www.gtm.example.test",
            "'www.gtm.example.test' is ambiguous: write 'www.gtm.example.test.' "
            "(absolute, with the trailing dot) or 'www' (relative)",
        ),
        ("gtm.example.test", "or '@' (relative)"),
    ],
)
def test_owner_errors(written: str, message: str) -> None:
    with pytest.raises(names.BadName) as caught:
        names.owner(written, ORIGIN)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("written", "want"),
    [
        ("www", "www.gtm.example.test."),
        ("@", ORIGIN),
        (".", "."),
        ("mail.example.net.", "mail.example.net."),
        ("Mail.Example.Net.", "mail.example.net."),
        ("www.gtm.example.test.", "www.gtm.example.test."),
        ("wwwgtm.example.test", "wwwgtm.example.test.gtm.example.test."),
    ],
)
def test_data_names(written: str, want: str) -> None:
    assert names.data(written, ORIGIN) == want


@pytest.mark.parametrize(
    "written", ["www.gtm.example.test", "WWW.GTM.EXAMPLE.TEST", "*.x", "a..b."]
)
def test_data_name_errors(written: str) -> None:
    with pytest.raises(names.BadName):
        names.data(written, ORIGIN)


def test_relations() -> None:
    assert names.is_within("a.b.", "b.")
    assert names.is_within("b.", "b.")
    assert not names.is_within("ab.", "b.")
    assert names.is_below("a.b.", "b.")
    assert not names.is_below("b.", "b.")
    assert names.is_within("x.", ".")
    assert names.relative("www.gtm.example.test.", ORIGIN) == "www"
    assert names.relative(ORIGIN, ORIGIN) == "@"
    assert names.relative("x.example.net.", ORIGIN) == "x.example.net."
    assert names.is_wildcard("*.a.")
    assert not names.is_wildcard("a.*.")
