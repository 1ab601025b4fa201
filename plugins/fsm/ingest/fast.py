"""Validation and staging shape in Arrow (issue 17 part 3): no pandas object columns on the hot path.

A chunk's columns are checked with Arrow compute, each column's distinct values parsed once (a
month's file repeats its weeks, codes, dates and citizens); the rows that pass every check are
shaped for staging in Arrow. A row that may be rejected goes, with its chunk's other such rows,
through the row-reason checker (fsm.ingest.validate), which decides it exactly as before.

Exact by construction:
- a row counts as clean only when every check `validate.Checker` makes of it passes. Where Arrow
  cannot decide a check exactly the row is sent to the checker: an identifier with a non-ASCII
  character (Python's `\\d` also matches other scripts' digits) or anything CPR-shaped in it
  (the checker then asks python-stdnum), a NUL byte anywhere, a repeated marking_id;
- the clean rows' values come from the parse functions the checker uses (validate.parse_dates, …).

tests/ingest/test_fast_path.py compares the two paths row for row on clean and broken input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fsm import contract
from fsm import cpr as cprmod
from fsm.config import kommuner
from fsm.contract import FEEDS
from fsm.ingest.landing import LandingFile
from fsm.ingest.persons import PersonIds
from fsm.ingest.readers import RawTable, raw_rows
from fsm.ingest.staging import arrow_table, staging_frame
from fsm.ingest.validate import (
    MAX_ID_CHARS,
    MAX_MONTH_HOURS,
    MAX_TEXT_CHARS,
    PLAUSIBLE_DATES,
    CprMemo,
    _hours,
    _iso_week_month,
    _money,
    parse_dates,
    parse_months,
    parse_timestamps,
    validate,
)

_LO, _HI = (pd.Timestamp(x) for x in PLAUSIBLE_DATES)
_LO_TZ, _HI_TZ = (pd.Timestamp(x, tz="Europe/Copenhagen") for x in PLAUSIBLE_DATES)
_CONTROL = r"[\x00-\x1f\x7f]"
_CPR_SHAPED = r"[0-9]{6}[ -]?[0-9]{4}"  # ASCII only here; the checker decides whether it is a valid CPR


@dataclass
class Prepared:
    """A chunk ready for staging: its rows in the staging table's columns (file_id 0 until the loader sets
    it; person_id dim_person's), and its rejects."""

    staged: pa.Table
    rejects: list[tuple[int, str, str]]


class _Memo:
    """Values computed once per distinct raw value for a whole feed's load (the same citizens and
    registration times recur in every monthly file and snapshot): `fn` runs on a chunk's new values only;
    the rest are found by one dict lookup each, in C (`map`). Bounded: emptied past `limit` values."""

    def __init__(self, fn: Callable[[list[str]], Sequence[Sequence]], types: Sequence[pa.DataType], limit: int = 2_000_000):
        self.fn, self.types, self.limit = fn, types, limit
        self.at: dict[str, int] = {}  # raw value -> position in `values`
        self.values = [pa.array([], t) for t in types]

    def lookup(self, distinct: pa.Array) -> list[pa.Array]:
        if len(self.at) > self.limit:
            self.at, self.values = {}, [pa.array([], t) for t in self.types]
        raw = distinct.to_pylist()
        found = list(map(self.at.get, raw))
        if None in found:
            new = [v for v, at in zip(raw, found, strict=True) if at is None]
            results = self.fn(new)
            self.at.update(zip(new, range(len(self.at), len(self.at) + len(new)), strict=True))
            self.values = [
                pa.concat_arrays([old, pa.array(r, t, from_pandas=True)])
                for old, r, t in zip(self.values, results, self.types, strict=True)
            ]
            found = list(map(self.at.__getitem__, raw))
        positions = pa.array(found, pa.int64())
        return [v.take(positions) for v in self.values]


