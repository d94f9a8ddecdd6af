"""Where browser traffic comes from: country (and region, city) of a client address.

A browser doesn't know its country, so events sent with a client key or an
ingest token get `country` (and `region`, `city` when the database has them)
from the request's address when they carry none. Lookups are offline:

* by default the RIR allocation data shipped inside the `iptocc` wheel
  (country only; refreshed nightly upstream, so upgrading the package updates it);
* with the `geoip_db` setting, the user's own MaxMind GeoLite2 / DB-IP `.mmdb`
  (City or Country edition), read with `maxminddb`.

The address itself is never stored: only what the lookup returns.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OFF = "off"


@dataclass(frozen=True)
class Place:
    country: str | None = None
    region: str | None = None  # subdivision ISO code (e.g. CA), as the event field wants
    city: str | None = None

    def as_fields(self) -> dict[str, str]:
        return {k: v for k, v in (("country", self.country), ("region", self.region), ("city", self.city)) if v}


class GeoError(ValueError):
    """The configured database can't be used; the message says why."""


def _public(address: str) -> str | None:
    """The address in canonical form if it is globally routable; private, loopback, ... -> None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return str(ip) if ip.is_global else None


def _mmdb_place(record: Any) -> Place:
    """A GeoLite2/DB-IP record -> Place (DB-IP lite subdivisions have names only: no region then)."""
    if not isinstance(record, dict):
        return Place()
    country = (record.get("country") or {}).get("iso_code")
    subdivisions = record.get("subdivisions") or [{}]
    region = subdivisions[0].get("iso_code") if isinstance(subdivisions[0], dict) else None
    city = ((record.get("city") or {}).get("names") or {}).get("en")
    return Place(country, region, city)


class Geolocator:
    """`locate(address)` -> Place, or None when the address is not public or not found."""

    def __init__(self, mmdb_path: str = "") -> None:
        self.source = "none"
        self._lookup: Callable[[str], Place] | None = None
        if mmdb_path == OFF:
            return
        if mmdb_path:
            import maxminddb

            try:
                reader = maxminddb.open_database(mmdb_path)
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
                raise GeoError(f"VIDEOINSIGHTS_GEOIP_DB: cannot read {mmdb_path}: {exc}") from None
            self.source = f"mmdb:{mmdb_path}"
            self._lookup = lambda ip: _mmdb_place(reader.get(ip))
        else:
            from iptocc import country_code

            self.source = "iptocc"
            self._lookup = lambda ip: Place(country_code(ip))

    def locate(self, address: str) -> Place | None:
        ip = _public(address)
        if ip is None or self._lookup is None:
            return None
        place = self._lookup(ip)
        return place if place.country else None
