"""run_log (CONTRACT §2): one row per run of a month and programme — the run, the code, the rules in
force, the files read with their hashes, the rows written — and the report names the run that made it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from fsm import pipeline
from fsm.config import rules
from support.scenario import Scenario

MARCH = date(2018, 3, 1)


@pytest.fixture
def sc(landing):
    return Scenario(landing)


def test_each_run_of_a_month_leaves_its_row(sc, wh, landing, monkeypatch, tmp_path):
    for p in (1, 2):
        sc.brutto(p).mark(f"g{p}", p, "FSM_GR1", "2017-09-01")
    sc.grant(101, "1000000.00")
    sc.write("2018-03")
    for feed in ("markings", "ydelse", "tilbud", "timer", "allocations"):
        pipeline.ingest(feed, MARCH)
    monkeypatch.setenv("FSM_PROGRAMMES", "FSM1")
    first = datetime(2018, 4, 1, 2, 0, tzinfo=UTC)
    pipeline.transform(MARCH, run_id="scheduled__2018-03-01T00:00:00+01:00", started_at=first)
    monkeypatch.setenv("FSM_RULE_ACTIVITY_THRESHOLD_PCT", "45")
    pipeline.transform(MARCH, run_id="manual__rerun")  # a rerun under other rules: a second row, the first kept

    with wh.connect() as conn:
        rows = conn.execute(
            "select run_id, started_at, code_version, rules, files, row_counts, what_if, snapshot_file, rows_written"
            " from run_log where as_of_month = %s and programme = 'FSM1' order by finished_at",
            (MARCH,),
        ).fetchall()
        loaded = {
            (feed, name): sha for feed, name, sha in conn.execute("select feed, file_name, sha256 from ingest_file").fetchall()
        }
        marts = {
            t: conn.execute(f"select count(*) from {t} where as_of_month = %s and programme = 'FSM1'", (MARCH,)).fetchone()[0]
            for t in ("mart_visitation_progress", "mart_activity_share", "mart_tranche_status")
        }
    assert [r[0] for r in rows] == ["scheduled__2018-03-01T00:00:00+01:00", "manual__rerun"]
    _, started, version, rules_json, files, counts, what_if, snapshot, written = rows[0]
    assert started == first and version and what_if is None
    assert rules_json["activity_threshold_pct"] == "40" and rows[1][3]["activity_threshold_pct"] == "45"
    assert rules_json == rules({"activity_threshold_pct": "40"}).model_dump(mode="json")  # the whole model, as in force then
    # P5: March's snapshot (extracted 2018-03-31), the register files up to March, the allocation file — with their hashes
    assert snapshot == "markings_2018-03-31.csv"
    named = {(f["feed"], f["file"]): f["sha256"] for f in files}
    assert ("markings", "markings_2018-03-31.csv") in named and ("markings", "markings_2018-02-28.csv") not in named
    assert {("timer", f"timer_{m}.csv") for m in ("2017-08", "2018-01", "2018-03")} <= set(named)
    assert ("allocations", "allocations.csv") in named
    assert all(loaded[k] == sha for k, sha in named.items())
    assert counts == marts and written == sum(marts.values())


def test_the_report_names_the_run_that_made_it(sc, wh, landing, monkeypatch, tmp_path):
    from fsm.report import write_reports

    sc.brutto(1).mark("g1", 1, "FSM_GR1", "2017-09-01")
    sc.write("2018-03")
    for feed in ("markings", "ydelse", "tilbud", "timer"):
        pipeline.ingest(feed, MARCH)
    monkeypatch.setenv("FSM_PROGRAMMES", "FSM1")
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path / "reports"))
    pipeline.transform(MARCH, run_id="scheduled__old")
    pipeline.transform(MARCH, run_id="scheduled__newest")
    write_reports(MARCH)
    html = (tmp_path / "reports" / "2018-03" / "tranche_report.html").read_text(encoding="utf-8")
    assert "kørsel scheduled__newest · kodeversion" in html and "scheduled__old" not in html
