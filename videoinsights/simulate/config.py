"""The simulator's model parameters: every mix, rate and distribution, with defaults.

Everything the generator draws comes from a `SimConfig`. The defaults describe a
plausible global video platform; override any part with `dataclasses.replace`:

    cfg = replace(DEFAULT_CONFIG, shapes=(Shape("one_to_one", 1.0, ...),))

Mixes are tuples of `(value, weight)` pairs (weights need not sum to 1) so that
the order of draws never depends on dict or set iteration. Durations are in
minutes unless a name says otherwise; times inside the generator are epoch ms.
docs/simulator.md documents the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Mix = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Dist:
    """A clipped lognormal: `median * exp(sigma * N(0,1))`, clipped to [lo, hi].

    sigma = 0 gives the constant `median` (clipped). Heavy-tailed enough for
    durations and group sizes; hi bounds the tail."""

    median: float
    sigma: float
    lo: float
    hi: float


# --------------------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class Sdk:
    """A client SDK. JS endpoints take their OS from the browser; native ones from `os`."""

    type: str  # sdkType: JS, IOS, ANDROID, WINDOWS, OTHER
    weight: float
    versions: Mix
    os: Mix = ()  # native SDKs only
    failure: float = 1.0  # multiplier on attempt failure rates


@dataclass(frozen=True)
class Browser:
    name: str  # CHROME, SAFARI, EDGE, FIREFOX, IE, OTHER
    weight: float  # share among JS endpoints
    versions: Mix
    os: Mix
    failure: float = 1.0


@dataclass(frozen=True)
class Os:
    name: str
    versions: Mix
    mobile: bool = False
    devices: Mix = ()  # deviceModel values (native mobile SDKs only)


@dataclass(frozen=True)
class Region:
    code: str  # ISO 3166-2 subdivision code (without the country prefix)
    weight: float
    utc_offset: float  # hours, standard time (DST is ignored)
    cities: tuple[str, ...]


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166-1 alpha-2
    weight: float
    regions: tuple[Region, ...]
    failure: float = 1.0  # multiplier on attempt failure rates
    extra_rtt_ms: float = 0.0  # distance to the nearest media region


# --------------------------------------------------------------------------- networks


@dataclass(frozen=True)
class NetworkProfile:
    """Capacity and impairments of a client's network, and how they move over time.

    Each 30 s slot the condition drifts (AR(1) on a bandwidth level, noise
    `volatility`); degradation episodes start with probability
    `episodes_per_hour / 120` per slot, last ~`episode_slots` slots and cut
    bandwidth by a fraction drawn from `severity` while adding loss."""

    name: str
    up_kbps: float  # sustainable upstream video bitrate
    down_kbps: float
    rtt_ms: float
    loss: float  # baseline packet-loss ratio
    jitter_ms: float
    volatility: float
    episodes_per_hour: float
    episode_slots: float
    severity: tuple[float, float]
    episode_loss: float  # extra loss at full severity
    drops_per_hour: float  # network disconnects (each followed by a reconnect or a leave)
    failure: float  # multiplier on attempt failure rates


# --------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class AddOnRates:
    """Probability that a meeting (one segment of a session) uses each add-on."""

    archive: float = 0.0
    broadcast: float = 0.0
    sip: float = 0.0
    composer: float = 0.0


@dataclass(frozen=True)
class Shape:
    """A kind of session. `publishers` join and publish; `viewers` only subscribe."""

    name: str
    weight: float
    publishers: Dist
    duration: Dist  # minutes, first meeting
    viewers: Dist = Dist(0, 0, 0, 0)
    media_mode: str = "routed"
    subscribe_cap: int = 0  # max camera streams a client subscribes to (0 = all)
    screen_share: float = 0.0  # probability per meeting
    simulcast: bool = False  # subscribers may get a lower simulcast layer
    addons: AddOnRates = AddOnRates()


@dataclass(frozen=True)
class Behaviour:
    """How people join, leave, drop, reconnect, publish and subscribe."""

    join_spread_s: float = 45.0  # mean delay of on-time joiners after the meeting start
    late_join: float = 0.18  # joins somewhere in the first 70% of the meeting
    early_leave: float = 0.12  # leaves before the end
    viewer_join_spread_s: float = 150.0
    viewer_early_leave: float = 0.3
    # Whole-session gaps: the meeting ends (everyone leaves) and the session is used again.
    resume: float = 0.14  # probability of another meeting after each meeting (max 3)
    resume_short: float = 0.5  # of those, back within 10 minutes (same meeting id)
    resume_return: float = 0.75  # each earlier participant comes back with this probability
    resume_duration_factor: float = 0.5
    short_gap_s: Dist = Dist(25, 1.0, 2, 540)  # < 10 min
    long_gap_min: Dist = Dist(18, 0.5, 10, 90)  # >= 10 min
    # Individual reconnects after a network drop (rate from the network profile).
    reconnect_long: float = 0.15  # share of reconnects after >= 10 min
    reconnect: float = 0.9  # a dropped client comes back at all
    force_disconnect: float = 0.01  # a participant is removed by a moderator
    # Publishing.
    audio_only: float = 0.07  # publishes audio only (no videoType, hasVideo false)
    republish: float = 0.08  # per connection: unpublish, then publish again
    republish_gap_s: Dist = Dist(40, 1.0, 5, 300)
    video_mute: float = 0.12  # per stream: camera off for a while (snapshots hasVideo false)
    audio_mute: float = 0.25  # per stream: microphone muted for a while
    screen_share_min: Dist = Dist(7, 0.8, 1, 60)
    # Subscribing.
    subscriber_churn: float = 0.08  # unsubscribe and subscribe again later (new subscriberId)
    subscriber_churn_large: float = 0.3  # same, in meetings with a subscribe cap (tile paging)
    subscriber_video_off: float = 0.06  # subscribeToVideo false for a while
    viewer_audio_only: float = 0.04  # webinar viewer never subscribes to video
    foreign: float = 0.15  # participant from another country than the session's
    foreign_long_distance: float = 0.7  # foreign participant on a lossy long-distance path
    lost_destroy: float = 0.0  # fraction of destroy events never sent (entity ends anyway)


# --------------------------------------------------------------------------- failures


@dataclass(frozen=True)
class Failures:
    """Attempt failure probability = base * sdk * browser * network * country (capped).

    Error codes are OpenTok.js `OT.ExceptionCodes`: 1004 AUTHENTICATION_ERROR,
    1005 INVALID_SESSION_ID, 1006 CONNECT_FAILED, 1010 NOT_CONNECTED,
    1013 P2P_CONNECTION_FAILED, 1500 UNABLE_TO_PUBLISH, 1553 publisher ICE
    workflow failed, 1554 subscriber ICE workflow failed."""

    connect: float = 0.02
    publish: float = 0.025
    subscribe: float = 0.012
    cap: float = 0.6
    retry: float = 0.85  # a failed attempt is retried (up to max_tries in all)
    max_tries: int = 3
    connect_codes: tuple[tuple[int, float], ...] = ((1006, 0.7), (1004, 0.22), (1005, 0.08))
    publish_codes: tuple[tuple[int, float], ...] = ((1500, 0.55), (1553, 0.35), (1010, 0.1))
    subscribe_codes: tuple[tuple[int, float], ...] = ((1554, 0.9), (1010, 0.1))
    relayed_subscribe_codes: tuple[tuple[int, float], ...] = ((1013, 0.8), (1554, 0.2))


# --------------------------------------------------------------------------- add-ons


@dataclass(frozen=True)
class AddOns:
    archive_individual: float = 0.25  # else composed
    archive_resolutions: Mix = (("640x480", 0.5), ("1280x720", 0.45), ("1920x1080", 0.05))
    broadcast_hls: float = 0.7  # a broadcast without HLS has >= 1 RTMP output
    broadcast_rtmp: tuple[tuple[int, float], ...] = ((0, 0.45), (1, 0.4), (2, 0.1), (3, 0.05))
    broadcast_resolutions: Mix = (("1280x720", 0.6), ("640x480", 0.2), ("1920x1080", 0.2))
    sip_calls: Dist = Dist(1, 0.5, 1, 4)
    sip_call_min: Dist = Dist(12, 0.9, 1, 180)
    composer_destinations: Mix = (("session", 0.4), ("archive", 0.3), ("broadcast", 0.3))
    composer_resolutions: Mix = (("1280x720", 0.8), ("1920x1080", 0.2))


# --------------------------------------------------------------------------- quality


@dataclass(frozen=True)
class Quality:
    interval_ms: int = 30_000
    camera_resolutions: Mix = (("1280x720", 0.5), ("640x480", 0.38), ("1920x1080", 0.05), ("320x240", 0.07))
    screen_resolution: str = "1920x1080"
    video_codecs: Mix = (("VP8", 0.82), ("H264", 0.14), ("VP9", 0.04))  # per session
    audio_codec: str = "opus"
    audio_kbps: tuple[float, float] = (28.0, 44.0)  # opus voice range
    screen_kbps: float = 900.0  # screen-share target (bursty)
    camera_fps: tuple[tuple[int, float], ...] = ((30, 0.8), (24, 0.1), (15, 0.1))
    screen_fps: float = 10.0


# --------------------------------------------------------------------------- time


@dataclass(frozen=True)
class Schedule:
    """Session start intensity in the session's local time (normalised to mean 1)."""

    # Monday .. Sunday
    weekly: tuple[float, ...] = (1.12, 1.18, 1.18, 1.15, 1.02, 0.72, 0.63)
    # 00:00 .. 23:00 local
    diurnal: tuple[float, ...] = (0.15, 0.1, 0.08, 0.07, 0.08, 0.15, 0.35, 0.8, 1.5, 2.1, 2.3, 2.2,
                                  1.7, 1.9, 2.2, 2.1, 1.8, 1.3, 0.9, 0.75, 0.7, 0.6, 0.45, 0.25)


