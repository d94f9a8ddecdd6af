"""The long-lived objects a running server shares between requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.types import Scope

from videoinsights.auth.cache import ProjectCache
from videoinsights.auth.client_keys import ClientKeyCache
from videoinsights.ingest.geolocate import Geolocator
from videoinsights.settings import Settings
from videoinsights.store.base import Store
from videoinsights.store.writer import Writer
from videoinsights.web.client_address import Network, client_address, parse_networks
from videoinsights.web.metrics import Metrics
from videoinsights.web.ratelimit import RateLimiter

if TYPE_CHECKING:
    from videoinsights.alerts.runner import AlertRunner


@dataclass
class RateLimits:
    """One limiter per kind of key; see settings.rate_limit_*."""

    project: RateLimiter
    address: RateLimiter
    client_key: RateLimiter
    client_address: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        window = float(settings.rate_limit_window_s)
        return cls(
            project=RateLimiter(settings.rate_limit_per_project, window),
            address=RateLimiter(settings.rate_limit_per_address, window),
            client_key=RateLimiter(settings.rate_limit_per_client_key, window),
            client_address=RateLimiter(settings.rate_limit_per_client_address, window),
        )


@dataclass
class Services:
    settings: Settings
    store: Store
    writer: Writer
    projects: ProjectCache
    admin_token: str
    started_at: float
    metrics: Metrics = field(default_factory=Metrics)
    limits: RateLimits = field(init=False)
    proxies: tuple[Network, ...] = field(init=False)
    client_keys: ClientKeyCache = field(init=False)
    geo: Geolocator = field(init=False)
    alerts: AlertRunner | None = None  # this process's alert loop (None: it evaluates no rules)

    def __post_init__(self) -> None:
        self.limits = RateLimits.from_settings(self.settings)
        self.proxies = parse_networks(self.settings.trusted_proxies)
        self.client_keys = ClientKeyCache(lambda: self.store.sql.client_keys.active_client_keys(self.store.reader()))
        self.geo = Geolocator(self.settings.geoip_db)

    def client_address(self, scope: Scope) -> str:
        """The requesting client's address (X-Forwarded-For only from trusted proxies)."""
        return client_address(scope, self.proxies)
