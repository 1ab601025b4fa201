"""The marking rules of DOMAIN's DQ table on hand-made markings; GX agrees with dq_marking_violations."""

from __future__ import annotations

from datetime import date

import pytest

from fsm.ingest import ingest_feed
from fsm.quality import DataQualityError, check_inputs, check_markings_with_gx
from support.scenario import Scenario, person_key


@pytest.fixture
def sc(wh, tmp_path, monkeypatch):
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path / "reports"))
    return Scenario(tmp_path / "landing")


def ingest_all(sc, month):
    sc.write(month)
    for feed in ("markings", "ydelse", "tilbud", "timer"):
        ingest_feed(feed, date.fromisoformat(month + "-01"), str(sc.root))


def violations(wh, month):
    with wh.connect() as conn:
        return conn.execute(
            "select rule_id, marking_id, other_marking_id, person_key, severity, detail from dq_marking_violations"
            " where as_of_month = %s order by rule_id, marking_id",
            (date.fromisoformat(month + "-01"),),
        ).fetchall()


def test_every_rule_on_hand_made_markings(sc, wh):
    """M2 (groups exclude each other), M3 (no backdating), M6 (half-open periods: a same-day move is
    clean), T2 (outside the target group): each DQ rule once on hand-made markings."""
    sc.brutto(1).mark("g1", 1, "FSM_GR1", "2017-09-11", registered="2017-12-05")  # backdated 85 days
    sc.brutto(2).mark("o1", 2, "FSM_GR1", "2017-09-01").mark("o2", 2, "FSM_GR2", "2017-11-01")  # overlap
    sc.brutto(3).mark("s1", 3, "FSM_GR1", "2017-09-01", end="2017-11-01").mark(
        "s2", 3, "FSM_GR2", "2017-11-01"
    )  # same-day: clean
    sc.brutto(4).mark("d1", 4, "FSM_PJF", "2017-09-01").mark("d2", 4, "FSM_PJF", "2017-10-01")  # duplicate
    sc.brutto(5).mark("i1", 5, "FSM_GR3", "2017-10-01", end="2017-09-01")  # invalid period
    sc.mark("x1", 6, "FSM_GR1", "2017-10-02")  # no FSM_BRUTTO at all
    sc.brutto(7).mark("f1", 7, "FSM_UDSKUDT", "2018-01-15", registered="2017-12-20")  # future as of December
    sc.brutto(8).benefit("2017-W49", 8, "REVALIDERING")  # revalidering, no group 2
    sc.brutto(9).benefit("2017-W49", 9, "REVALIDERING").mark("r2", 9, "FSM_GR2", "2017-11-01")  # has group 2: clean
    ingest_all(sc, "2017-12")
    result = check_markings_with_gx(date(2017, 12, 1))
    assert result["violations"] == {
        "backdated_marking": 1,
        "overlapping_group_marking": 1,
        "duplicate_marking": 1,
        "invalid_period": 1,
        "marking_outside_target_group": 1,
        "future_marking": 1,
        "revalidering_without_group2": 1,
        "fsm2_gr2_outside_target_group": 0,
        "fritagelse_without_reason": 0,
    }
    got = {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in violations(wh, "2017-12")}
    assert got["backdated_marking", "g1", ""] == (
        person_key(1),
        "error",
        "start 2017-09-11, registered 2017-12-05: 85 days backdated",
    )
    assert ("overlapping_group_marking", "o2", "o1") in got  # marking_id the later-starting
    assert ("duplicate_marking", "d2", "d1") in got
    assert ("invalid_period", "i1", "") in got
    assert got["marking_outside_target_group", "x1", ""][0] == person_key(6)
    assert ("future_marking", "f1", "") in got
    assert got["revalidering_without_group2", "REVALIDERING 2017-12", ""][:2] == (person_key(8), "warning")
    assert not any(k[1] in ("s1", "s2") for k in got)  # a same-day switch is not an overlap
    assert not any(k[0] == "backdated_marking" and k[1].startswith("brutto") for k in got)  # FSM_BRUTTO is never backdated


def test_future_marking_only_as_of_the_months_before_it_starts(sc, wh):
    sc.brutto(1).mark("f1", 1, "FSM_GR1", "2017-10-15", registered="2017-09-20")
    ingest_all(sc, "2017-10")
    check_markings_with_gx(date(2017, 9, 1))
    check_markings_with_gx(date(2017, 10, 1))
    assert [r[0] for r in violations(wh, "2017-09")] == ["future_marking"]
    assert violations(wh, "2017-10") == []


