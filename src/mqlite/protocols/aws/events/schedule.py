"""Scheduled rules: `rate(...)` / `cron(...)` expressions and the scheduler that fires them.

- `parse_schedule(text) -> Schedule` validates EventBridge's two forms (raising
  `ScheduleError`): `rate(<n> <unit>)` with unit minute|minutes|hour|hours|day|days
  (singular exactly when n is 1), and `cron(min hour day-of-month month day-of-week year)`
  in UTC with `*`, `,`, `-`, `/`, `?` (exactly one of day-of-month/day-of-week), in the
  day of month `L` (last day), `nW` (nearest weekday) and `LW`, in the day of week `D#k`
  (k-th weekday D) and `DL` (last weekday D), month names JAN-DEC, weekday names
  SUN-SAT (1 = SUN). `next_after(ms)`
  gives the first firing time strictly after `ms` (epoch milliseconds).
- `Scheduler(clock, fire)`: the next firing time of every ENABLED scheduled rule; a rate
  rule first fires one period after it was (re)armed. `fire_due()` fires each rule whose
  time has come (once, then re-arms from the current time: missed periods are not
  replayed) by awaiting `fire(rule_key)`. `run(interval)` is the server-loop task; tests
  advance a `ManualClock` and await `fire_due()` themselves.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("mqlite.aws.events.schedule")

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_MS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


class ScheduleError(ValueError):
    """The expression is not a valid EventBridge schedule."""


@dataclass(frozen=True, slots=True)
class Field:
    values: frozenset[int] | None  # None: any ('*' or '?')
    last: bool = False  # day of month 'L' (last day); with `weekday`: 'LW'
    weekday: bool = False  # day of month 'W': the weekday nearest to the day in `values`
    nth: tuple[int, int] | None = None  # day of week 'D#k': the k-th weekday D of the month
    last_of: int | None = None  # day of week 'DL': the last weekday D of the month


@dataclass(frozen=True, slots=True)
class Schedule:
    expression: str
    rate_ms: int | None = None
    minutes: Field | None = None
    hours: Field | None = None
    dom: Field | None = None
    months: Field | None = None
    dow: Field | None = None
    years: Field | None = None

    def next_after(self, after_ms: int) -> int | None:
        if self.rate_ms is not None:
            return after_ms + self.rate_ms
        start = dt.datetime.fromtimestamp(after_ms / 1000, dt.UTC).replace(second=0, microsecond=0)
        start += dt.timedelta(minutes=1)
        day = start.date()
        for _ in range(366 * 6):
            if self._day_matches(day):
                for hour in range(24):
                    if not _has(self.hours, hour):
                        continue
                    for minute in range(60):
                        if not _has(self.minutes, minute):
                            continue
                        t = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)
                        if t >= start:
                            return int(t.timestamp() * 1000)
            day += dt.timedelta(days=1)
        return None

    def _day_matches(self, day: dt.date) -> bool:
        if not _has(self.years, day.year) or not _has(self.months, day.month):
            return False
        return _dom_matches(self.dom, day) and _dow_matches(self.dow, day)


def _weekday(day: dt.date) -> int:
    return (day.isoweekday() % 7) + 1  # SUN = 1 ... SAT = 7


def _nearest_weekday(year: int, month: int, dom: int) -> int:
    """Quartz's `W`: the Monday-Friday nearest to `dom`, never leaving the month."""
    last = calendar.monthrange(year, month)[1]
    dom = min(dom, last)
    wd = _weekday(dt.date(year, month, dom))
    if wd == 7:  # Saturday -> Friday, or Monday when the 1st
        return dom - 1 if dom > 1 else dom + 2
    if wd == 1:  # Sunday -> Monday, or Friday when the last day
        return dom + 1 if dom < last else dom - 2
    return dom


def _dom_matches(field: Field | None, day: dt.date) -> bool:
    if field is None:
        return True
    last = calendar.monthrange(day.year, day.month)[1]
    if field.last and field.weekday:
        return day.day == _nearest_weekday(day.year, day.month, last)
    if field.last:
        return day.day == last
    if field.weekday and field.values:
        return day.day in {_nearest_weekday(day.year, day.month, d) for d in field.values}
    return _has(field, day.day)


def _dow_matches(field: Field | None, day: dt.date) -> bool:
    if field is None:
        return True
    wd = _weekday(day)
    if field.nth is not None:
        return wd == field.nth[0] and (day.day - 1) // 7 + 1 == field.nth[1]
    if field.last_of is not None:
        return wd == field.last_of and day.day + 7 > calendar.monthrange(day.year, day.month)[1]
    return _has(field, wd)


def _has(field: Field | None, value: int) -> bool:
    return field is None or field.values is None or value in field.values


