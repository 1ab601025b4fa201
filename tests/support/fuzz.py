"""Seeded mutations of valid landing files (issue 9, 'fuzzed input').

`cases(bases, seed)` turns valid files (from `fsm.synth.generate(tiny)` and hand-made ones) into
mutated files, each with its mutation kind and a seed of its own, so a failure reproduces with
`one_case(bases, kind, case_seed)`. `check_case` feeds one file through `fsm.ingest.ingest_feed`
and classifies the outcome: 'loaded' (rows read = loaded + rejected, staging and rejects agree,
every physical line accounted for) or 'whole-file' (a LandingError naming the file); anything
else is a bug and is returned as such.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import re
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

FEED_DIRS = {
    "markings": "markings",
    "ydelse": "registers/ydelse",
    "tilbud": "registers/tilbud",
    "timer": "registers/timer",
    "uddannelse": "registers/uddannelse",
    "allocations": "reference",
}
LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass
class Base:
    feed: str
    name: str  # a layout-valid file name (…csv)
    text: str  # valid UTF-8 CSV, ';'-separated, header first, '\n' line ends
    cprs: set[str] = field(default_factory=set)  # the CPRs it holds (10 digits)

    @property
    def header(self) -> list[str]:
        return self.text.split("\n", 1)[0].split(";")

    @property
    def rows(self) -> list[str]:
        return [r for r in self.text.split("\n")[1:] if r]


@dataclass
class Case:
    kind: str
    seed: int
    feed: str
    name: str
    data: bytes
    note: str = ""

    @property
    def fmt(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass
class Outcome:
    case: Case
    status: str  # loaded | whole-file | bug
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str = ""


# --------------------------------------------------------------------------- bases


def synth_bases(root: Path, max_rows: int = 60) -> list[Base]:
    """The synthetic files, cut to their first `max_rows` data rows plus every injected reject."""
    out = []
    for path in sorted(root.rglob("*.csv")):
        feed = path.name.split("_", 1)[0]
        lines = path.read_text(encoding="utf-8").split("\n")
        header, rows = lines[0], [r for r in lines[1:] if r]
        keep = rows[:max_rows] + [r for r in rows[max_rows:] if len(r.split(";")) != len(header.split(";"))][:3]
        out.append(_base(feed, path.name, header, keep))
    return out


def hand_bases() -> list[Base]:
    """Hand-made files for the feeds and dialect corners the generator does not write."""
    cprs = ["0101801234", "150275-4321", "3112909999", "2902001234", "0707074321"]
    mk = "marking_id;cpr;kommune_kode;marking_code;start_date;end_date;registered_at;fritagelse_aarsag"
    markings = [
        f"h1;{cprs[0]};101;FSM_BRUTTO;2016-12-01;;2017-06-20T10:00:00;",
        f"h2;{cprs[1]};147;FSM_GR1;2017-09-11;2018-01-01;2017-09-11T09:00:00+02:00;",
        f"h3;{cprs[2]};151;FRITAGELSE;2019-03-01;;2019-03-01T08:00:00Z;barsel",
        f"h4;{cprs[3]};0101;FSM2_GR2;2019-04-01;;2019-04-02 08:00;",
        f"h5;{cprs[4]};461;FSM_UDSKUDT;2017-10-01;2018-04-01;2017-10-01;",
    ]
    uddannelse = [f"{c};2019-03;{i % 2}" for i, c in enumerate(cprs)]
    allocations = ["101;FSM1;1.234.567,89", "147;FSM1;500000", "151;FSM2;250000.50", "461;FSM1;0"]
    timer = [f"{c};2018-03;1234567{i};{i * 7},5;{i % 2}" for i, c in enumerate(cprs)]
    return [
        _base("markings", "markings_2019-04-30.csv", mk, markings),
        _base("uddannelse", "uddannelse_2019-03.csv", "cpr;month;su_eligible", uddannelse),
        _base("allocations", "allocations.csv", "kommune_kode;programme;grant_dkk", allocations),
        _base("timer", "timer_2018-03.csv", "cpr;month;cvr;hours;subsidised", timer),
    ]


def _base(feed: str, name: str, header: str, rows: list[str]) -> Base:
    b = Base(feed, name, "\n".join([header, *rows]) + "\n")
    if "cpr" in b.header:
        i = b.header.index("cpr")
        b.cprs = {r.split(";")[i].replace("-", "") for r in rows if len(r.split(";")) > i}
        b.cprs = {c for c in b.cprs if re.fullmatch(r"\d{10}", c)}
    return b


# --------------------------------------------------------------------------- mutations
# Each takes (rng, base) and returns (bytes, note). The name of the output file is the base's
# (or its .parquet twin); the kind says what was done.


def _lines(b: Base) -> list[str]:
    return b.text.split("\n")[:-1]  # header + rows, no trailing ''


def _join(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _pick_row(rng: random.Random, lines: list[str]) -> int:
    return rng.randrange(1, len(lines)) if len(lines) > 1 else 0


def _col(b: Base, *names: str) -> int | None:
    for n in names:
        if n in b.header:
            return b.header.index(n)
    return None


def _set_field(rng, b: Base, values: list[str], *cols: str) -> tuple[bytes, str]:
    lines = _lines(b)
    i = _pick_row(rng, lines)
    parts = lines[i].split(";")
    c = _col(b, *cols)
    if c is None or c >= len(parts):
        c = rng.randrange(len(parts))
    v = rng.choice(values)
    parts[c] = v
    lines[i] = ";".join(parts)
    return _join(lines), f"line {i + 1} col {c} = {v[:30]!r}"


def m_truncate_line(rng, b):
    lines = _lines(b)
    i = _pick_row(rng, lines)
    lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
    return _join(lines), f"line {i + 1} cut"


def m_truncate_file(rng, b):
    data = b.text.encode()
    cut = rng.randrange(len(data) // 3, len(data))
    return data[:cut], f"cut at byte {cut}"


def m_extra_separator(rng, b):
    lines = _lines(b)
    i = _pick_row(rng, lines)
    pos = rng.randrange(len(lines[i]) + 1)
    sep = rng.choice([";", ";", ","])
    lines[i] = lines[i][:pos] + sep + lines[i][pos:]
    return _join(lines), f"line {i + 1}: {sep!r} at {pos}"


def m_missing_separator(rng, b):
    lines = _lines(b)
    i = _pick_row(rng, lines)
    seps = [k for k, ch in enumerate(lines[i]) if ch == ";"]
    if seps:
        k = rng.choice(seps)
        lines[i] = lines[i][:k] + lines[i][k + 1 :]
    return _join(lines), f"line {i + 1}: one ';' removed"


def m_comma_file(rng, b):
    """Valid: the whole file with ',' as separator (decimal commas quoted)."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=",", lineterminator="\n")
    for line in _lines(b):
        w.writerow(line.split(";"))
    return out.getvalue().encode(), "',' dialect"


