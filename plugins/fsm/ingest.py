"""Ingest of every landing feed into bitemporal staging (CONTRACT §1 'Bad input').

Per file: rows read = rows loaded + rows rejected, each reject with its physical line
number, reason and the row with anything CPR-shaped masked. A file unusable as a whole
raises `LandingError` naming it and the problem. A file is loaded in one transaction, keyed
by (feed, name, sha256): loading it again changes nothing, and a failure or a killed process
leaves nothing of it behind.

Files are streamed: decoded, parsed, validated and copied in chunks of FSM_INGEST_CHUNK_ROWS
rows, so memory stays bounded whatever the size; FSM_MAX_FILE_BYTES and FSM_MAX_FILE_ROWS fail
a file that is too large. A physical line is never lost: a record that runs over several lines
is accepted only when its line breaks sit in free text (fritagelse_aarsag); otherwise (an
unbalanced quote) each of its physical lines is rejected on its own.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import json
import logging
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime

import numpy as np
import pandas as pd
import psycopg

from fsm import cpr as cprmod
from fsm.config import kommuner, max_file_bytes
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
# Identifiers stored as given: bounded, one line, no control characters (they key DQ rows and indexes).
ID_COLUMNS = {"markings": ("marking_id",), "tilbud": ("tilbud_id",)}
MAX_ID_CHARS = 100
_CPR_IN_TEXT = r"(?<!\d)(\d{6}[ \-\u2010-\u2015]?\d{4})(?!\d)"
# Free text: the only fields a quoted line break may sit in; anything CPR-shaped in it is masked.
FREE_TEXT_COLUMNS = {"markings": ("fritagelse_aarsag",)}
MAX_TEXT_CHARS = 1000
MAX_REASON_CHARS = 500
MAX_LINE_CHARS = 16 * 1024**2  # one physical line; the csv module refuses fields over 128 KiB anyway
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


# --- reading (streamed in chunks: memory stays bounded whatever the file's size) -------------


def max_file_rows() -> int:
    """FSM_MAX_FILE_ROWS: a file with more data rows fails clearly (default 20 million)."""
    return int(os.environ.get("FSM_MAX_FILE_ROWS", 20_000_000))


def chunk_rows() -> int:
    """Rows validated and copied per step (FSM_INGEST_CHUNK_ROWS); the whole file is still one transaction.

    PostgreSQL stores chunk k while Python validates chunk k+1, so the two cores idle only on a
    file's first chunk (PostgreSQL waits) and its last (Python waits): 20,000 rows keeps those
    short without paying pandas' per-chunk cost too often (issue 8, measured at national scale)."""
    return max(1, int(os.environ.get("FSM_INGEST_CHUNK_ROWS", 20_000)))


def _problem(f: LandingFile, problem: str) -> LandingError:
    """A whole-file failure naming the file; anything CPR-shaped in the problem (a header that is data) is masked."""
    return LandingError(f"{f.uri}: {cprmod.mask(problem)[:2000]}")


@dataclass
class RawTable:
    frame: pd.DataFrame  # required columns as str + line_no (+ _raw, CPR masked, for CSV: see raw_rows)
    rejects: list[tuple[int, str, str]]  # (line_no, reason, raw row)
    rows_read: int


def read_table(f: LandingFile, data: bytes) -> RawTable:
    """The whole file as one table (convenience for small files; `load_file` streams chunks)."""
    if not data:
        raise _problem(f, "the file is empty (zero bytes)")
    parts = list(iter_chunks(f, io.BytesIO(data)))
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    return RawTable(frame, [r for p in parts for r in p.rejects], sum(p.rows_read for p in parts))


def iter_chunks(f: LandingFile, stream, size: int | None = None, digest=None) -> Iterator[RawTable]:
    """The file as consecutive chunks of about `chunk_rows()` rows; raises LandingError for a file unusable as a whole.

    `digest` (a hashlib object) sees every byte of a CSV file as it is read.
    """
    if size == 0:
        raise _problem(f, "the file is empty (zero bytes)")
    if f.fmt == "parquet":
        return _iter_parquet(f, stream)
    return _iter_csv(f, stream, digest)