def _parse_field(text: str, low: int, high: int, names: dict[str, int] | None = None,
                 allow_q: bool = False, allow_l: bool = False) -> Field:
    if text == "*":
        return Field(None)
    if text == "?":
        if not allow_q:
            raise ScheduleError(text)
        return Field(None)
    if allow_l and low == 1 and high == 31:  # day of month: L, LW, nW
        if text == "L":
            return Field(None, last=True)
        if text == "LW":
            return Field(None, last=True, weekday=True)
        if text.endswith("W") and text[:-1].isdigit() and 1 <= int(text[:-1]) <= 31:
            return Field(frozenset({int(text[:-1])}), weekday=True)
    if allow_l and low == 1 and high == 7:  # day of week: D#k, DL, L
        if "#" in text:
            d, _, k = text.partition("#")
            wd = _value(d, names)
            if not (1 <= wd <= 7 and k.isdigit() and 1 <= int(k) <= 5):
                raise ScheduleError(text)
            return Field(None, nth=(wd, int(k)))
        if text == "L":
            return Field(frozenset({7}))
        if text.endswith("L") and len(text) > 1:
            wd = _value(text[:-1], names)
            if not 1 <= wd <= 7:
                raise ScheduleError(text)
            return Field(None, last_of=wd)
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(text)
            step = int(step_text)
        if part == "*":
            lo, hi = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            lo, hi = _value(a, names), _value(b, names)
        else:
            lo = _value(part, names)
            hi = high if step > 1 else lo
        if not (low <= lo <= high and low <= hi <= high) or lo > hi:
            raise ScheduleError(text)
        values.update(range(lo, hi + 1, step))
    return Field(frozenset(values))


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleError(text)
    return int(text)


def parse_schedule(text: str) -> Schedule:
    text = (text or "").strip()
    m = _RATE.match(text)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        if n <= 0 or (n == 1) != (not unit.endswith("s")):
            raise ScheduleError(text)
        return Schedule(text, rate_ms=n * _UNIT_MS[unit.rstrip("s")])
    m = _CRON.match(text)
    if not m:
        raise ScheduleError(text)
    parts = m.group(1).split()
    if len(parts) != 6:
        raise ScheduleError(text)
    minute, hour, dom, month, dow, year = parts
    if (dom == "?") == (dow == "?"):
        raise ScheduleError(text)  # exactly one of day-of-month / day-of-week is '?'
    return Schedule(
        text,
        minutes=_parse_field(minute, 0, 59),
        hours=_parse_field(hour, 0, 23),
        dom=_parse_field(dom, 1, 31, allow_q=True, allow_l=True),
        months=_parse_field(month, 1, 12, _MONTHS),
        dow=_parse_field(dow, 1, 7, _DAYS, allow_q=True, allow_l=True),
        years=_parse_field(year, 1970, 2199),
    )


Fire = Callable[[str], Awaitable[None]]


class Scheduler:
    """Arms and fires scheduled rules (see module docstring)."""

    def __init__(self, clock: Any, fire: Fire) -> None:
        self.clock = clock
        self.fire = fire
        self._next: dict[str, tuple[Schedule, int]] = {}
        self._task: asyncio.Task[None] | None = None

    def arm(self, key: str, expression: str | None, enabled: bool) -> None:
        """(Re)arm a rule; no expression or not enabled disarms it."""
        self._next.pop(key, None)
        if not expression or not enabled:
            return
        schedule = parse_schedule(expression)
        at = schedule.next_after(self.clock.now_ms())
        if at is not None:
            self._next[key] = (schedule, at)

    def disarm(self, key: str) -> None:
        self._next.pop(key, None)

    def next_fire_ms(self, key: str) -> int | None:
        entry = self._next.get(key)
        return entry[1] if entry else None

    async def fire_due(self) -> int:
        """Fire every rule whose time has come; returns how many fired."""
        now = self.clock.now_ms()
        fired = 0
        for key, (schedule, at) in list(self._next.items()):
            if at > now:
                continue
            if schedule.rate_ms is not None:  # keep the cadence unless a period was missed
                nxt: int | None = at + schedule.rate_ms
                if nxt is not None and nxt <= now:
                    nxt = now + schedule.rate_ms
            else:
                nxt = schedule.next_after(now)
            if nxt is None:
                self._next.pop(key, None)
            else:
                self._next[key] = (schedule, nxt)
            try:
                await self.fire(key)
            except Exception:
                log.exception("scheduled rule %s failed to fire", key)
            fired += 1
        return fired

    async def run(self, interval: float = 1.0) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.fire_due()

    def start(self, interval: float = 1.0) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run(interval), name="events-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
