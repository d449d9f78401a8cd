"""Properties of the pure checks: every spelling of a non-public IPv4 address is refused, every
public one passes; one SELECT passes, and anything appended after a ``;`` is refused."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.connectors.safety import UnsafeLocationError, check_host
from scorecast.connectors.sql_query import check_read_only_query

NON_PUBLIC = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
]


def spellings(value: int) -> list[str]:
    """Ways the C resolver accepts for the same IPv4 address."""
    octets = value.to_bytes(4, "big")
    return [
        ".".join(str(o) for o in octets),
        str(value),
        hex(value),
        ".".join(hex(o) for o in octets),
        ".".join("0" + oct(o)[2:] for o in octets),
        f"{octets[0]}.{int.from_bytes(octets[1:], 'big')}",
        f"[::ffff:{'.'.join(str(o) for o in octets)}]",
    ]


@st.composite
def non_public_address(draw: st.DrawFn) -> int:
    network = ipaddress.ip_network(draw(st.sampled_from(NON_PUBLIC)))
    offset = draw(st.integers(0, network.num_addresses - 1))
    return int(network.network_address) + offset


@given(non_public_address())
def test_every_spelling_of_a_non_public_address_is_refused(value: int) -> None:
    for spelling in spellings(value):
        with pytest.raises(UnsafeLocationError):
            check_host(spelling, allow_private=False)
        check_host(spelling, allow_private=True)


@given(st.integers(0, 2**32 - 1))
def test_public_addresses_pass_in_every_spelling(value: int) -> None:
    address = ipaddress.IPv4Address(value)
    if not address.is_global or address.is_multicast:
        return
    for spelling in spellings(value):
        check_host(spelling, allow_private=False)


literal = st.text(alphabet=st.characters(blacklist_characters="'\\\x00"), max_size=20)


@given(literal, st.sampled_from(["DROP TABLE t", "DELETE FROM t", "SELECT 2", "x"]))
def test_one_select_passes_and_a_second_statement_does_not(text: str, tail: str) -> None:
    query = f"SELECT '{text}' AS a, \"col;\" FROM t /* ; */ -- ;\n"
    check_read_only_query(query)
    check_read_only_query(query + ";")
    with pytest.raises(ValueError):
        check_read_only_query(f"{query}; {tail}")
