"""The as-of month of a run, derived in one place (ARCHITECTURE: scheduled and manual runs differ).

A scheduled run of month M has logical date M-01 and data interval [M-01, (M+1)-01) in
Copenhagen time. A manual run (`dag.test`, `airflow dags test`, the UI's trigger form) gets
the interval that *ends* at its logical date, so it names its month explicitly: the `month`
param (YYYY-MM) wins whenever it is set.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def parse_month(text: str) -> date:
    """'2018-03' (or '2018-03-01') -> date(2018, 3, 1); a clear error otherwise."""
    try:
        d = date.fromisoformat(text.strip()[:7] + "-01")
    except ValueError as exc:
        raise ValueError(f"month must be YYYY-MM, got {text!r}") from exc
    return d


def as_of_month(params: Mapping[str, object] | None, data_interval_start: datetime | None) -> date:
    month = (params or {}).get("month")
    if month:
        return parse_month(str(month))
    if data_interval_start is None:
        raise ValueError("the run has no data interval and no 'month' param: say which month to compute")
    # The interval starts at local midnight on the 1st; in UTC that is the previous day.
    return data_interval_start.astimezone(COPENHAGEN).date().replace(day=1)


def next_month(m: date) -> date:
    return (m.replace(day=28) + timedelta(days=4)).replace(day=1)


def prev_month(m: date) -> date:
    return (m.replace(day=1) - timedelta(days=1)).replace(day=1)


def last_day(m: date) -> date:
    return next_month(m) - timedelta(days=1)


def month_range(first: date, last: date) -> Iterator[date]:
    m = first.replace(day=1)
    while m <= last:
        yield m
        m = next_month(m)


def label(m: date) -> str:
    return m.strftime("%Y-%m")
