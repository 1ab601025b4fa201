"""Shaping validated rows for bitemporal staging and copying them (and the rejects) into PostgreSQL with COPY."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

from fsm import cpr as cprmod
from fsm.contract import FEEDS
from fsm.ingest.landing import LandingFile
from fsm.ingest.persons import ChunkPersons, chunk_persons
from fsm.ingest.readers import chunk_rows
from fsm.ingest.validate import MAX_REASON_CHARS, CprMemo


def staging_frame(
    feed: str, ok: pd.DataFrame, f: LandingFile, file_id: int, memo: CprMemo | None = None
) -> tuple[pd.DataFrame, ChunkPersons | None]:
    """The rows in the staging table's columns, and the chunk's citizens (None for a feed without CPR).

    person_id holds each row's position among the chunk's citizens until the loader maps it to
    dim_person's ids (fsm.ingest.persons)."""
    memo = memo or CprMemo()
    out = pd.DataFrame(index=ok.index)
    out["file_id"] = file_id
    out["line_no"] = ok["line_no"]
    persons = None
    if "_cpr10" in ok:
        persons = chunk_persons(ok["_cpr10"], memo)
        out["person_id"] = persons.positions
    if "kommune_kode" in ok:
        out["kommune_kode"] = ok["kommune_kode"].astype(int)
    if feed == "markings":
        out["extract_date"] = f.period
        out["marking_id"] = ok["marking_id"]
        out["marking_code"] = ok["marking_code"]
        out["start_date"] = ok["start"]
        out["end_date"] = ok["end"]
        out["registered_at"] = ok["reg_utc"]  # tz-aware UTC instants
        out["registered_date"] = ok["reg_date"]
        text = ok["fritagelse_aarsag"]
        out["fritagelse_aarsag"] = text.map({t: cprmod.mask(t) or None for t in pd.unique(text)})  # free text: no CPR kept
    elif feed == "ydelse":  # compact (V011): the birth date (F1) goes to dim_person, the delivery month is the file's
        week = ok["iso_week"]  # 'YYYY-Www', checked by validate: its ISO year is week_month's year
        out["iso_week_no"] = week.map({w: int(w[6:]) for w in pd.unique(week)}).astype(np.int16)
        out["week_month"] = ok["week_month"]
        out["ydelse_kode"] = ok["ydelse_kode"]
        out["matchgruppe"] = ok["matchgruppe"].replace("", None)
        out["introduktionsprogram"] = ok["introduktionsprogram"].eq("1")
        out["herkomst"] = ok["herkomst"]
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
    cols = FEEDS[feed].staging_columns
    return out[list(cols)], persons


def _python_values(s: pd.Series) -> list[object]:
    """Plain Python values with None for every kind of missing (NaT, NaN, NA): what COPY needs."""
    if pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return s.tolist()
    if isinstance(s.dtype, pd.DatetimeTZDtype):  # instants (registered_at)
        return [None if v is pd.NaT else v.to_pydatetime() for v in s.tolist()]
    if pd.api.types.is_datetime64_any_dtype(s.dtype):  # a date column whose values are all missing
        return [None if v is pd.NaT else v.date() for v in s.tolist()]
    return [None if v is None or v is pd.NaT or v is pd.NA or (isinstance(v, float) and v != v) else v for v in s.tolist()]


# How each staging column is typed in COPY's text format (anything else is text, escaped).
_INT_COLUMNS = {"file_id", "line_no", "person_id", "kommune_kode", "iso_week_no"}
_DATE_COLUMNS = {
    "extract_date",
    "delivery_month",
    "week_month",
    "start_date",
    "end_date",
    "registered_date",
    "month",
}
_BOOL_COLUMNS = {"introduktionsprogram", "subsidised", "su_eligible"}
_UTC_COLUMNS = {"registered_at"}


def _copy(conn, table: str, frame: pd.DataFrame) -> None:
    """COPY the frame: as one block of COPY text built by Arrow (fast path), else row by row.

    Either way NULL stays NULL and text stays text: a value '\\N' is sent as '\\\\N', a tab,
    line break or backslash escaped, exactly as psycopg's write_row does."""
    if frame.empty:
        return
    statement = f"copy {table} ({', '.join(frame.columns)}) from stdin"
    payload = _copy_text(frame) if conn.info.encoding == "utf-8" else None
    with conn.cursor().copy(statement) as cp:
        if payload is not None:
            for i in range(0, len(payload), 1 << 20):
                cp.write(payload[i : i + (1 << 20)])
            return
        columns = [_python_values(frame[c]) for c in frame.columns]
        for row in zip(*columns, strict=True):
            cp.write_row(row)