def m_mixed_separator(rng, b):
    lines = _lines(b)
    i = _pick_row(rng, lines)
    lines[i] = lines[i].replace(";", ",")
    return _join(lines), f"line {i + 1} uses ','"


def m_latin1(rng, b):
    lines = _lines(b)
    i = _pick_row(rng, lines)
    parts = lines[i].split(";")
    c = _col(b, "fritagelse_aarsag", "marking_id", "tilbud_id", "herkomst", "programme") or 0
    parts[c] = parts[c] + rng.choice(["æ", "ø", "å", "Æblegrød", "Ærø"])
    lines[i] = ";".join(parts)
    return ("\n".join(lines) + "\n").encode("latin-1"), f"latin-1 with a non-ASCII letter on line {i + 1}"


def m_latin1_ascii_only(rng, b):
    """Valid: latin-1 of pure ASCII is UTF-8."""
    return b.text.encode("latin-1"), "latin-1, ASCII only"


def m_utf16(rng, b):
    enc = rng.choice(["utf-16", "utf-16-le", "utf-16-be"])
    return b.text.encode(enc), enc


def m_bom(rng, b):
    """Valid: UTF-8 byte-order mark (sometimes twice)."""
    n = rng.choice([1, 1, 2])
    return ("\ufeff" * n + b.text).encode(), f"{n} BOM"


