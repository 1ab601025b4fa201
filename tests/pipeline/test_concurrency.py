"""Issue 9: concurrency (two months at once, the same month twice, the locks) and late or
corrected register data (P5).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from fsm.ingest import ingest_feed
from fsm.transform import run_fsm1
from support.child import run as run_months
from support.db import dump, empty_warehouse
from support.scenario import Scenario

CHILD = Path(__file__).resolve().parents[1] / "support" / "child.py"
SEP, OCT = date(2017, 9, 1), date(2017, 10, 1)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from fsm_dev.synth import generate

    root = tmp_path_factory.mktemp("concurrency") / "landing"
    generate(root, seed=4, scale="tiny", start="2017-08", end="2017-10")
    return root


def _together(synthetic: Path, tmp: Path, month_lists: list[list[str]]) -> None:
    """Start one process per month list at the same moment; all must succeed."""
    procs = []
    for i, months in enumerate(month_lists):
        procs.append(
            subprocess.Popen([sys.executable, str(CHILD), str(synthetic), str(tmp / f"p{i}.txt"), *months], env=dict(os.environ))
        )
    for p in procs:
        assert p.wait(timeout=300) == 0


def _dump(wh) -> dict[str, list]:
    with wh.connect() as conn:
        return dump(conn)


def test_two_months_at_the_same_time_equal_one_after_the_other(wh, synthetic, tmp_path):
    run_months(str(synthetic), ["2017-08", "2017-09", "2017-10"])
    sequential = _dump(wh)
    for round_ in range(3):  # three interleavings
        empty_warehouse()
        run_months(str(synthetic), ["2017-08"])
        (tmp_path / str(round_)).mkdir()
        _together(synthetic, tmp_path / str(round_), [["2017-09"], ["2017-10"]])
        with wh.connect() as conn:
            concurrent = dump(conn)
        for table, rows in sequential.items():
            assert concurrent[table] == rows, f"round {round_}: {table} differs from the sequential run"


def test_the_same_month_twice_at_the_same_time_writes_once(wh, synthetic, tmp_path):
    run_months(str(synthetic), ["2017-08", "2017-09", "2017-10"])
    single = _dump(wh)
    empty_warehouse()
    run_months(str(synthetic), ["2017-08", "2017-09"])
    _together(synthetic, tmp_path, [["2017-10"], ["2017-10"]])
    with wh.connect() as conn:
        twice = dump(conn)
        assert conn.execute("select count(*) - count(distinct (feed, file_name, sha256)) from ingest_file").fetchone()[0] == 0
    assert twice == single


def _blocked(target, *args) -> tuple[threading.Thread, dict]:
    box: dict = {}

    def work():
        try:
            box["result"] = target(*args)
        except Exception as exc:  # noqa: BLE001 - reported to the test below
            box["error"] = exc

    t = threading.Thread(target=work, daemon=True)
    t.start()
    return t, box


def _waiting_on_advisory_lock(wh) -> int:
    with wh.connect(autocommit=True) as conn:
        return conn.execute("select count(*) from pg_locks where locktype = 'advisory' and not granted").fetchone()[0]


def test_a_second_run_of_a_month_waits_for_the_first_to_commit(wh, synthetic):
    """Run A holds the marts lock mid-transaction (its delete done, insert pending); run B cannot write."""
    run_months(str(synthetic), ["2017-08", "2017-09"])
    with wh.connect() as a:
        a.execute("select pg_advisory_xact_lock(hashtext('fsm1-marts'))")
        a.execute("delete from mart_visitation_progress where as_of_month = %s", (SEP,))  # A is half-way
        b, box = _blocked(run_fsm1, SEP)
        time.sleep(1.5)
        assert b.is_alive() and "result" not in box, "run B wrote while run A held the month"
        assert _waiting_on_advisory_lock(wh) == 1
        a.rollback()  # A fails and rolls back: B goes on alone
    b.join(60)
    assert box.get("result", {}).get("month") == "2017-09", box
    with wh.connect() as conn:
        assert conn.execute("select count(*) from mart_visitation_progress where as_of_month = %s", (SEP,)).fetchone()[0] > 0


def test_a_second_load_of_a_feed_waits_then_skips_the_file(wh, synthetic):
    with wh.connect() as a:
        a.execute("select pg_advisory_xact_lock(hashtext('ingest:ydelse'))")
        b, box = _blocked(ingest_feed, "ydelse", date(2017, 8, 1), str(synthetic))
        time.sleep(1.0)
        assert b.is_alive() and _waiting_on_advisory_lock(wh) == 1
    b.join(60)
    assert box["result"]["files_loaded"] == 1
    assert ingest_feed("ydelse", date(2017, 8, 1), str(synthetic))["files_skipped"] == 1


# --- late and corrected register data (P5) ----------------------------------------------------


def _activity(wh, as_of: date) -> dict[str, tuple[int, int]]:
    with wh.connect() as conn:
        rows = conn.execute(
            "select to_char(activity_month, 'YYYY-MM'), cohort_n, active_n from mart_activity_share"
            " where as_of_month = %s and kommune_kode = 101 order by 1",
            (as_of,),
        ).fetchall()
    return {m: (c, a) for m, c, a in rows}


def _marts(wh, as_of: date) -> list:
    with wh.connect() as conn:
        return [
            conn.execute(f"select (to_jsonb(m))::text from {t} m where as_of_month = %s order by 1", (as_of,)).fetchall()
            for t in ("mart_visitation_progress", "mart_activity_share", "mart_tranche_status")
        ]


def _ingest_all(root: Path, month: date) -> dict[str, dict]:
    return {feed: ingest_feed(feed, month, str(root)) for feed in ("markings", "ydelse", "tilbud", "timer")}


@pytest.fixture
def late(wh, tmp_path):
    """Citizens 1 and 2 in group 1 from September 2017 (indsatsgruppe of two)."""
    sc = Scenario(tmp_path / "landing")
    sc.brutto(1).brutto(2)
    sc.mark("g1", 1, "FSM_GR1", "2017-09-04").mark("g2", 2, "FSM_GR1", "2017-09-04")
    sc.write("2017-10")
    return sc


def test_corrected_register_file_is_picked_up_by_the_next_run_without_rewriting_earlier_months(wh, late):
    root = late.root
    timer_sep = root / "registers/timer/timer_2017-09.csv"
    assert timer_sep.read_text().count("\n") == 1  # September's hours: none delivered (header only)
    _ingest_all(root, SEP)
    run_fsm1(SEP)
    sep_before = _marts(wh, SEP)
    assert _activity(wh, SEP)["2017-09"] == (2, 0)

    # After September's run, a corrected September file arrives: citizen 1 had ordinary hours.
    timer_sep.write_text("cpr;month;cvr;hours;subsidised\n0101801001;2017-09;12345678;37,5;0\n")
    got = _ingest_all(root, OCT)
    assert got["timer"]["files_loaded"] == 2  # the correction and October's own file
    run_fsm1(OCT)
    assert _activity(wh, OCT)["2017-09"] == (2, 1)  # October's run uses the corrected delivery
    assert _marts(wh, SEP) == sep_before  # September's snapshot is not rewritten
    run_fsm1(SEP)  # P5: rerunning September after the correction arrived reproduces September
    assert _marts(wh, SEP) == sep_before
    with wh.connect() as conn:
        assert conn.execute(
            "select to_char(visible_from, 'YYYY-MM') from ingest_file where file_name = 'timer_2017-09.csv' order by file_id"
        ).fetchall() == [("2017-09",), ("2017-10",)]

    # The same bytes delivered again: skipped, nothing changes.
    oct_marts = _marts(wh, OCT)
    timer_sep.write_bytes(timer_sep.read_bytes())
    assert _ingest_all(root, OCT)["timer"] == {
        "feed": "timer", "files_loaded": 0, "files_skipped": 3, "rows_read": 0, "rows_loaded": 0, "rows_rejected": 0,
    }  # fmt: skip
    run_fsm1(OCT)
    assert _marts(wh, OCT) == oct_marts
    with wh.connect() as conn:  # both September deliveries are kept (bitemporal staging)
        assert conn.execute("select count(*) from ingest_file where file_name = 'timer_2017-09.csv'").fetchone()[0] == 2


def test_register_file_arriving_after_its_months_run_is_picked_up_next_month(wh, late):
    root = late.root
    tilbud_sep = root / "registers/tilbud/tilbud_2017-09.csv"
    tilbud_sep.unlink()  # not there when September runs (a forced run past the sensor)
    _ingest_all(root, SEP)
    run_fsm1(SEP)
    sep_before = _marts(wh, SEP)
    assert _activity(wh, SEP)["2017-09"] == (2, 0)

    late.offer("2017-09", "t1", 2, "VIRKSOMHEDSPRAKTIK", "2017-09-11", "2017-10-31")
    late.write("2017-10")  # September's offers arrive late, with October's files
    assert _ingest_all(root, OCT)["tilbud"]["files_loaded"] == 2
    run_fsm1(OCT)
    assert {m: v for m, v in _activity(wh, OCT).items() if m >= "2017-09"} == {"2017-09": (2, 1), "2017-10": (2, 1)}
    assert _marts(wh, SEP) == sep_before
