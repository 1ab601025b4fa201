"""FSM1 rules on hand-made rows. Every expected number was worked out by hand from DOMAIN.md."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from support.scenario import Scenario


@pytest.fixture
def sc(wh, tmp_path):
    return Scenario(tmp_path / "landing")


def visitation(wh, month, kommune=101):
    with wh.connect() as conn:
        cur = conn.execute(
            "select target_n, visited_n, group1_n, group2_n, group3_n, deferred_n, unvisited_n, left_unvisited_n,"
            " coverage_pct, coverage_met, pjf_n from mart_visitation_progress where as_of_month = %s and kommune_kode = %s",
            (date.fromisoformat(month + "-01"), kommune),
        )
        row = cur.fetchone()
        return dict(zip([d.name for d in cur.description], row, strict=True)) if row else None


def activity(wh, month, kommune=101):
    with wh.connect() as conn:
        rows = conn.execute(
            "select to_char(activity_month, 'YYYY-MM'), cohort_n, active_n, share_pct, meets_threshold"
            " from mart_activity_share where as_of_month = %s and kommune_kode = %s order by activity_month",
            (date.fromisoformat(month + "-01"), kommune),
        ).fetchall()
    return {m: (c, a, s, t) for m, c, a, s, t in rows}


def tranches(wh, month, kommune=101):
    with wh.connect() as conn:
        return conn.execute(
            "select tranche, grant_dkk, amount_dkk, earned, to_char(earned_month, 'YYYY-MM'), basis"
            " from mart_tranche_status where as_of_month = %s and kommune_kode = %s order by tranche",
            (date.fromisoformat(month + "-01"), kommune),
        ).fetchall()


# --- T1–T3: the target group ------------------------------------------------------------------


def test_T2_leaver_before_start_is_out_once_star_end_dates_the_marking(sc, wh):
    """T1/T2: the target group is the citizens whose STAR-prefilled FSM_BRUTTO is in force on 2017-08-01."""
    sc.brutto(1)
    sc.brutto(2, end="2017-05-01", end_registered="2017-09-05")  # left in May; STAR end-dates it in September
    sc.brutto(3, end="2017-08-01", end_registered="2017-06-20")  # half-open: not in force on 1 Aug
    sc.run("2017-09", months=["2017-08", "2017-09"])
    assert visitation(wh, "2017-08")["target_n"] == 2  # August's snapshot still shows citizen 2 open (P5)
    assert visitation(wh, "2017-09")["target_n"] == 1
    assert visitation(wh, "2017-09")["left_unvisited_n"] == 0  # left before start: not 'left unvisited' (T2, not T3)


def test_T3_leaver_after_start_unvisited_drops_out_from_the_month_the_marking_ends(sc, wh):
    sc.brutto(1, end="2018-03-15", end_registered="2018-03-15")  # never visited
    sc.brutto(2, end="2018-03-15", end_registered="2018-03-15")
    sc.mark("g2", 2, "FSM_GR1", "2017-09-01")  # visited before leaving: stays
    sc.brutto(3)
    sc.run("2018-03", months=["2018-02", "2018-03"])
    feb, mar = visitation(wh, "2018-02"), visitation(wh, "2018-03")
    assert (feb["target_n"], feb["visited_n"], feb["unvisited_n"], feb["left_unvisited_n"]) == (3, 1, 2, 0)
    assert (mar["target_n"], mar["visited_n"], mar["unvisited_n"], mar["left_unvisited_n"]) == (2, 1, 1, 1)


# --- D1, V1–V4 ----------------------------------------------------------------------------------


def test_D1_backdated_group1_counts_only_from_its_registration_day(sc, wh):
    """V1 with D1: visited from the day a group marking is in force as monitoring sees it (registration)."""
    sc.brutto(1)
    sc.mark("g1", 1, "FSM_GR1", "2017-09-11", registered="2017-12-05")
    sc.offer("2017-10", "t1", 1, "VIRKSOMHEDSPRAKTIK", "2017-10-02", "2017-10-31")
    sc.offer("2017-12", "t2", 1, "LOENTILSKUD", "2017-12-01", "2018-02-28")
    sc.run("2017-12", months=["2017-11", "2017-12"])
    assert visitation(wh, "2017-11")["visited_n"] == 0  # not registered by the end of November
    assert visitation(wh, "2017-12")["visited_n"] == 1
    act = activity(wh, "2017-12")
    # C3 + D1: member from December (registration), so October's praktik falls outside membership.
    assert act["2017-10"][:2] == (0, 0)
    assert act["2017-12"][:2] == (1, 1)


def test_same_day_switch_group1_to_group2_counts_the_group_in_force_at_month_end(sc, wh):
    """M6: group 1 ends 2018-03-01 and group 2 starts 2018-03-01 — half-open periods, no overlap; M1/V3:
    the month's group count is the group in force at its end."""
    sc.brutto(1)
    sc.mark("g1", 1, "FSM_GR1", "2017-09-01", end="2018-03-01", registered="2017-09-01", end_registered="2018-03-01")
    sc.mark("g2", 1, "FSM_GR2", "2018-03-01")
    sc.run("2018-03", months=["2018-02", "2018-03"])
    feb, mar = visitation(wh, "2018-02"), visitation(wh, "2018-03")
    assert (feb["group1_n"], feb["group2_n"]) == (1, 0)
    assert (mar["group1_n"], mar["group2_n"], mar["visited_n"]) == (0, 1, 1)
    assert activity(wh, "2018-03")["2018-03"][0] == 1  # C2: moved out of group 1, still in the indsatsgruppe


