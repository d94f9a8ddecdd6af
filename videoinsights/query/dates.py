"""The Date scalar's value rules, as pure functions on epoch milliseconds.

Inputs seen from real clients: ISO-8601 with `Z` or an offset (with or
without milliseconds), bare `YYYY-MM-DD`, epoch seconds (<= 10 digits) or
milliseconds (> 10 digits) as numbers or digit strings, and 0 = earliest.
A bare date means America/Los_Angeles midnight, because reports are cut at
LA midnights: "2025-11-12" then selects exactly the report day 2025-11-12.
An ISO string without an offset is read as UTC (as ISO-8601 tooling does).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from videoinsights.domain.days import day_start_ms

EARLIEST = 0  # `start: 0` = the earliest data kept
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIGITS = re.compile(r"[0-9]+")
_BARE_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


class DateValueError(ValueError):
    """The value is not a date this API understands; the message says why."""


def from_epoch_number(value: int) -> int:
    """Epoch seconds (<= 10 digits) or milliseconds (> 10 digits) -> ms."""
    if value < 0:
        raise DateValueError(f"Date must not be negative, got {value}.")
    ms = value * 1000 if len(str(value)) <= 10 else value
    if ms > _MAX_MS:
        raise DateValueError(f"Date {value} is beyond the year 9999.")
    return ms


def parse_date(value: object) -> int:
    """Any accepted Date input -> epoch ms (0 = earliest)."""
    if isinstance(value, bool):
        raise DateValueError("Date must be a string or a number, not a boolean.")
    if isinstance(value, int):
        return from_epoch_number(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise DateValueError(f"Date as a number must be whole epoch seconds or milliseconds, got {value}.")
        return from_epoch_number(int(value))
    if isinstance(value, str):
        return parse_date_string(value)
    raise DateValueError(f"Date must be an ISO-8601 string or an epoch number, got {type(value).__name__}.")


def parse_date_string(text: str) -> int:
    s = text.strip()
    if _DIGITS.fullmatch(s):
        return from_epoch_number(int(s))
    bare = _BARE_DATE.fullmatch(s)
    if bare:
        try:
            return day_start_ms(date(int(bare[1]), int(bare[2]), int(bare[3])))
        except ValueError:
            raise DateValueError(f"{text!r} is not a calendar date.") from None
    try:
        moment = datetime.fromisoformat(s[:-1] + "+00:00" if s[-1:] in "zZ" and s else s)
    except ValueError:
        raise DateValueError(
            f"{text!r} is not a date: use ISO-8601 (2019-10-15T23:43:34.023Z), YYYY-MM-DD,"
            " or epoch seconds/milliseconds."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ms = (moment - _EPOCH) // timedelta(milliseconds=1)
    if ms < 0:
        raise DateValueError(f"{text!r} is before 1970.")
    return ms


@lru_cache(maxsize=4096)
def format_date(ms: int) -> str:
    """Epoch ms -> '2020-03-22T12:24:05.407Z'."""
    seconds, millis = divmod(int(ms), 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"