def test_backdating_grace_is_configurable(sc, wh, monkeypatch):
    monkeypatch.setenv("FSM_RULE_BACKDATING_GRACE_DAYS", "85")
    sc.brutto(1).mark("g1", 1, "FSM_GR1", "2017-09-11", registered="2017-12-05")
    ingest_all(sc, "2017-12")
    assert check_markings_with_gx(date(2017, 12, 1))["violations"]["backdated_marking"] == 0


def test_a_failing_input_suite_fails_with_a_readable_message(sc, wh):
    sc.brutto(1)
    sc.benefit("2017-W36", 1).benefit("2017-W36", 1)  # the same citizen and week twice
    ingest_all(sc, "2017-09")
    with pytest.raises(DataQualityError) as err:
        check_inputs(date(2017, 9, 1))
    assert "stg_ydelse: unexpected_rows_expectation: one row per citizen and ISO week failed on 1 row(s)" in str(err.value)


def test_data_docs_are_built_into_the_reports_folder(sc, wh, tmp_path):
    sc.brutto(1)
    ingest_all(sc, "2017-08")
    out = check_inputs(date(2017, 8, 1))
    index = tmp_path / "reports" / "2017-08" / "data_docs" / "index.html"
    assert out["data_docs"] == str(index) and index.exists()
    assert "stg_markings" in index.read_text(encoding="utf-8")


def test_fsm2_rules_on_hand_made_markings(sc, wh):
    sc.benefits(1, "2019-W01", "2019-W05")  # in the FSM2 target group in January
    sc.mark("g1", 1, "FSM2_GR2", "2019-01-07")  # fine
    sc.mark("g2", 2, "FSM2_GR2", "2019-01-07")  # citizen 2 has no benefits: outside the target group
    sc.mark("f1", 1, "FRITAGELSE", "2019-01-10", end="2019-01-20")  # no reason
    sc.mark("f2", 3, "FRITAGELSE", "2019-01-10", reason="SYGDOM")  # fine
    sc.mark("s1", 1, "FSM2_STEPUP", "2019-01-02", registered="2019-01-09")  # backdated 7 days, an FSM2 row
    # Moves: the month's last qualifying week decides (as int_fsm2_target). 2019-W05's Thursday is 31 Jan.
    sc.benefits(4, "2019-W01", "2019-W03", kommune=101).benefits(4, "2019-W04", "2019-W05", kommune=173)
    sc.mark("g4", 4, "FSM2_GR2", "2019-01-07")  # moved to Lyngby-Taarbæk (not in FSM2) in January: outside
    sc.benefits(5, "2019-W01", "2019-W02", kommune=173).benefits(5, "2019-W03", "2019-W05", kommune=101)
    sc.mark("g5", 5, "FSM2_GR2", "2019-01-07")  # moved into København in January: inside
    sc.write("2019-01", first="2019-01")
    for feed in ("markings", "ydelse", "tilbud", "timer"):
        ingest_feed(feed, date(2019, 1, 1), str(sc.root))
    result = check_markings_with_gx(date(2019, 1, 1))
    assert {k: v for k, v in result["violations"].items() if v} == {
        "fsm2_gr2_outside_target_group": 2,
        "fritagelse_without_reason": 1,
        "backdated_marking": 1,
    }
    with wh.connect() as conn:
        rows = conn.execute(
            "select programme, rule_id, marking_id, detail from dq_marking_violations where as_of_month = '2019-01-01' "
            "order by rule_id, marking_id"
        ).fetchall()
    assert rows == [
        ("FSM2", "backdated_marking", "s1", "start 2019-01-02, registered 2019-01-09: 7 days backdated"),
        ("FSM2", "fritagelse_without_reason", "f1", "FRITAGELSE from 2019-01-10 has no fritagelse_aarsag"),
        (
            "FSM2",
            "fsm2_gr2_outside_target_group",
            "g2",
            "FSM2_GR2 in force on 2019-01-31 for a citizen outside the FSM2 target group in 2019-01",
        ),
        (
            "FSM2",
            "fsm2_gr2_outside_target_group",
            "g4",
            "FSM2_GR2 in force on 2019-01-31 for a citizen outside the FSM2 target group in 2019-01",
        ),
    ]


def test_one_list_of_marking_rules_with_sql_and_severity_for_each():
    from fsm.config import SQL_DIR, rules
    from fsm.contract import MARKING_RULES

    assert {p.stem for p in (SQL_DIR / "dq").glob("*.sql")} == set(MARKING_RULES)
    assert set(rules().dq_severity) == set(MARKING_RULES)