def m_stray_quote(rng, b):
    lines = _lines(b)
    i = _pick_row(rng, lines)
    starts = [0] + [k + 1 for k, ch in enumerate(lines[i]) if ch == ";"]
    pos = rng.choice(starts) if rng.random() < 0.6 else rng.randrange(len(lines[i]) + 1)
    lines[i] = lines[i][:pos] + '"' + lines[i][pos:]
    return _join(lines), f'line {i + 1}: stray " at {pos}'


def m_quoted_fields(rng, b):
    """Valid: fields quoted, with doubled quotes inside free text where there is any."""
    lines = _lines(b)
    for i in range(1, len(lines)):
        if rng.random() < 0.5:
            lines[i] = ";".join(f'"{p}"' for p in lines[i].split(";"))
    return _join(lines), "random rows fully quoted"


def m_quoted_newline(rng, b):
    lines = _lines(b)
    i = _pick_row(rng, lines)
    parts = lines[i].split(";")
    c = _col(b, "fritagelse_aarsag") if rng.random() < 0.5 else None
    c = rng.randrange(len(parts)) if c is None or c >= len(parts) else c
    parts[c] = '"' + parts[c] + rng.choice(["\n", "\r\n", "\nmore\ntext"]) + 'x"'
    lines[i] = ";".join(parts)
    return _join(lines), f"line {i + 1}: quoted line break in column {c}"


def m_huge_field(rng, b):
    size = rng.choice([300, 5_000, 9_000, 140_000, 400_000])
    if size < 10_000 and rng.random() < 0.5:  # incompressible: too big for a btree index entry
        value = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(size))
        return _set_field(rng, b, [value], "marking_id", "tilbud_id", "fritagelse_aarsag")
    filler = rng.choice(["A", "9", "æ", "0101801234;"])
    return _set_field(rng, b, [(filler * size)[:size]], *b.header)


def m_nul_byte(rng, b):
    lines = _lines(b)
    i = rng.randrange(0, len(lines)) if rng.random() < 0.1 else _pick_row(rng, lines)
    pos = rng.randrange(len(lines[i]) + 1)
    lines[i] = lines[i][:pos] + "\x00" + lines[i][pos:]
    return _join(lines), f"NUL on line {i + 1}"


BAD_DATES = ["2017-02-30", "2017-13-01", "2017-00-10", "17-01-01", "2017/01/01", "01-02-2017", "0000-00-00",
             "2016-02-29", "2017-02-29", "9999-12-31", "1899-12-31", "2017-1-1", " 2017-01-01 ", "2017-01-01T00:00",
             "２０１７-０１-０１", "20170101", "-2017-01-01", "2017-01-32"]  # fmt: skip
BAD_TIMESTAMPS = ["2017-06-20T25:00:00", "2017-06-20T10:00:00+99:99", "2017-06-20T10:00:00+14:00", "0001-01-01T00:00:00",
                  "2017-03-26T02:30:00", "2017-10-29T02:30:00", "2017-06-20T10:00:00.123456789", "2017-06-20 10:00",
                  "2017-06-20T10:00:00ZZ", "nan", "NaT", "2017-06-20T10:00:00-00:00", "2017-06-20T10:00:60",
                  "2262-04-12T00:00:00", "1677-09-21T00:00:00"]  # fmt: skip


def m_bad_date(rng, b):
    if "registered_at" in b.header and rng.random() < 0.4:
        return _set_field(rng, b, BAD_TIMESTAMPS, "registered_at")
    if "iso_week" in b.header and rng.random() < 0.5:
        return _set_field(rng, b, ["2017-W00", "2017-W53", "2020-W53", "2017-W5", "2017W05", "2017-w05", "W05"], "iso_week")
    if "month" in b.header and rng.random() < 0.5:
        return _set_field(rng, b, ["2018-13", "2018-00", "2018-3", "18-03", "2018-03-01", "1989-12", "2036-01"], "month")
    return _set_field(rng, b, BAD_DATES, "start_date", "end_date", "month", "iso_week")


