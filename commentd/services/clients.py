"""Who is asking: a client address, anonymized for storage and keyed for votes.

Full addresses are never stored. A comment keeps the /24 (IPv4) or /48 (IPv6) network; a
vote keeps an HMAC, under the site's voter key, of the reader id the embed sent (or, without
one, of the full address) and of the network, which identify a voter without revealing them.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from commentd.services.keys import keyed_hash

IPV4_PREFIX = 24
IPV6_PREFIX = 48


@functools.lru_cache(maxsize=1024)  # parsing costs more than the rest of a vote; clients repeat
def anonymize_ip(address: str) -> str | None:
    """The network of ``address``: IPv4 to /24, IPv6 to /48 (IPv4-mapped IPv6 as IPv4)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def _in(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in networks)


class AddressResolver:
    """The client's address: the peer's, or from ``X-Forwarded-For`` behind trusted proxies.

    The header is read right to left, skipping trusted proxies; the first other address is
    the client. From an untrusted peer the header is ignored, since anyone can send it.
    """

    def __init__(self, trusted_proxies: tuple[str, ...] = ()):
        self.trusted = tuple(ipaddress.ip_network(net) for net in trusted_proxies)

    def resolve(self, peer: str, forwarded_for: str | None, user_agent: str = "") -> Client:
        return Client(self._address(peer, forwarded_for), user_agent[:512])

    def _address(self, peer: str, forwarded_for: str | None) -> str:
        if not forwarded_for or not _in(peer, self.trusted):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not _in(hop, self.trusted):
                return hop
        return hops[0] if hops else peer


@dataclass(frozen=True)
class Client:
    """The party making a request, as the web layer saw it."""

    address: str = ""
    user_agent: str = ""

    def voter(self, key: bytes) -> str:
        """A stable pseudonymous id for this client under ``key``."""
        return keyed_hash(key, self.address)

    def network_voter(self, key: bytes) -> str:
        """A pseudonymous id for this client's network under ``key`` (for per-network caps)."""
        return keyed_hash(key, f"network\n{self.network or 'unknown'}")

    @property
    def network(self) -> str | None:
        """The anonymized address that may be stored."""
        return anonymize_ip(self.address)

    def within(self, networks: tuple[str, ...]) -> bool:
        """Whether the client's address is in one of ``networks`` (CIDR texts)."""
        return _in(self.address, tuple(ipaddress.ip_network(net) for net in networks))


def reader_voter(key: bytes, reader_id: str) -> str:
    """A stable pseudonymous id for the reader whose browser sent ``reader_id``, under ``key``;
    never the same as a ``Client.voter`` (an address has no newline)."""
    return keyed_hash(key, f"reader\n{reader_id}")