def test_D1_overlapping_groups_the_earlier_ends_when_the_later_starts(sc, wh):
    sc.brutto(1)
    sc.mark("g1", 1, "FSM_GR1", "2017-09-01")  # never end-dated (breaks M2)
    sc.mark("g3", 1, "FSM_GR3", "2017-11-01")
    sc.run("2017-11", months=["2017-10", "2017-11"])
    assert (visitation(wh, "2017-10")["group1_n"], visitation(wh, "2017-10")["group3_n"]) == (1, 0)
    assert (visitation(wh, "2017-11")["group1_n"], visitation(wh, "2017-11")["group3_n"]) == (0, 1)


def test_D1_invalid_period_is_ignored_in_the_figures(sc, wh):
    sc.brutto(1)
    sc.mark("g1", 1, "FSM_GR1", "2017-09-01", end="2017-08-15")
    sc.run("2017-09")
    assert visitation(wh, "2017-09")["visited_n"] == 0


def test_V2_deferred_citizens_count_as_accounted_for(sc, wh):
    """V2 with M4: FSM_UDSKUDT in force and no group marking = deferred, counted toward coverage."""
    sc.brutto(1)
    sc.brutto(2)
    sc.mark("u1", 1, "FSM_UDSKUDT", "2017-09-01")
    sc.mark("g2", 2, "FSM_GR2", "2017-09-05")
    sc.run("2017-09")
    v = visitation(wh, "2017-09")
    assert (v["target_n"], v["visited_n"], v["deferred_n"], v["unvisited_n"]) == (2, 1, 1, 0)
    assert (v["coverage_pct"], v["coverage_met"]) == (Decimal("100.00"), True)


def test_V3_coverage_two_decimals_and_threshold_on_the_exact_fraction(sc, wh):
    for p in range(1, 4):
        sc.brutto(p)
    sc.mark("g1", 1, "FSM_GR1", "2017-09-01")
    sc.mark("g2", 2, "FSM_GR3", "2017-09-01")
    sc.run("2017-09")
    v = visitation(wh, "2017-09")
    assert (v["visited_n"], v["group1_n"], v["group3_n"], v["coverage_pct"], v["coverage_met"]) == (
        2,
        1,
        1,
        Decimal("66.67"),
        False,
    )


def test_V4_pjf_counts_group1_citizens_with_a_job_broker_at_month_end(sc, wh):
    """V4 with M5: FSM_PJF counts only for group-1 citizens, both in force at month end."""
    for p in (1, 2, 3):
        sc.brutto(p)
    sc.mark("g1", 1, "FSM_GR1", "2017-09-01").mark("p1", 1, "FSM_PJF", "2017-09-10")
    sc.mark("g2", 2, "FSM_GR2", "2017-09-01").mark("p2", 2, "FSM_PJF", "2017-09-10")  # group 2: not counted
    sc.mark("g3", 3, "FSM_GR1", "2017-09-01").mark("p3", 3, "FSM_PJF", "2017-09-10", end="2017-09-20")  # ended
    sc.run("2017-09")
    assert visitation(wh, "2017-09")["pjf_n"] == 1


# --- C1–C3, A1–A2 ---------------------------------------------------------------------------------


def test_C2_first_group2_then_group1_is_not_in_the_indsatsgruppe_but_1_to_3_stays(sc, wh):
    """C1/C2: only a first group 1 puts a citizen in phase 2's indsatsgruppe; a later move does not undo it."""
    sc.brutto(1)
    sc.brutto(2)
    sc.mark("a2", 1, "FSM_GR2", "2017-09-01", end="2017-10-01", end_registered="2017-10-01")
    sc.mark("a1", 1, "FSM_GR1", "2017-10-01")
    sc.mark("c1", 2, "FSM_GR1", "2017-09-01", end="2017-11-01", end_registered="2017-11-01")
    sc.mark("c3", 2, "FSM_GR3", "2017-11-01")
    sc.run("2017-11")
    act = activity(wh, "2017-11")
    assert act["2017-09"][0] == 1  # only citizen 2 (C3: from September)
    assert act["2017-11"][0] == 1  # citizen 2 stays after moving to group 3; citizen 1 never counts


