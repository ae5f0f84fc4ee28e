"""RFC 9018 server cookies, against the RFC's own test vectors (Appendix A), and RFC 7873's
rules for the option: lengths, lifetime, clock skew, renewal, secret rotation."""

from __future__ import annotations

import ipaddress

import pytest

from gtm.dns.cookies import CookieState, Secrets, check, reply_cookie, server_cookie, well_formed

OLD = "e5e973e5a6b2a43f48e7dc849e37bfcf"
VECTORS = {
    # name: (secret, client cookie, client address, time, server cookie)
    "A.1 learning a new server cookie": (
        OLD, "2464c4abcf10c957", "198.51.100.100", 1559731985, "010000005cf79f111f8130c3eee29480",
    ),
    "A.2 the same client, renewed": (
        OLD, "2464c4abcf10c957", "198.51.100.100", 1559734385, "010000005cf7a871d4a564a1442aca77",
    ),
    "A.3 another client, renewed": (
        OLD, "fc93fc62807ddb86", "203.0.113.203", 1559734700, "010000005cf7a9acf73a7810aca2381e",
    ),
    "A.4 an IPv6 client after a rollover": (
        "445536bcd2513298075a5d379663c962", "22681ab97d52c298",
        "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961, "010000005cf7c609a6bb79d16625507a",
    ),
}  # fmt: skip


def packed(address: str) -> bytes:
    return ipaddress.ip_address(address).packed


@pytest.mark.parametrize("vector", VECTORS.values(), ids=VECTORS.keys())
def test_rfc_9018_vectors(vector: tuple[str, str, str, int, str]) -> None:
    secret, client, address, now, want = vector
    made = server_cookie(bytes.fromhex(secret), bytes.fromhex(client), packed(address), now)
    assert made.hex() == want
    assert check(Secrets.from_hex(secret), bytes.fromhex(client), made, packed(address), now)


def test_the_reserved_octets_as_sent_are_part_of_the_hash() -> None:
    """A.3: the client's cookie had reserved octets 0xabcdef; it still verifies."""
    cookie = bytes.fromhex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5")
    client, server = cookie[:8], cookie[8:]
    issued = int.from_bytes(server[4:8], "big")
    assert check(Secrets.from_hex(OLD), client, server, packed("203.0.113.203"), issued)
    assert not check(Secrets.from_hex(OLD), client, server, packed("203.0.113.204"), issued)


def test_a_rotation_accepts_the_old_secret_and_makes_cookies_with_the_new() -> None:
    """A.4: the cookie the old secret made is accepted while both are configured."""
    old, new = "dd3bdf9344b678b185a6f5cb60fca715", "445536bcd2513298075a5d379663c962"
    cookie = bytes.fromhex("22681ab97d52c298010000005cf7c57926556bd0934c72f8")
    address, now = packed("2001:db8:220:1:59de:d0f4:8769:82b8"), 1559741961
    assert not check(Secrets.from_hex(new), cookie[:8], cookie[8:], address, now)
    rotated = Secrets.from_hex(f"{new}\n{old}")
    assert check(rotated, cookie[:8], cookie[8:], address, now)
    data, state = reply_cookie(rotated, cookie[:8], cookie[8:], address, now)
    assert state is CookieState.VALID
    assert data.hex() == "22681ab97d52c298" + VECTORS["A.4 an IPv6 client after a rollover"][4]


NOW = 1_796_601_600
SECRETS = Secrets((bytes(range(16)),))
CLIENT = bytes.fromhex("0102030405060708")
ADDRESS = packed("192.0.2.1")
WINDOW = {
    # cookie stamped this many seconds before now: (still accepted, sent back as it came)
    "this second": (0, True, True),
    "half an hour old": (1800, True, True),
    "half an hour and a second": (1801, True, False),
    "an hour old": (3600, True, False),
    "an hour and a second": (3601, False, False),
    "five minutes ahead (skew)": (-300, True, False),
    "five minutes and a second ahead": (-301, False, False),
}


@pytest.mark.parametrize(("age", "valid", "echoed"), WINDOW.values(), ids=WINDOW.keys())
def test_lifetime_skew_and_renewal(age: int, valid: bool, echoed: bool) -> None:
    cookie = server_cookie(SECRETS.keys[0], CLIENT, ADDRESS, NOW - age)
    assert check(SECRETS, CLIENT, cookie, ADDRESS, NOW) is valid
    data, state = reply_cookie(SECRETS, CLIENT, cookie, ADDRESS, NOW)
    assert state is (CookieState.VALID if valid else CookieState.CLIENT_ONLY)
    assert (data[8:] == cookie) is echoed
    assert data[8:] == cookie or data[8:] == server_cookie(SECRETS.keys[0], CLIENT, ADDRESS, NOW)


def test_the_timestamp_wraps_in_serial_arithmetic() -> None:
    before_wrap, after_wrap = 0xFFFFFFFF - 100, 1000  # an hour minus a little apart, across 2**32
    cookie = server_cookie(SECRETS.keys[0], CLIENT, ADDRESS, before_wrap)
    assert check(SECRETS, CLIENT, cookie, ADDRESS, after_wrap)


def test_a_client_cookie_alone_gets_a_fresh_server_cookie() -> None:
    data, state = reply_cookie(SECRETS, CLIENT, None, ADDRESS, NOW)
    assert (state, len(data)) == (CookieState.CLIENT_ONLY, 24)
    assert data == CLIENT + server_cookie(SECRETS.keys[0], CLIENT, ADDRESS, NOW)


@pytest.mark.parametrize(("length", "ok"), [(0, False), (7, False), (8, True), (9, False),
                                            (15, False), (16, True), (24, True), (40, True),
                                            (41, False)])  # fmt: skip
def test_option_lengths(length: int, ok: bool) -> None:
    """RFC 7873 5.2.2: anything else is FORMERR."""
    assert well_formed(bytes(length)) is ok


def test_a_secret_is_sixteen_octets_of_hexadecimal() -> None:
    assert Secrets.from_hex(f"{OLD}, {OLD}").keys == (bytes.fromhex(OLD),) * 2
    for bad in ("", "abcd", "zz" * 16, OLD + "00"):
        with pytest.raises(ValueError, match="cookie secret"):
            Secrets.from_hex(bad)