# --------------------------------------------------------------------------- default tables

SDKS: tuple[Sdk, ...] = (
    Sdk("JS", 0.60, (("2.27.7", 0.25), ("2.27.6", 0.15), ("2.26.6", 0.2), ("2.25.2", 0.15),
                     ("2.24.7", 0.15), ("2.23.1", 0.1))),
    Sdk("IOS", 0.14, (("2.27.3", 0.4), ("2.26.1", 0.35), ("2.25.2", 0.25)), (("iOS", 1.0),), 0.9),
    Sdk("ANDROID", 0.17, (("2.27.1", 0.4), ("2.26.1", 0.35), ("2.25.3", 0.25)), (("Android", 1.0),), 1.1),
    Sdk("WINDOWS", 0.04, (("2.27.0", 0.5), ("2.25.1", 0.5)), (("Windows", 1.0),), 0.9),
    Sdk("OTHER", 0.05, (("2.27.0", 0.6), ("2.26.0", 0.4)),
        (("macOS", 0.4), ("Linux", 0.3), ("Android", 0.15), ("iOS", 0.15)), 1.2),
)

BROWSERS: tuple[Browser, ...] = (
    Browser("CHROME", 0.63, (("124.0", 0.3), ("123.0", 0.3), ("122.0", 0.2), ("121.0", 0.1), ("120.0", 0.1)),
            (("Windows", 0.6), ("macOS", 0.25), ("Linux", 0.05), ("Android", 0.07), ("ChromeOS", 0.03))),
    Browser("SAFARI", 0.14, (("17.4", 0.4), ("17.3", 0.25), ("17.2", 0.15), ("16.6", 0.2)),
            (("macOS", 0.55), ("iOS", 0.45)), 1.5),
    Browser("EDGE", 0.11, (("124.0", 0.45), ("123.0", 0.35), ("122.0", 0.2)),
            (("Windows", 0.95), ("macOS", 0.05))),
    Browser("FIREFOX", 0.08, (("125.0", 0.4), ("124.0", 0.35), ("115.0", 0.25)),
            (("Windows", 0.6), ("macOS", 0.2), ("Linux", 0.2)), 1.2),
    Browser("OTHER", 0.03, (("106.0", 0.5), ("24.0", 0.5)), (("Windows", 0.4), ("Android", 0.6)), 2.0),
    Browser("IE", 0.01, (("11.0", 1.0),), (("Windows", 1.0),), 5.0),
)

