"""Validating a chunk of landing rows, vectorised: CPR, codes, municipalities, dates, amounts (CONTRACT §1 'Bad input').

Each row is either valid or a reject with a reason; nothing is dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from fsm import contract
from fsm import cpr as cprmod
from fsm.config import kommuner
from fsm.contract import FEEDS

MAX_MONTH_HOURS = 744  # 31 days × 24 h: more paid hours in a month is not a real figure
PLAUSIBLE_DATES = (date(1990, 1, 1), date(2035, 12, 31))
MAX_ID_CHARS = 100  # identifiers key DQ rows and indexes: bounded, one line, no control characters
_CPR_IN_TEXT = r"(?<!\d)(\d{6}[ \-\u2010-\u2015]?\d{4})(?!\d)"
MAX_TEXT_CHARS = 1000  # free text (fritagelse_aarsag); anything CPR-shaped in it is masked
MAX_REASON_CHARS = 500


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CPR_IN_TEXT_RE = re.compile(_CPR_IN_TEXT)


def _per_unique(s: pd.Series, fn: Callable[[pd.Series], tuple[pd.Series, ...]]) -> tuple[pd.Series, ...]:
    """`fn` (value by value, vectorised) applied to the distinct values of `s` only, spread back to every row."""
    codes, uniq = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=False)
    results = fn(pd.Series(uniq, dtype=object))
    return tuple(pd.Series(r.array.take(codes), index=s.index, dtype=r.dtype) for r in results)


def _joined(values: pd.Series) -> str:
    """The column's values joined by '|' (a value that is not text counts as its str())."""
    items = values.tolist()
    try:
        return "|".join(items)
    except TypeError:
        return "|".join(map(str, items))


