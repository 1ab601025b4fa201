"""Issue 17 part 3, P5: a monthly run that reuses earlier as-of months (fsm.transform.history) writes exactly
what a run recomputing every month writes, through a corrected register file, a late register file, a
same-day markings redelivery and a rule change; and it reuses a month only when its inputs are unchanged.

The same months run twice as the scheduler runs them (ingest what the month may see, then the month),
once with reuse and once with FSM_REUSE_HISTORY=false, each into an emptied warehouse; every mart row of
every step is compared. The months reused at each step are worked out by hand below.
"""

from __future__ import annotations

from datetime import date

from fsm.contract import FEED_NAMES
from fsm.ingest import ingest_feed
from fsm.months import parse_month
from fsm.transform import run_fsm1, run_fsm2
from support.db import empty_warehouse
from support.scenario import Scenario

FSM1_MARTS = ("mart_visitation_progress", "mart_activity_share", "mart_tranche_status")
FSM2_MARTS = ("mart_fsm2_result", "mart_fsm2_requirement", "mart_fsm2_payment_status")


def _dump(wh, marts) -> list:
    with wh.connect() as conn:
        return [conn.execute(f"select (to_jsonb(m))::text from {t} as m order by 1").fetchall() for t in marts]


def _as_scheduled(wh, root, label: str, compute, marts) -> tuple[int, list]:
    """Ingest what month `label` may see, then run it, as the scheduler does: (months reused, every mart row)."""
    month = parse_month(label)
    for feed in FEED_NAMES:
        ingest_feed(feed, month, str(root))
    return compute(month)["months_reused"], _dump(wh, marts)


def _both_ways(wh, tmp_path, monkeypatch, sequence) -> list[int]:
    """`sequence` with reuse, then again into an emptied warehouse recomputing every month: every mart row of
    every step equal. Returns the months reused at each step of the first."""
    with_reuse, reused = sequence(wh, tmp_path / "a", monkeypatch)
    empty_warehouse()
    monkeypatch.setenv("FSM_REUSE_HISTORY", "false")
    recomputed, none = sequence(wh, tmp_path / "b", monkeypatch)
    assert none == [0] * len(reused)
    assert with_reuse == recomputed
    return reused


def _fsm1_sequence(wh, root, monkeypatch) -> tuple[list, list[int]]:
    monkeypatch.delenv("FSM_RULE_ACTIVITY_THRESHOLD_PCT", raising=False)  # the rules as they stand until March
    sc = Scenario(root)
    sc.brutto(1).brutto(2).brutto(3, kommune=147).brutto(4)
    sc.mark("g1", 1, "FSM_GR1", "2017-09-04").mark("g2", 2, "FSM_GR1", "2017-09-04")
    sc.mark("g3", 3, "FSM_GR1", "2017-10-02", kommune=147)
    sc.offer("2017-10", "t1", 2, "VIRKSOMHEDSPRAKTIK", "2017-10-02", "2017-12-31")
    sc.offer("2017-12", "t3", 3, "LOENTILSKUD", "2017-12-01", "2018-02-28", kommune=147)
    sc.hours("2017-11", 1, "20")
    dumps, reused = [], []
    for label in ("2017-08", "2017-09", "2017-10", "2017-11", "2017-12", "2018-01", "2018-02", "2018-03"):
        if label == "2017-12":  # a corrected September hours file: visible from December's run on (P5)
            sc.hours("2017-09", 1, "37,5")
        if label == "2018-01":  # January's offers arrive late: not there when January runs
            sc.offer("2018-01", "t4", 1, "VIRKSOMHEDSPRAKTIK", "2018-01-08", "2018-01-31")
        if label == "2018-02":  # registered on 20 January: the 31 January snapshot is delivered again, the same day
            sc.mark("g4", 4, "FSM_GR1", "2018-01-15", registered="2018-01-20")
        if label == "2018-03":  # a rule changes: nothing computed under the old one is reused
            monkeypatch.setenv("FSM_RULE_ACTIVITY_THRESHOLD_PCT", "30")
        sc.write(label)
        if label == "2018-01":
            (root / "registers/tilbud/tilbud_2018-01.csv").unlink()
        n, dump = _as_scheduled(wh, root, label, run_fsm1, FSM1_MARTS)
        reused.append(n)
        dumps.append(dump)
    return dumps, reused


