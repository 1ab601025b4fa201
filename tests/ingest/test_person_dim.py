"""The person dimension (issue 17 part 2, V011): one dim_person row and one person_key per CPR, whatever
file or feed it comes in; the key is fsm.cpr's HMAC; an existing warehouse upgrades keeping every person."""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg
import pytest

from fsm import contract, warehouse
from fsm.cpr import person_key
from fsm.ingest import ingest_feed
from support.db import server_url, throwaway_database

CPR_A = "0101801234"  # 1980-01-01
CPR_B = "150275-4321"  # 1975-02-15, hyphenated here, plain in the other files
CPR_C = "3112909999"  # 1990-12-31
YDELSE_HEADER = "cpr;iso_week;kommune_kode;ydelse_kode;matchgruppe;introduktionsprogram;herkomst"
MARKINGS_HEADER = "marking_id;cpr;kommune_kode;marking_code;start_date;end_date;registered_at;fritagelse_aarsag"
STAGING = ("stg_markings", "stg_ydelse", "stg_tilbud", "stg_timer", "stg_uddannelse")


def write(root, rel: str, lines: list[str]) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_one_citizen_one_row_and_one_key_across_files_and_feeds(wh, landing):
    plain_b = CPR_B.replace("-", "")
    write(landing, "markings/markings_2018-03-31.csv", [
        MARKINGS_HEADER,
        f"m1;{CPR_A};101;FSM_BRUTTO;2016-12-01;;2017-06-20T10:00:00;",
        f"m2;{CPR_B};147;FSM_BRUTTO;2016-12-01;;2017-06-20T10:00:00;",
    ])  # fmt: skip
    write(landing, "registers/ydelse/ydelse_2018-03.csv", [
        YDELSE_HEADER,
        f"{CPR_A};2018-W10;101;KONTANTHJAELP;AKTIVITETSPARAT;0;DANSK",
        f"{CPR_A};2018-W11;101;KONTANTHJAELP;AKTIVITETSPARAT;0;DANSK",
        f"{plain_b};2018-W10;147;REVALIDERING;;0;IKKE_VESTLIG",
    ])  # fmt: skip
    write(landing, "registers/ydelse/ydelse_2018-04.csv", [
        YDELSE_HEADER,
        f"{CPR_B};2018-W14;147;KONTANTHJAELP;JOBPARAT;1;VESTLIG",
        f"{CPR_C};2018-W14;101;SYGEDAGPENGE;;0;DANSK",
    ])  # fmt: skip
    write(landing, "registers/timer/timer_2018-03.csv", ["cpr;month;cvr;hours;subsidised", f"{CPR_A};2018-03;12345678;10,5;0"])
    for feed in ("markings", "ydelse", "timer"):
        ingest_feed(feed, date(2018, 4, 1))
    with wh.connect() as conn:
        dim = conn.execute("select person_key, birth_date from dim_person order by birth_date").fetchall()
        staged = {
            t: conn.execute(f"select p.person_key from {t} as s join dim_person as p using (person_id) order by 1").fetchall()
            for t in ("stg_markings", "stg_ydelse", "stg_timer")
        }
        counts = conn.execute("select count(*), count(distinct person_id) from stg_ydelse").fetchone()
    # one row per citizen, the key fsm.cpr's HMAC of the 10 digits, the birth date from the CPR
    assert dim == [
        (person_key(plain_b), date(1975, 2, 15)),
        (person_key(CPR_A), date(1980, 1, 1)),
        (person_key(CPR_C), date(1990, 12, 31)),
    ]
    assert staged["stg_markings"] == sorted([(person_key(CPR_A),), (person_key(plain_b),)])
    assert staged["stg_timer"] == [(person_key(CPR_A),)]
    assert counts == (5, 3)
    assert sorted(set(staged["stg_ydelse"])) == sorted((k,) for k, _ in dim)


def test_no_staging_table_carries_a_person_key(wh):
    with wh.connect() as conn:
        cols = conn.execute(
            "select table_name, column_name from information_schema.columns"
            " where table_schema = 'public' and (table_name like 'stg%%' or table_name like 'int%%')"
            " and column_name in ('person_key', 'cpr', 'birth_date')"
        ).fetchall()
        enums = dict(
            conn.execute(
                "select t.typname, array_agg(e.enumlabel order by e.enumsortorder) from pg_type as t"
                " join pg_enum as e on e.enumtypid = t.oid group by t.typname"
            ).fetchall()
        )
    assert cols == []
    # the benefit enums are the contract's code lists
    assert enums == {
        "ydelse_kode": list(contract.YDELSE_CODES),
        "matchgruppe": list(contract.MATCHGRUPPER),
        "herkomst": list(contract.HERKOMST),
    }
    assert {f.staging_table for f in contract.FEEDS.values() if "person_id" in f.staging_columns} == set(STAGING)


