"""Issue 17 part 3: validation in Arrow (fsm.ingest.fast) decides and stages exactly what the row-reason
checker alone (fsm.ingest.validate + staging_frame) decides and stages, row for row.

Each feed gets clean rows and rows broken in every way the checker knows, plus the ones Arrow cannot
decide itself (non-ASCII and CPR-shaped identifiers, NUL bytes, repeated marking_ids across chunks).
No database: the comparison is of the staged values, the citizens and the rejects.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from fsm import cpr as cprmod
from fsm.contract import FEEDS
from fsm.ingest.fast import FeedMemo, prepare
from fsm.ingest.landing import LandingFile
from fsm.ingest.readers import RawTable, raw_rows
from fsm.ingest.staging import arrow_table, staging_frame
from fsm.ingest.validate import CprMemo, validate

CPR = ["0101801234", "150275-4321", "2902920000", "1203651111"]
BAD_CPR = ["3102801234", "01018012", "abc", "", "0101801234x"]


def _chunk(feed: str, rows: list[dict[str, str]], first_line: int = 2, csv: bool = True) -> RawTable:
    cols = FEEDS[feed].columns
    columns = {c: pa.array([r.get(c, "") for r in rows], pa.string()) for c in cols}
    raw = [";".join(r.get(c, "") for c in cols) for r in rows] if csv else None
    return RawTable(columns, np.arange(first_line, first_line + len(rows), dtype=np.int64), raw, [], len(rows))


class _People:
    """dim_person without a database: an id per person_key, in order of first sight."""

    def __init__(self):
        self.ids: dict[str, int] = {}

    def ids_of(self, cpr10: list[str]) -> list[int]:
        key = cprmod.pseudonym_key()
        return [self.ids.setdefault(cprmod.person_key(c, key), len(self.ids) + 1) for c in cpr10]


def _checker_alone(feed: str, chunk: RawTable, f: LandingFile, seen: dict, memo: CprMemo):
    ok, bad = validate(feed, chunk.frame, seen, memo)
    frame, cpr10 = staging_frame(feed, ok, f, 0)
    rejects = list(zip(bad["line_no"].tolist(), bad["reason"].tolist(), raw_rows(bad, feed), strict=True))
    return arrow_table(frame), cpr10, rejects


def _assert_same(feed: str, chunks: list[RawTable]) -> tuple[int, int]:
    """Both paths over the same chunks (one file: shared marking_id memory); returns (staged, rejected)."""
    f = LandingFile(feed, "x", "x", f"mem://{feed}", date(2019, 12, 1), "csv")
    people = _People()
    memo = FeedMemo(people, CprMemo())
    seen_fast: dict[str, int] = {}
    seen_slow: dict[str, int] = {}
    staged = rejected = 0
    for chunk in chunks:
        fast = prepare(feed, chunk, f, seen_fast, memo)
        table, cpr10, rejects = _checker_alone(feed, chunk, f, seen_slow, CprMemo())
        assert fast.rejects == rejects
        other = [c for c in FEEDS[feed].staging_columns if c != "person_id"]  # person_id: the loader's (dim_person)
        got, want = fast.staged.select(other).to_pylist(), table.select(other).to_pylist()
        assert got == want
        assert fast.staged.schema.field("line_no").type == pa.int64()
        if cpr10:  # each staged row's citizen: dim_person's id of the checker's 10-digit CPR
            assert fast.staged["person_id"].to_pylist() == people.ids_of(cpr10)
        staged, rejected = staged + len(want), rejected + len(rejects)
        assert fast.staged.num_rows + len(fast.rejects) == chunk.rows_read
    assert seen_fast == seen_slow
    return staged, rejected


def test_ydelse_clean_and_broken_rows_staged_and_rejected_alike():
    good = {"iso_week": "2019-W49", "kommune_kode": "101", "ydelse_kode": "KONTANTHJAELP", "matchgruppe": "JOBPARAT"}
    good |= {"introduktionsprogram": "0", "herkomst": "DANSK"}
    rows = [good | {"cpr": c} for c in CPR] + [
        good | {"cpr": CPR[0], "kommune_kode": "0101", "matchgruppe": ""},
        good | {"cpr": CPR[1], "iso_week": "2020-W01", "introduktionsprogram": "1"},
        good | {"cpr": CPR[2], "iso_week": "2019-W53"},  # 2019 has 52 ISO weeks
        good | {"cpr": CPR[2], "iso_week": "2019-49"},
        good | {"cpr": CPR[0], "kommune_kode": "999"},
        good | {"cpr": CPR[0], "ydelse_kode": "XX"},
        good | {"cpr": CPR[0], "matchgruppe": "7"},
        good | {"cpr": CPR[0], "introduktionsprogram": "2"},
        good | {"cpr": CPR[0], "herkomst": "\x00"},
        *[good | {"cpr": c} for c in BAD_CPR],
    ]
    assert _assert_same("ydelse", [_chunk("ydelse", rows)]) == (6, 12)


@pytest.mark.parametrize("csv", [True, False], ids=["csv", "parquet"])
def test_markings_every_check_and_repeated_ids_across_chunks(csv):
    g = {"cpr": CPR[0], "kommune_kode": "147", "marking_code": "FSM_GR1", "start_date": "2019-03-01"}
    g |= {"end_date": "", "registered_at": "2019-03-02T10:00:00", "fritagelse_aarsag": ""}
    first = [
        g | {"marking_id": "M1"},
        g | {"marking_id": "M2", "end_date": "2019-06-30", "registered_at": "2019-03-31T02:30:00"},  # DST gap: NaT
        g | {"marking_id": "M3", "registered_at": "2019-10-27T02:30:00"},  # ambiguous hour: NaT
        g | {"marking_id": "M4", "registered_at": "2019-03-02T10:00:00+01:00", "fritagelse_aarsag": "syg 0101801234"},
        g | {"marking_id": "M5", "registered_at": "2019-03-02T09:00:00Z", "cpr": CPR[1]},
        g | {"marking_id": "M1"},  # repeated in the chunk
        g | {"marking_id": ""},
        g | {"marking_id": "M" + "9" * 100},
        g | {"marking_id": "M\t7"},
        g | {"marking_id": "MÆ8"},  # non-ASCII: the checker decides (it is fine)
        g | {"marking_id": "X0101801234"},  # holds a valid CPR
        g | {"marking_id": "X0000001234"},  # CPR-shaped, not a valid CPR: fine
        g | {"marking_id": "X١٢٣٤٥٦٧٨٩٠"},  # Arabic-Indic digits
        g | {"marking_id": "X０１０１８０-１２３４"},  # a valid CPR in full-width digits: refused
        g | {"marking_id": "M17", "registered_at": "1989-05-01T10:00:00"},
        g | {"marking_id": "M18", "registered_at": "2036-01-01T00:30:00+01:00"},
        g | {"marking_id": "M9", "start_date": "2019-02-30"},
        g | {"marking_id": "M10", "start_date": "1989-12-31"},
        g | {"marking_id": "M11", "end_date": "2036-01-01"},
        g | {"marking_id": "M12", "registered_at": "yesterday"},
        g | {"marking_id": "M13", "registered_at": ""},
        g | {"marking_id": "M14", "marking_code": "FSM9"},
        g | {"marking_id": "M15", "fritagelse_aarsag": "x" * 1001},
        g | {"marking_id": "M16", "kommune_kode": "0147"},
    ]
    second = [g | {"marking_id": "M2"}, g | {"marking_id": "M20"}, g | {"marking_id": "M5", "cpr": "bad"}]
    chunks = [_chunk("markings", first, 2, csv), _chunk("markings", second, 2 + len(first), csv)]
    staged, rejected = _assert_same("markings", chunks)
    assert (staged, rejected) == (8, 19)


def test_registers_and_allocations_alike():
    t = {"tilbud_id": "T1", "cpr": CPR[0], "kommune_kode": "101", "tilbud_type": "VIRKSOMHEDSPRAKTIK"}
    t |= {"start_date": "2019-01-07", "end_date": ""}
    tilbud = [t, t | {"tilbud_id": ""}, t | {"end_date": "2019-13-01"}, t | {"tilbud_type": "?"}, t | {"start_date": ""}]
    assert _assert_same("tilbud", [_chunk("tilbud", tilbud)]) == (1, 4)

    h = {"cpr": CPR[2], "month": "2019-11", "cvr": "12345678", "hours": "7,5", "subsidised": "1"}
    timer = [h, h | {"hours": "744"}, h | {"hours": "744,5"}, h | {"hours": "-1"}, h | {"hours": "abc"}]
    timer += [h | {"cvr": "1234567"}, h | {"month": "2019-13"}, h | {"month": "1989-12"}, h | {"subsidised": "ja"}]
    assert _assert_same("timer", [_chunk("timer", timer)]) == (2, 7)

    u = {"cpr": CPR[3], "month": "2019-11", "su_eligible": "0"}
    assert _assert_same("uddannelse", [_chunk("uddannelse", [u, u | {"su_eligible": ""}, u | {"cpr": ""}])]) == (1, 2)

    a = {"kommune_kode": "101", "programme": "FSM1", "grant_dkk": "1.234.567,50"}
    allocations = [a, a | {"grant_dkk": "250000"}, a | {"grant_dkk": "12.5"}, a | {"grant_dkk": "x"}, a | {"programme": "FSM3"}]
    assert _assert_same("allocations", [_chunk("allocations", allocations)]) == (3, 2)


def test_an_empty_chunk_stages_nothing():
    assert _assert_same("ydelse", [_chunk("ydelse", [])]) == (0, 0)


def test_the_feed_memo_computes_each_value_once_and_stays_bounded():
    from fsm.ingest.fast import _Memo

    calls: list[list[str]] = []

    def fn(values: list[str]) -> tuple[list]:
        calls.append(sorted(values))
        return ([len(v) for v in values],)

    memo = _Memo(fn, [pa.int64()], limit=3)
    assert memo.lookup(pa.array(["a", "bb"]))[0].to_pylist() == [1, 2]
    assert memo.lookup(pa.array(["bb", "ccc", "a"]))[0].to_pylist() == [2, 3, 1]
    assert calls == [["a", "bb"], ["ccc"]]  # only what is new is computed
    assert memo.lookup(pa.array(["dddd"]))[0].to_pylist() == [4]  # 4 values now: past the bound of 3
    assert memo.lookup(pa.array(["a", "dddd"]))[0].to_pylist() == [1, 4]  # emptied first, then computed again
    assert calls[2:] == [["dddd"], ["a", "dddd"]] and len(memo.at) == 2
