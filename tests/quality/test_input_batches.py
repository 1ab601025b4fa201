"""Issue 17: the input suites check the deliveries new to the month's run, not the whole history.

The rule (fsm.quality.checks.new_deliveries): month M checks every delivery visible to M that arrived after
the newest earlier month whose official figures were built (run_log), the newest file of each feed and period.
So a scheduled month checks its own files; a cold run or a backfill checks all it loaded; a month that failed
its input suites is not built, and its bad delivery fails the next month again until a corrected redelivery
replaces it; a delivery a built month already passed is never checked again; a rerun checks what it checked.
"""

from __future__ import annotations

from datetime import date

import pytest

from fsm.ingest import ingest_feed
from fsm.quality import DataQualityError, check_inputs
from fsm.quality.checks import new_deliveries
from fsm.transform import run_fsm1
from support.scenario import Scenario

FEEDS = ("markings", "ydelse", "tilbud", "timer")
DUPLICATE = "stg_ydelse: unexpected_rows_expectation: one row per citizen and ISO week failed on 1 row(s)"


@pytest.fixture
def sc(wh, tmp_path, monkeypatch):
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path / "reports"))
    s = Scenario(tmp_path / "landing")
    s.brutto(1).brutto(2)
    s.benefits(1, "2017-W31", "2017-W52").benefits(2, "2017-W31", "2017-W52")
    return s


def _m(label: str) -> date:
    return date.fromisoformat(label + "-01")


def ingest(sc, month: str) -> None:
    sc.write(month)
    for feed in FEEDS:
        ingest_feed(feed, _m(month), str(sc.root))


def scheduled(sc, month: str) -> dict:
    """What the DAG does for a month, in its order: ingest, the input suites, then the figures (run_log)."""
    ingest(sc, month)
    out = check_inputs(_m(month))
    run_fsm1(_m(month))
    return out


def test_a_scheduled_month_checks_its_own_deliveries_only(sc, wh):
    scheduled(sc, "2017-08")
    out = scheduled(sc, "2017-09")
    assert out["checked_since"] == "2017-08"
    assert out["files_checked"] == {"markings": 1, "tilbud": 1, "timer": 1, "uddannelse": 0, "ydelse": 1}
    files, since = new_deliveries(_m("2017-09"), ["ydelse"])
    with wh.connect() as conn:
        own = conn.execute("select file_id from ingest_file where feed = 'ydelse' and period = '2017-09-01'").fetchall()
    assert files == {"ydelse": [own[0][0]]} and since == _m("2017-08")
    # a rerun of the month checks what its first run checked (the months before it are unchanged)
    assert check_inputs(_m("2017-09"))["files_checked"] == out["files_checked"]


def test_a_cold_run_and_a_backfill_check_everything_they_loaded(sc, wh):
    sc.benefit("2017-W32", 1)  # 2017-08's delivery: citizen 1's week 32 twice
    ingest(sc, "2017-10")
    files, since = new_deliveries(_m("2017-10"), list(FEEDS))
    assert since is None and {f: len(ids) for f, ids in files.items()} == dict.fromkeys(FEEDS, 3)
    with pytest.raises(DataQualityError) as err:  # the month's own delivery is clean; the history is not
        check_inputs(_m("2017-10"))
    assert DUPLICATE in str(err.value)


def test_a_bad_new_row_fails_the_month_and_a_built_months_delivery_is_not_checked_again(sc, wh):
    scheduled(sc, "2017-08")
    scheduled(sc, "2017-09")
    # A row of 2017-08's delivery that no suite would pass now: the months built on it passed it when it was
    # new, and later months do not check it again.
    with wh.connect() as conn:
        conn.execute(
            "update stg_ydelse set kommune_kode = 999 where file_id ="  # not a municipality (ydelse_kode is an enum since V011)
            " (select file_id from ingest_file where feed = 'ydelse' and period = '2017-08-01') and line_no = 2"
        )
    assert scheduled(sc, "2017-10")["files_checked"]["ydelse"] == 1
    sc.benefit("2017-W45", 2)  # 2017-11's delivery: citizen 2's week 45 twice
    ingest(sc, "2017-11")
    with pytest.raises(DataQualityError) as err:
        check_inputs(_m("2017-11"))
    assert DUPLICATE in str(err.value) and "kommune_kode" not in str(err.value)


def test_a_failed_months_delivery_fails_the_next_month_until_a_redelivery_replaces_it(sc, wh):
    scheduled(sc, "2017-08")
    sc.benefit("2017-W36", 1)  # 2017-09's delivery: citizen 1's week 36 twice
    ingest(sc, "2017-09")
    with pytest.raises(DataQualityError) as first:
        check_inputs(_m("2017-09"))  # the month fails: its figures are not built
    # The next month's run builds on 2017-09's delivery for the first time: it is checked (and fails) again.
    ingest(sc, "2017-10")
    with pytest.raises(DataQualityError) as second:
        check_inputs(_m("2017-10"))
    assert DUPLICATE in str(first.value) and DUPLICATE in str(second.value)
    assert new_deliveries(_m("2017-10"), ["ydelse"])[1] == _m("2017-08")
    # A corrected redelivery of 2017-09 (same file name, new content) replaces the bad file: 2017-10 passes,
    # checking the redelivery and its own delivery, not the file the redelivery corrects.
    sc.ydelse["2017-09"].remove(sc.ydelse["2017-09"][-1])
    ingest(sc, "2017-10")
    with wh.connect() as conn:
        ydelse = conn.execute(
            "select file_id, period, visible_from from ingest_file where feed = 'ydelse' order by file_id"
        ).fetchall()
    redelivery = ydelse[-1]
    assert redelivery[1:] == (_m("2017-09"), _m("2017-10"))  # P5: it counts from the run that loaded it
    out = check_inputs(_m("2017-10"))
    files, _ = new_deliveries(_m("2017-10"), ["ydelse"])
    own = next(f for f, period, _vis in ydelse if period == _m("2017-10"))
    assert sorted(files["ydelse"]) == sorted([own, redelivery[0]]) and out["files_checked"]["ydelse"] == 2


def test_what_if_runs_do_not_count_as_built(sc, wh):
    scheduled(sc, "2017-08")
    with wh.connect() as conn:
        conn.execute("update run_log set what_if = 'stricter'")
    ingest(sc, "2017-09")
    assert new_deliveries(_m("2017-09"), ["ydelse"])[1] is None
    assert check_inputs(_m("2017-09"))["files_checked"]["ydelse"] == 2