def _v010_rows(conn) -> None:
    """A warehouse at V010 with a few staged rows of every feed (by hand: today's loader writes V011's shape)."""
    k = {c: person_key(c.replace("-", "")) for c in (CPR_A, CPR_B, CPR_C)}
    files = {}
    for feed, name, period in (
        ("markings", "markings_2018-03-31.csv", date(2018, 3, 31)),
        ("ydelse", "ydelse_2018-03.csv", date(2018, 3, 1)),
        ("tilbud", "tilbud_2018-03.csv", date(2018, 3, 1)),
        ("timer", "timer_2018-03.csv", date(2018, 3, 1)),
        ("uddannelse", "uddannelse_2018-03.csv", date(2018, 3, 1)),
    ):
        files[feed] = conn.execute(
            "insert into ingest_file (feed, file_name, uri, sha256, period, size_bytes, rows_read, rows_loaded, rows_rejected)"
            " values (%s, %s, %s, 'x', %s, 1, 0, 0, 0) returning file_id",
            (feed, name, name, period),
        ).fetchone()[0]
    reg = datetime(2017, 6, 20, 8, tzinfo=UTC)
    conn.execute(
        "insert into stg_marking_versions (marking_id, person_key, kommune_kode, marking_code, start_date, registered_at,"
        " registered_date, valid_from, valid_to) values"
        " ('m1', %(a)s, 101, 'FSM_BRUTTO', '2016-12-01', %(r)s, '2017-06-20', '2018-03-31', '9999-12-31'),"
        " ('m2', %(c)s, 147, 'FSM_BRUTTO', '2016-12-01', %(r)s, '2017-06-20', '2018-03-31', '9999-12-31')",
        {"a": k[CPR_A], "c": k[CPR_C], "r": reg},
    )
    conn.execute("insert into stg_marking_lines values (%s, array['m1', 'm2'], array[2, 3])", (files["markings"],))
    conn.execute(
        "insert into stg_ydelse (file_id, delivery_month, line_no, person_key, iso_week, week_month, kommune_kode, ydelse_kode,"
        " matchgruppe, introduktionsprogram, herkomst, birth_date) values"
        " (%(f)s, '2018-03-01', 2, %(a)s, '2018-W10', '2018-03-01', 101, 'KONTANTHJAELP', 'AKTIVITETSPARAT', false, 'DANSK', '1980-01-01'),"
        " (%(f)s, '2018-03-01', 3, %(b)s, '2018-W09', '2018-03-01', 147, 'REVALIDERING', null, true, 'IKKE_VESTLIG', '1975-02-15')",
        {"f": files["ydelse"], "a": k[CPR_A], "b": k[CPR_B]},
    )
    conn.execute(
        "insert into stg_tilbud values (%s, '2018-03-01', 2, 't1', %s, 101, 'LOENTILSKUD', '2018-03-01', null)",
        (files["tilbud"], k[CPR_C]),
    )
    conn.execute(
        "insert into stg_timer values (%s, '2018-03-01', 2, %s, '2018-03-01', '12345678', 7.5, false)", (files["timer"], k[CPR_A])
    )
    conn.execute(
        "insert into stg_uddannelse values (%s, '2018-03-01', 2, %s, '2018-03-01', true)", (files["uddannelse"], k[CPR_B])
    )


_KEYED = {  # each table's rows with the person_key they stand for, before V011 and after
    "stg_markings": ("select line_no, marking_id, person_key from stg_markings", "select s.line_no, s.marking_id, p.person_key"),
    "stg_ydelse": ("select line_no, iso_week, person_key, birth_date from stg_ydelse", None),
    "stg_tilbud": ("select line_no, tilbud_id, person_key from stg_tilbud", "select s.line_no, s.tilbud_id, p.person_key"),
    "stg_timer": ("select line_no, hours, person_key from stg_timer", "select s.line_no, s.hours, p.person_key"),
    "stg_uddannelse": (
        "select line_no, su_eligible, person_key from stg_uddannelse",
        "select s.line_no, s.su_eligible, p.person_key",
    ),
}