def test_P5_fsm1_reusing_unchanged_months_writes_what_recomputing_every_month_writes(wh, tmp_path, monkeypatch):
    reused = _both_ways(wh, tmp_path, monkeypatch, _fsm1_sequence)
    # Aug 0; Sep–Nov all earlier months; Dec only Aug (the corrected September file is in force for Sep–Nov);
    # Jan Aug and Dec (Sep–Nov were stored as their own runs saw them, without the correction); Feb the same
    # (January's late offers and its snapshot redelivered); Mar none (the threshold changed).
    assert reused == [0, 1, 2, 3, 1, 2, 2, 0]
    # the corrected September hours reached December's run: citizen 1 active in September (of 2 in group 1)
    with wh.connect() as conn:
        sep = conn.execute(
            "select to_char(as_of_month, 'YYYY-MM'), active_n, cohort_n from mart_activity_share"
            " where kommune_kode = 101 and activity_month = '2017-09-01' and as_of_month in ('2017-11-01', '2017-12-01')"
            " order by 1"
        ).fetchall()
    assert sep == [("2017-11", 0, 2), ("2017-12", 1, 2)]


def _fsm2_sequence(wh, root, monkeypatch) -> tuple[list, list[int]]:
    sc = Scenario(root)
    for p in (1, 2, 3):
        sc.benefits(p, "2019-W01", "2019-W22")
    sc.mark("s2", 2, "FSM2_GR2", "2019-02-01")
    sc.hours("2019-02", 1, "10")
    dumps, reused = [], []
    for label in ("2019-01", "2019-02", "2019-03", "2019-04", "2019-05"):
        if label == "2019-04":  # a corrected February hours file (citizen 3 worked too): visible from April on
            sc.hours("2019-02", 3, "5")
        if label == "2019-05":  # a corrected March benefit file: citizen 4 was in the target group too
            sc.benefits(4, "2019-W10", "2019-W13")
        sc.write(label, first="2019-01")
        n, dump = _as_scheduled(wh, root, label, run_fsm2, FSM2_MARTS)
        reused.append(n)
        dumps.append(dump)
    return dumps, reused


def test_P5_fsm2_reusing_unchanged_months_writes_what_recomputing_every_month_writes(wh, tmp_path, monkeypatch):
    reused = _both_ways(wh, tmp_path, monkeypatch, _fsm2_sequence)
    # Jan 0, Feb 1, Mar 2; Apr: Jan only (the corrected February file is in force for Feb and Mar);
    # May: Jan only (Feb and Mar stored without it; March's target group changed with its benefit file).
    assert reused == [0, 1, 2, 1, 1]
    # the corrected March benefits reached May's run: citizen 4 in March's target group
    with wh.connect() as conn:
        march = conn.execute(
            "select to_char(as_of_month, 'YYYY-MM'), target_n from mart_fsm2_result"
            " where kommune_kode = 101 and herkomst = 'ALL' and activity_month = '2019-03-01'"
            " and as_of_month in ('2019-04-01', '2019-05-01') order by 1"
        ).fetchall()
    assert march == [("2019-04", 3), ("2019-05", 4)]


def test_a_backfill_records_every_month_and_a_deleted_month_is_computed_again(wh, tmp_path):
    sc = Scenario(tmp_path / "landing")
    sc.brutto(1).mark("g1", 1, "FSM_GR1", "2017-09-04")
    sc.run("2017-11", backfill=True)
    with wh.connect() as conn:
        recorded = conn.execute("select to_char(as_of_month, 'YYYY-MM') from mart_inputs order by 1").fetchall()
    assert [r[0] for r in recorded] == ["2017-08", "2017-09", "2017-10", "2017-11"]
    sc.write("2017-12")
    for feed in FEED_NAMES:
        ingest_feed(feed, date(2017, 12, 1), str(sc.root))
    with wh.connect() as conn:  # rows deleted behind the pipeline's back: that month is not reused
        conn.execute("delete from mart_activity_share where as_of_month = '2017-10-01'")
    assert run_fsm1(date(2017, 12, 1))["months_reused"] == 4 - 1  # Aug, Sep and Nov
