"""Ingest per CONTRACT §1: dialects, rejects with line numbers, reconciliation, idempotency, whole-file failures."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from fsm.ingest import ingest_feed
from fsm.ingest.landing import LandingError

CPR_A = "0101801234"  # 1980-01-01
CPR_B = "150275-4321"  # 1975-02-15, hyphenated
CPR_C = "3112909999"  # 1990-12-31
INPUT_CPRS = [CPR_A, CPR_B, CPR_C, CPR_B.replace("-", "")]
MARKINGS_HEADER = "marking_id;cpr;kommune_kode;marking_code;start_date;end_date;registered_at;fritagelse_aarsag"


def write(root, rel: str, text: str | bytes, encoding: str = "utf-8"):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def rejects(conn, feed: str | None = None):
    return conn.execute(
        "select file, line_no, reason, row_masked from ingest_rejects where feed = coalesce(%s, feed) order by file, line_no",
        (feed,),
    ).fetchall()


def test_markings_semicolon_bom_with_every_reject_reason(wh, landing):
    text = "\ufeff" + "\n".join(
        [
            MARKINGS_HEADER,
            f"m1;{CPR_A};101;FSM_BRUTTO;2016-12-01;;2017-06-20T10:00:00;",  # 2 ok
            f"m2;{CPR_B};0101;FSM_GR1;2017-09-11;;2017-09-11T09:00:00+02:00;",  # 3 ok (4-digit code)
            "m3;01018X1234;101;FSM_GR1;2017-09-11;;2017-09-11T09:00:00;",  # 4 bad CPR
            f"m4;{CPR_A};999;FSM_GR1;2017-09-11;;2017-09-11T09:00:00;",  # 5 unknown kommune
            f"m5;{CPR_A};101;FSM_GR9;2017-09-11;;2017-09-11T09:00:00;",  # 6 unknown code
            f"m6;{CPR_A};101;FSM_GR1;2017-02-30;;2017-09-11T09:00:00;",  # 7 bad date
            f"m7;{CPR_A};101;FSM_GR1",  # 8 wrong column count
            f'm8;{CPR_C};101;FSM_GR2;2017-10-01;;2017-10-01T08:00:00;"two\nlines"',  # 9-10 ok, quoted newline
            f"m9;{CPR_C};101;FSM_GR2;2017-10-01;;not-a-time;",  # 11 bad timestamp
            MARKINGS_HEADER,  # 12 repeated header
            f"m1;{CPR_C};101;FSM_GR3;2017-10-01;;2017-10-01T08:00:00;",  # 13 repeated marking_id
        ]
    )
    write(landing, "markings/markings_2017-10-31.csv", text + "\n")
    summary = ingest_feed("markings", date(2017, 10, 1))
    assert summary == {
        "feed": "markings",
        "files_loaded": 1,
        "files_skipped": 0,
        "rows_read": 11,
        "rows_loaded": 3,
        "rows_rejected": 8,
    }
    with wh.connect() as conn:
        got = [(line, reason.split(" '")[0].split(" (")[0]) for _, line, reason, _ in rejects(conn)]
        masked = [row for *_, row in rejects(conn)]
        loaded = conn.execute(
            "select marking_id, line_no, kommune_kode, registered_date from stg_markings order by line_no"
        ).fetchall()
    assert got == [
        (4, "invalid CPR"),
        (5, "unknown kommune_kode"),
        (6, "unknown marking_code"),
        (7, "unparsable start_date"),
        (8, "expected 8 fields, found 4"),
        (11, "unparsable registered_at"),
        (12, "repeated header row"),
        (13, "marking_id repeated in the snapshot"),
    ]
    assert masked[1].startswith("m4;XXXXXX-XXXX;999;")  # the row kept, its CPR masked
    assert [r[0] for r in loaded] == ["m1", "m2", "m8"]
    assert [r[1] for r in loaded] == [2, 3, 9]  # physical lines: m8 starts on line 9
    assert loaded[1][2] == 101
    assert loaded[1][3] == date(2017, 9, 11)  # 09:00+02:00 is that day in Copenhagen


def test_reject_reasons_are_exact(wh, landing):
    write(
        landing,
        "registers/timer/timer_2018-03.csv",
        "cpr,month,cvr,hours,subsidised\n"
        f'{CPR_A},2018-03,12345678,"37,5",0\n'  # 2 ok: decimal comma in a ','-file, quoted
        f"{CPR_A},2018-03,12345678,-3,0\n"  # 3 negative
        f"{CPR_A},2018-3,12345678,1,0\n"  # 4 bad month
        f"{CPR_A},2018-03,1234,1,0\n"  # 5 bad cvr
        f"{CPR_A},2018-03,12345678,1,2\n"  # 6 bad flag
        f"{CPR_A},2018-03,12345678,9999,0\n",  # 7 absurd hours
    )
    ingest_feed("timer", date(2018, 3, 1))
    with wh.connect() as conn:
        got = [(line, reason) for _, line, reason, _ in rejects(conn, "timer")]
        hours = conn.execute("select hours, subsidised from stg_timer").fetchall()
    assert got == [
        (3, "negative hours -3"),
        (4, "unparsable month '2018-3' (expected YYYY-MM)"),
        (5, "cvr must be 8 digits, got '1234'"),
        (6, "subsidised must be 0 or 1, got '2'"),
        (7, "hours above 744 in a month: 9999"),
    ]
    assert [(str(h), s) for h, s in hours] == [("37.50", False)]


def test_rows_read_equals_loaded_plus_rejected_per_file(wh, landing):
    write(
        landing,
        "registers/ydelse/ydelse_2018-03.csv",
        "cpr;iso_week;kommune_kode;ydelse_kode;matchgruppe;introduktionsprogram;herkomst\n"
        f"{CPR_A};2018-W10;101;KONTANTHJAELP;AKTIVITETSPARAT;0;DANSK\n"
        f"{CPR_A};2018-W53;101;KONTANTHJAELP;AKTIVITETSPARAT;0;DANSK\n"  # 2018 has no week 53
        f"{CPR_B};2018-W09;147;REVALIDERING;;0;IKKE_VESTLIG\n"
        f"{CPR_B};2018-W09;147;KONTANTHJAELP;XPARAT;0;DANSK\n",
    )
    ingest_feed("ydelse", date(2018, 3, 1))
    with wh.connect() as conn:
        f = conn.execute("select rows_read, rows_loaded, rows_rejected from ingest_file").fetchone()
        n_stg = conn.execute("select count(*) from stg_ydelse").fetchone()[0]
        n_rej = conn.execute("select count(*) from ingest_rejects").fetchone()[0]
        weeks = conn.execute(  # the ISO week from its number and week_month's year (V011); the birth date is the person's
            "select to_char(y.week_month, 'YYYY') || '-W' || lpad(y.iso_week_no::text, 2, '0'), y.week_month, p.birth_date"
            " from stg_ydelse as y join dim_person as p using (person_id) order by y.line_no"
        ).fetchall()
    assert f == (4, 2, 2)
    assert (n_stg, n_rej) == (2, 2)
    # A week belongs to the month of its Thursday: 2018-W09's Thursday is 1 March.
    assert weeks == [("2018-W10", date(2018, 3, 1), date(1980, 1, 1)), ("2018-W09", date(2018, 3, 1), date(1975, 2, 15))]


def test_parquet_feed_loads_like_csv(wh, landing):
    path = landing / "registers/tilbud/tilbud_2018-03.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame(
        {
            "tilbud_id": ["t1", "t2"],
            "cpr": [CPR_A, "bad"],
            "kommune_kode": [101, 101],
            "tilbud_type": ["LOENTILSKUD", "MENTOR"],
            "start_date": [date(2018, 3, 1), date(2018, 3, 2)],
            "end_date": [None, date(2018, 3, 31)],
        }
    ).to_parquet(path)
    ingest_feed("tilbud", date(2018, 3, 1))
    with wh.connect() as conn:
        assert conn.execute("select tilbud_id, end_date from stg_tilbud").fetchall() == [("t1", None)]
        assert [(r[1], r[2][:11]) for r in rejects(conn)] == [(3, "invalid CPR")]


def test_reloading_the_same_file_changes_nothing(wh, landing):
    write(landing, "markings/markings_2017-08-31.csv", f"{MARKINGS_HEADER}\nm1;{CPR_A};101;FSM_BRUTTO;2016-12-01;;2017-06-20;\n")
    first = ingest_feed("markings", date(2017, 8, 1))
    second = ingest_feed("markings", date(2017, 8, 1))
    assert (first["files_loaded"], second["files_loaded"], second["files_skipped"]) == (1, 0, 1)
    with wh.connect() as conn:
        assert conn.execute("select count(*) from stg_markings").fetchone()[0] == 1
        assert conn.execute("select count(*) from ingest_file").fetchone()[0] == 1


def test_month_sees_only_files_up_to_it(wh, landing):
    write(landing, "markings/markings_2017-08-31.csv", f"{MARKINGS_HEADER}\nm1;{CPR_A};101;FSM_BRUTTO;2016-12-01;;2017-06-20;\n")
    write(landing, "markings/markings_2017-09-30.csv", f"{MARKINGS_HEADER}\nm1;{CPR_A};101;FSM_BRUTTO;2016-12-01;;2017-06-20;\n")
    assert ingest_feed("markings", date(2017, 8, 1))["files_loaded"] == 1  # P5: September's snapshot is not seen yet


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("markings/markings_2017-08-31.csv", b"", "the file is empty (zero bytes)"),
        (
            "markings/markings_2017-08-31.csv",
            (MARKINGS_HEADER + "\nm1;x;1;FSM_GR1;2017-01-01;;2017-01-01;æ\n").encode("latin-1"),
            "not UTF-8",
        ),
        ("markings/markings_2017-08-31.csv", (MARKINGS_HEADER + "\n").encode(), "header and no rows is never a valid delivery"),
        (
            "markings/markings_2017-08-31.csv",
            b"marking_id;cpr;kommune_kode\nm1;0101801234;101\n",
            "missing required column(s) marking_code",
        ),
        ("markings/markings_2017-08-31.csv", "x;y\n".encode("utf-16"), "not UTF-8"),
        ("registers/timer/timer_2017-08.parquet", b"PAR1 this is not parquet", "not a readable Parquet file"),
        ("markings/markings_2017-8-31.csv", b"whatever", "file name does not match"),
    ],
)
def test_whole_file_failures_name_the_file(wh, landing, name, content, message):
    write(landing, name, content)
    feed = "timer" if "timer" in name else "markings"
    with pytest.raises(LandingError) as err:
        ingest_feed(feed, date(2017, 8, 1))
    assert name.rsplit("/", 1)[-1] in str(err.value)
    assert message in str(err.value)
    with wh.connect() as conn:  # nothing half-loaded
        assert conn.execute("select count(*) from ingest_file").fetchone()[0] == 0


def test_header_only_register_file_is_a_valid_empty_delivery(wh, landing):
    write(landing, "registers/timer/timer_2018-03.csv", "cpr;month;cvr;hours;subsidised\n")
    assert ingest_feed("timer", date(2018, 3, 1))["files_loaded"] == 1


def test_no_raw_cpr_in_any_warehouse_text_column(wh, landing):
    test_markings_semicolon_bom_with_every_reject_reason(wh, landing)
    test_reject_reasons_are_exact(wh, landing)
    with wh.connect() as conn:
        cols = conn.execute(
            "select table_name, column_name from information_schema.columns"
            " where table_schema = 'public' and data_type in ('text', 'character varying')"
        ).fetchall()
        for table, column in cols:
            for cpr in [*INPUT_CPRS, "010180-1234", "01018X1234"]:
                hits = conn.execute(f'select count(*) from {table} where "{column}" like %s', (f"%{cpr}%",)).fetchone()[0]
                assert hits == 0, f"{table}.{column} holds a raw CPR"


def test_arrow_copy_text_stores_exactly_what_write_row_stores(wh):
    """The fast COPY path (Arrow-built text, issue 8) and psycopg's write_row store the same values:
    NULL stays NULL, '' stays '', a literal backslash-N stays text, tabs, line breaks and backslashes survive."""
    import datetime as dt

    from fsm.ingest.staging import _copy_rows, arrow_table, copy_text

    tricky = ["\\N", "", "a\tb", "line\nbreak\r\n", "back\\slash", "\\", "æøå ✓", "end\\"]
    n = len(tricky)
    frame = pd.DataFrame(
        {
            "file_id": [7] * n,
            "line_no": list(range(2, n + 2)),
            "marking_id": tricky,
            "fritagelse_aarsag": [None, "", *tricky[2:]],
            "start_date": [dt.date(2017, 8, 1), None, pd.NaT, *[dt.date(2020, 2, 29)] * (n - 3)],
            "subsidised": [True, False] * (n // 2),
            "registered_at": pd.Series(pd.to_datetime(["2017-06-20T05:00:00.123456"] * (n - 1) + [None])).dt.tz_localize(
                "Europe/Copenhagen"
            ),
        }
    )
    payload = copy_text(arrow_table(frame))
    cols = ", ".join(frame.columns)
    ddl = (
        "(file_id bigint, line_no int, marking_id text, fritagelse_aarsag text, start_date date, subsidised boolean,"
        " registered_at timestamptz)"
    )
    with wh.connect() as conn:
        conn.execute(f"create temp table fast {ddl}")
        conn.execute(f"create temp table slow {ddl}")
        with conn.cursor().copy(f"copy fast ({cols}) from stdin") as cp:
            cp.write(payload)
        _copy_rows(conn, "slow", arrow_table(frame))  # the fallback for a connection that is not UTF-8: write_row
        fast = conn.execute(f"select {cols} from fast order by line_no").fetchall()
        slow = conn.execute(f"select {cols} from slow order by line_no").fetchall()
    assert fast == slow
    assert [r[2] for r in fast] == tricky and fast[0][3] is None and fast[1][3] == ""
    assert fast[0][4] == dt.date(2017, 8, 1) and fast[1][4] is None and fast[2][4] is None
    assert fast[0][6] == dt.datetime(2017, 6, 20, 3, 0, 0, 123456, tzinfo=dt.UTC) and fast[-1][6] is None


def test_parquet_text_vectorised_equals_value_by_value():
    """Parquet text columns are converted by Arrow; the result is `_parquet_text`'s, value for value
    (None -> '', Python's str.strip() for every kind of edge whitespace)."""
    import pyarrow as pa

    from fsm.ingest.readers import _arrow_text, _parquet_text

    values = ["x", " x ", "\tx\n", "\u00a0x\u2003", "\x1cx\x1f", "x\x85", "", None, "  ", "a b", "\u3000", "ø ", "\\N"]
    for arr in (pa.array(values, pa.string()), pa.array(values, pa.large_string()), pa.array(values).dictionary_encode()):
        assert _arrow_text(arr).to_pylist() == [_parquet_text(v) for v in values]
    assert _arrow_text(pa.array([None, None], pa.null())).to_pylist() == ["", ""]
    # integers, booleans and dates are Arrow's casts now: the same text as value by value
    import datetime as dt

    for arr in (
        pa.array([1, None, -30, 2**40], pa.int64()),
        pa.array([7, None], pa.int16()),
        pa.array([True, None, False]),
        pa.array([dt.date(2019, 1, 5), None, dt.date(1, 1, 1)], pa.date32()),
    ):
        assert _arrow_text(arr).to_pylist() == [_parquet_text(v) for v in arr.to_pylist()]