OSES: tuple[Os, ...] = (
    Os("Windows", (("10", 0.55), ("11", 0.45))),
    Os("macOS", (("14.4", 0.45), ("13.6", 0.35), ("12.7", 0.2))),
    Os("Linux", (("x86_64", 1.0),)),
    Os("ChromeOS", (("15633.69", 1.0),)),
    Os("iOS", (("17.4", 0.5), ("17.3", 0.2), ("16.7", 0.3)), True,
       (("iPhone15,2", 0.25), ("iPhone14,5", 0.25), ("iPhone16,1", 0.2), ("iPhone13,2", 0.15), ("iPad13,4", 0.15))),
    Os("Android", (("14", 0.45), ("13", 0.35), ("12", 0.2)), True,
       (("SM-S911B", 0.2), ("SM-A546B", 0.25), ("Pixel 7", 0.15), ("Pixel 8", 0.1), ("2201116SG", 0.15),
        ("CPH2449", 0.15))),
)

NETWORK_TYPES: tuple[tuple[str, Mix], ...] = (  # networkType mix by device class
    ("desktop", (("wifi", 0.55), ("ethernet", 0.45))),
    ("mobile", (("wifi", 0.6), ("cellular", 0.4))),
)

NETWORK_PROFILES: tuple[NetworkProfile, ...] = (
    NetworkProfile("good_broadband", 2500, 4000, 35, 0.002, 4, 0.05, 0.3, 2, (0.3, 0.6), 0.03, 0.05, 0.6),
    NetworkProfile("congested_wifi", 1200, 2000, 60, 0.012, 18, 0.15, 2.0, 3, (0.4, 0.8), 0.08, 0.3, 1.5),
    NetworkProfile("mobile", 900, 1500, 85, 0.018, 28, 0.2, 2.5, 3, (0.4, 0.85), 0.1, 0.6, 2.0),
    NetworkProfile("lossy_long_distance", 1500, 2500, 210, 0.035, 32, 0.12, 1.5, 4, (0.3, 0.7), 0.08, 0.4, 2.5),
)