BAD_CPRS = ["01018O1234", "0101801234X", "010180-12345", "3102801234", "010180_1234", "0101801 234", "", "          ",
            "ABCDEFGHIJ", "01018012", "0101801234;", "0000000000", "9999999999", "-0101801234", "010180--1234",
            "０１０１８０１２３４", "0101801234\t", "01-01-80-1234"]  # fmt: skip


def m_cpr_letters(rng, b):
    if "cpr" not in b.header:
        return _set_field(rng, b, BAD_CPRS, *b.header)
    return _set_field(rng, b, BAD_CPRS, "cpr")


BAD_HOURS = ["-1", "-0,5", "-0", "745", "744", "744,01", "1e6", "NaN", "inf", "37,5,5", " 12 ", "1.000,5", "99999999999",
             "0,001", "", "٣٧", "37.", ".5", "+5", "1_000"]  # fmt: skip


def m_hours(rng, b):
    if "hours" in b.header:
        return _set_field(rng, b, BAD_HOURS, "hours")
    if "grant_dkk" in b.header:
        return _set_field(
            rng, b, ["-1", "1e9", "9999999999999", "99999999999999999999", "1.234,567", "12,3,4", "NaN"], "grant_dkk"
        )
    return _set_field(rng, b, ["2", "-1", "yes", "true", " 1", "01", ""], "introduktionsprogram", "subsidised", "su_eligible")


def m_codes(rng, b):
    values = ["FSM_GR9", "fsm_gr1", " FSM_GR1", "999", "0", "-101", "101.0", "1O1", "00101", "KONTANTHJÆLP", "X" * 60]
    return _set_field(rng, b, values, "marking_code", "kommune_kode", "ydelse_kode", "tilbud_type", "programme", "herkomst")


def m_duplicate_header_row(rng, b):
    lines = _lines(b)
    i = rng.randrange(1, len(lines) + 1)
    h = lines[0] if rng.random() < 0.7 else lines[0].upper()
    lines.insert(i, h)
    return _join(lines), f"header repeated as line {i + 1}"


def m_duplicate_column(rng, b):
    lines = _lines(b)
    cols = lines[0].split(";")
    c = rng.randrange(len(cols))
    lines = [ln + ";" + (ln.split(";")[c] if len(ln.split(";")) > c else "") for ln in lines]
    return _join(lines), f"column {cols[c]} twice"


def m_header_changes(rng, b):
    lines = _lines(b)
    cols = lines[0].split(";")
    choice = rng.randrange(5)
    if choice == 0:  # a required column renamed
        c = rng.randrange(len(cols))
        cols[c] = cols[c] + "_x"
    elif choice == 1:  # header deleted: the first data row becomes the header
        lines = lines[1:] or [""]
        return _join(lines), "no header"
    elif choice == 2:  # upper case and padded: still valid
        cols = [f" {c.upper()} " for c in cols]
    elif choice == 3:  # an extra column: valid when rows have it too
        cols.append("extra")
        lines = [lines[0], *[ln + ";x" for ln in lines[1:]]]
    else:  # columns reordered consistently: valid
        order = list(range(len(cols)))
        rng.shuffle(order)
        lines = [";".join(ln.split(";")[k] if len(ln.split(";")) > k else "" for k in order) for ln in lines]
        return _join(lines), f"columns reordered {order}"
    lines[0] = ";".join(cols)
    return _join(lines), f"header change {choice}"


def m_empty(rng, b):
    choice = rng.randrange(6)
    header = _lines(b)[0]
    data = [b"", (header + "\n").encode(), header.encode(), b"\n\n\n", "\ufeff".encode(), (header + "\n\n").encode()][choice]
    return data, f"empty variant {choice}"


