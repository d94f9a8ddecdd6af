"""Participant-pricing tiers: a minute with S publishers counts toward every
tier whose range contains max(S, 1). Field names are those of the Insights
`ParticipantMinutes` type; `column` is the derived-table column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    field: str
    low: int
    high: int | None  # None = open-ended ("Plus")

    @property
    def column(self) -> str:
        return "pm_" + self.field.removesuffix("Publishers").lower()

    def contains(self, publishers: int) -> bool:
        return publishers >= self.low and (self.high is None or publishers <= self.high)


TIERS: tuple[Tier, ...] = (
    Tier("from1To2Publishers", 1, 2),
    Tier("from1To4Publishers", 1, 4),
    Tier("from1To8Publishers", 1, 8),
    Tier("from1To10Publishers", 1, 10),
    Tier("from1To25Publishers", 1, 25),
    Tier("from3To6Publishers", 3, 6),
    Tier("from3To25Publishers", 3, 25),
    Tier("from5To8Publishers", 5, 8),
    Tier("from7To8Publishers", 7, 8),
    Tier("from9To10Publishers", 9, 10),
    Tier("from11To20Publishers", 11, 20),
    Tier("from11To35Publishers", 11, 35),
    Tier("from21To35Publishers", 21, 35),
    Tier("from26To35Publishers", 26, 35),
    Tier("from36PlusPublishers", 36, None),
    Tier("from36To40Publishers", 36, 40),
    Tier("from41PlusPublishers", 41, None),
)

TIER_COLUMNS: tuple[str, ...] = tuple(t.column for t in TIERS)
