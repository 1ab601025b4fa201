"""Ingest of every landing feed into bitemporal staging (CONTRACT §1 'Bad input').

Per file: rows read = rows loaded + rows rejected, each reject with its physical line
number, reason and the row with anything CPR-shaped masked. A file unusable as a whole
raises `LandingError` naming it. A file is loaded in one transaction, keyed by
(feed, name, sha256): loading it again changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from fsm import cpr as cprmod
from fsm.config import kommuner
from fsm.landing import LandingError, LandingFile, LandingZone
from fsm.warehouse import connect

log = logging.getLogger(__name__)

MARKING_CODES = {
    "FSM_BRUTTO", "FSM_GR1", "FSM_GR2", "FSM_GR3", "FSM_UDSKUDT", "FSM_PJF",
    "FSM2_GR2", "FSM2_STEPUP", "FRITAGELSE",
}  # fmt: skip
YDELSE_CODES = {
    "KONTANTHJAELP", "UDDANNELSESHJAELP", "INTEGRATIONSYDELSE", "OVERGANGSYDELSE", "RESSOURCEFORLOEB",
    "LEDIGHEDSYDELSE", "FLEKSJOB", "FOERTIDSPENSION", "SYGEDAGPENGE", "REVALIDERING",
}  # fmt: skip
MATCHGRUPPER = {"AKTIVITETSPARAT", "JOBPARAT", "UDDANNELSESPARAT"}
HERKOMST = {"DANSK", "VESTLIG", "IKKE_VESTLIG"}
TILBUD_TYPES = {"VIRKSOMHEDSPRAKTIK", "LOENTILSKUD", "NYTTEINDSATS", "VEJLEDNING_OPKVALIFICERING", "MENTOR"}
PROGRAMMES = {"FSM1", "FSM2"}
MAX_MONTH_HOURS = 744  # 31 days × 24 h: more paid hours in a month is not a real figure
PLAUSIBLE_DATES = (date(1990, 1, 1), date(2035, 12, 31))

# Required columns per feed, in CONTRACT order. Extra columns are allowed and ignored.
FEED_COLUMNS: dict[str, tuple[str, ...]] = {
    "markings": ("marking_id", "cpr", "kommune_kode", "marking_code", "start_date", "end_date", "registered_at", "fritagelse_aarsag"),
    "ydelse": ("cpr", "iso_week", "kommune_kode", "ydelse_kode", "matchgruppe", "introduktionsprogram", "herkomst"),
    "tilbud": ("tilbud_id", "cpr", "kommune_kode", "tilbud_type", "start_date", "end_date"),
    "timer": ("cpr", "month", "cvr", "hours", "subsidised"),
    "uddannelse": ("cpr", "month", "su_eligible"),
    "allocations": ("kommune_kode", "programme", "grant_dkk"),
}  # fmt: skip
# Columns that may be missing from the header altogether (filled with empty).
OPTIONAL_COLUMNS = {"markings": {"fritagelse_aarsag"}}
# Feeds whose file with a header and no rows is a valid empty delivery.
EMPTY_ALLOWED = {"ydelse", "tilbud", "timer", "uddannelse", "allocations"}


@dataclass
class FileResult:
    feed: str
    file: str
    status: str  # loaded | skipped (already loaded)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0

    def as_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


# --- reading ------------------------------------------------------------------------------


@dataclass
class RawTable:
    frame: pd.DataFrame  # required columns as str + line_no
    rejects: list[tuple[int, str, str]]  # (line_no, reason, raw row)
    rows_read: int


def read_table(f: LandingFile, data: bytes) -> RawTable:
    if not data:
        raise LandingError(f"{f.uri}: the file is empty (zero bytes)")
    return _read_parquet(f, data) if f.fmt == "parquet" else _read_csv(f, data)


def _read_csv(f: LandingFile, data: bytes) -> RawTable:
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is allowed
    except UnicodeDecodeError as exc:
        raise LandingError(
            f"{f.uri}: not UTF-8 (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}); re-export the file as UTF-8"
        ) from exc
    first_line = text.split("\n", 1)[0]
    sep = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header_raw = next(reader)
    except StopIteration:
        raise LandingError(f"{f.uri}: the file has no header row") from None
    except csv.Error as exc:
        raise LandingError(f"{f.uri}: unreadable header row ({exc})") from exc
    header = [h.strip().lower() for h in header_raw]
    positions = _column_positions(f, header)

    rows: list[list[str]] = []
    line_nos: list[int] = []
    rejects: list[tuple[int, str, str]] = []
    rows_read = 0
    prev_line = reader.line_num
    width = len(header)
    while True:
        start = prev_line + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows_read += 1
            rejects.append((start, f"unreadable row: {exc}", _physical_lines(text, start, reader.line_num)))
            prev_line = reader.line_num
            continue
        prev_line = reader.line_num
        rows_read += 1
        raw = sep.join(record)
        if not record or all(not c.strip() for c in record):
            rejects.append((start, "empty line", raw))
        elif len(record) != width:
            rejects.append((start, f"expected {width} fields, found {len(record)}", raw))
        elif [c.strip().lower() for c in record] == header:
            rejects.append((start, "repeated header row", raw))
        elif "\x00" in raw:
            rejects.append((start, "NUL byte in row", raw.replace("\x00", "\\0")))
        else:
            rows.append([record[i].strip() if i is not None else "" for i in positions])
            line_nos.append(start)
    cols = FEED_COLUMNS[f.feed]
    frame = pd.DataFrame(rows, columns=list(cols), dtype=object) if rows else pd.DataFrame(columns=list(cols), dtype=object)
    frame["line_no"] = np.array(line_nos, dtype=np.int64)
    frame["_raw"] = [sep.join(r) for r in _mask_cpr_column(f.feed, rows)]
    cpr_at = header.index("cpr") if "cpr" in header else None
    rejects = [(ln, reason, _mask_field(raw, sep, cpr_at)) for ln, reason, raw in rejects]
    return RawTable(frame, rejects, rows_read)


def _mask_cpr_column(feed: str, rows: list[list[str]]) -> list[list[str]]:
    """Rejected rows are stored with the CPR field masked, whatever it holds (a typo is still personal)."""
    cols = FEED_COLUMNS[feed]
    if "cpr" not in cols:
        return rows
    i = cols.index("cpr")
    return [[*r[:i], "XXXXXX-XXXX", *r[i + 1 :]] for r in rows]


def _mask_field(raw: str, sep: str, position: int | None) -> str:
    if position is None:
        return raw
    parts = raw.split(sep)
    if position < len(parts):
        parts[position] = "XXXXXX-XXXX"
    return sep.join(parts)


def _physical_lines(text: str, first: int, last: int) -> str:
    lines = text.split("\n")[first - 1 : max(first, last)]
    return "\n".join(lines)[:2000]


def _column_positions(f: LandingFile, header: list[str]) -> list[int | None]:
    required = FEED_COLUMNS[f.feed]
    optional = OPTIONAL_COLUMNS.get(f.feed, set())
    missing = [c for c in required if c not in header and c not in optional]
    if missing:
        raise LandingError(
            f"{f.uri}: missing required column(s) {', '.join(missing)} (header has: {', '.join(header) or 'nothing'})"
        )
    return [header.index(c) if c in header else None for c in required]


def _read_parquet(f: LandingFile, data: bytes) -> RawTable:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:
        raise LandingError(f"{f.uri}: not a readable Parquet file ({exc})") from exc
    header = [c.strip().lower() for c in table.column_names]
    positions = _column_positions(f, header)
    cols = FEED_COLUMNS[f.feed]
    frame = pd.DataFrame(index=range(table.num_rows))
    for name, pos in zip(cols, positions, strict=True):
        if pos is None:
            frame[name] = ""
            continue
        values = table.column(pos).to_pylist()
        frame[name] = [_parquet_text(v) for v in values]
    # Parquet has no lines: row i is reported as line i + 2, as if the header were line 1.
    frame["line_no"] = np.arange(2, table.num_rows + 2, dtype=np.int64)
    shown = frame[list(cols)].assign(cpr="XXXXXX-XXXX") if "cpr" in cols else frame[list(cols)]
    frame["_raw"] = shown.agg(";".join, axis=1) if table.num_rows else []
    return RawTable(frame.astype({c: object for c in cols}), [], table.num_rows)


def _parquet_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, date):
        return v.isoformat()
    return str(v).strip()


# --- validation (vectorised) ----------------------------------------------------------------


class Checker:
    """Collects the first failing reason per row; later checks do not overwrite earlier ones."""

    def __init__(self, frame: pd.DataFrame):
        self.df = frame
        self.reason = pd.Series([None] * len(frame), index=frame.index, dtype=object)

    def fail(self, mask: pd.Series, message: Callable[[pd.Series], pd.Series] | str) -> None:
        mask = mask & self.reason.isna()
        if not mask.any():
            return
        msg = message(self.df.loc[mask]) if callable(message) else message
        self.reason.loc[mask] = msg

    def required(self, col: str) -> None:
        self.fail(self.df[col].eq(""), f"{col} is missing")

    def cpr(self) -> None:
        values = self.df["cpr"]
        uniq = pd.unique(values)
        normalised = {v: cprmod.normalise(v) for v in uniq}  # python-stdnum, once per citizen
        cpr10 = values.map(normalised)
        self.fail(cpr10.isna(), "invalid CPR (not 10 digits with a valid birth date)")
        self.df["_cpr10"] = cpr10

    def kommune(self, col: str = "kommune_kode") -> None:
        known = {str(k) for k in kommuner()} | {f"{k:03d}" for k in kommuner()} | {f"{k:04d}" for k in kommuner()}
        s = self.df[col]
        self.fail(~s.isin(known), lambda d: "unknown kommune_kode '" + d[col].str.slice(0, 20) + "'")

    def code(self, col: str, allowed: set[str], optional: bool = False) -> None:
        s = self.df[col]
        bad = ~s.isin(allowed) & ~(optional & s.eq(""))
        self.fail(bad, lambda d: f"unknown {col} '" + d[col].str.slice(0, 40) + "'")

    def flag(self, col: str) -> None:
        self.fail(~self.df[col].isin({"0", "1"}), lambda d: f"{col} must be 0 or 1, got '" + d[col].str.slice(0, 20) + "'")

    def date(self, col: str, optional: bool = False) -> pd.Series:
        s = self.df[col]
        parsed = pd.to_datetime(s.where(s.str.fullmatch(r"\d{4}-\d{2}-\d{2}"), None), format="%Y-%m-%d", errors="coerce")
        empty = s.eq("")
        if not optional:
            self.fail(empty, f"{col} is missing")
        bad = parsed.isna() & ~empty
        self.fail(bad, lambda d: f"unparsable {col} '" + d[col].str.slice(0, 30) + "' (expected YYYY-MM-DD)")
        lo, hi = (pd.Timestamp(x) for x in PLAUSIBLE_DATES)
        self.fail(parsed.notna() & ((parsed < lo) | (parsed > hi)), lambda d: f"{col} '" + d[col] + "' outside 1990–2035")
        return parsed.dt.date

    def month(self, col: str) -> pd.Series:
        s = self.df[col]
        parsed = pd.to_datetime(s.where(s.str.fullmatch(r"\d{4}-\d{2}"), None), format="%Y-%m", errors="coerce")
        self.fail(parsed.isna(), lambda d: f"unparsable {col} '" + d[col].str.slice(0, 30) + "' (expected YYYY-MM)")
        lo, hi = (pd.Timestamp(x) for x in PLAUSIBLE_DATES)
        self.fail(parsed.notna() & ((parsed < lo) | (parsed > hi)), lambda d: f"{col} '" + d[col] + "' outside 1990–2035")
        return parsed.dt.date

    def timestamp(self, col: str) -> tuple[pd.Series, pd.Series]:
        """ISO 8601; local Copenhagen time when no offset is given. Returns (UTC instant, local date)."""
        s = self.df[col]
        has_offset = s.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True)
        shaped = s.str.match(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?")
        utc = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us, UTC]")
        naive_idx = s.index[shaped & ~has_offset]
        aware_idx = s.index[shaped & has_offset]
        if len(naive_idx):
            naive = pd.to_datetime(s.loc[naive_idx], format="ISO8601", errors="coerce")
            local = naive.dt.tz_localize("Europe/Copenhagen", ambiguous="NaT", nonexistent="NaT")
            utc.loc[naive_idx] = local.dt.tz_convert("UTC")
        if len(aware_idx):
            utc.loc[aware_idx] = pd.to_datetime(s.loc[aware_idx], format="ISO8601", utc=True, errors="coerce")
        self.fail(s.eq(""), f"{col} is missing")
        self.fail(utc.isna(), lambda d: f"unparsable {col} '" + d[col].str.slice(0, 40) + "' (expected ISO 8601)")
        local_date = utc.dt.tz_convert("Europe/Copenhagen").dt.date
        return utc, local_date

    def finish(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        ok = self.reason.isna()
        return self.df.loc[ok].copy(), self.df.loc[~ok].assign(reason=self.reason[~ok])


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
    return text.where(text.str.fullmatch(r"\d+(\.\d{1,2})?"), None)


def validate(feed: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows to load with typed columns, rejected rows with a `reason`)."""
    c = Checker(frame)
    if feed == "markings":
        c.required("marking_id")
        first_line = frame.groupby("marking_id")["line_no"].transform("min")
        c.fail(
            frame["line_no"].ne(first_line) & frame["marking_id"].ne(""),
            lambda d: "marking_id repeated in the snapshot (first at line " + first_line[d.index].astype(str) + ")",
        )
        c.cpr()
        c.kommune()
        c.code("marking_code", MARKING_CODES)
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
        c.code("ydelse_kode", YDELSE_CODES)
        c.code("matchgruppe", MATCHGRUPPER, optional=True)
        c.flag("introduktionsprogram")
        c.code("herkomst", HERKOMST)
    elif feed == "tilbud":
        c.required("tilbud_id")
        c.cpr()
        c.kommune()
        c.code("tilbud_type", TILBUD_TYPES)
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
        c.code("programme", PROGRAMMES)
        frame["grant"] = _money(frame["grant_dkk"])
        c.fail(
            frame["grant"].isna(),
            lambda d: "grant_dkk must be kroner with up to two decimals, got '" + d["grant_dkk"].str.slice(0, 30) + "'",
        )
    return c.finish()