def m_marking_conflict(rng, b):
    lines = _lines(b)
    i = _pick_row(rng, lines)
    parts = lines[i].split(";")
    c = _col(b, "marking_id", "tilbud_id")
    if c is None or len(parts) != len(b.header):
        return _join([*lines, lines[i]]), f"line {i + 1} repeated"
    other = lines[_pick_row(rng, lines)].split(";")
    if len(other) == len(parts):
        other[c] = parts[c]  # same id, other content
    where = rng.randrange(1, len(lines) + 1)
    lines.insert(where, ";".join(other) if rng.random() < 0.7 else lines[i])
    return _join(lines), f"id {parts[c]} repeated at line {where + 1}"


def m_line_endings(rng, b):
    """Valid: CRLF, CR-only, mixed, or no final newline."""
    lines = _lines(b)
    choice = rng.randrange(4)
    if choice == 0:
        return ("\r\n".join(lines) + "\r\n").encode(), "CRLF"
    if choice == 1:
        return ("\r".join(lines) + "\r").encode(), "CR"
    if choice == 2:
        return "".join(ln + rng.choice(["\n", "\r\n", "\r"]) for ln in lines).encode(), "mixed"
    return "\n".join(lines).encode(), "no final newline"


def m_blank_lines(rng, b):
    lines = _lines(b)
    for _ in range(rng.randint(1, 4)):
        lines.insert(rng.randrange(1, len(lines) + 1), rng.choice(["", "   ", ";;;", "\t"]))
    return _join(lines), "blank lines"


def m_control_chars(rng, b):
    values = ["id\u2028x", "id\x85", "tab\there", "emoji😀", "\x7fdel", "back\\slash", "\\N", "NULL", "'quote", "a\x0bb"]
    return _set_field(rng, b, values, "marking_id", "tilbud_id", "fritagelse_aarsag", "cvr", "matchgruppe")


def m_random_bytes(rng, b):
    data = bytearray(b.text.encode())
    for _ in range(rng.randint(1, 6)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data), "random bytes"


def m_swap_fields(rng, b):
    lines = _lines(b)
    i = _pick_row(rng, lines)
    parts = lines[i].split(";")
    if len(parts) > 1:
        x, y = rng.sample(range(len(parts)), 2)
        parts[x], parts[y] = parts[y], parts[x]
    lines[i] = ";".join(parts)
    return _join(lines), f"line {i + 1}: two fields swapped"


def m_whitespace(rng, b):
    """Valid: spaces around values."""
    lines = _lines(b)
    i = _pick_row(rng, lines)
    lines[i] = ";".join(f"  {p} " for p in lines[i].split(";"))
    return _join(lines), f"line {i + 1} padded"


def m_many_rows(rng, b):
    """Valid but long: the rows repeated (exercises several chunks with a small FSM_INGEST_CHUNK_ROWS)."""
    lines = _lines(b)
    n = rng.randint(3, 8)
    return _join([lines[0], *lines[1:] * n]), f"rows x{n}"


# Parquet: built from the base's rows, then broken (or not).


