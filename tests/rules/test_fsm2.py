"""FSM2 rules F1–F9 on hand-made rows; every expected number worked out by hand from DOMAIN.md.

ISO weeks used (a week belongs to the month of its Thursday): Jan 2019 = W01–W05,
Feb 2019 = W06–W09, Mar 2019 = W10–W13, Apr 2019 = W14–W17, Dec 2019 = W49–W52, Jan 2020 = 2020-W01–W05.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from support.scenario import Scenario


@pytest.fixture
def sc(wh, tmp_path):
    return Scenario(tmp_path / "landing")


def result(wh, as_of, kommune=101, herkomst="ALL"):
    with wh.connect() as conn:
        rows = conn.execute(
            "select to_char(activity_month, 'YYYY-MM'), target_n, group2_n, exempt_n, indsatsgruppe_n, active_n, share_pct"
            " from mart_fsm2_result where as_of_month = %s and kommune_kode = %s and herkomst = %s order by activity_month",
            (date.fromisoformat(as_of + "-01"), kommune, herkomst),
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_F1_F7_turning_30_mid_period_enters_that_month(sc, wh):
    sc.born(1, "1989-03-15").benefits(1, "2019-W06", "2019-W13")  # Feb and March
    sc.run("2019-03", programme="FSM2")
    r = result(wh, "2019-03")
    assert r["2019-02"][0] == 0  # 29 on 28 February
    assert r["2019-03"][0] == 1  # 30 on 31 March (turned 30 on the 15th)


def test_F1_integrationsydelse_counts_in_2019_not_in_2020(sc, wh):
    sc.benefits(2, "2019-W49", "2019-W52", code="INTEGRATIONSYDELSE")
    sc.benefits(2, "2020-W01", "2020-W05", code="INTEGRATIONSYDELSE")
    sc.benefits(3, "2020-W01", "2020-W05", code="OVERGANGSYDELSE")
    sc.run("2020-01", programme="FSM2")
    r = result(wh, "2020-01")
    assert r["2019-12"][0] == 1  # citizen 2
    assert r["2020-01"][0] == 1  # citizen 3 only


def test_F1_introduction_programme_and_other_matchgroups_are_excluded(sc, wh):
    sc.benefits(1, "2019-W01", "2019-W05", intro=1)
    sc.benefits(2, "2019-W01", "2019-W05", match="JOBPARAT")
    sc.benefits(3, "2019-W01", "2019-W05", code="SYGEDAGPENGE")
    sc.benefits(4, "2019-W01", "2019-W05", kommune=621)  # Kolding: not an FSM2 participant (F9)
    sc.benefits(5, "2019-W01", "2019-W05")
    sc.run("2019-01", programme="FSM2")
    assert result(wh, "2019-01")["2019-01"][0] == 1


def test_F2_F4_group2_to_group1_to_group2_follows_the_group_in_force(sc, wh):
    sc.benefits(4, "2019-W01", "2019-W17")
    sc.mark("a", 4, "FSM2_GR2", "2019-01-10", end="2019-02-15", end_registered="2019-02-15")
    sc.mark("b", 4, "FSM2_GR2", "2019-03-20")
    sc.run("2019-04", programme="FSM2")
    r = result(wh, "2019-04")
    assert [r[m][1] for m in ("2019-01", "2019-02", "2019-03", "2019-04")] == [1, 0, 1, 1]  # group 2
    assert [r[m][3] for m in ("2019-01", "2019-02", "2019-03", "2019-04")] == [0, 1, 0, 0]  # indsatsgruppe


def test_F3_an_exemption_removes_the_citizen_for_exactly_its_months(sc, wh):
    sc.benefits(5, "2019-W01", "2019-W17")
    sc.mark("f", 5, "FRITAGELSE", "2019-02-01", end="2019-04-01", end_registered="2019-02-01", reason="BARSEL")
    sc.run("2019-04", programme="FSM2")
    r = result(wh, "2019-04")
    assert [r[m][2] for m in ("2019-01", "2019-02", "2019-03", "2019-04")] == [0, 1, 1, 0]  # exempt
    assert [r[m][3] for m in ("2019-01", "2019-02", "2019-03", "2019-04")] == [1, 0, 0, 1]  # indsatsgruppe


def test_F6_F8_loentilskud_hours_do_not_count_su_education_does(sc, wh):
    for p in (6, 7, 8, 9):
        sc.benefits(p, "2019-W01", "2019-W05")
    sc.hours("2019-01", 6, "20", subsidised=1)  # løntilskud: not ordinary hours
    sc.hours("2019-01", 7, "3,5")  # ordinary hours
    sc.education("2019-01", 8, su_eligible=1)
    sc.education("2019-01", 9, su_eligible=0)
    sc.run("2019-01", programme="FSM2")
    assert result(wh, "2019-01")["2019-01"] == (4, 0, 0, 4, 2, Decimal("50.00"))


def test_F5_origin_breakdown_adds_up_to_all(sc, wh):
    sc.benefits(1, "2019-W01", "2019-W05", herkomst="DANSK")
    sc.benefits(2, "2019-W01", "2019-W05", herkomst="IKKE_VESTLIG")
    sc.benefits(3, "2019-W01", "2019-W05", herkomst="IKKE_VESTLIG")
    sc.hours("2019-01", 2, "10")
    sc.run("2019-01", programme="FSM2")
    assert result(wh, "2019-01", herkomst="IKKE_VESTLIG")["2019-01"] == (2, 0, 0, 2, 1, Decimal("50.00"))
    assert result(wh, "2019-01", herkomst="DANSK")["2019-01"] == (1, 0, 0, 1, 0, Decimal("0.00"))
    assert result(wh, "2019-01")["2019-01"][0] == 3


def test_F8_15_percent_met_before_20_percent(sc, wh):
    # 20 citizens in Frederiksberg: active 2 in Jan (10 %), 3 in Feb (15 %), 4 in Mar (20 %).
    for p in range(20, 40):
        sc.benefits(p, "2019-W01", "2019-W13", kommune=147)
    for month, k in (("2019-01", 2), ("2019-02", 3), ("2019-03", 4)):
        for p in range(20, 20 + k):
            sc.hours(month, p, "7,5")
    sc.run("2019-03", months=["2019-01", "2019-02", "2019-03"], programme="FSM2")
    with wh.connect() as conn:
        rows = conn.execute(
            "select to_char(as_of_month, 'YYYY-MM'), threshold_pct, met, to_char(met_month, 'YYYY-MM'), basis"
            " from mart_fsm2_requirement where kommune_kode = 147 order by 1, 2"
        ).fetchall()
    got = {(a, int(t)): (m, mm, b) for a, t, m, mm, b in rows}
    assert got[("2019-01", 15)][:2] == (False, None)
    assert got[("2019-02", 15)] == (True, "2019-02", "result share 15 % (3 of 20) in 2019-02 (≥ 15 %, F8)")
    assert got[("2019-02", 20)] == (False, None, "best result share 15 % in 2019-02; needs 20 % in one month (F8)")
    assert got[("2019-03", 15)][:2] == (True, "2019-02")  # P5: the met month never moves
    assert got[("2019-03", 20)][:2] == (True, "2019-03")