class FeedMemo:
    """One feed's load: the checker's per-CPR memo, dim_person's ids, and the Arrow path's memos."""

    def __init__(self, person_ids: PersonIds, cpr: CprMemo | None = None):
        self.cpr = cpr or CprMemo()
        self.person_ids = person_ids
        self.people = _Memo(self._people, [pa.int64()])
        self.stamps = _Memo(_timestamps, [pa.bool_(), pa.timestamp("us", "UTC"), pa.date32()])

    def _people(self, raw: list[str]) -> tuple[list]:
        """dim_person's id of each CPR as written (None: not a valid CPR)."""
        cpr10 = self.cpr.cpr10_each(raw)
        valid = sorted({c for c in cpr10 if c})
        ids = dict(zip(valid, self.person_ids.ids_of(valid), strict=True))
        return ([ids.get(c) for c in cpr10],)


class _Rows:
    """The chunk's clean-so-far mask and the typed values of its clean rows."""

    def __init__(self, chunk: RawTable):
        self.col = chunk.columns
        self.ok = np.ones(len(chunk), dtype=bool)
        self.values: dict[str, pa.Array] = {}

    def keep(self, mask: pa.Array) -> None:
        """Rows where `mask` is false (or null) are no longer clean."""
        self.ok &= pc.fill_null(mask, False).to_numpy(zero_copy_only=False)

    def distinct(self, name: str, fn: Callable[[list[str]], Sequence[Sequence]], types: Sequence[pa.DataType]) -> list[pa.Array]:
        """`fn` over the column's distinct values (a list), its results (one list each) spread back to every row."""
        encoded = self.col[name].dictionary_encode()
        results = fn(encoded.dictionary.to_pylist())
        return [pa.array(r, t, from_pandas=True).take(encoded.indices) for r, t in zip(results, types, strict=True)]

    def memoised(self, name: str, memo: _Memo) -> list[pa.Array]:
        """As `distinct`, with the values of the feed's load so far (`memo`)."""
        encoded = self.col[name].dictionary_encode()
        return [v.take(encoded.indices) for v in memo.lookup(encoded.dictionary)]

    def in_set(self, name: str, allowed) -> None:
        self.keep(pc.is_in(self.col[name], pa.array(sorted(allowed), self.col[name].type)))


def _nat_none(values) -> list:
    return [None if pd.isna(v) else v for v in values]


def _dates(optional: bool) -> Callable[[list[str]], tuple[list, list]]:
    def fn(uniq: list[str]) -> tuple[list, list]:
        u = pd.Series(uniq, dtype=object)
        parsed, as_date = parse_dates(u)
        ok = (parsed.notna() & (parsed >= _LO) & (parsed <= _HI)) | (optional & u.eq(""))
        return ok.tolist(), _nat_none(as_date)

    return fn


def _months(uniq: list[str]) -> tuple[list, list]:
    parsed = parse_months(pd.Series(uniq, dtype=object))
    ok = parsed.notna() & (parsed >= _LO) & (parsed <= _HI)
    return ok.tolist(), _nat_none(parsed.dt.date)


def _timestamps(uniq: list[str]) -> tuple[list, pd.Series, list]:
    u = pd.Series(uniq, dtype=object)
    utc, local_date = parse_timestamps(u)
    ok = u.ne("") & utc.notna() & (utc >= _LO_TZ) & (utc <= _HI_TZ)
    return ok.tolist(), utc, _nat_none(local_date)


def _hygiene(r: _Rows, feed: str) -> None:
    """validate.Checker.hygiene: no NUL; identifiers bounded, one line, nothing CPR-shaped; free text bounded."""
    spec = FEEDS[feed]
    for name in spec.columns:
        nul = pc.match_substring(r.col[name], "\x00")
        if pc.any(nul).as_py():
            r.keep(pc.invert(nul))
    for name in spec.id_columns:
        s = r.col[name]
        r.keep(pc.less_equal(pc.utf8_length(s), MAX_ID_CHARS))
        r.keep(pc.string_is_ascii(s))
        r.keep(pc.invert(pc.match_substring_regex(s, _CONTROL)))
        r.keep(pc.invert(pc.match_substring_regex(s, _CPR_SHAPED)))
    for name in spec.free_text_columns:
        r.keep(pc.less_equal(pc.utf8_length(r.col[name]), MAX_TEXT_CHARS))