def _frame(b: Base) -> pd.DataFrame:
    rows = [r.split(";") for r in b.rows]
    rows = [r for r in rows if len(r) == len(b.header)]
    return pd.DataFrame(rows, columns=b.header, dtype=object)


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def m_parquet(rng, b):
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = _frame(b)
    choice = rng.randrange(12)
    if choice == 0:
        return _parquet(df), "valid parquet"
    if choice == 1:
        return _parquet(df.drop(columns=[rng.choice(list(df.columns))])), "a column missing"
    if choice == 2 and "cpr" in df:
        return _parquet(df.assign(cpr=pd.to_numeric(df["cpr"].str.replace("-", ""), errors="coerce"))), "cpr as a number"
    if choice == 3:
        c = rng.choice(list(df.columns))
        t = pa.table({**{k: pa.array(df[k].tolist()) for k in df.columns if k != c}, c: pa.array([[v] for v in df[c]])})
        buf = io.BytesIO()
        pq.write_table(t, buf)
        return buf.getvalue(), f"{c} as a list"
    if choice == 4:
        return _parquet(df.assign(extra=1, other="x")), "extra columns: valid"
    if choice == 5:
        data = _parquet(df)
        return data[: rng.randrange(4, len(data))], "truncated parquet"
    if choice == 6 and "kommune_kode" in df:
        return _parquet(
            df.assign(kommune_kode=pd.to_numeric(df["kommune_kode"], errors="coerce").astype(float))
        ), "kommune as float"
    if choice == 7:
        c = rng.choice(list(df.columns))
        return _parquet(df.assign(**{c: None})), f"{c} all null"
    if choice == 8:
        return _parquet(df.iloc[0:0]), "no rows"
    if choice == 9:
        df = df.copy()
        ids = [k for k in df.columns if k in ("marking_id", "tilbud_id", "fritagelse_aarsag")]
        c = rng.choice(ids) if ids and rng.random() < 0.7 else rng.choice(list(df.columns))
        if len(df):
            df.loc[df.index[rng.randrange(len(df))], c] = rng.choice(["a\x00b", "x" * 5000, "line\nbreak", "\\N", "0101801234"])
        return _parquet(df), f"odd value in {c}"
    if choice == 10:
        t = pa.table({k: pa.array(df[k].tolist()) for k in df.columns})
        t = t.rename_columns([c.upper() for c in t.column_names])
        buf = io.BytesIO()
        pq.write_table(t, buf)
        return buf.getvalue(), "upper-case names: valid"
    data = bytearray(_parquet(df))
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data), "random bytes in parquet"


MUTATIONS: dict[str, Callable] = {
    "truncated_line": m_truncate_line,
    "truncated_file": m_truncate_file,
    "extra_separator": m_extra_separator,
    "missing_separator": m_missing_separator,
    "comma_dialect": m_comma_file,
    "mixed_separator": m_mixed_separator,
    "latin1": m_latin1,
    "latin1_ascii_only": m_latin1_ascii_only,
    "utf16": m_utf16,
    "bom": m_bom,
    "stray_quote": m_stray_quote,
    "quoted_fields": m_quoted_fields,
    "quoted_line_break": m_quoted_newline,
    "huge_field": m_huge_field,
    "nul_byte": m_nul_byte,
    "bad_date": m_bad_date,
    "cpr_with_letters": m_cpr_letters,
    "bad_hours_flags_money": m_hours,
    "unknown_codes": m_codes,
    "duplicated_header_row": m_duplicate_header_row,
    "duplicated_column": m_duplicate_column,
    "header_changes": m_header_changes,
    "empty_file": m_empty,
    "repeated_id_conflict": m_marking_conflict,
    "line_endings": m_line_endings,
    "blank_lines": m_blank_lines,
    "control_chars": m_control_chars,
    "random_bytes": m_random_bytes,
    "swapped_fields": m_swap_fields,
    "whitespace": m_whitespace,
    "many_rows": m_many_rows,
    "parquet_schema": m_parquet,
}


def one_case(bases: list[Base], kind: str, case_seed: int) -> Case:
    rng = random.Random(case_seed)
    b = rng.choice(bases)
    data, note = MUTATIONS[kind](rng, b)
    name = b.name if kind != "parquet_schema" else b.name.replace(".csv", ".parquet")
    return Case(kind, case_seed, b.feed, name, data, note)


def cases(bases: list[Base], seed: int, per_kind: int) -> list[Case]:
    """`per_kind` distinct files per mutation kind (distinct by content), reproducible from `seed`."""
    master = random.Random(seed)
    out, seen = [], set()
    for kind in MUTATIONS:
        made = tries = 0
        while made < per_kind and tries < per_kind * 20:
            tries += 1
            c = one_case(bases, kind, master.randrange(2**32))
            key = (c.feed, c.name, hashlib.sha256(c.data).hexdigest())
            if key in seen:
                continue
            seen.add(key)
            out.append(c)
            made += 1
    return out


# --------------------------------------------------------------------------- running one case