def parse_dates(u: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'YYYY-MM-DD' -> (timestamp or NaT, date); shared by the Arrow path (fsm.ingest.fast)."""
    p = pd.to_datetime(u.where(u.str.fullmatch(r"\d{4}-\d{2}-\d{2}"), None), format="%Y-%m-%d", errors="coerce")
    return p, p.dt.date


def parse_months(u: pd.Series) -> pd.Series:
    """'YYYY-MM' -> the month's first day as a timestamp, or NaT."""
    return pd.to_datetime(u.where(u.str.fullmatch(r"\d{4}-\d{2}"), None), format="%Y-%m", errors="coerce")


def parse_timestamps(u: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 -> (UTC instant or NaT, local Copenhagen date); local time when no offset is given."""
    has_offset = u.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True)
    shaped = u.str.match(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?")
    utc = pd.Series(pd.NaT, index=u.index, dtype="datetime64[us, UTC]")
    naive_idx = u.index[shaped & ~has_offset]
    aware_idx = u.index[shaped & has_offset]
    if len(naive_idx):
        naive = pd.to_datetime(u.loc[naive_idx], format="ISO8601", errors="coerce")
        local = naive.dt.tz_localize("Europe/Copenhagen", ambiguous="NaT", nonexistent="NaT")
        utc.loc[naive_idx] = local.dt.tz_convert("UTC")
    if len(aware_idx):
        utc.loc[aware_idx] = pd.to_datetime(u.loc[aware_idx], format="ISO8601", utc=True, errors="coerce")
    return utc, utc.dt.tz_convert("Europe/Copenhagen").dt.date


class CprMemo:
    """What is computed from a CPR, once per distinct value for a whole feed's load instead of once
    per file: the same citizens recur in every monthly file. Bounded: cleared past `limit` entries."""

    def __init__(self, limit: int = 2_000_000):
        self.key = cprmod.pseudonym_key()
        self.limit = limit
        self._cpr10: dict[str, str | None] = {}

    def cpr10(self, values: pd.Series) -> pd.Series:
        """`cpr10_each` over the distinct values of a column, spread back to every row."""
        codes, uniq = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
        found = self.cpr10_each(list(uniq))
        out = np.array(found or [None], dtype=object)[codes if len(uniq) else np.zeros(0, dtype=np.intp)]
        return pd.Series(out, index=values.index, dtype=object)

    def cpr10_each(self, distinct: list[str]) -> list[str | None]:
        """The 10-digit CPR (None: invalid) of each value, by python-stdnum's rules, computed once per value
        for the feed's load (an invalid CPR's None is kept too)."""
        memo = self._cpr10
        if len(memo) > self.limit:
            memo.clear()
        for v in distinct:
            if v not in memo:
                memo[v] = cprmod.normalise(v)
        return [memo[v] for v in distinct]


class Checker:
    """Collects the first failing reason per row; later checks do not overwrite earlier ones."""

    def __init__(self, frame: pd.DataFrame, memo: CprMemo | None = None):
        self.df = frame
        self.memo = memo or CprMemo()
        self.reason = pd.Series([None] * len(frame), index=frame.index, dtype=object)

    def fail(self, mask: pd.Series, message: Callable[[pd.Series], pd.Series] | str) -> None:
        mask = mask & self.reason.isna()
        if not mask.any():
            return
        msg = message(self.df.loc[mask]) if callable(message) else message
        self.reason.loc[mask] = msg

    def required(self, col: str) -> None:
        self.fail(self.df[col].eq(""), f"{col} is missing")

    def hygiene(self, feed: str) -> None:
        """What no column may hold (PostgreSQL refuses NUL), and bounds on the free text we store as given."""
        # Each check runs value by value only when the column joined by '|' shows it can fail (rare):
        # '|' is neither NUL, a control character nor part of anything CPR-shaped, so the join finds
        # exactly what some value holds.
        for col in FEEDS[feed].columns:
            if "\x00" in _joined(self.df[col]):
                self.fail(self.df[col].str.contains("\x00", regex=False), f"NUL byte in {col}")
        for col in FEEDS[feed].id_columns:
            s = self.df[col]
            joined = _joined(s)
            self.fail(s.str.len() > MAX_ID_CHARS, f"{col} longer than {MAX_ID_CHARS} characters")
            if _CONTROL.search(joined):
                self.fail(s.str.contains(_CONTROL.pattern, regex=True), f"{col} contains a line break or control character")
            if not _CPR_IN_TEXT_RE.search(joined):
                continue
            # An id holding a valid CPR would put a raw CPR in the warehouse (CONTRACT §2): the row is refused.
            found = s.str.extract(_CPR_IN_TEXT, expand=False)
            if found.notna().any():
                uniq = pd.unique(found.dropna())
                valid = found.map({v: cprmod.normalise(v) is not None for v in uniq}).fillna(False).astype(bool)
                self.fail(valid, f"{col} holds what looks like a CPR number")
        for col in FEEDS[feed].free_text_columns:
            self.fail(self.df[col].str.len() > MAX_TEXT_CHARS, f"{col} longer than {MAX_TEXT_CHARS} characters")

    def cpr(self) -> None:
        cpr10 = self.memo.cpr10(self.df["cpr"])
        self.fail(cpr10.isna(), "invalid CPR (not 10 digits with a valid birth date)")
        self.df["_cpr10"] = cpr10

    def kommune(self, col: str = "kommune_kode") -> None:
        known = {str(k) for k in kommuner()} | {f"{k:03d}" for k in kommuner()} | {f"{k:04d}" for k in kommuner()}
        s = self.df[col]
        self.fail(~s.isin(known), lambda d: "unknown kommune_kode '" + d[col].str.slice(0, 20) + "'")

    def code(self, col: str, allowed: tuple[str, ...], optional: bool = False) -> None:
        s = self.df[col]
        bad = ~s.isin(allowed) & ~(optional & s.eq(""))
        self.fail(bad, lambda d: f"unknown {col} '" + d[col].str.slice(0, 40) + "'")

    def flag(self, col: str) -> None:
        self.fail(~self.df[col].isin({"0", "1"}), lambda d: f"{col} must be 0 or 1, got '" + d[col].str.slice(0, 20) + "'")

    def date(self, col: str, optional: bool = False) -> pd.Series:
        s = self.df[col]
        parsed, as_date = _per_unique(s, parse_dates)
        empty = s.eq("")
        if not optional:
            self.fail(empty, f"{col} is missing")
        bad = parsed.isna() & ~empty
        self.fail(bad, lambda d: f"unparsable {col} '" + d[col].str.slice(0, 30) + "' (expected YYYY-MM-DD)")
        lo, hi = (pd.Timestamp(x) for x in PLAUSIBLE_DATES)
        self.fail(parsed.notna() & ((parsed < lo) | (parsed > hi)), lambda d: f"{col} '" + d[col] + "' outside 1990–2035")
        return as_date

    def month(self, col: str) -> pd.Series:
        s = self.df[col]
        (parsed,) = _per_unique(s, lambda u: (parse_months(u),))
        self.fail(parsed.isna(), lambda d: f"unparsable {col} '" + d[col].str.slice(0, 30) + "' (expected YYYY-MM)")
        lo, hi = (pd.Timestamp(x) for x in PLAUSIBLE_DATES)
        self.fail(parsed.notna() & ((parsed < lo) | (parsed > hi)), lambda d: f"{col} '" + d[col] + "' outside 1990–2035")
        return parsed.dt.date

    def timestamp(self, col: str) -> tuple[pd.Series, pd.Series]:
        """ISO 8601; local Copenhagen time when no offset is given. Returns (UTC instant, local date)."""
        s = self.df[col]
        utc, local_date = _per_unique(s, parse_timestamps)  # a snapshot repeats its timestamps: each distinct one parsed once
        self.fail(s.eq(""), f"{col} is missing")
        self.fail(utc.isna(), lambda d: f"unparsable {col} '" + d[col].str.slice(0, 40) + "' (expected ISO 8601)")
        lo, hi = (pd.Timestamp(x, tz="Europe/Copenhagen") for x in PLAUSIBLE_DATES)
        self.fail(utc.notna() & ((utc < lo) | (utc > hi)), lambda d: f"{col} '" + d[col].str.slice(0, 40) + "' outside 1990–2035")
        return utc, local_date

    def finish(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        ok = self.reason.isna()
        reasons = self.reason[~ok].map(lambda r: str(r).replace("\x00", "\\0")[:MAX_REASON_CHARS])
        return self.df.loc[ok].copy(), self.df.loc[~ok].assign(reason=reasons)


def _iso_week_month(values: pd.Series) -> pd.Series:
    """'YYYY-Www' -> first day of the month of the week's Thursday (a week belongs to that month)."""

    def one(v: str) -> date | None:
        m = re.fullmatch(r"(\d{4})-W(\d{2})", v)
        if not m:
            return None
        try:
            thursday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 4)
        except ValueError:
            return None
        return thursday.replace(day=1)

    uniq = pd.unique(values)
    return values.map({v: one(v) for v in uniq})


