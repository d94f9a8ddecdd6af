"""Who is on the other end: SDK, browser, OS, device, place and network of a client.

`EndpointSampler` compiles the config's mixes once; `draw` returns an `Endpoint`
whose `fields` are exactly the endpoint fields of `connectionCreated` (and of a
failed `connectAttempt`), in the vocabulary's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from videoinsights.simulate.config import Country, NetworkProfile, Region, SimConfig
from videoinsights.simulate.draw import Weighted
from videoinsights.simulate.ids import uuid4

Fields = dict[str, object]

_WIN = "Windows NT 10.0; Win64; x64"
_MAC = "Macintosh; Intel Mac OS X 10_15_7"
_WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko)"


def user_agent(browser: str, version: str, os: str, os_version: str) -> str:
    """A plausible user-agent string (frozen-UA style, as current browsers send)."""
    major = version.split(".")[0]
    platform = {"Windows": _WIN, "macOS": _MAC, "Linux": "X11; Linux x86_64", "ChromeOS": "X11; CrOS x86_64 15633.69.0",
                "Android": "Linux; Android 10; K"}.get(os, _WIN)
    mobile = "Mobile " if os == "Android" else ""
    chrome = f"Mozilla/5.0 ({platform}) {_WEBKIT} Chrome/{major}.0.0.0 {mobile}Safari/537.36"
    if browser == "CHROME":
        return chrome
    if browser == "EDGE":
        return f"{chrome} Edg/{major}.0.0.0"
    if browser == "FIREFOX":
        return f"Mozilla/5.0 ({platform}; rv:{major}.0) Gecko/20100101 Firefox/{major}.0"
    if browser == "SAFARI":
        if os == "iOS":
            v = os_version.replace(".", "_")
            return (f"Mozilla/5.0 (iPhone; CPU iPhone OS {v} like Mac OS X) AppleWebKit/605.1.15 "
                    f"(KHTML, like Gecko) Version/{version} Mobile/15E148 Safari/604.1")
        return f"Mozilla/5.0 ({_MAC}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{version} Safari/605.1.15"
    if browser == "IE":
        return "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"
    if os == "Android":
        return (f"Mozilla/5.0 (Linux; Android 10; K) {_WEBKIT} SamsungBrowser/{version} "
                "Chrome/121.0.0.0 Mobile Safari/537.36")
    return f"{chrome} OPR/{version}"


@dataclass(slots=True, eq=False)
class Endpoint:
    fields: Fields  # endpoint fields of connectionCreated, vocabulary order
    country: str
    profile: NetworkProfile
    failure: float  # sdk x browser x network x country multiplier on attempt failures
    extra_rtt_ms: float
    native: bool  # not a browser (no browser fields)


class EndpointSampler:
    def __init__(self, config: SimConfig) -> None:
        self.sdks = Weighted([(s, s.weight) for s in config.sdks])
        self.sdk_versions = {s.type: Weighted(s.versions) for s in config.sdks}
        self.sdk_os = {s.type: Weighted(s.os) for s in config.sdks if s.os}
        self.browsers = Weighted([(b, b.weight) for b in config.browsers])
        self.browser_versions = {b.name: Weighted(b.versions) for b in config.browsers}
        self.browser_os = {b.name: Weighted(b.os) for b in config.browsers}
        self.oses = {o.name: o for o in config.oses}
        self.os_versions = {o.name: Weighted(o.versions) for o in config.oses}
        self.devices = {o.name: Weighted(o.devices) for o in config.oses if o.devices}
        self.network_types = {k: Weighted(m) for k, m in config.network_types}
        self.profiles = {p.name: p for p in config.network_profiles}
        self.profile_by_network = {k: Weighted(m) for k, m in config.profile_by_network}
        self.countries = Weighted([(c, c.weight) for c in config.countries])
        self.regions = {c.code: Weighted([(r, r.weight) for r in c.regions]) for c in config.countries}
        self.app_versions = Weighted(config.app_versions)
        self.foreign = config.behaviour.foreign
        self.long_distance = config.behaviour.foreign_long_distance

    def place(self, rng: Random, country: Country, region: Region, may_be_foreign: bool) -> tuple[Country, Region]:
        if may_be_foreign and rng.random() < self.foreign:
            other = self.countries.pick(rng)
            if other.code != country.code:
                return other, self.regions[other.code].pick(rng)
        if rng.random() < 0.6:
            return country, region
        return country, self.regions[country.code].pick(rng)

    def draw(self, rng: Random, country: Country, region: Region, may_be_foreign: bool = True) -> Endpoint:
        sdk = self.sdks.pick(rng)
        browser = None
        if sdk.type == "JS":
            browser = self.browsers.pick(rng)
            bversion = self.browser_versions[browser.name].pick(rng)
            os_name = self.browser_os[browser.name].pick(rng)
        else:
            os_name = self.sdk_os[sdk.type].pick(rng)
        os = self.oses[os_name]
        os_version = self.os_versions[os_name].pick(rng)
        network = self.network_types["mobile" if os.mobile else "desktop"].pick(rng)
        c, r = self.place(rng, country, region, may_be_foreign)
        if (c.code != country.code and network != "cellular" and "lossy_long_distance" in self.profiles
                and rng.random() < self.long_distance):
            profile = self.profiles["lossy_long_distance"]
        else:
            profile = self.profiles[self.profile_by_network[network].pick(rng)]
        f: Fields = {"sdkType": sdk.type, "sdkVersion": self.sdk_versions[sdk.type].pick(rng)}
        if browser is not None:
            f["browser"] = browser.name
            f["browserVersion"] = bversion
        f["country"] = c.code
        f["region"] = r.code
        f["city"] = r.cities[int(rng.random() * len(r.cities))]
        f["guid"] = uuid4(rng)
        f["os"] = os_name
        f["osVersion"] = os_version
        if browser is None and os_name in self.devices:
            f["deviceModel"] = self.devices[os_name].pick(rng)
        f["networkType"] = network
        f["appVersion"] = self.app_versions.pick(rng)
        if browser is not None:
            f["userAgent"] = user_agent(browser.name, bversion, os_name, os_version)
        failure = sdk.failure * (browser.failure if browser else 1.0) * profile.failure * c.failure
        return Endpoint(f, c.code, profile, failure, c.extra_rtt_ms, browser is None)

    def sip(self, rng: Random, country: Country, region: Region) -> Endpoint:
        """The SIP gateway's side of a SIP call: a wired, well-provisioned endpoint."""
        f: Fields = {"sdkType": "OTHER", "country": country.code, "region": region.code, "guid": uuid4(rng),
                     "networkType": "ethernet"}
        profile = self.profiles.get("good_broadband") or next(iter(self.profiles.values()))
        return Endpoint(f, country.code, profile, 1.0, country.extra_rtt_ms, True)