# --- loading ------------------------------------------------------------------------------

_STAGING_COLUMNS = {
    "markings": ("stg_markings", ("file_id", "extract_date", "line_no", "marking_id", "person_key", "kommune_kode", "marking_code",
                                  "start_date", "end_date", "registered_at", "registered_date", "fritagelse_aarsag")),
    "ydelse": ("stg_ydelse", ("file_id", "delivery_month", "line_no", "person_key", "iso_week", "week_month", "kommune_kode",
                              "ydelse_kode", "matchgruppe", "introduktionsprogram", "herkomst", "birth_date")),
    "tilbud": ("stg_tilbud", ("file_id", "delivery_month", "line_no", "tilbud_id", "person_key", "kommune_kode", "tilbud_type",
                              "start_date", "end_date")),
    "timer": ("stg_timer", ("file_id", "delivery_month", "line_no", "person_key", "month", "cvr", "hours", "subsidised")),
    "uddannelse": ("stg_uddannelse", ("file_id", "delivery_month", "line_no", "person_key", "month", "su_eligible")),
    "allocations": ("stg_allocations", ("file_id", "line_no", "kommune_kode", "programme", "grant_dkk")),
}  # fmt: skip


def _staging_frame(feed: str, ok: pd.DataFrame, f: LandingFile, file_id: int) -> pd.DataFrame:
    out = pd.DataFrame(index=ok.index)
    out["file_id"] = file_id
    out["line_no"] = ok["line_no"]
    if "_cpr10" in ok:
        uniq = pd.unique(ok["_cpr10"])
        key = cprmod.pseudonym_key()
        out["person_key"] = ok["_cpr10"].map({c: cprmod.person_key(c, key) for c in uniq})
    if "kommune_kode" in ok:
        out["kommune_kode"] = ok["kommune_kode"].astype(int)
    if feed == "markings":
        out["extract_date"] = f.period
        out["marking_id"] = ok["marking_id"]
        out["marking_code"] = ok["marking_code"]
        out["start_date"] = ok["start"]
        out["end_date"] = ok["end"]
        out["registered_at"] = ok["reg_utc"].map(lambda t: t.isoformat())
        out["registered_date"] = ok["reg_date"]
        out["fritagelse_aarsag"] = ok["fritagelse_aarsag"].replace("", None)
    elif feed == "ydelse":
        out["delivery_month"] = f.period
        out["iso_week"] = ok["iso_week"]
        out["week_month"] = ok["week_month"]
        out["ydelse_kode"] = ok["ydelse_kode"]
        out["matchgruppe"] = ok["matchgruppe"].replace("", None)
        out["introduktionsprogram"] = ok["introduktionsprogram"].eq("1")
        out["herkomst"] = ok["herkomst"]
        uniq = pd.unique(ok["_cpr10"])
        out["birth_date"] = ok["_cpr10"].map({c: cprmod.birth_date(c) for c in uniq})  # F1: age from the CPR
    elif feed == "tilbud":
        out["delivery_month"] = f.period
        out["tilbud_id"] = ok["tilbud_id"]
        out["tilbud_type"] = ok["tilbud_type"]
        out["start_date"] = ok["start"]
        out["end_date"] = ok["end"]
    elif feed == "timer":
        out["delivery_month"] = f.period
        out["month"] = ok["month_d"]
        out["cvr"] = ok["cvr"]
        out["hours"] = ok["hours"].str.replace(",", ".", regex=False)
        out["subsidised"] = ok["subsidised"].eq("1")
    elif feed == "uddannelse":
        out["delivery_month"] = f.period
        out["month"] = ok["month_d"]
        out["su_eligible"] = ok["su_eligible"].eq("1")
    elif feed == "allocations":
        out["programme"] = ok["programme"]
        out["grant_dkk"] = ok["grant"]
    _table, cols = _STAGING_COLUMNS[feed]
    return out[list(cols)]