def _copy_text(frame: pd.DataFrame) -> memoryview | None:
    """The frame in COPY's text format (UTF-8), or None when a column is not of a shape handled here."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = []
    try:
        for name in frame.columns:
            s = frame[name]
            if name in _INT_COLUMNS:
                if not (pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
                    return None
                arr = pa.array(s.to_numpy(dtype=np.int64)).cast(pa.large_string())
            elif name in _DATE_COLUMNS:
                values = s.dt.date if pd.api.types.is_datetime64_any_dtype(s.dtype) else s
                arr = pa.array(values, type=pa.date32(), from_pandas=True).cast(pa.large_string())
            elif name in _BOOL_COLUMNS:
                arr = pc.if_else(pa.array(s, type=pa.bool_(), from_pandas=True), "t", "f").cast(pa.large_string())
            elif name in _UTC_COLUMNS:
                if not isinstance(s.dtype, pd.DatetimeTZDtype):
                    return None
                stamps = pa.array(s.dt.tz_convert("UTC"))
                arr = pc.binary_join_element_wise(pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S"), "+00", "").cast(
                    pa.large_string()
                )
            else:
                arr = pa.array(s, type=pa.large_string(), from_pandas=True)
                if pc.any(pc.match_substring_regex(arr, r"[\\\t\n\r]")).as_py():  # one pass finds whether to escape
                    for char, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
                        arr = pc.replace_substring(arr, char, escaped)
            texts.append(pc.fill_null(arr.cast(pa.large_string()), "\\N"))
        tab, newline, empty = (pa.scalar(c, pa.large_string()) for c in ("\t", "\n", ""))
        lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*texts, tab), newline, empty)
        block = pc.binary_join(pa.LargeListArray.from_arrays(pa.array([0, len(lines)], pa.int64()), lines), empty)
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return None
    return memoryview(block[0].as_buffer())


class StagingCopy:
    """A file's staging rows as one COPY across its chunks, fed through a writer thread: PostgreSQL
    stores chunk k while Python validates chunk k+1 (the two cores work at once). Rejects are held
    and copied when the COPY pauses (at the end, or when `chunk_rows()` of them have piled up).
    Leaving the block with an exception abandons the COPY; the transaction then rolls back."""

    def __init__(self, conn, table: str, f: LandingFile, file_id: int):
        self.conn, self.table, self.f, self.file_id = conn, table, f, file_id
        self.stack: contextlib.ExitStack | None = None
        self.cp = None
        self.rejects: list[tuple[int, str, str]] = []

    def __enter__(self) -> StagingCopy:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            if self.stack is not None:
                self.stack.__exit__(exc_type, exc, tb)
            return
        self._pause()
        _copy_rejects(self.conn, self.f, self.file_id, self.rejects)

    def add(self, frame: pd.DataFrame, rejects: list[tuple[int, str, str]]) -> None:
        if not frame.empty:
            payload = _copy_text(frame) if self.conn.info.encoding == "utf-8" else None
            if payload is None:  # a value of a shape the fast path does not handle: row by row
                self._pause()
                _copy(self.conn, self.table, frame)
            else:
                if self.cp is None:
                    from psycopg.copy import QueuedLibpqWriter

                    self.stack = contextlib.ExitStack()
                    cur = self.conn.cursor()
                    statement = f"copy {self.table} ({', '.join(frame.columns)}) from stdin"
                    self.cp = self.stack.enter_context(cur.copy(statement, writer=QueuedLibpqWriter(cur)))
                for i in range(0, len(payload), 1 << 17):
                    self.cp.write(payload[i : i + (1 << 17)])
        self.rejects.extend(rejects)
        if len(self.rejects) >= chunk_rows():
            self._pause()
            _copy_rejects(self.conn, self.f, self.file_id, self.rejects)
            self.rejects = []

    def _pause(self) -> None:
        if self.stack is not None:
            stack, self.stack, self.cp = self.stack, None, None
            stack.close()


def _copy_rejects(conn, f: LandingFile, file_id: int, rejects: list[tuple[int, str, str]]) -> None:
    if not rejects:
        return
    with conn.cursor().copy("copy ingest_rejects (file, line_no, file_id, feed, reason, row_masked) from stdin") as cp:
        for line_no, reason, raw in rejects:
            clean_reason = cprmod.mask(str(reason).replace("\x00", "\\0"))[:MAX_REASON_CHARS]
            cp.write_row((f.name, int(line_no), file_id, f.feed, clean_reason, cprmod.mask(raw.replace("\x00", "\\0"))[:4000]))