# networkType -> profile mix (foreign participants may instead get lossy_long_distance)
PROFILE_BY_NETWORK: tuple[tuple[str, Mix], ...] = (
    ("ethernet", (("good_broadband", 0.92), ("congested_wifi", 0.08))),
    ("wifi", (("good_broadband", 0.55), ("congested_wifi", 0.45))),
    ("cellular", (("mobile", 1.0),)),
)


def _r(code: str, weight: float, offset: float, *cities: str) -> Region:
    return Region(code, weight, offset, cities)


COUNTRIES: tuple[Country, ...] = (
    Country("US", 0.30, (
        _r("CA", 0.25, -8, "Los Angeles", "San Francisco", "San Diego"), _r("NY", 0.15, -5, "New York"),
        _r("TX", 0.15, -6, "Houston", "Dallas", "Austin"), _r("FL", 0.10, -5, "Miami", "Orlando"),
        _r("IL", 0.08, -6, "Chicago"), _r("WA", 0.07, -8, "Seattle"), _r("MA", 0.07, -5, "Boston"),
        _r("GA", 0.07, -5, "Atlanta"), _r("CO", 0.06, -7, "Denver"))),
    Country("GB", 0.08, (
        _r("ENG", 0.85, 0, "London", "Manchester", "Birmingham"), _r("SCT", 0.1, 0, "Edinburgh", "Glasgow"),
        _r("WLS", 0.05, 0, "Cardiff"))),
    Country("IN", 0.08, (
        _r("MH", 0.3, 5.5, "Mumbai", "Pune"), _r("KA", 0.3, 5.5, "Bengaluru"), _r("DL", 0.25, 5.5, "Delhi"),
        _r("TG", 0.15, 5.5, "Hyderabad")), 1.6, 25),
    Country("DE", 0.06, (
        _r("BE", 0.3, 1, "Berlin"), _r("BY", 0.35, 1, "Munich"), _r("NW", 0.35, 1, "Cologne", "Düsseldorf"))),
    Country("BR", 0.06, (_r("SP", 0.6, -3, "São Paulo"), _r("RJ", 0.4, -3, "Rio de Janeiro")), 1.4, 20),
    Country("FR", 0.05, (_r("IDF", 0.7, 1, "Paris"), _r("ARA", 0.3, 1, "Lyon"))),
    Country("CA", 0.04, (
        _r("ON", 0.5, -5, "Toronto", "Ottawa"), _r("BC", 0.25, -8, "Vancouver"), _r("QC", 0.25, -5, "Montreal")),
        1.0, 5),
    Country("ES", 0.04, (_r("MD", 0.55, 1, "Madrid"), _r("CT", 0.45, 1, "Barcelona")), 1.1),
    Country("MX", 0.04, (_r("CMX", 0.7, -6, "Mexico City"), _r("JAL", 0.3, -6, "Guadalajara")), 1.3, 15),
    Country("IT", 0.03, (_r("25", 0.55, 1, "Milan"), _r("62", 0.45, 1, "Rome")), 1.1),
    Country("AU", 0.03, (
        _r("NSW", 0.5, 10, "Sydney"), _r("VIC", 0.35, 10, "Melbourne"), _r("WA", 0.15, 8, "Perth")), 1.1, 10),
    Country("JP", 0.03, (_r("13", 0.7, 9, "Tokyo"), _r("27", 0.3, 9, "Osaka")), 1.0, 5),
    Country("NL", 0.02, (_r("NH", 0.7, 1, "Amsterdam"), _r("ZH", 0.3, 1, "Rotterdam", "The Hague"))),
    Country("AR", 0.02, (_r("C", 1.0, -3, "Buenos Aires"),), 1.4, 25),
    Country("PH", 0.02, (_r("00", 1.0, 8, "Manila", "Quezon City"),), 1.6, 30),
    Country("SG", 0.02, (_r("01", 1.0, 8, "Singapore"),)),
    Country("ZA", 0.02, (_r("GP", 0.6, 2, "Johannesburg", "Pretoria"), _r("WC", 0.4, 2, "Cape Town")), 1.5, 30),
    Country("AE", 0.02, (_r("DU", 0.7, 4, "Dubai"), _r("AZ", 0.3, 4, "Abu Dhabi")), 1.2, 15),
    Country("SA", 0.02, (_r("01", 0.6, 3, "Riyadh"), _r("02", 0.4, 3, "Jeddah")), 1.3, 20),
    Country("NG", 0.01, (_r("LA", 0.7, 1, "Lagos"), _r("FC", 0.3, 1, "Abuja")), 2.2, 60),
    Country("EG", 0.01, (_r("C", 0.8, 2, "Cairo"), _r("ALX", 0.2, 2, "Alexandria")), 1.8, 40),
)