def _cpr(r: _Rows, memo: FeedMemo) -> None:
    (person_id,) = r.memoised("cpr", memo.people)
    r.keep(pc.is_valid(person_id))
    r.values["person_id"] = person_id


def _kommune(r: _Rows) -> None:
    known = {str(k) for k in kommuner()} | {f"{k:03d}" for k in kommuner()} | {f"{k:04d}" for k in kommuner()}
    (code,) = r.distinct("kommune_kode", lambda u: ([int(v) if v in known else None for v in u],), [pa.int64()])
    r.keep(pc.is_valid(code))
    r.values["kommune_kode"] = code


def _code(r: _Rows, name: str, allowed: tuple[str, ...], optional: bool = False) -> None:
    r.in_set(name, set(allowed) | ({""} if optional else set()))


def _flag(r: _Rows, name: str) -> pa.Array:
    r.in_set(name, {"0", "1"})
    return pc.equal(r.col[name], "1")


def _date(r: _Rows, name: str, optional: bool = False) -> pa.Array:
    ok, value = r.distinct(name, _dates(optional), [pa.bool_(), pa.date32()])
    r.keep(ok)
    return value


def _period(r: _Rows) -> dict[str, pa.Array]:
    """start_date (required) and end_date (optional), as markings and offers carry them."""
    return {"start_date": _date(r, "start_date"), "end_date": _date(r, "end_date", optional=True)}


def _marking_ids(r: _Rows, seen_ids: dict[str, int]) -> None:
    """Required, and neither repeated in the chunk nor seen in an earlier chunk (those go to the checker)."""
    ids = r.col["marking_id"]
    r.keep(pc.not_equal(ids, ""))
    encoded = ids.dictionary_encode()
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    once = np.bincount(indices, minlength=len(encoded.dictionary)) == 1
    unseen = np.array([v not in seen_ids for v in encoded.dictionary.to_pylist()], dtype=bool)
    r.ok &= (once & unseen)[indices]


