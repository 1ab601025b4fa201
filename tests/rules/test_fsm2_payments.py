"""F10 (FSM2 payments, STAR's FSM2 FAQ) on hand-made rows; every expected number worked out by hand from DOMAIN.md.

ISO weeks (a week belongs to the month of its Thursday): Jan 2019 = W01–W05, Feb 2019 = W06–W09,
Mar 2019 = W10–W13, Feb 2020 = 2020-W06–W09.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from support.scenario import Scenario


@pytest.fixture
def sc(wh, tmp_path):
    return Scenario(tmp_path / "landing")


def payments(wh, as_of, kommune=101):
    with wh.connect() as conn:
        rows = conn.execute(
            "select part, part_pct, grant_dkk, amount_dkk, earned, to_char(earned_month, 'YYYY-MM'), basis, grant_source"
            " from mart_fsm2_payment_status where as_of_month = %s and kommune_kode = %s order by part",
            (date.fromisoformat(as_of + "-01"), kommune),
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_F10_parts_earned_at_start_at_15_and_at_20_percent_rounding_on_part_3(sc, wh):
    """København (101), 20 citizens in the indsatsgruppe every month 2019-01 … 2020-02. Ordinary hours:
    2 citizens in 2019-03 (10 %), 3 in 2019-06 (15 %: part 2), 3 in 2019-10 (15 %), 4 in 2020-02 (20 %: part 3).
    Grant from the allocation file: 1,000,000.05 DKK. By hand: part 1 = 50 % = 500,000.025 → 500,000.03;
    part 2 = 40 % = 400,000.02; part 3 = 1,000,000.05 − 500,000.03 − 400,000.02 = 100,000.00 (10 % would be
    100,000.005 → 100,000.01 and the parts would add up to 1,000,000.06). Frederiksberg (147) is not in the file: 0."""
    for p in range(1, 21):
        sc.benefits(p, "2019-W01", "2020-W09")
    for month, k in (("2019-03", 2), ("2019-06", 3), ("2019-10", 3), ("2020-02", 4)):
        for p in range(1, 1 + k):
            sc.hours(month, p, "7,5")
    sc.mark("s1", 1, "FSM2_STEPUP", "2019-01-02")  # informational (F2): a markings snapshot for the GX suites
    sc.grant(101, "1000000,05", programme="FSM2")
    sc.grant(101, "999", programme="FSM1")  # FSM1's grant is not FSM2's
    sc.run("2020-02", months=["2019-05", "2019-06", "2020-01", "2020-02"], programme="FSM2")

    grant, p1, p2, p3 = Decimal("1000000.05"), Decimal("500000.03"), Decimal("400000.02"), Decimal("100000.00")
    may = payments(wh, "2019-05")
    assert may[1][:5] == (Decimal("50.00"), grant, p1, True, "2019-01")
    assert may[1][5] == "50 % paid at the programme's start, no result requirement (F10): 2019-01"
    assert may[1][6] == "allocation file, FSM2 (reference/allocations)"
    assert may[2][:5] == (Decimal("40.00"), grant, p2, False, None)
    assert may[2][5] == "best result share 10 % in 2019-03; part 2 needs 15 % in one month (F8, F10)"
    assert may[3][:5] == (Decimal("10.00"), grant, p3, False, None)

    jun = payments(wh, "2019-06")
    assert jun[2][3:5] == (True, "2019-06")
    assert jun[2][5] == "result share 15 % (3 of 20) in 2019-06 (≥ 15 %, F8; part 2, F10)"
    assert jun[3][3:5] == (False, None)

    jan = payments(wh, "2020-01")
    assert [jan[n][3:5] for n in (1, 2, 3)] == [(True, "2019-01"), (True, "2019-06"), (False, None)]
    assert jan[3][5] == "best result share 15 % in 2019-06; part 3 needs 20 % in one month (F8, F10)"

    feb = payments(wh, "2020-02")
    assert [feb[n][2:5] for n in (1, 2, 3)] == [(p1, True, "2019-01"), (p2, True, "2019-06"), (p3, True, "2020-02")]
    assert feb[3][5] == "result share 20 % (4 of 20) in 2020-02 (≥ 20 %, F8; part 3, F10)"
    assert sum(feb[n][2] for n in (1, 2, 3)) == grant

    other = payments(wh, "2020-02", kommune=147)
    assert [other[n][1:3] for n in (1, 2, 3)] == [(Decimal("0.00"), Decimal("0.00"))] * 3
    assert other[1][6] == "allocation file (FSM2): municipality missing, grant 0"
    with wh.connect() as conn:  # three parts for each of the 31 participants (F9), each month written
        n = conn.execute("select count(*) from mart_fsm2_payment_status where as_of_month = '2020-02-01'").fetchone()[0]
    assert n == 3 * 31

    from fsm.quality import check_marts  # the GX suite: keys, three parts adding up to the grant (F10)

    assert check_marts(date(2020, 2, 1))["failed"] == 0


def test_F10_pool_split_by_target_group_in_the_first_month_with_data_zero_target_gets_0(sc, wh, monkeypatch):
    """Four participants, pool 1,000 DKK, no allocation file. 2019-01: no benefits at all (no FSM2 data yet: every
    grant 0). First month with data: 2019-02, one citizen each in 101, 147 and 151, none in 153 (whose citizen
    arrives in 2019-03, after the split). By hand: 1000/3 = 333.33… each, floors 999, 1 krone left; the
    fractions tie, so the lowest code (101) gets it: 334, 333, 333, 0. Parts 50/40/10: 334 → 167.00,
    133.60, 33.40; 333 → 166.50, 133.20, 33.30; 153: 0 with a basis saying why."""
    monkeypatch.setenv("FSM_RULE_FSM2_PARTICIPANTS", "101,147,151,153")
    monkeypatch.setenv("FSM_RULE_FSM2_POOL_DKK", "1000")
    for p, k in ((1, 101), (2, 147), (3, 151)):
        sc.benefits(p, "2019-W06", "2019-W13", kommune=k)
    sc.benefits(4, "2019-W10", "2019-W13", kommune=153)
    sc.run("2019-03", months=["2019-01", "2019-02", "2019-03"], programme="FSM2")

    jan = payments(wh, "2019-01")
    assert [jan[n][1:3] for n in (1, 2, 3)] == [(Decimal("0.00"), Decimal("0.00"))] * 3
    assert jan[1][5] == (
        "grant 0: no FSM2 target group delivered as of 2019-01; the pool of 1,000 DKK is split by the first month with data (F10)"
    )
    assert jan[1][6] == "F10 default: 1,000 DKK; no FSM2 target group to split by yet"

    for as_of in ("2019-02", "2019-03"):  # the split month stays 2019-02
        grants = {k: payments(wh, as_of, k)[1][1] for k in (101, 147, 151, 153)}
        assert grants == {101: Decimal("334.00"), 147: Decimal("333.00"), 151: Decimal("333.00"), 153: Decimal("0.00")}
    mar = payments(wh, "2019-03")
    assert [mar[n][2] for n in (1, 2, 3)] == [Decimal("167.00"), Decimal("133.60"), Decimal("33.40")]
    assert mar[1][6] == "F10 default: 1,000 DKK split by target group in 2019-02 (largest remainder)"
    assert [payments(wh, "2019-03", 147)[n][2] for n in (1, 2, 3)] == [Decimal("166.50"), Decimal("133.20"), Decimal("33.30")]
    zero = payments(wh, "2019-03", 153)
    assert [zero[n][2] for n in (1, 2, 3)] == [Decimal("0.00")] * 3
    assert (
        zero[1][5]
        == zero[3][5]
        == ("grant 0: no target group in 2019-02, when the pool of 1,000 DKK was split by target group (F10)")
    )
    assert zero[1][3:5] == (True, "2019-01")  # part 1 is still earned at the start (F9), of a grant of 0


def test_F10_a_run_writes_only_its_own_month(sc, wh):
    """P5 for F10: the 2019-02 run replaces 2019-02's payment rows and leaves 2019-01's as they are."""
    sc.benefits(1, "2019-W01", "2019-W09")
    sc.run("2019-01", programme="FSM2")
    with wh.connect() as conn:
        conn.execute("update mart_fsm2_payment_status set basis = 'written by the 2019-01 run' where as_of_month = '2019-01-01'")
    sc.run("2019-02", programme="FSM2")
    jan, feb = payments(wh, "2019-01"), payments(wh, "2019-02")
    assert {jan[n][5] for n in (1, 2, 3)} == {"written by the 2019-01 run"}
    assert feb[1][1] == Decimal("148000000.00")  # the default pool, one participant with a target group
    assert [feb[n][2] for n in (1, 2, 3)] == [Decimal("74000000.00"), Decimal("59200000.00"), Decimal("14800000.00")]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("FSM_RULE_FSM2_PART_PCTS", "50,40,20", "adding up to 100"),
        ("FSM_RULE_FSM2_PART_THRESHOLDS_PCT", "15,25", "not among the F8 thresholds"),
        ("FSM_RULE_FSM2_PART_THRESHOLDS_PCT", "20,15", "part 3's not below part 2's"),
    ],
)
def test_F10_settings_are_validated_naming_the_variable(monkeypatch, name, value, says):
    from fsm.config import SettingsError, rules

    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name) as err:
        rules()
    assert says in str(err.value)
