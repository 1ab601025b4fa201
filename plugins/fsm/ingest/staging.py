"""Shaping validated rows for bitemporal staging and copying them (and the rejects) into PostgreSQL with COPY."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fsm import cpr as cprmod
from fsm.contract import FEEDS
from fsm.ingest.landing import LandingFile
from fsm.ingest.readers import chunk_rows
from fsm.ingest.validate import MAX_REASON_CHARS


def staging_frame(feed: str, ok: pd.DataFrame, f: LandingFile, file_id: int) -> tuple[pd.DataFrame, list[str]]:
    """The rows the row-reason checker passed, in the staging table's columns, and each row's 10-digit
    CPR (empty for a feed without CPR). person_id is 0 until fsm.ingest.fast sets dim_person's id."""
    out = pd.DataFrame(index=ok.index)
    out["file_id"] = file_id
    out["line_no"] = ok["line_no"]
    cpr10: list[str] = ok["_cpr10"].tolist() if "_cpr10" in ok else []
    out["person_id"] = 0
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
    return out[[c for c in cols if c in out]], cpr10


# How each staging column is typed in Arrow and in COPY's text format (anything else is text, escaped).
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


def _arrow_type(name: str) -> pa.DataType:
    if name in _INT_COLUMNS:
        return pa.int64()
    if name in _DATE_COLUMNS:
        return pa.date32()
    if name in _BOOL_COLUMNS:
        return pa.bool_()
    if name in _UTC_COLUMNS:
        return pa.timestamp("us", "UTC")
    return pa.large_string()


def _from_pandas(name: str, s: pd.Series) -> pa.Array:
    t = _arrow_type(name)
    if name in _INT_COLUMNS:
        return pa.array(s.to_numpy(dtype=np.int64), t)
    if name in _DATE_COLUMNS and pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = s.dt.date
    if name in _UTC_COLUMNS and isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC")
    return pa.array(s, from_pandas=True).cast(t) if len(s) else pa.array([], t)


def arrow_table(columns: dict[str, pa.Array] | pd.DataFrame) -> pa.Table:
    """Staging columns as an Arrow table of one type per column (a pandas frame converted), ready for `copy_text`."""
    if isinstance(columns, pd.DataFrame):
        columns = {name: _from_pandas(name, columns[name]) for name in columns.columns}
    return pa.table({name: arr.cast(_arrow_type(name)) for name, arr in columns.items()})


def _copy_rows(conn, table: str, rows: pa.Table) -> None:
    """COPY the rows one by one through psycopg's write_row: for a connection whose encoding is not UTF-8
    (`copy_text` builds UTF-8). NULL stays NULL and text stays text, as in `copy_text`."""
    with conn.cursor().copy(f"copy {table} ({', '.join(rows.column_names)}) from stdin") as cp:
        for row in zip(*[rows.column(c).to_pylist() for c in rows.column_names], strict=True):
            cp.write_row(row)


_ESCAPED = (b"\\", b"\t", b"\n", b"\r")


def _may_need_escaping(arr: pa.Array) -> bool:
    """Whether any value may hold a backslash, tab or line break: a scan of the column's character
    buffer (it may hold bytes of values sliced away: then the values are escaped, which is right anyway)."""
    data = arr.buffers()[2]
    if data is None:
        return False
    raw = data.to_pybytes()
    return any(c in raw for c in _ESCAPED)


def copy_text(rows: pa.Table) -> memoryview:
    """The rows in COPY's text format (UTF-8), rendered by Arrow."""
    texts = []
    for name in rows.column_names:
        arr = rows.column(name).combine_chunks()
        if name in _BOOL_COLUMNS:
            arr = pc.if_else(arr, "t", "f")
        elif name in _UTC_COLUMNS:  # UTC with '+00'; Arrow casts a zone-less timestamp 30× faster than a zoned one
            arr = pc.binary_join_element_wise(arr.cast(pa.timestamp("us")).cast(pa.string()), "+00", "")
        elif name not in _INT_COLUMNS and name not in _DATE_COLUMNS:
            if _may_need_escaping(arr):
                for char, escaped in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
                    arr = pc.replace_substring(arr, char, escaped)
        texts.append(pc.fill_null(arr.cast(pa.large_string()), "\\N"))
    tab, newline, empty = (pa.scalar(c, pa.large_string()) for c in ("\t", "\n", ""))
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*texts, tab), newline, empty)
    block = pc.binary_join(pa.LargeListArray.from_arrays(pa.array([0, len(lines)], pa.int64()), lines), empty)
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

    def add(self, rows: pa.Table, rejects: list[tuple[int, str, str]]) -> None:
        if rows.num_rows:
            if self.conn.info.encoding != "utf-8":  # COPY text is built as UTF-8: otherwise row by row
                self._pause()
                _copy_rows(self.conn, self.table, rows)
            else:
                payload = copy_text(rows)
                if self.cp is None:
                    from psycopg.copy import QueuedLibpqWriter

                    self.stack = contextlib.ExitStack()
                    cur = self.conn.cursor()
                    statement = f"copy {self.table} ({', '.join(rows.column_names)}) from stdin"
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
