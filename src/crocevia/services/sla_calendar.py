"""Business time: opening hours per weekday in a time zone, minus holidays.

SLA targets are counted in business time ("1 hour" opened Friday 17:55 with hours 9–18 Mon–Fri is
due Monday 09:55). Pure functions over aware datetimes; results are UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crocevia.errors import ValidationFailed

_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
# A calendar with no opening at all would loop forever; ten years of days is the search bound.
MAX_DAYS = 3660

Interval = tuple[time, time | None]  # None closes at midnight ("24:00")


def _parse_hhmm(value: Any, field: str) -> time | None:
    m = _HHMM.match(str(value))
    if not m or (m.group(1) == "24" and m.group(2) != "00"):
        raise ValidationFailed(f"{value!r} is not a time of day like 09:00", field=field)
    return None if m.group(1) == "24" else time(int(m.group(1)), int(m.group(2)))


def _parse_day(raw: Any, field: str) -> list[Interval]:
    """``["09:00", "18:00"]`` or several: ``[["09:00", "13:00"], ["14:00", "18:00"]]``."""
    if not isinstance(raw, list):
        raise ValidationFailed("opening hours are a list like [\"09:00\", \"18:00\"]", field=field)
    pairs = [raw] if raw and all(isinstance(x, str) for x in raw) else raw
    out: list[Interval] = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValidationFailed("each opening is [open, close]", field=f"{field}[{i}]")
        start = _parse_hhmm(pair[0], f"{field}[{i}][0]")
        end = _parse_hhmm(pair[1], f"{field}[{i}][1]")
        if start is None or (end is not None and end <= start):
            raise ValidationFailed("an opening must close after it opens", field=f"{field}[{i}]")
        out.append((start, end))
    return sorted(out, key=lambda iv: iv[0])


@dataclass(frozen=True)
class BusinessCalendar:
    tz: ZoneInfo
    # ISO weekday (1 = Monday) → openings; an empty mapping means round the clock.
    hours: dict[int, list[Interval]]
    holidays: frozenset[date]

    @classmethod
    def parse(cls, timezone: str, business_hours: dict[str, Any] | None, holidays: list[str] | None,
              *, field: str = "") -> BusinessCalendar:
        prefix = f"{field}." if field else ""
        try:
            tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationFailed(f"unknown time zone {timezone!r}", field=f"{prefix}timezone") from exc
        hours: dict[int, list[Interval]] = {}
        for key, raw in (business_hours or {}).items():
            if str(key) not in {"1", "2", "3", "4", "5", "6", "7"}:
                raise ValidationFailed("weekdays are \"1\" (Monday) to \"7\" (Sunday)",
                                       field=f"{prefix}business_hours.{key}")
            hours[int(key)] = _parse_day(raw, f"{prefix}business_hours.{key}")
        if business_hours and not any(hours.values()):
            raise ValidationFailed("business hours must open at least once a week", field=f"{prefix}business_hours")
        days: set[date] = set()
        for i, h in enumerate(holidays or []):
            try:
                days.add(date.fromisoformat(str(h)))
            except ValueError as exc:
                raise ValidationFailed(f"{h!r} is not a date like 2026-12-25", field=f"{prefix}holidays[{i}]") from exc
        return cls(tz, hours, frozenset(days))

    @property
    def always_open(self) -> bool:
        return not self.hours

    def _openings(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        out = []
        for start, end in self.hours.get(day.isoweekday(), []):
            begin = datetime.combine(day, start, self.tz)
            close = (datetime.combine(day + timedelta(days=1), time(0), self.tz) if end is None
                     else datetime.combine(day, end, self.tz))
            out.append((begin.astimezone(UTC), close.astimezone(UTC)))
        return out

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` of business time after ``start``."""
        start = start.astimezone(UTC)
        if self.always_open:
            return start + timedelta(seconds=seconds)
        remaining = max(0.0, seconds)
        day = start.astimezone(self.tz).date() - timedelta(days=1)  # an opening may span midnight UTC
        for _ in range(MAX_DAYS):
            for begin, close in self._openings(day):
                begin = max(begin, start)
                if begin >= close:
                    continue
                available = (close - begin).total_seconds()
                if remaining <= available:
                    return begin + timedelta(seconds=remaining)
                remaining -= available
            day += timedelta(days=1)
        raise ValidationFailed("these business hours never open", field="business_hours")

    def between(self, a: datetime, b: datetime) -> float:
        """Business seconds from ``a`` to ``b`` (0 when ``b`` is not after ``a``)."""
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        if b <= a:
            return 0.0
        if self.always_open:
            return (b - a).total_seconds()
        total = 0.0
        day = a.astimezone(self.tz).date() - timedelta(days=1)
        last = b.astimezone(self.tz).date()
        while day <= last:
            for begin, close in self._openings(day):
                lo, hi = max(begin, a), min(close, b)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total