def month_of(c: Case) -> date:
    m = re.search(r"(\d{4})-(\d{2})", c.name)
    return date(int(m.group(1)), int(m.group(2)), 1) if m else date(2017, 8, 1)


def run_case(c: Case, root: Path, conn_factory, all_cprs: set[str]) -> Outcome:
    """Ingest one mutated file alone in `root` and check what came out."""
    from fsm.ingest import ingest_feed
    from fsm.ingest.landing import LandingError

    shutil.rmtree(root, ignore_errors=True)
    path = root / FEED_DIRS[c.feed] / c.name
    path.parent.mkdir(parents=True)
    path.write_bytes(c.data)
    uri = f"{root}/{FEED_DIRS[c.feed]}/{c.name}"
    sha = hashlib.sha256(c.data).hexdigest()
    try:
        summary = ingest_feed(c.feed, month_of(c), str(root))
    except LandingError as exc:
        msg = str(exc)
        problems = []
        if uri not in msg:
            problems.append("message does not name the file")
        if len(msg.replace(uri, "").strip(" :")) < 10:
            problems.append("message does not say what is wrong")
        if "warehouse refused" in msg or "reconciliation failed" in msg:
            problems.append("a value reached the warehouse unchecked (should be a row reject)")
        if _cpr_hits(msg, all_cprs):
            problems.append("raw CPR in the message")
        with conn_factory() as conn:
            if conn.execute("select count(*) from ingest_file where sha256 = %s", (sha,)).fetchone()[0]:
                problems.append("half-loaded: an ingest_file row survived the failure")
        if problems:
            return Outcome(c, "bug", message="; ".join(problems) + f" :: {msg[:300]}")
        return Outcome(c, "whole-file", message=msg)
    except Exception as exc:  # noqa: BLE001 - the point: anything else is a bug
        return Outcome(
            c, "bug", message="".join(traceback.format_exception_only(exc)).strip()[:500] + "\n" + traceback.format_exc()[-1500:]
        )
    problems = []
    if summary["files_loaded"] != 1:
        problems.append(f"summary says {summary}")
    with conn_factory() as conn:
        row = conn.execute(
            "select file_id, rows_read, rows_loaded, rows_rejected from ingest_file where sha256 = %s and file_name = %s",
            (sha, c.name),
        ).fetchone()
        if row is None:
            return Outcome(c, "bug", message=f"loaded but no ingest_file row ({summary})")
        file_id, read, loaded, rejected = row
        table = {"markings": "stg_markings", "ydelse": "stg_ydelse", "tilbud": "stg_tilbud", "timer": "stg_timer",
                 "uddannelse": "stg_uddannelse", "allocations": "stg_allocations"}[c.feed]  # fmt: skip
        text_col = "fritagelse_aarsag" if c.feed == "markings" else "null"
        staged = conn.execute(f"select line_no, {text_col} from {table} where file_id = %s", (file_id,)).fetchall()
        rejected_lines = conn.execute("select line_no, row_masked from ingest_rejects where file_id = %s", (file_id,)).fetchall()
    if read != loaded + rejected:
        problems.append(f"rows read {read} != loaded {loaded} + rejected {rejected}")
    if (len(staged), len(rejected_lines)) != (loaded, rejected):
        problems.append(f"staging {len(staged)} / rejects {len(rejected_lines)} rows vs ingest_file {loaded} / {rejected}")
    if (read, loaded, rejected) != (summary["rows_read"], summary["rows_loaded"], summary["rows_rejected"]):
        problems.append("summary and ingest_file disagree")
    accounted = {r[0] for r in staged} | {r[0] for r in rejected_lines}
    evidence = {ln: ("loaded", t or "") for ln, t in staged} | {ln: ("rejected", t) for ln, t in rejected_lines}
    problems += _coverage_problems(c, read, accounted, evidence)
    if problems:
        return Outcome(c, "bug", read, loaded, rejected, "; ".join(problems))
    return Outcome(c, "loaded", read, loaded, rejected)