def test_A1_offer_end_inclusive_newest_delivery_wins_and_what_does_not_count(sc, wh):
    for p in range(1, 6):
        sc.brutto(p)
        sc.mark(f"g{p}", p, "FSM_GR1", "2017-09-01")
    sc.offer("2017-09", "t1", 1, "VIRKSOMHEDSPRAKTIK", "2017-09-15", "2017-10-01")  # one day of October counts
    sc.offer("2017-10", "t1", 1, "VIRKSOMHEDSPRAKTIK", "2017-09-15", "2017-10-01")
    sc.offer("2017-10", "t2", 2, "LOENTILSKUD", "2017-10-01", "2018-01-31")
    sc.offer("2017-11", "t2", 2, "LOENTILSKUD", "2017-10-01", "2018-01-31")
    sc.offer("2017-12", "t2", 2, "LOENTILSKUD", "2017-10-01", "2017-11-20")  # ended early in a later delivery
    sc.offer("2017-10", "t3", 3, "NYTTEINDSATS", "2017-10-01", "2017-12-31")  # not company-directed
    sc.hours("2017-10", 4, "12,5", subsidised=1)  # subsidised hours are not ordinary hours
    sc.hours("2017-12", 5, "3,0")  # ordinary hours
    sc.run("2017-12", months=["2017-11", "2017-12"])
    nov_view, dec_view = activity(wh, "2017-11"), activity(wh, "2017-12")
    assert dec_view["2017-09"][:2] == (5, 1)  # citizen 1
    assert dec_view["2017-10"][:2] == (5, 2)  # citizens 1 (1 Oct) and 2
    assert dec_view["2017-11"][:2] == (5, 1)  # citizen 2 until 20 Nov
    assert dec_view["2017-12"][:2] == (5, 1)  # citizen 5's hours; citizen 2's offer ended early
    assert nov_view["2017-11"][:2] == (5, 1)


def test_A2_exactly_40_percent_meets_the_threshold(sc, wh):
    for p in range(1, 6):
        sc.brutto(p)
        sc.mark(f"g{p}", p, "FSM_GR1", "2017-09-01")
    sc.hours("2017-09", 1, "10").hours("2017-09", 2, "0,5")
    sc.run("2017-09")
    assert activity(wh, "2017-09")["2017-09"] == (5, 2, Decimal("40.00"), True)


# --- P1–P4: tranches -------------------------------------------------------------------------------


def _group1_with_activity(sc, n, active_by_month):
    for p in range(1, n + 1):
        sc.brutto(p)
        sc.mark(f"g{p}", p, "FSM_GR1", "2017-09-01")
    for month, k in active_by_month.items():
        for p in range(1, k + 1):
            sc.hours(month, p, "7,5")


def test_P1_P2_P3_earned_months_and_basis(sc, wh):
    # 5 citizens, all group 1 in September: coverage 100 % in 2017-09 (P2).
    # Active: Oct 2, Nov 2, Dec 1, Jan 2, Feb 2, Mar 2 -> 40 % in Jan, Feb, Mar -> tranche 3 earned 2018-03.
    _group1_with_activity(sc, 5, {"2017-10": 2, "2017-11": 2, "2017-12": 1, "2018-01": 2, "2018-02": 2, "2018-03": 2})
    sc.grant(101, "333333,33")
    sc.run("2018-03", months=["2018-02", "2018-03"])
    feb, mar = tranches(wh, "2018-02"), tranches(wh, "2018-03")
    assert [(t, a, e, m) for t, _, a, e, m, _ in mar] == [
        (1, Decimal("100000.00"), True, "2017-08"),
        (2, Decimal("133333.33"), True, "2017-09"),
        (3, Decimal("100000.00"), True, "2018-03"),
    ]
    assert sum(a for _, _, a, *_ in mar) == Decimal("333333.33")
    assert mar[1][5] == "coverage 100 % (5 of 5) in 2017-09 (P2)"
    assert mar[2][5] == "activity share ≥ 40 % in 2018-01, 2018-02, 2018-03 (40 %, 40 %, 40 %; P3)"
    assert (feb[2][3], feb[2][4]) == (False, None)
    assert (
        feb[2][5] == "activity share 20 %, 40 %, 40 % in 2017-12, 2018-01, 2018-02; needs 40 % 3 months running (2 of 3 met; P3)"
    )