def _copy(conn, table: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=False, na_rep="\\N")
    with conn.cursor().copy(f"copy {table} ({', '.join(frame.columns)}) from stdin with (format csv, null '\\N')") as cp:
        cp.write(buf.getvalue())


def load_file(zone: LandingZone, f: LandingFile) -> FileResult:
    data = zone.read_bytes(f)
    sha = hashlib.sha256(data).hexdigest()
    with connect() as conn:
        # One loader per feed at a time; re-check inside the lock so concurrent runs load once.
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"ingest:{f.feed}",))
        seen = conn.execute(
            "select rows_read, rows_loaded, rows_rejected from ingest_file where feed = %s and file_name = %s and sha256 = %s",
            (f.feed, f.name, sha),
        ).fetchone()
        if seen:
            return FileResult(f.feed, f.name, "skipped", *seen)
        raw = read_table(f, data)
        if raw.rows_read == 0 and f.feed not in EMPTY_ALLOWED:
            raise LandingError(f"{f.uri}: a {f.feed} snapshot with a header and no rows is never a valid delivery")
        ok, bad = validate(f.feed, raw.frame)
        rejects = [(ln, reason, text) for ln, reason, text in raw.rejects]
        rejects += list(zip(bad["line_no"].tolist(), bad["reason"].tolist(), bad["_raw"].tolist(), strict=True))
        assert raw.rows_read == len(ok) + len(rejects), f"{f.uri}: reconciliation failed"
        file_id = conn.execute(
            "insert into ingest_file (feed, file_name, uri, sha256, period, size_bytes, rows_read, rows_loaded, rows_rejected)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s) returning file_id",
            (f.feed, f.name, f.uri, sha, f.period, len(data), raw.rows_read, len(ok), len(rejects)),
        ).fetchone()[0]
        table = _STAGING_COLUMNS[f.feed][0]
        _copy(conn, table, _staging_frame(f.feed, ok, f, file_id))
        if rejects:
            rej = pd.DataFrame(
                {
                    "file": f.name,
                    "line_no": [r[0] for r in rejects],
                    "file_id": file_id,
                    "feed": f.feed,
                    "reason": [cprmod.mask(r[1]) for r in rejects],
                    "row_masked": [cprmod.mask(r[2].replace("\x00", "\\0"))[:4000] for r in rejects],
                }
            )
            _copy(conn, "ingest_rejects", rej)
        # Fresh statistics: the next queries (rules, GX, marts) plan on them; stale ones cost minutes.
        conn.execute(f"analyze {table}")
    result = FileResult(f.feed, f.name, "loaded", raw.rows_read, len(ok), len(rejects))
    log.info("%s: read %d = loaded %d + rejected %d", f.uri, result.rows_read, result.rows_loaded, result.rows_rejected)
    return result


def files_for_month(zone: LandingZone, feed: str, month: date) -> list[LandingFile]:
    """P5: the files a run for `month` may see: snapshots extracted by its last day, registers up to it."""
    last_day = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    limit = last_day if feed == "markings" else month
    return [f for f in zone.files(feed) if f.period <= limit]


def ingest_feed(feed: str, month: date, root: str | None = None) -> dict[str, object]:
    """Load every not-yet-loaded file of `feed` visible to `month`'s run. Returns counts (no CPRs)."""
    zone = LandingZone(root)
    results = [load_file(zone, f) for f in files_for_month(zone, feed, month)]
    summary = {
        "feed": feed,
        "files_loaded": sum(r.status == "loaded" for r in results),
        "files_skipped": sum(r.status == "skipped" for r in results),
        "rows_read": sum(r.rows_read for r in results if r.status == "loaded"),
        "rows_loaded": sum(r.rows_loaded for r in results if r.status == "loaded"),
        "rows_rejected": sum(r.rows_rejected for r in results if r.status == "loaded"),
    }
    log.info("ingest %s for %s: %s", feed, month.isoformat()[:7], json.dumps(summary))
    return summary