def _coverage_problems(c: Case, read: int, accounted: set[int], evidence: dict[int, tuple[str, str]]) -> list[str]:
    """Independent of the loader: every physical line after the header is a row (loaded or
    rejected) or sits inside a quoted field that an accounted row opened."""
    if c.fmt == "parquet":
        import pyarrow.parquet as pq

        n = pq.ParquetFile(io.BytesIO(c.data)).metadata.num_rows
        return [] if read == n == len(accounted) else [f"parquet has {n} rows, read {read}, accounted {len(accounted)}"]
    text = c.data.decode("utf-8-sig")
    physical = LINE_BREAK.split(text)
    if physical and physical[-1] == "":
        physical.pop()  # the file's final line break ends the last line
    header_lines = _header_span(text)
    expected = set(range(header_lines + 1, len(physical) + 1))
    problems = []
    if accounted - expected:
        problems.append(f"line numbers outside the file: {sorted(accounted - expected)[:5]}")
    missing = sorted(expected - accounted)
    stray = []
    for ln in missing:
        # A line may be left out only when it sits inside a quoted field opened on an accounted line
        # (one row over several lines: odd number of quotes from that line on) and its text is kept in
        # the warehouse: in the loaded row's free text, or in the reject's stored row.
        owner = max((a for a in accounted if a < ln), default=None)
        if owner is None or "".join(physical[owner - 1 : ln - 1]).count('"') % 2 == 0:
            stray.append(ln)
            continue
        status, kept = evidence[owner]
        line = physical[ln - 1]
        part = line.split('"')[0] if status == "loaded" else line.replace('"', "")
        if _norm(part.strip()) not in _norm(kept.replace('"', "")):
            stray.append(ln)
    if stray:
        problems.append(f"physical lines silently lost: {stray[:10]}")
    if read != len(accounted):
        problems.append(f"rows read {read} != distinct line numbers {len(accounted)}")
    return problems


def _norm(text: str) -> str:
    """Text as the warehouse may keep it: CPR-shaped runs masked, so compare with every such run as one token."""
    return re.sub(r"XXXXXX-XXXX|\d{6,}[ \-\u2010-\u2015]?\d{4,}", "#", text.replace("\x00", "\\0"))


def _header_span(text: str) -> int:
    first = io.StringIO(text, newline="")
    head = first.readline()
    sep = ";" if head.count(";") >= head.count(",") else ","
    first.seek(0)
    reader = csv.reader(first, delimiter=sep)
    try:
        next(reader)
    except (StopIteration, csv.Error):
        return 1
    return reader.line_num


def _cpr_hits(text: str, cprs: set[str]) -> list[str]:
    return [c for c in cprs if c in text or f"{c[:6]}-{c[6:]}" in text]


def summary_table(outcomes: list[Outcome]) -> str:
    kinds: dict[str, dict[str, int]] = {}
    for o in outcomes:
        k = kinds.setdefault(o.case.kind, {"files": 0, "loaded": 0, "whole-file": 0, "bug": 0, "read": 0, "rejected": 0})
        k["files"] += 1
        k[o.status] += 1
        k["read"] += o.rows_read
        k["rejected"] += o.rows_rejected
    head = f"{'mutation kind':<24}{'files':>7}{'loaded':>8}{'whole-file':>12}{'bugs':>6}{'rows read':>11}{'rows rejected':>15}"
    lines = [head, "-" * len(head)]
    tot = {"files": 0, "loaded": 0, "whole-file": 0, "bug": 0, "read": 0, "rejected": 0}
    for kind, k in kinds.items():
        lines.append(
            f"{kind:<24}{k['files']:>7}{k['loaded']:>8}{k['whole-file']:>12}{k['bug']:>6}{k['read']:>11}{k['rejected']:>15}"
        )
        for key in tot:
            tot[key] += k[key]
    lines.append("-" * len(head))
    lines.append(
        f"{'total':<24}{tot['files']:>7}{tot['loaded']:>8}{tot['whole-file']:>12}{tot['bug']:>6}{tot['read']:>11}{tot['rejected']:>15}"
    )
    return "\n".join(lines)