@pytest.fixture
def v010_warehouse(warehouse_url, monkeypatch):
    """A fresh database migrated to V010 with data, as FSM_WAREHOUSE_URL (the session's warehouse afterwards)."""
    with throwaway_database(server_url() or warehouse_url, "fsm_v010") as url:
        with psycopg.connect(url) as conn:
            conn.execute(
                "create table schema_version (version int primary key, name text not null,"
                " applied_at timestamptz not null default now())"
            )
            for path in sorted(warehouse.SCHEMA_DIR.glob("V*__*.sql")):
                version = int(path.name[1:].split("__", 1)[0])
                if version <= 10:
                    conn.execute(path.read_text(encoding="utf-8"))
                    conn.execute("insert into schema_version (version, name) values (%s, %s)", (version, path.stem))
            _v010_rows(conn)
        monkeypatch.setenv("FSM_WAREHOUSE_URL", url)
        warehouse.url.cache_clear()
        try:
            yield url
        finally:
            warehouse.url.cache_clear()


def test_a_v010_warehouse_upgrades_keeping_every_person(v010_warehouse, landing):
    with psycopg.connect(v010_warehouse) as conn:
        before = {t: sorted(conn.execute(q).fetchall()) for t, (q, _) in _KEYED.items()}
    assert warehouse.migrate()[0] == "V011__person_dimension.sql"  # and any later migration
    with psycopg.connect(v010_warehouse) as conn:
        after = {
            t: sorted(conn.execute(f"{q} from {t} as s join dim_person as p using (person_id)").fetchall())
            for t, (_, q) in _KEYED.items()
            if q
        }
        after["stg_ydelse"] = sorted(
            conn.execute(
                "select y.line_no, to_char(y.week_month, 'YYYY') || '-W' || lpad(y.iso_week_no::text, 2, '0'), p.person_key,"
                " p.birth_date from stg_ydelse as y join dim_person as p using (person_id)"
            ).fetchall()
        )
        dim = conn.execute("select person_key, birth_date from dim_person").fetchall()
    assert after == before  # every row keeps its person (and the benefit rows their week and birth date)
    keys = {c: person_key(c.replace("-", "")) for c in (CPR_A, CPR_B, CPR_C)}
    # one row per person_key staged anywhere; C has no benefit row yet, so no birth date until one comes
    assert sorted(dim) == sorted([(keys[CPR_A], date(1980, 1, 1)), (keys[CPR_B], date(1975, 2, 15)), (keys[CPR_C], None)])

    # after the upgrade the loader maps the same CPRs to the same rows, and fills C's birth date
    write(landing, "registers/ydelse/ydelse_2018-04.csv", [
        YDELSE_HEADER, f"{CPR_A};2018-W14;101;KONTANTHJAELP;AKTIVITETSPARAT;0;DANSK", f"{CPR_C};2018-W14;101;SYGEDAGPENGE;;0;DANSK",
    ])  # fmt: skip
    ingest_feed("ydelse", date(2018, 4, 1))
    with psycopg.connect(v010_warehouse) as conn:
        dim_after = conn.execute("select person_key, birth_date from dim_person").fetchall()
        april = conn.execute(
            "select p.person_key from stg_ydelse as y join dim_person as p using (person_id)"
            " join ingest_file as f using (file_id) where f.period = '2018-04-01' order by 1"
        ).fetchall()
    assert sorted(dim_after) == sorted(
        [(keys[CPR_A], date(1980, 1, 1)), (keys[CPR_B], date(1975, 2, 15)), (keys[CPR_C], date(1990, 12, 31))]
    )
    assert april == sorted([(keys[CPR_A],), (keys[CPR_C],)])


def test_the_planner_knows_a_benefit_file_holds_its_own_month(wh):
    """V012: file_id and week_month are nearly dependent (a monthly file holds its month's weeks). Three files of
    1,000 rows, each of its own month: independence would estimate (file 2, February) at 3,000 × ⅓ × ⅓ = 333
    rows, and the marking rules' anti joins became nested loops over every snapshot version on such estimates."""
    with wh.connect() as conn:
        conn.execute(
            "insert into stg_ydelse (file_id, line_no, person_id, week_month, ydelse_kode, herkomst, matchgruppe,"
            " kommune_kode, iso_week_no, introduktionsprogram)"
            " select f, n, n, make_date(2018, f, 1), 'KONTANTHJAELP', 'DANSK', null, 101, 4 * f, false"
            " from generate_series(1, 3) as f, generate_series(1, 1000) as n"
        )
        conn.execute("analyze stg_ydelse")
        plan = conn.execute(
            "explain (format json) select * from stg_ydelse where file_id = 2 and week_month = '2018-02-01'"
        ).fetchone()[0]
    assert plan[0]["Plan"]["Plan Rows"] > 800  # 1,000 true; 333 without the statistics
