"""Reading a landing file as chunks of text columns: CSV (encoding, dialect, physical line numbers) and Parquet (Arrow).

Memory stays bounded whatever the file's size; a file unusable as a whole raises `LandingError`
naming it and the problem; a row that cannot be read becomes a reject with its line number.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fsm import cpr as cprmod
from fsm.config import env_name, max_file_bytes, settings
from fsm.contract import FEEDS
from fsm.ingest.landing import LandingError, LandingFile

MAX_LINE_CHARS = 16 * 1024**2  # one physical line; the csv module refuses fields over 128 KiB anyway


def max_file_rows() -> int:
    """A file with more data rows fails clearly (config: max_file_rows, default 20 million)."""
    return settings().max_file_rows


def chunk_rows() -> int:
    """Rows validated and copied per step (config: ingest_chunk_rows); the whole file is still one transaction.

    PostgreSQL stores chunk k while Python validates chunk k+1, so the two cores idle only on a
    file's first chunk (PostgreSQL waits) and its last (Python waits): 20,000 rows keeps those
    short without paying pandas' per-chunk cost too often (issue 8, measured at national scale)."""
    return settings().ingest_chunk_rows


def file_problem(f: LandingFile, problem: str) -> LandingError:
    """A whole-file failure naming the file; anything CPR-shaped in the problem (a header that is data) is masked."""
    return LandingError(f"{f.uri}: {cprmod.mask(problem)[:2000]}")


@dataclass
class RawTable:
    """A chunk of a file: its required columns as Arrow text (stripped, '' for missing), each row's
    physical line, for CSV the record as read with its CPR field masked (what a reject shows), and
    the rows that could not be read at all."""

    columns: dict[str, pa.Array]  # string, one per required column, in contract order
    line_no: np.ndarray  # int64
    raw: list[str] | None  # CSV only: see raw_rows
    rejects: list[tuple[int, str, str]]  # (line_no, reason, raw row)
    rows_read: int

    def __len__(self) -> int:
        return len(self.line_no)

    @property
    def frame(self) -> pd.DataFrame:
        """The chunk as pandas object columns + line_no (+ _raw): what the row-reason checker reads."""
        return self.take(None)

    def take(self, rows: np.ndarray | None) -> pd.DataFrame:
        """The rows at `rows` (positions; None: all) as a pandas frame with a fresh index."""
        pick = (lambda a: a) if rows is None else (lambda a: a.take(pa.array(rows, pa.int64())))
        data = {name: pick(arr).to_numpy(zero_copy_only=False).astype(object, copy=False) for name, arr in self.columns.items()}
        n = len(self.line_no) if rows is None else len(rows)
        frame = pd.DataFrame(data, index=range(n), dtype=object) if data else pd.DataFrame(index=range(n))
        frame["line_no"] = self.line_no if rows is None else self.line_no[rows]
        if self.raw is not None:
            frame["_raw"] = self.raw if rows is None else [self.raw[i] for i in rows]
        return frame


def read_table(f: LandingFile, data: bytes) -> RawTable:
    """The whole file as one table (convenience for small files; `load_file` streams chunks)."""
    if not data:
        raise file_problem(f, "the file is empty (zero bytes)")
    parts = list(iter_chunks(f, io.BytesIO(data)))
    columns = {name: pa.concat_arrays([p.columns[name] for p in parts]) for name in parts[0].columns}
    raws = None if parts[0].raw is None else [r for p in parts for r in p.raw]
    line_no = np.concatenate([p.line_no for p in parts])
    return RawTable(columns, line_no, raws, [r for p in parts for r in p.rejects], sum(p.rows_read for p in parts))


