"""IPv6 addresses that carry an IPv4 address (NAT64, 6to4, IPv4-mapped, IPv4-compatible, SIIT's
IPv4-translated) are judged by the IPv4 address a gateway would deliver them to (issue 14)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_safety_properties import NON_PUBLIC

from scorecast.connectors.safety import UnsafeLocationError, check_host, check_url


def carriers(v4: ipaddress.IPv4Address) -> list[str]:
    """The IPv6 spellings that embed ``v4``."""
    value = int(v4)
    return [
        str(ipaddress.IPv6Address((0x64FF9B << 96) | value)),  # NAT64 64:ff9b::/96
        str(ipaddress.IPv6Address((0x2002 << 112) | (value << 80))),  # 6to4 2002:V4::/48
        str(ipaddress.IPv6Address((0x2002 << 112) | (value << 80) | 1)),
        str(ipaddress.IPv6Address((0xFFFF << 32) | value)),  # IPv4-mapped
        str(ipaddress.IPv6Address(value)),  # IPv4-compatible ::V4
        str(ipaddress.IPv6Address((0xFFFF << 48) | value)),  # SIIT IPv4-translated ::ffff:0:V4
    ]


non_public_v4 = st.sampled_from(NON_PUBLIC).flatmap(
    lambda net: st.integers(
        int(ipaddress.IPv4Network(net).network_address),
        int(ipaddress.IPv4Network(net).broadcast_address),
    )
)


@settings(deadline=None)  # no timing: the machine may be loaded
@given(value=non_public_v4)
def test_every_carrier_of_a_non_public_ipv4_is_refused(value: int) -> None:
    for host in carriers(ipaddress.IPv4Address(value)):
        with pytest.raises(UnsafeLocationError):
            check_host(host, allow_private=False)
        with pytest.raises(UnsafeLocationError):
            check_url(f"http://[{host}]:9000/x", ["http"], allow_private=False)
        check_host(host, allow_private=True)


@pytest.mark.parametrize("public", ["8.8.8.8", "1.1.1.1", "93.184.216.34"])
def test_carriers_of_a_public_ipv4_pass(public: str) -> None:
    for host in carriers(ipaddress.IPv4Address(public)):
        check_host(host, allow_private=False)


@pytest.mark.parametrize("host", ["64:ff9b:1::a00:1", "64:ff9b:1::808:808", "2002:a00:1::1"])
def test_local_nat64_and_6to4_of_private_networks_are_refused(host: str) -> None:
    with pytest.raises(UnsafeLocationError):
        check_host(host, allow_private=False)