def _hours(values: pd.Series) -> pd.Series:
    text = values.str.replace(",", ".", regex=False)
    return pd.to_numeric(text.where(text.str.fullmatch(r"-?\d+(\.\d+)?"), None), errors="coerce")


def _money(values: pd.Series) -> pd.Series:
    text = values.where(~values.str.contains(","), values.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    return text.where(text.str.fullmatch(r"\d{1,12}(\.\d{1,2})?"), None)  # NUMERIC(14, 2)


def validate(
    feed: str, frame: pd.DataFrame, seen_ids: dict[str, int] | None = None, memo: CprMemo | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows to load with typed columns, rejected rows with a `reason`).

    `seen_ids` carries marking_id -> first line across the chunks of one markings file; `memo`
    the per-CPR work across the files of one feed.
    """
    c = Checker(frame, memo)
    c.hygiene(feed)
    if feed == "markings":
        c.required("marking_id")
        seen_ids = {} if seen_ids is None else seen_ids
        ids = frame["marking_id"]
        first_in_chunk = frame.groupby("marking_id")["line_no"].transform("min")
        earlier = ids.map(seen_ids).astype("float64")
        first_line = earlier.fillna(first_in_chunk).astype(np.int64)
        c.fail(
            frame["line_no"].ne(first_line) & ids.ne(""),
            lambda d: "marking_id repeated in the snapshot (first at line " + first_line[d.index].astype(str) + ")",
        )
        new = first_in_chunk[ids.ne("") & ids.map(seen_ids).isna()]
        seen_ids.update(zip(ids[new.index], new, strict=True))
        c.cpr()
        c.kommune()
        c.code("marking_code", contract.MARKING_CODES)
        frame["start"] = c.date("start_date")
        frame["end"] = c.date("end_date", optional=True)
        frame["reg_utc"], frame["reg_date"] = c.timestamp("registered_at")
    elif feed == "ydelse":
        c.cpr()
        frame["week_month"] = _iso_week_month(frame["iso_week"])
        c.fail(
            frame["week_month"].isna(),
            lambda d: "unparsable iso_week '" + d["iso_week"].str.slice(0, 20) + "' (expected YYYY-Www)",
        )
        c.kommune()
        c.code("ydelse_kode", contract.YDELSE_CODES)
        c.code("matchgruppe", contract.MATCHGRUPPER, optional=True)
        c.flag("introduktionsprogram")
        c.code("herkomst", contract.HERKOMST)
    elif feed == "tilbud":
        c.required("tilbud_id")
        c.cpr()
        c.kommune()
        c.code("tilbud_type", contract.TILBUD_TYPES)
        frame["start"] = c.date("start_date")
        frame["end"] = c.date("end_date", optional=True)
    elif feed == "timer":
        c.cpr()
        frame["month_d"] = c.month("month")
        c.fail(~frame["cvr"].str.fullmatch(r"\d{8}"), lambda d: "cvr must be 8 digits, got '" + d["cvr"].str.slice(0, 20) + "'")
        hours = _hours(frame["hours"])
        c.fail(hours.isna(), lambda d: "unparsable hours '" + d["hours"].str.slice(0, 20) + "'")
        c.fail(hours < 0, lambda d: "negative hours " + d["hours"])
        c.fail(hours > MAX_MONTH_HOURS, lambda d: f"hours above {MAX_MONTH_HOURS} in a month: " + d["hours"])
        frame["hours_n"] = hours
        c.flag("subsidised")
    elif feed == "uddannelse":
        c.cpr()
        frame["month_d"] = c.month("month")
        c.flag("su_eligible")
    elif feed == "allocations":
        c.kommune()
        c.code("programme", contract.PROGRAMMES)
        frame["grant"] = _money(frame["grant_dkk"])
        c.fail(
            frame["grant"].isna(),
            lambda d: "grant_dkk must be kroner with up to two decimals, got '" + d["grant_dkk"].str.slice(0, 30) + "'",
        )
    return c.finish()