def _shape(feed: str, r: _Rows, f: LandingFile, memo: FeedMemo, seen_ids: dict[str, int]) -> dict:
    """Checks of validate.validate, feed by feed, in Arrow; the clean rows' staging values (unfiltered)."""
    c, v = r.col, r.values
    _hygiene(r, feed)
    out: dict[str, object] = {}
    if feed == "markings":
        _marking_ids(r, seen_ids)
        _cpr(r, memo)
        _kommune(r)
        _code(r, "marking_code", contract.MARKING_CODES)
        ok, utc, local = r.memoised("registered_at", memo.stamps)
        r.keep(ok)
        (masked,) = r.distinct(  # free text: no CPR kept
            "fritagelse_aarsag", lambda u: ([cprmod.mask(t) or None for t in u],), [pa.large_string()]
        )
        out.update(
            extract_date=f.period,
            marking_id=c["marking_id"],
            marking_code=c["marking_code"],
            **_period(r),
            registered_at=utc,
            registered_date=local,
            fritagelse_aarsag=masked,
        )
    elif feed == "ydelse":
        _cpr(r, memo)

        def weeks(u: list[str]) -> tuple[list, list]:
            month = _nat_none(_iso_week_month(pd.Series(u, dtype=object)))
            return month, [int(w[6:]) if m is not None else None for w, m in zip(u, month, strict=True)]

        week_month, week_no = r.distinct("iso_week", weeks, [pa.date32(), pa.int64()])
        r.keep(pc.is_valid(week_month))
        _kommune(r)
        _code(r, "ydelse_kode", contract.YDELSE_CODES)
        _code(r, "matchgruppe", contract.MATCHGRUPPER, optional=True)
        _code(r, "herkomst", contract.HERKOMST)
        out.update(
            iso_week_no=week_no,
            week_month=week_month,
            ydelse_kode=c["ydelse_kode"],
            matchgruppe=pc.if_else(pc.equal(c["matchgruppe"], ""), None, c["matchgruppe"]),
            introduktionsprogram=_flag(r, "introduktionsprogram"),
            herkomst=c["herkomst"],
        )
    elif feed == "tilbud":
        r.keep(pc.not_equal(c["tilbud_id"], ""))
        _cpr(r, memo)
        _kommune(r)
        _code(r, "tilbud_type", contract.TILBUD_TYPES)
        out.update(
            delivery_month=f.period,
            tilbud_id=c["tilbud_id"],
            tilbud_type=c["tilbud_type"],
            **_period(r),
        )
    elif feed in ("timer", "uddannelse"):
        _cpr(r, memo)
        ok, month = r.distinct("month", _months, [pa.bool_(), pa.date32()])
        r.keep(ok)
        out.update(delivery_month=f.period, month=month)
        if feed == "timer":
            r.keep(pc.match_substring_regex(c["cvr"], "^[0-9]{8}$"))

            def hours_ok(u: list[str]) -> tuple[list]:
                h = _hours(pd.Series(u, dtype=object))
                return ((h.notna() & (h >= 0) & (h <= MAX_MONTH_HOURS)).tolist(),)

            r.keep(r.distinct("hours", hours_ok, [pa.bool_()])[0])
            out.update(cvr=c["cvr"], hours=pc.replace_substring(c["hours"], ",", "."), subsidised=_flag(r, "subsidised"))
        else:
            out.update(su_eligible=_flag(r, "su_eligible"))
    elif feed == "allocations":
        _kommune(r)
        _code(r, "programme", contract.PROGRAMMES)
        (grant,) = r.distinct("grant_dkk", lambda u: (_nat_none(_money(pd.Series(u, dtype=object))),), [pa.large_string()])
        r.keep(pc.is_valid(grant))
        out.update(programme=c["programme"], grant_dkk=grant)
    for name in ("kommune_kode", "person_id"):
        if name in v:
            out[name] = v[name]
    return out


def prepare(feed: str, chunk: RawTable, f: LandingFile, seen_ids: dict[str, int], memo: FeedMemo) -> Prepared:
    """The chunk validated and shaped for staging: clean rows in Arrow, the others through the row-reason checker."""
    r = _Rows(chunk)
    values = _shape(feed, r, f, memo, seen_ids)
    clean = pa.array(r.ok)
    n_clean = int(r.ok.sum())
    if feed == "markings" and n_clean:  # the clean rows' ids are the first (and only) of their kind so far
        seen_ids.update(zip(chunk.columns["marking_id"].filter(clean).to_pylist(), chunk.line_no[r.ok].tolist(), strict=True))
    columns = {}
    for name in FEEDS[feed].staging_columns:
        if name == "file_id":
            columns[name] = pa.array(np.zeros(n_clean, np.int64))
        elif name == "line_no":
            columns[name] = pa.array(chunk.line_no[r.ok])
        else:
            value = values[name]
            columns[name] = value.filter(clean) if isinstance(value, pa.Array) else pa.repeat(pa.scalar(value), n_clean)
    staged = arrow_table(columns)
    if n_clean == len(chunk):
        return Prepared(staged, chunk.rejects)

    # the rows that may be rejected: the checker gives each its reason, or stages it after all
    ok, bad = validate(feed, chunk.take(np.flatnonzero(~r.ok)), seen_ids, memo.cpr)
    rejects = chunk.rejects + list(zip(bad["line_no"].tolist(), bad["reason"].tolist(), raw_rows(bad, feed), strict=True))
    slow, cpr10 = staging_frame(feed, ok, f, 0)
    if cpr10:  # valid CPRs: dim_person's ids through the same memo
        (ids,) = memo.people.lookup(pa.array(cpr10, pa.string()))
        slow["person_id"] = ids.to_numpy(zero_copy_only=False)
    staged = pa.concat_tables([staged, arrow_table(slow)])
    return Prepared(staged.take(pc.sort_indices(staged["line_no"])), rejects)  # the file's order, as the checker alone staged it
