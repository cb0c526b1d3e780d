"""Who is asking: a client address, anonymized for storage and keyed for votes.

Full addresses are never stored. A comment keeps the /24 (IPv4) or /48 (IPv6) network; a
vote keeps an HMAC of the full address under the site's voter key, which identifies a voter
without revealing them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from commentd.services.keys import keyed_hash

IPV4_PREFIX = 24
IPV6_PREFIX = 48


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


@dataclass(frozen=True)
class Client:
    """The party making a request, as the web layer saw it."""

    address: str = ""

    def voter(self, key: bytes) -> str:
        """A stable pseudonymous id for this client under ``key``."""
        return keyed_hash(key, self.address)

    @property
    def network(self) -> str | None:
        """The anonymized address that may be stored."""
        return anonymize_ip(self.address)