SHAPES: tuple[Shape, ...] = (
    Shape("one_to_one", 0.46, Dist(2, 0, 2, 2), Dist(15, 0.9, 1, 240), screen_share=0.1,
          addons=AddOnRates(archive=0.1, sip=0.03)),
    Shape("small_group", 0.30, Dist(4, 0.35, 3, 8), Dist(35, 0.7, 4, 300), screen_share=0.3, simulcast=True,
          addons=AddOnRates(archive=0.15, broadcast=0.02, sip=0.08, composer=0.02)),
    Shape("large_meeting", 0.05, Dist(14, 0.45, 9, 50), Dist(55, 0.5, 15, 360), subscribe_cap=9,
          screen_share=0.45, simulcast=True, addons=AddOnRates(archive=0.25, broadcast=0.08, sip=0.12, composer=0.05)),
    Shape("webinar", 0.05, Dist(1.5, 0.4, 1, 3), Dist(60, 0.4, 20, 240), viewers=Dist(90, 0.8, 20, 800),
          screen_share=0.5, addons=AddOnRates(archive=0.35, broadcast=0.5, composer=0.1)),
    Shape("relayed", 0.14, Dist(2, 0.2, 2, 3), Dist(10, 1.0, 1, 180), media_mode="relayed", screen_share=0.1),
)

APP_VERSIONS: Mix = (("3.4.1", 0.45), ("3.4.0", 0.3), ("3.3.2", 0.2), ("2.9.7", 0.05))

PUBLISHER_NAMES: tuple[str, ...] = (
    "Alice", "Bob", "Carmen", "Deepak", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kofi", "Lena",
    "Mateo", "Nadia", "Oliver", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wen", "Yara",
)


@dataclass(frozen=True)
class SimConfig:
    """The whole model. Immutable; derive variants with `dataclasses.replace`."""

    sdks: tuple[Sdk, ...] = SDKS
    browsers: tuple[Browser, ...] = BROWSERS
    oses: tuple[Os, ...] = OSES
    countries: tuple[Country, ...] = COUNTRIES
    network_types: tuple[tuple[str, Mix], ...] = NETWORK_TYPES
    network_profiles: tuple[NetworkProfile, ...] = NETWORK_PROFILES
    profile_by_network: tuple[tuple[str, Mix], ...] = PROFILE_BY_NETWORK
    app_versions: Mix = APP_VERSIONS
    names: tuple[str, ...] = PUBLISHER_NAMES
    shapes: tuple[Shape, ...] = SHAPES
    behaviour: Behaviour = field(default_factory=Behaviour)
    failures: Failures = field(default_factory=Failures)
    addons: AddOns = field(default_factory=AddOns)
    quality: Quality = field(default_factory=Quality)
    schedule: Schedule = field(default_factory=Schedule)
    stats: bool = True  # emit publisherStats / subscriberStats (off: lifecycle and attempts only)


DEFAULT_CONFIG = SimConfig()