def iter_chunks(f: LandingFile, stream, size: int | None = None, digest=None) -> Iterator[RawTable]:
    """The file as consecutive chunks of about `chunk_rows()` rows; raises LandingError for a file unusable as a whole.

    `digest` (a hashlib object) sees every byte of a CSV file as it is read.
    """
    if size == 0:
        raise file_problem(f, "the file is empty (zero bytes)")
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
            raise file_problem(self.f, f"more than {env_name('max_file_bytes')}={self.limit:,} bytes")
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
            raise file_problem(self.f, f"line {self.produced + len(lines) + 1} is longer than {MAX_LINE_CHARS:,} characters")
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
        return file_problem(
            self.f,
            f"not UTF-8{hint}: invalid byte 0x{data[exc.start]:02x} at offset {offset} (line {line}); re-export the file as UTF-8",
        )


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _iter_csv(f: LandingFile, stream, digest=None) -> Iterator[RawTable]:
    lines = _TextLines(f, stream, digest)
    head = lines.peek()
    if head is None:
        raise file_problem(f, "the file is empty (zero bytes)" if lines.bytes_read == 0 else "the file has no header row")
    if "\x00" in head:
        raise file_problem(f, "NUL bytes in the header row: a UTF-16 or binary file? Re-export the file as UTF-8")
    sep = ";" if head.count(";") >= head.count(",") else ","
    reader = csv.reader(lines, delimiter=sep)
    try:
        header_raw = next(reader)
    except StopIteration:
        raise file_problem(f, "the file has no header row") from None
    except csv.Error as exc:
        raise file_problem(f, f"unreadable header row ({exc})") from exc
    lines.take()
    header = [h.replace("\ufeff", "").strip().lower() for h in header_raw]  # a second byte-order mark, too
    positions = _column_positions(f, header)
    cols = FEEDS[f.feed].columns
    width = len(header)
    cpr_at = header.index("cpr") if "cpr" in header else None
    free_text = {header.index(c) for c in FEEDS[f.feed].free_text_columns if c in header}
    limit, step = max_file_rows(), chunk_rows()

    rows: list[list[str]] = []
    line_nos: list[int] = []
    raws: list[str] = []
    rejects: list[tuple[int, str, str]] = []
    rows_read = total = 0  # in this chunk, in the file
    while True:
        if total + rows_read > limit:
            raise file_problem(f, f"more than {limit:,} rows: exceeds the input limit {env_name('max_file_rows')}={limit:,}")
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
    by_column = list(zip(*rows, strict=True)) if rows else [() for _ in cols]
    columns = {name: pa.array(values, pa.string()) for name, values in zip(cols, by_column, strict=True)}
    # raws: the record as read, its CPR field masked (what a reject shows)
    return RawTable(columns, np.array(line_nos, dtype=np.int64), raws, rejects, rows_read)


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
    required = FEEDS[f.feed].columns
    optional = FEEDS[f.feed].optional_columns
    twice = sorted({c for c in required if header.count(c) > 1})
    if twice:
        raise file_problem(f, f"column(s) {', '.join(twice)} appear more than once in the header")
    missing = [c for c in required if c not in header and c not in optional]
    if missing:
        shown = ", ".join(h[:40] for h in header[:30]) or "nothing"
        raise file_problem(f, f"missing required column(s) {', '.join(missing)} (header has: {shown})")
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
        raise file_problem(f, f"not a readable Parquet file ({type(exc).__name__}: {str(exc)[:300]})") from exc
    header = [c.strip().lower() for c in schema.names]
    positions = _column_positions(f, header)
    cols = FEEDS[f.feed].columns
    limit = max_file_rows()
    if num_rows > limit:
        raise file_problem(f, f"{num_rows:,} rows exceeds the input limit {env_name('max_file_rows')}={limit:,}")
    for name, pos in zip(cols, positions, strict=True):
        if pos is None:
            continue
        t = schema.field(pos).type
        if _arrow_kind(t) not in _PARQUET_TYPES.get(name, _TEXT):
            raise file_problem(f, f"wrong schema: column {name} has Parquet type {t}, expected text")
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
            raise file_problem(f, f"not a readable Parquet file ({type(exc).__name__}: {str(exc)[:300]})") from exc
        n = batch.num_rows
        seen += n
        if seen > limit:
            raise file_problem(f, f"more than {limit:,} rows: exceeds the input limit {env_name('max_file_rows')}={limit:,}")
        data: dict[str, pa.Array] = {}
        for name, pos in zip(cols, positions, strict=True):
            if pos is None:
                data[name] = pa.repeat(pa.scalar("", pa.string()), n)
                continue
            try:
                data[name] = _arrow_text(batch.column(schema.names[pos]))
            except (ValueError, TypeError, ArithmeticError, NotImplementedError) as exc:  # pyarrow's errors derive from these
                raise file_problem(
                    f, f"not a readable Parquet file (column {name}: {type(exc).__name__}: {str(exc)[:300]})"
                ) from exc
        # No raw text here: a Parquet row has no text as read; `raw_rows` renders the rejected ones only.
        yield RawTable(data, np.arange(line, line + n, dtype=np.int64), None, [], n)
        line += n
    if seen == 0:
        yield RawTable({name: pa.array([], pa.string()) for name in cols}, np.zeros(0, np.int64), None, [], 0)


_NEEDS_STRIP = r"^[^!-~]|[^!-~]$"  # a first or last character outside printable ASCII: str.strip() may change it


def _arrow_text(arr) -> pa.Array:
    """A Parquet column as the text `_parquet_text` gives value by value (None -> '', text stripped),
    as Arrow text: Arrow converts text, integers, booleans and dates; only values with an
    edge character that `str.strip()` could remove, and other types, go through Python."""
    kind = _arrow_kind(arr.type)
    if kind == "null":
        return pa.repeat(pa.scalar("", pa.string()), len(arr))
    if kind == "bool":
        return pc.fill_null(pc.if_else(arr, "1", "0").cast(pa.string()), "")
    if kind in ("integer", "date"):  # str(int) and date.isoformat() are Arrow's own casts
        return pc.fill_null(arr.cast(pa.string()), "")
    if kind not in ("string", "large_string", "dictionary"):
        return pa.array([_parquet_text(v) for v in arr.to_pylist()], pa.string())
    if kind == "dictionary":
        arr = arr.dictionary_decode()
    filled = pc.fill_null(arr, "") if arr.null_count else arr  # string or large_string, as stored
    edge = pc.match_substring_regex(filled, _NEEDS_STRIP)
    if not pc.any(edge).as_py():
        return filled
    stripped = [v.strip() for v in filled.filter(edge).to_pylist()]
    return pc.replace_with_mask(filled, edge, pa.array(stripped, filled.type))


def raw_rows(frame: pd.DataFrame, feed: str) -> list[str]:
    """What a reject shows for each row of `frame`: the record as read (`_raw`, CSV), or for a Parquet
    row its required columns joined by ';'; the CPR field masked either way."""
    if "_raw" in frame:
        return frame["_raw"].tolist()
    cols = list(FEEDS[feed].columns)
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
