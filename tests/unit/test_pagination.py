"""Page tokens: opaque (encrypted), authenticated, and bound to the query they
were issued for."""

from __future__ import annotations

import base64

import pytest

from longreel.server.store.pagination import InvalidPageToken, PageTokens


def test_a_token_round_trips_for_its_own_query():
    tokens = PageTokens(b"k" * 32)
    assert tokens.decode(tokens.encode(1234, "q"), "q") == 1234
    assert tokens.decode("", "q") == 0


def test_a_token_is_url_safe():
    token = PageTokens(b"k" * 32).encode(2**63 - 1, "q")
    assert not set(token) & set("+/=")


def test_a_token_from_another_secret_is_refused():
    token = PageTokens(b"a" * 32).encode(5, "q")
    with pytest.raises(InvalidPageToken, match="not one this server issued"):
        PageTokens(b"b" * 32).decode(token, "q")


def test_a_token_for_another_query_is_refused():
    tokens = PageTokens(b"k" * 32)
    with pytest.raises(InvalidPageToken, match="other parameters"):
        tokens.decode(tokens.encode(5, "q"), "other")


def test_a_token_reveals_no_position():
    """The same position twice gives two unrelated tokens, neither holding the
    sequence number in the clear: a tenant cannot measure the others' activity."""
    tokens = PageTokens(b"k" * 32)
    seq = 0x0123456789ABCDEF
    first, second = tokens.encode(seq, "q"), tokens.encode(seq, "q")
    assert first != second
    for token in (first, second):
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert seq.to_bytes(8, "big") not in raw
        assert tokens.decode(token, "q") == seq


@pytest.mark.parametrize("position", range(0, 70, 3))
def test_flipping_any_character_is_detected(position):
    tokens = PageTokens(b"k" * 32)
    token = tokens.encode(5, "q")
    flipped = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
    with pytest.raises(InvalidPageToken):
        tokens.decode(flipped, "q")