def test_P2_not_yet_says_why(sc, wh):
    for p in range(1, 5):
        sc.brutto(p)
    sc.mark("g1", 1, "FSM_GR1", "2017-09-01")
    sc.run("2017-09")
    t2 = tranches(wh, "2017-09")[1]
    assert (t2[3], t2[4], t2[5]) == (False, None, "coverage 25 % (1 of 4) in 2017-09; needs 100 % (P2)")


def test_P4_default_split_largest_remainder_exact(sc, wh, monkeypatch):
    monkeypatch.setenv("FSM_RULE_FSM1_BUDGET_DKK", "100")
    sc.brutto(1, kommune=101).brutto(2, kommune=147).brutto(3, kommune=151)
    sc.run("2017-08")
    # 100 / 3 = 33.33…: 33 each, the 1 krone left goes to the lowest code on equal remainders.
    got = {k: [(a, g) for _, g, a, *_ in tranches(wh, "2017-08", k)] for k in (101, 147, 151)}
    assert got[101] == [
        (Decimal("10.20"), Decimal("34.00")),
        (Decimal("13.60"), Decimal("34.00")),
        (Decimal("10.20"), Decimal("34.00")),
    ]
    assert got[147] == [
        (Decimal("9.90"), Decimal("33.00")),
        (Decimal("13.20"), Decimal("33.00")),
        (Decimal("9.90"), Decimal("33.00")),
    ]


def test_P4_rounding_difference_lands_on_tranche_3(sc, wh):
    sc.brutto(1)
    sc.grant(101, "100,01")  # 30.003 -> 30.00; 40.004 -> 40.00; tranche 3 takes 30.01
    sc.run("2017-08")
    assert [a for _, _, a, *_ in tranches(wh, "2017-08")] == [Decimal("30.00"), Decimal("40.00"), Decimal("30.01")]


# --- P5: as-of, reruns, backfill --------------------------------------------------------------------


def _mart_dump(wh):
    with wh.connect() as conn:
        out = []
        for t in ("mart_visitation_progress", "mart_activity_share", "mart_tranche_status"):
            out.append(conn.execute(f"select * from {t} order by 1, 2, 3, 4").fetchall())
        return out


def _rich_scenario(sc):
    _group1_with_activity(sc, 5, {"2017-10": 2, "2017-11": 2, "2017-12": 2, "2018-01": 1})
    sc.brutto(6).mark("g6", 6, "FSM_GR2", "2017-10-01", registered="2017-11-03")
    sc.brutto(7, kommune=147).mark("u7", 7, "FSM_UDSKUDT", "2017-09-01", kommune=147)


def test_P5_backfill_equals_month_by_month_and_reruns_and_out_of_order(sc, wh):
    _rich_scenario(sc)
    months = ["2017-08", "2017-09", "2017-10", "2017-11", "2017-12", "2018-01"]
    sc.run("2018-01", months=months)
    in_order = _mart_dump(wh)
    sc.run("2018-01", months=list(reversed(months)))
    assert _mart_dump(wh) == in_order
    sc.run("2018-01", months=["2017-11"])  # a rerun replaces only its own month
    assert _mart_dump(wh) == in_order
    with wh.connect() as conn:
        for t in ("mart_visitation_progress", "mart_activity_share", "mart_tranche_status"):
            conn.execute(f"delete from {t}")
    sc.run("2018-01", backfill=True)
    assert _mart_dump(wh) == in_order
    assert [r[4] for r in tranches(wh, "2017-12")] == ["2017-08", "2017-11", "2017-12"]


def test_P5_a_backfill_past_FSM1s_end_writes_FSM1s_months_as_a_backfill_to_its_end_does(sc, wh):
    """`make run` backfills 2017-08 … 2021-09 in one pass: FSM1's months (to 2019-12) come out as they do from
    a backfill to 2019-12, and no FSM1 month after FSM1's end is written."""
    from fsm.contract import FEED_NAMES
    from fsm.ingest import ingest_feed
    from fsm.transform import run_month

    _rich_scenario(sc)
    sc.run("2019-12", backfill=True)
    to_its_end = _mart_dump(wh)
    assert max(r[0] for r in to_its_end[0]) == date(2019, 12, 1)
    with wh.connect() as conn:
        for t in ("mart_visitation_progress", "mart_activity_share", "mart_tranche_status"):
            conn.execute(f"delete from {t}")
    sc.write("2020-01")
    for feed in FEED_NAMES:
        ingest_feed(feed, date(2020, 1, 1), str(sc.root))
    out = run_month(date(2020, 1, 1), write_all_months=True)
    assert out["programmes"] == ["FSM1", "FSM2"] and out["FSM1"]["months_written"] == 29
    assert _mart_dump(wh) == to_its_end