class _TextLines:
    r"""Physical lines (terminator kept) of a UTF-8 byte stream, decoded incrementally.

    Lines end at \r\n, \r or \n, exactly as the csv module counts them. `take()` returns the
    lines handed out since the previous call: the physical lines of the record just parsed.
    """

    BLOCK = 1 << 20

    def __init__(self, f: LandingFile, stream, digest=None):
        self.f = f
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self.pending: deque[str] = deque()
        self.tail = ""
        self.bytes_read = 0
        self.produced = 0  # complete lines split off so far
        self.handed = 0  # lines given to the csv reader
        self.taken: list[str] = []
        self.eof = False
        self.digest = digest
        self.limit = max_file_bytes()
        self.first_bytes = b""

    def __iter__(self):
        return self

    def __next__(self) -> str:
        while not self.pending:
            if self.eof:
                raise StopIteration
            self._fill()
        line = self.pending.popleft()
        self.handed += 1
        self.taken.append(line)
        return line

    def peek(self) -> str | None:
        while not self.pending and not self.eof:
            self._fill()
        return self.pending[0] if self.pending else None

    def take(self) -> list[str]:
        out, self.taken = self.taken, []
        return out

    def _fill(self) -> None:
        block = self.stream.read(self.BLOCK)
        if not self.first_bytes:
            self.first_bytes = block[:4]
        self.bytes_read += len(block)
        if self.bytes_read > self.limit:
            raise _problem(self.f, f"more than FSM_MAX_FILE_BYTES={self.limit:,} bytes")
        if self.digest is not None:
            self.digest.update(block)
        final = not block
        try:
            text = self.decoder.decode(block, final=final)
        except UnicodeDecodeError as exc:
            raise self._not_utf8(exc, len(block)) from exc
        text = self.tail + text
        lines = io.StringIO(text, newline="").readlines()
        self.tail = ""
        if lines and not final:
            last = lines[-1]
            if not last.endswith(("\n", "\r")) or last.endswith("\r"):  # incomplete, or '\r' that may precede '\n'
                self.tail = lines.pop()
        if len(self.tail) > MAX_LINE_CHARS:  # no line break for megabytes: not a CSV export, and memory must stay bounded
            raise _problem(self.f, f"line {self.produced + len(lines) + 1} is longer than {MAX_LINE_CHARS:,} characters")
        self.pending.extend(lines)
        self.produced += len(lines)
        self.eof = final

    def _not_utf8(self, exc: UnicodeDecodeError, block_len: int) -> LandingError:
        data = exc.object  # the decoder's buffered bytes + this block
        offset = self.bytes_read - len(data) + exc.start
        if self.first_bytes.startswith(codecs.BOM_UTF8) and self.bytes_read == block_len:
            offset += 3  # utf-8-sig hands the decoder the bytes after the byte-order mark
        before = self.tail + bytes(data[: exc.start]).decode("utf-8", "replace")
        line = self.produced + 1 + len(_LINE_BREAK.findall(before))
        hint = " (it starts with a UTF-16 byte-order mark)" if self.first_bytes[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        return _problem(
            self.f,
            f"not UTF-8{hint}: invalid byte 0x{data[exc.start]:02x} at offset {offset} (line {line}); re-export the file as UTF-8",
        )


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _iter_csv(f: LandingFile, stream, digest=None) -> Iterator[RawTable]:
    lines = _TextLines(f, stream, digest)
    head = lines.peek()
    if head is None:
        raise _problem(f, "the file is empty (zero bytes)" if lines.bytes_read == 0 else "the file has no header row")
    if "\x00" in head:
        raise _problem(f, "NUL bytes in the header row: a UTF-16 or binary file? Re-export the file as UTF-8")
    sep = ";" if head.count(";") >= head.count(",") else ","
    reader = csv.reader(lines, delimiter=sep)
    try:
        header_raw = next(reader)
    except StopIteration:
        raise _problem(f, "the file has no header row") from None
    except csv.Error as exc:
        raise _problem(f, f"unreadable header row ({exc})") from exc
    lines.take()
    header = [h.replace("\ufeff", "").strip().lower() for h in header_raw]  # a second byte-order mark, too
    positions = _column_positions(f, header)
    cols = FEED_COLUMNS[f.feed]
    width = len(header)
    cpr_at = header.index("cpr") if "cpr" in header else None
    free_text = {header.index(c) for c in FREE_TEXT_COLUMNS.get(f.feed, ()) if c in header}
    limit, step = max_file_rows(), chunk_rows()

    rows: list[list[str]] = []
    line_nos: list[int] = []
    raws: list[str] = []
    rejects: list[tuple[int, str, str]] = []
    rows_read = total = 0  # in this chunk, in the file
    while True:
        if total + rows_read > limit:
            raise _problem(f, f"more than {limit:,} rows: exceeds the input limit FSM_MAX_FILE_ROWS={limit:,}")
        if len(rows) + len(rejects) >= step:
            yield _csv_chunk(cols, rows, line_nos, raws, rejects, rows_read)
            total += rows_read
            rows, line_nos, raws, rejects, rows_read = [], [], [], [], 0
        start = lines.handed + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            physical = lines.take()
            rejects += _split_record(start, physical, f"unreadable row: {exc}", sep, cpr_at)
            rows_read += len(physical)
            continue
        physical = lines.take()
        if len(physical) > 1:
            problem = _multiline_problem(record, physical, sep, header, free_text)
            if problem:
                rejects += _split_record(start, physical, problem, sep, cpr_at)
                rows_read += len(physical)
                continue
        rows_read += 1
        raw = sep.join(record)
        if not record or all(not c.strip() for c in record):
            rejects.append((start, "empty line", raw))
        elif len(record) != width:
            rejects.append((start, f"expected {width} fields, found {len(record)}", _mask_field(raw, sep, cpr_at)))
        elif record[0].strip().lower() == header[0] and [c.strip().lower() for c in record] == header:
            rejects.append((start, "repeated header row", raw))
        elif "\x00" in raw:
            rejects.append((start, "NUL byte in row", _mask_field(raw, sep, cpr_at).replace("\x00", "\\0")))
        else:
            rows.append([record[i].strip() if i is not None else "" for i in positions])
            line_nos.append(start)
            raws.append(raw if cpr_at is None else sep.join([*record[:cpr_at], "XXXXXX-XXXX", *record[cpr_at + 1 :]]))
    yield _csv_chunk(cols, rows, line_nos, raws, rejects, rows_read)


def _csv_chunk(cols, rows, line_nos, raws, rejects, rows_read) -> RawTable:
    frame = pd.DataFrame(rows, columns=list(cols), dtype=object) if rows else pd.DataFrame(columns=list(cols), dtype=object)
    frame["line_no"] = np.array(line_nos, dtype=np.int64)
    frame["_raw"] = raws  # the record as read, its CPR field masked (what a reject shows)
    return RawTable(frame, rejects, rows_read)


MAX_TEXT_LINES = 20


def _multiline_problem(record: list[str], physical: list[str], sep: str, header: list[str], free_text: set[int]) -> str | None:
    """A record over several physical lines is real only when its line breaks sit in free text, and
    no line inside it looks like a whole row (two stray quotes must not swallow the rows between)."""
    width = len(header)
    if len(record) != width:
        return f"expected {width} fields, found {len(record)}"
    for i, value in enumerate(record):
        if i not in free_text and ("\n" in value or "\r" in value):
            return f"line break inside the quoted {header[i] or 'unnamed'} field"
    if len(physical) > MAX_TEXT_LINES:
        return f"quoted text over more than {MAX_TEXT_LINES} lines"
    if width > 1 and any(line.count(sep) >= width - 1 for line in physical[1:]):
        return "a line inside the quoted text looks like a whole row"
    return None


def _split_record(start: int, physical: list[str], problem: str, sep: str, cpr_at: int | None) -> list[tuple[int, str, str]]:
    """An unreadable record over several lines (an unbalanced quote …): one reject per physical line, none lost."""
    texts = [line.rstrip("\r\n") for line in physical] or [""]
    if len(texts) == 1:
        return [(start, problem, _mask_field(texts[0], sep, cpr_at)[:2000])]
    end = start + len(texts) - 1
    out = [(start, f"{problem}; an unbalanced quote? the record runs over lines {start}-{end}, each rejected", "")]
    out += [(start + i, f"inside the unreadable record of lines {start}-{end}", "") for i in range(1, len(texts))]
    return [(ln, reason, _mask_field(t, sep, cpr_at)[:2000]) for (ln, reason, _), t in zip(out, texts, strict=True)]


def _mask_field(raw: str, sep: str, position: int | None) -> str:
    if position is None:
        return raw
    parts = raw.split(sep)
    if position < len(parts):
        parts[position] = "XXXXXX-XXXX"
    return sep.join(parts)


def _column_positions(f: LandingFile, header: list[str]) -> list[int | None]:
    required = FEED_COLUMNS[f.feed]
    optional = OPTIONAL_COLUMNS.get(f.feed, set())
    twice = sorted({c for c in required if header.count(c) > 1})
    if twice:
        raise _problem(f, f"column(s) {', '.join(twice)} appear more than once in the header")
    missing = [c for c in required if c not in header and c not in optional]
    if missing:
        shown = ", ".join(h[:40] for h in header[:30]) or "nothing"
        raise _problem(f, f"missing required column(s) {', '.join(missing)} (header has: {shown})")
    return [header.index(c) if c in header else None for c in required]


# Parquet: the Arrow types each column may have. Anything else is a wrong schema (a CPR stored as an
# integer has lost its leading zero; a cvr likewise), and fails the file naming column and type.
_TEXT = ("string", "large_string", "null", "dictionary")
_PARQUET_TYPES: dict[str, tuple[str, ...]] = {
    "kommune_kode": (*_TEXT, "integer"),
    "start_date": (*_TEXT, "date", "timestamp"),
    "end_date": (*_TEXT, "date", "timestamp"),
    "registered_at": (*_TEXT, "timestamp"),
    "introduktionsprogram": (*_TEXT, "integer", "bool"),
    "subsidised": (*_TEXT, "integer", "bool"),
    "su_eligible": (*_TEXT, "integer", "bool"),
    "hours": (*_TEXT, "integer", "floating", "decimal"),
    "grant_dkk": (*_TEXT, "integer", "decimal", "floating"),
}


def _arrow_kind(t) -> str:
    import pyarrow.types as pat

    for kind, test in (
        ("string", pat.is_string),
        ("large_string", pat.is_large_string),
        ("null", pat.is_null),
        ("integer", pat.is_integer),
        ("floating", pat.is_floating),
        ("decimal", pat.is_decimal),
        ("bool", pat.is_boolean),
        ("date", pat.is_date),
        ("timestamp", pat.is_timestamp),
    ):
        if test(t):
            return kind
    if pat.is_dictionary(t):
        return "dictionary" if _arrow_kind(t.value_type) in ("string", "large_string") else "other"
    return "other"


def _iter_parquet(f: LandingFile, stream) -> Iterator[RawTable]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(stream)
        schema = pf.schema_arrow
        num_rows = pf.metadata.num_rows
    except Exception as exc:
        raise _problem(f, f"not a readable Parquet file ({type(exc).__name__}: {str(exc)[:300]})") from exc
    header = [c.strip().lower() for c in schema.names]
    positions = _column_positions(f, header)
    cols = FEED_COLUMNS[f.feed]
    limit = max_file_rows()
    if num_rows > limit:
        raise _problem(f, f"{num_rows:,} rows exceeds the input limit FSM_MAX_FILE_ROWS={limit:,}")
    for name, pos in zip(cols, positions, strict=True):
        if pos is None:
            continue
        t = schema.field(pos).type
        if _arrow_kind(t) not in _PARQUET_TYPES.get(name, _TEXT):
            raise _problem(f, f"wrong schema: column {name} has Parquet type {t}, expected text")
    read = [schema.names[p] for p in positions if p is not None]
    line = 2  # Parquet has no lines: row i is reported as line i + 2, as if the header were line 1
    seen = 0
    batches = pf.iter_batches(batch_size=chunk_rows(), columns=read, use_threads=False)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            break
        except Exception as exc:
            raise _problem(f, f"not a readable Parquet file ({type(exc).__name__}: {str(exc)[:300]})") from exc
        n = batch.num_rows
        seen += n
        if seen > limit:
            raise _problem(f, f"more than {limit:,} rows: exceeds the input limit FSM_MAX_FILE_ROWS={limit:,}")
        data: dict[str, object] = {}
        for name, pos in zip(cols, positions, strict=True):
            if pos is None:
                data[name] = np.full(n, "", dtype=object)
                continue
            try:
                data[name] = _arrow_text(batch.column(schema.names[pos]))
            except (ValueError, TypeError, ArithmeticError, NotImplementedError) as exc:  # pyarrow's errors derive from these
                raise _problem(f, f"not a readable Parquet file (column {name}: {type(exc).__name__}: {str(exc)[:300]})") from exc
        frame = pd.DataFrame(data, index=range(n), dtype=object)  # object, not inferred as str and converted back
        frame["line_no"] = np.arange(line, line + n, dtype=np.int64)
        line += n
        # No `_raw` here: a Parquet row has no text as read; `raw_rows` renders the rejected ones only.
        yield RawTable(frame, [], n)
    if seen == 0:
        yield RawTable(pd.DataFrame(columns=[*cols, "line_no"], dtype=object).astype({"line_no": np.int64}), [], 0)


_NEEDS_STRIP = r"^[^!-~]|[^!-~]$"  # a first or last character outside printable ASCII: str.strip() may change it


def _arrow_text(arr) -> np.ndarray:
    """A Parquet column as the text `_parquet_text` gives value by value (None -> '', text stripped),
    vectorised for text columns: Arrow converts, and only values with an edge character that
    `str.strip()` could remove go through Python."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = _arrow_kind(arr.type)
    if kind == "null":
        return np.full(len(arr), "", dtype=object)
    if kind not in ("string", "large_string", "dictionary"):
        return np.array([_parquet_text(v) for v in arr.to_pylist()], dtype=object)
    if kind == "dictionary":
        arr = arr.dictionary_decode()
    filled = pc.fill_null(arr.cast(pa.large_string()), "")
    values = filled.to_numpy(zero_copy_only=False).astype(object, copy=False)
    edge = np.flatnonzero(pc.match_substring_regex(filled, _NEEDS_STRIP).to_numpy(zero_copy_only=False))
    for i in edge:
        values[i] = values[i].strip()
    return values


def raw_rows(frame: pd.DataFrame, feed: str) -> list[str]:
    """What a reject shows for each row of `frame`: the record as read (`_raw`, CSV), or for a Parquet
    row its required columns joined by ';'; the CPR field masked either way."""
    if "_raw" in frame:
        return frame["_raw"].tolist()
    cols = list(FEED_COLUMNS[feed])
    if frame.empty:
        return []
    shown = frame[cols].assign(cpr="XXXXXX-XXXX") if "cpr" in cols else frame[cols]
    return [";".join(map(str, row)) for row in shown.itertuples(index=False, name=None)]


def _parquet_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, datetime):
        if v.tzinfo is None and v.time() == dtime(0) and not v.microsecond:
            return v.date().isoformat()  # a date stored as a timestamp at midnight
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v)) if not isinstance(v, bool) else str(v)
    return str(v).strip()


# --- validation (vectorised) ----------------------------------------------------------------


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


class CprMemo:
    """What is computed from a CPR, once per distinct value for a whole feed's load instead of once
    per file: the same citizens recur in every monthly file. Bounded: cleared past `limit` entries."""

    def __init__(self, limit: int = 2_000_000):
        self.key = cprmod.pseudonym_key()
        self.limit = limit
        self._cpr10: dict[str, str | None] = {}
        self._person: dict[str, str] = {}
        self._born: dict[str, date] = {}

    def _lookup(self, values: pd.Series, memo: dict, fn: Callable) -> pd.Series:
        if len(memo) > self.limit:
            memo.clear()
        codes, uniq = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
        for v in uniq:
            if v not in memo:
                memo[v] = fn(v)
        out = np.array([memo[v] for v in uniq] or [None], dtype=object)[codes if len(uniq) else np.zeros(0, dtype=np.intp)]
        return pd.Series(out, index=values.index, dtype=object)

    def cpr10(self, values: pd.Series) -> pd.Series:
        return self._lookup(values, self._cpr10, cprmod.normalise)  # python-stdnum's rules, once per citizen

    def person_key(self, cpr10: pd.Series) -> pd.Series:
        return self._lookup(cpr10, self._person, lambda c: cprmod.person_key(c, self.key))

    def birth_date(self, cpr10: pd.Series) -> pd.Series:
        return self._lookup(cpr10, self._born, cprmod.birth_date)


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
        for col in FEED_COLUMNS[feed]:
            if "\x00" in _joined(self.df[col]):
                self.fail(self.df[col].str.contains("\x00", regex=False), f"NUL byte in {col}")
        for col in ID_COLUMNS.get(feed, ()):
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
        for col in FREE_TEXT_COLUMNS.get(feed, ()):
            self.fail(self.df[col].str.len() > MAX_TEXT_CHARS, f"{col} longer than {MAX_TEXT_CHARS} characters")

    def cpr(self) -> None:
        cpr10 = self.memo.cpr10(self.df["cpr"])
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

        def parse(u: pd.Series) -> tuple[pd.Series, pd.Series]:
            p = pd.to_datetime(u.where(u.str.fullmatch(r"\d{4}-\d{2}-\d{2}"), None), format="%Y-%m-%d", errors="coerce")
            return p, p.dt.date

        parsed, as_date = _per_unique(s, parse)
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
        parsed = pd.to_datetime(s.where(s.str.fullmatch(r"\d{4}-\d{2}"), None), format="%Y-%m", errors="coerce")
        self.fail(parsed.isna(), lambda d: f"unparsable {col} '" + d[col].str.slice(0, 30) + "' (expected YYYY-MM)")
        lo, hi = (pd.Timestamp(x) for x in PLAUSIBLE_DATES)
        self.fail(parsed.notna() & ((parsed < lo) | (parsed > hi)), lambda d: f"{col} '" + d[col] + "' outside 1990–2035")
        return parsed.dt.date

    def timestamp(self, col: str) -> tuple[pd.Series, pd.Series]:
        """ISO 8601; local Copenhagen time when no offset is given. Returns (UTC instant, local date)."""
        s = self.df[col]

        def parse(u: pd.Series) -> tuple[pd.Series, pd.Series]:
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

        utc, local_date = _per_unique(s, parse)  # a snapshot repeats its timestamps: each distinct one parsed once
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


def _staging_frame(feed: str, ok: pd.DataFrame, f: LandingFile, file_id: int, memo: CprMemo | None = None) -> pd.DataFrame:
    memo = memo or CprMemo()
    out = pd.DataFrame(index=ok.index)
    out["file_id"] = file_id
    out["line_no"] = ok["line_no"]
    if "_cpr10" in ok:
        out["person_key"] = memo.person_key(ok["_cpr10"])
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
    elif feed == "ydelse":
        out["delivery_month"] = f.period
        out["iso_week"] = ok["iso_week"]
        out["week_month"] = ok["week_month"]
        out["ydelse_kode"] = ok["ydelse_kode"]
        out["matchgruppe"] = ok["matchgruppe"].replace("", None)
        out["introduktionsprogram"] = ok["introduktionsprogram"].eq("1")
        out["herkomst"] = ok["herkomst"]
        out["birth_date"] = memo.birth_date(ok["_cpr10"])  # F1: age from the CPR
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
_INT_COLUMNS = {"file_id", "line_no", "kommune_kode"}
_DATE_COLUMNS = {
    "extract_date",
    "delivery_month",
    "week_month",
    "start_date",
    "end_date",
    "registered_date",
    "birth_date",
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


class _StagingCopy:
    """A file's staging rows as one COPY across its chunks, fed through a writer thread: PostgreSQL
    stores chunk k while Python validates chunk k+1 (the two cores work at once). Rejects are held
    and copied when the COPY pauses (at the end, or when `chunk_rows()` of them have piled up).
    Leaving the block with an exception abandons the COPY; the transaction then rolls back."""

    def __init__(self, conn, table: str, f: LandingFile, file_id: int):
        self.conn, self.table, self.f, self.file_id = conn, table, f, file_id
        self.stack: contextlib.ExitStack | None = None
        self.cp = None
        self.rejects: list[tuple[int, str, str]] = []

    def __enter__(self) -> _StagingCopy:
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


# Errors in the values of a file that reached the warehouse: the file's problem, not the warehouse's.
_REFUSED = (psycopg.DataError, psycopg.IntegrityError, psycopg.errors.ProgramLimitExceeded)


def _prepare_file(zone: LandingZone, f: LandingFile, memo: CprMemo) -> Iterator[tuple]:
    """A file read, validated and shaped for staging, chunk by chunk: ("chunk", rows_read, staging
    frame with file_id 0, rejects) …, then ("end", sha256 of the bytes read (CSV)). Raises
    LandingError for a file unusable as a whole."""
    digest = hashlib.sha256()
    seen_ids: dict[str, int] = {}
    with zone.open(f) as stream:
        for chunk in iter_chunks(f, stream, zone.size(f), digest):
            ok, bad = validate(f.feed, chunk.frame, seen_ids, memo)
            rejects = chunk.rejects + list(
                zip(bad["line_no"].tolist(), bad["reason"].tolist(), raw_rows(bad, f.feed), strict=True)
            )
            if chunk.rows_read != len(ok) + len(rejects):  # never silently lose a row
                raise _problem(f, f"reconciliation failed: read {chunk.rows_read} != {len(ok)} + {len(rejects)}")
            yield ("chunk", chunk.rows_read, _staging_frame(f.feed, ok, f, 0, memo), rejects)
    yield ("end", digest.hexdigest())


class _Prefetch:
    """The files of one feed prepared (`_prepare_file`) in a thread, ahead of the loader: Python reads
    and validates the next file while PostgreSQL stores the last chunks of this one and commits it.
    Bounded (a few chunks queued); the first failing file ends it, its error raised where that file
    is loaded, in that file's transaction, exactly as without the thread."""

    DEPTH = 4

    def __init__(self, zone: LandingZone, files: list[LandingFile], memo: CprMemo):
        import queue
        import threading

        self._queue: queue.Queue = queue.Queue(maxsize=self.DEPTH)
        self._stop = threading.Event()
        self._full = queue.Full
        self._thread = threading.Thread(target=self._run, args=(zone, files, memo), name="ingest-prefetch", daemon=True)
        self._thread.start()

    def _run(self, zone: LandingZone, files: list[LandingFile], memo: CprMemo) -> None:
        for f in files:
            try:
                for item in _prepare_file(zone, f, memo):
                    if not self._put((f.uri, item)):
                        return
            except BaseException as exc:  # noqa: BLE001 (handed to the loader, which raises it)
                self._put((f.uri, ("error", exc)))
                return

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except self._full:
                continue
        return False

    def take(self, f: LandingFile) -> Iterator[tuple]:
        """The prepared chunks of `f` (the next file in order), then its "end"."""
        while True:
            uri, item = self._queue.get()
            if uri != f.uri:
                raise RuntimeError(f"ingest prefetch out of order: expected {f.uri}, got {uri}")
            if item[0] == "error":
                raise item[1]
            yield item
            if item[0] == "end":
                return

    def skip(self, f: LandingFile) -> None:
        """`f` turned out to be loaded already (by a concurrent run): drop what was prepared of it."""
        for _item in self.take(f):
            pass

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            while not self._queue.empty():
                self._queue.get_nowait()
            self._thread.join(timeout=0.1)


def load_file(
    zone: LandingZone,
    f: LandingFile,
    run_month: date | None = None,
    analyze: bool = True,
    memo: CprMemo | None = None,
    sha: str | None = None,
    prefetch: _Prefetch | None = None,
) -> FileResult:
    """Load one file in one transaction: all its rows and rejects, or nothing. Streams in chunks.

    `analyze=False` leaves the staging table's statistics to the caller (ingest_feed refreshes
    them once per feed, not once per file); `memo` carries per-CPR work from file to file; `sha`
    is the file's hash taken before anything of it was read, and `prefetch` the thread that
    prepares it (ingest_feed)."""
    sha = sha or zone.sha256(f)
    with connect() as conn:
        # One loader per feed at a time; re-check inside the lock so concurrent runs load once.
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"ingest:{f.feed}",))
        seen = conn.execute(
            "select rows_read, rows_loaded, rows_rejected from ingest_file where feed = %s and file_name = %s and sha256 = %s",
            (f.feed, f.name, sha),
        ).fetchone()
        if seen:
            if prefetch is not None:
                prefetch.skip(f)
            return FileResult(f.feed, f.name, "skipped", *seen)
        size = zone.size(f)
        file_id = conn.execute(
            "insert into ingest_file (feed, file_name, uri, sha256, period, size_bytes, rows_read, rows_loaded, rows_rejected,"
            " visible_from)"
            " values (%s, %s, %s, %s, %s, %s, 0, 0, 0,"
            # P5: a redelivery of a register month counts from the run that loaded it (never earlier)
            "  case when %s::date is not null and %s <> 'markings' and exists ("
            "    select 1 from ingest_file where feed = %s and period = %s)"
            "  then greatest(%s, %s::date) else %s end)"
            " returning file_id",
            (
                f.feed,
                f.name,
                f.uri,
                sha,
                f.period,
                size if size is not None else -1,
                run_month,
                f.feed,
                f.feed,
                f.period,
                f.period,
                run_month,
                f.period,
            ),
        ).fetchone()[0]
        table = _STAGING_COLUMNS[f.feed][0]
        read = loaded = rejected = 0
        read_sha = None
        source = prefetch.take(f) if prefetch is not None else _prepare_file(zone, f, memo or CprMemo())
        try:
            with _StagingCopy(conn, table, f, file_id) as out:
                for item in source:
                    if item[0] == "end":
                        read_sha = item[1]
                        break
                    _, rows_read, staged, rejects = item
                    staged["file_id"] = file_id
                    out.add(staged, rejects)
                    read, loaded, rejected = read + rows_read, loaded + len(staged), rejected + len(rejects)
        except _REFUSED as exc:
            raise _problem(f, f"the warehouse refused a value ({type(exc).__name__}: {str(exc)[:300]})") from exc
        if read == 0 and f.feed not in EMPTY_ALLOWED:
            raise _problem(f, f"a {f.feed} snapshot with a header and no rows is never a valid delivery")
        if (read_sha if f.fmt == "csv" else zone.sha256(f)) != sha:
            raise _problem(f, "the file changed while it was being loaded (a redelivery in progress?); the next try loads it")
        conn.execute(
            "update ingest_file set rows_read = %s, rows_loaded = %s, rows_rejected = %s where file_id = %s",
            (read, loaded, rejected, file_id),
        )
        n_stg = conn.execute(f"select count(*) from {table} where file_id = %s", (file_id,)).fetchone()[0]
        n_rej = conn.execute("select count(*) from ingest_rejects where file_id = %s", (file_id,)).fetchone()[0]
        if (n_stg, n_rej) != (loaded, rejected):
            raise _problem(f, f"reconciliation failed in the warehouse: staged {n_stg}/{loaded}, rejects {n_rej}/{rejected}")
        if analyze:  # fresh statistics: the next queries (rules, GX, marts) plan on them; stale ones cost minutes
            conn.execute(f"analyze {table}")
    result = FileResult(f.feed, f.name, "loaded", read, loaded, rejected)
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
    results: list[FileResult] = []
    files = files_for_month(zone, feed, month)
    # Hash every file before anything of it is read (a file replaced mid-load then fails its check),
    # and prepare only those not loaded yet: a month's run usually finds one new file per feed.
    hashes = {f.uri: zone.sha256(f) for f in files}
    with connect() as conn:
        loaded = set(conn.execute("select file_name, sha256 from ingest_file where feed = %s", (feed,)).fetchall())
    todo = [f for f in files if (f.name, hashes[f.uri]) not in loaded]
    prefetch = _Prefetch(zone, todo, CprMemo()) if todo else None
    try:
        for f in files:
            ahead = prefetch if f in todo else None
            results.append(load_file(zone, f, month, analyze=False, sha=hashes[f.uri], prefetch=ahead))
    finally:
        if prefetch is not None:
            prefetch.close()
        if any(r.status == "loaded" for r in results):
            # Fresh statistics once per feed (not per file): the next queries (rules, GX, marts) plan
            # on them, and stale ones cost minutes. Also after a failure: what did load is there.
            with connect(autocommit=True) as conn:
                conn.execute(f"analyze {_STAGING_COLUMNS[feed][0]}")
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
