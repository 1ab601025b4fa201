"""What write_reports writes and returns, per programme and month; no person in any file; small numbers; language."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

from report.support import (
    AMOUNTS,
    CPR_RE,
    DUE_MARCH,
    EARNED_MARCH,
    FEB19,
    FSM2_EXPECTED,
    FSM2_PAY_SHEETS,
    FSM2_PEOPLE,
    FSM2_SHEETS,
    GRANTED,
    GRANTS,
    JAN19,
    MAR19,
    MARCH,
    OUTSTANDING,
    PEOPLE,
    PERSON_KEY_RE,
    report_texts,
    sheet_table,
    small_report,
)
from support.scenario import Scenario, cpr, person_key


def test_files_and_return_value(reports):
    out = reports["dir"]
    assert out.name == "2018-03"
    for name in ("tranche_report.xlsx", "tranche_report.html", "tranche_report.csv"):
        assert (out / name).stat().st_size > 0
    assert not list(out.glob("*.tmp"))
    r = reports["result"]
    assert (r["month"], r["rows"], r["earned_dkk"]) == ("2018-03", 9, str(EARNED_MARCH))
    assert (r["due_dkk"], r["granted_dkk"], r["outstanding_dkk"]) == ("200000.00", str(GRANTED), str(OUTSTANDING))
    assert r["reconciled"] is True
    assert r["internal"] is True  # 5 citizens in København: counts below 5 appear
    assert (out.parent / "2018-02" / "tranche_report.xlsx").exists()
    assert r["fsm2"] is None and not (out / "fsm2_result.csv").exists()  # an FSM1-only month has no FSM2 output
    assert r["files"] == ["tranche_report.xlsx", "tranche_report.html", "tranche_report.pdf", "tranche_report.csv"]


def test_warehouse_agrees_with_the_hand_computed_figures(reports):
    """The scenario does what the report tests assume (a guard, so failures below are the report's)."""
    got = {(k, t): (g, a, e, m) for k, t, g, a, e, m in reports["wh_rows"]}
    for k, amounts in AMOUNTS.items():
        assert [got[k, t][1] for t in (1, 2, 3)] == list(amounts)
        assert sum(amounts) == GRANTS[k] == got[k, 1][0]
    assert {key for key, v in got.items() if v[3] == MARCH} == set(DUE_MARCH)
    assert reports["wh_totals"] == (GRANTED, EARNED_MARCH, OUTSTANDING, Decimal("200000.00"))


# --- xlsx --------------------------------------------------------------------------------------


def test_no_cpr_and_no_person_key_in_any_report_file(reports):
    keys = reports["person_keys"]
    assert len(keys) >= 16 and all(len(k) == 64 for k in keys)
    for out in (reports["dir"], reports["dir"].parent / "2018-02"):
        for name, text in report_texts(out).items():
            assert not PERSON_KEY_RE.search(text), name
            assert not CPR_RE.search(text), (name, CPR_RE.search(text))
            for p in PEOPLE:
                assert cpr(p) not in text and person_key(p) not in text, name
        raw_html = (out / "tranche_report.html").read_text(encoding="utf-8")  # also inside the base64 payloads
        assert not any(k in raw_html for k in keys)


def test_english_switch(reports, tmp_path, monkeypatch):
    import openpyxl

    from fsm.report import write_reports

    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path))
    monkeypatch.setenv("FSM_REPORT_LANG", "en")
    r = write_reports(MARCH)
    assert r["sheets"][:3] == ["Payments due", "Tranche status", "Totals"]
    wb = openpyxl.load_workbook(Path(r["dir"]) / "tranche_report.xlsx")
    _, h, rows, _total = sheet_table(wb["Tranche status"])
    assert "Tranche 3 earned" in h
    kbh = next(r for r in rows if r["Municipality code"].value == 101)
    assert kbh["Basis tranche 3"].value == "activity share ≥ 40 % in 2018-01, 2018-02, 2018-03 (40 %, 40 %, 40 %; P3)"
    html = (Path(r["dir"]) / "tranche_report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "INTERNAL – contains small numbers" in html and "808,333.33" in html
    csv_text = (Path(r["dir"]) / "tranche_report.csv").read_bytes().decode("utf-8-sig")
    assert csv_text.startswith("Kommunekode;Kommune;Rate;")  # the csv keeps its labels


def test_a_month_without_data_still_writes_all_three_files_and_says_so(wh, tmp_path, monkeypatch):
    import openpyxl

    from fsm.report import write_reports

    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path))
    r = write_reports(date(2017, 8, 1))
    assert (r["rows"], r["earned_dkk"], r["internal"]) == (0, "0.00", False)
    out = Path(r["dir"])
    html = (out / "tranche_report.html").read_text(encoding="utf-8")
    assert "Lageret har ingen ratestatus for 2017-08" in html and "INTERN" not in html
    wb = openpyxl.load_workbook(out / "tranche_report.xlsx", data_only=True)
    assert not any("INTERN" in str(c.value) for c in wb["Udbetalinger"]["A"][:3])
    assert (out / "tranche_report.csv").read_bytes().decode("utf-8-sig").count("\r\n") == 1  # the header only


def test_small_numbers_are_counts_from_1_to_4_anywhere_in_the_report():
    assert not small_report({"target_n": 20, "visited_n": 20}, activity=((10, 0), (12, 6))).internal  # zero is not small
    assert small_report({"target_n": 20, "visited_n": 20, "group3_n": 2}).small_counts == 1
    assert small_report({"target_n": 20}, activity=((10, 3),)).internal
    assert (
        small_report(  # 'coverage 75 % (3 of 4) in 2017-09; needs 100 % (P2)'
            {"target_n": 20},
            activity=((10, 5),),
            basis=(
                "P2_coverage_short",
                {"coverage_pct": 75, "accounted_n": 3, "target_n": 4, "month": "2017-09-01", "required_pct": 100},
            ),
        ).small_counts
        == 2
    )


# --- FSM2 ('Flere skal med 2'): sheets, csv, html section ---------------------------------------------


def test_fsm2_scenario_marts_are_as_worked_out_by_hand(fsm2_reports):
    got = fsm2_reports["result_rows"]
    for (k, m), counts in FSM2_EXPECTED.items():
        assert got[k, m, "ALL"][:5] == counts, (k, m)
    assert fsm2_reports["req"][147, 15][:2] == (True, FEB19)
    assert fsm2_reports["req"][147, 20][:2] == (True, MAR19)
    assert fsm2_reports["req"][101, 20][:2] == (True, JAN19)


def test_fsm2_sheets_sit_between_fsm1_activity_and_data_quality(fsm2_reports):
    r = fsm2_reports["result"]
    assert r["sheets"] == [
        "Udbetalinger", "Ratestatus", "Totaler", "Rater (detalje)", "Nye rater", "Nye DQ-fund", "Visitation",
        "Aktivitetsandel", "Aktive", "Indsatsgruppe", *FSM2_SHEETS, *FSM2_PAY_SHEETS, "Datakvalitet", "DQ udvikling", "Regler og grundlag",
        "Leverancer",
    ]  # fmt: skip
    assert r["files"][-1] == "fsm2_result.csv"
    assert r["fsm2"] == {"municipalities": 31, "indsatsgruppe": 29, "active": 6, "share_pct": "20.69",
                         "met": {"15": 2, "20": 2}, "newly_met": 1}  # fmt: skip
    assert r["rows"] == 3  # FSM1 is there too: København's three tranches


def test_fsm2_reports_hold_no_cpr_and_no_person_key(fsm2_reports):
    keys = fsm2_reports["person_keys"]
    assert len(keys) == 30
    for name, text in report_texts(fsm2_reports["dir"]).items():
        assert not PERSON_KEY_RE.search(text), name
        assert not CPR_RE.search(text), (name, CPR_RE.search(text))
        for p in FSM2_PEOPLE:
            assert cpr(p) not in text, name
    raw_html = (fsm2_reports["dir"] / "tranche_report.html").read_text(encoding="utf-8")
    assert not any(k in raw_html for k in keys)


def test_fsm2_english_switch(fsm2_reports, tmp_path, monkeypatch):
    import openpyxl

    from fsm.report import write_reports

    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path))
    monkeypatch.setenv("FSM_REPORT_LANG", "en")
    r = write_reports(MAR19)
    assert {"FSM2 result", "FSM2 share", "FSM2 active", "FSM2 indsatsgruppe", "FSM2 origin"} <= set(r["sheets"])
    rows = sheet_table(openpyxl.load_workbook(Path(r["dir"]) / "tranche_report.xlsx")["FSM2 result"])[2]
    fred = next(x for x in rows if x["Municipality code"].value == 147)
    assert fred["Basis 20 %"].value == "result share 20 % (4 of 20) in 2019-03 (≥ 20 %, F8)"
    html = (Path(r["dir"]) / "tranche_report.html").read_text(encoding="utf-8")
    assert "Result share by origin, whole country" in html and "Non-western" in html


def test_a_2020_month_has_only_fsm2_and_the_fsm1_sections_say_so(wh, tmp_path, monkeypatch):
    """FSM1 ended 2019-12: a 2020 report is an FSM2 report, and says there is no FSM1 data rather than empty tables."""
    import openpyxl

    from fsm.report import write_reports

    sc = Scenario(tmp_path / "landing")
    for p in range(1, 9):
        sc.benefits(p, "2020-W01", "2020-W09", code="OVERGANGSYDELSE", kommune=101, herkomst="IKKE_VESTLIG" if p > 5 else "DANSK")
    for p in (1, 2):
        sc.hours("2020-02", p, "8")
    sc.run("2020-02", months=["2020-01", "2020-02"], programme="FSM2")
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path / "reports"))
    r = write_reports(date(2020, 2, 1))
    assert r["sheets"] == [*FSM2_SHEETS, *FSM2_PAY_SHEETS, "FSM1", "Regler og grundlag", "Leverancer"]
    assert (r["rows"], r["fsm2"]["active"], r["fsm2"]["indsatsgruppe"], r["fsm2"]["share_pct"]) == (0, 2, 8, "25.00")
    assert r["fsm2"]["met"] == {"15": 1, "20": 1} and r["fsm2"]["newly_met"] == 2
    out = Path(r["dir"])
    wb = openpyxl.load_workbook(out / "tranche_report.xlsx", data_only=True)
    rows = sheet_table(wb["FSM1"])[2]
    assert rows[0]["Status"].value == "Ingen FSM1-data for 2020-02: FSM1 løb 2017-08 – 2019-12. Rapporten viser FSM2."
    rows = sheet_table(wb["FSM2 resultat"])[2]
    kbh = next(x for x in rows if x["Kommunekode"].value == 101)
    assert (kbh["Indsatsgruppe"].value, kbh["Aktive"].value, kbh["Krav 20 % måned"].value.strftime("%Y-%m")) == (8, 2, "2020-02")
    html = (out / "tranche_report.html").read_text(encoding="utf-8")
    assert "<h1>Flere skal med 2 – resultatopfølgning</h1>" in html
    assert "Ingen FSM1-data for 2020-02: FSM1 løb 2017-08 – 2019-12" in html
    assert "Lageret har ingen ratestatus" not in html  # not the 'has the run finished?' error
    for fsm1_only in ('id="due"', 'id="status"', 'id="visitation"', 'id="activity"', 'id="total-due"', 'id="new-table"'):
        assert fsm1_only not in html, fsm1_only
    assert 'id="chart-fsm2-national"' in html and 'id="fsm2-new-table"' in html
    assert (out / "tranche_report.csv").read_bytes().decode("utf-8-sig").count("\r\n") == 1  # FSM1 csv: header only
    assert len(list(csv.DictReader(io.StringIO((out / "fsm2_result.csv").read_bytes().decode("utf-8-sig")), delimiter=";"))) == 62


def test_small_numbers_include_fsm2_counts():
    from dataclasses import replace

    def fsm2(counts, basis=("F8_not_met", {"share_pct": 50, "month": "2019-01-01", "threshold_pct": 20})):
        rows = [{"kommune_kode": 101, "activity_month": date(2017, 9, 1), "herkomst": "ALL", "share_pct": None,
                 **dict(zip(("target_n", "group2_n", "exempt_n", "indsatsgruppe_n", "active_n"), counts, strict=True))}]  # fmt: skip
        req = [{"kommune_kode": 101, "threshold_pct": Decimal(20), "met": False, "met_month": None, "basis": "",
                "basis_code": basis[0], "basis_args": basis[1]}]  # fmt: skip
        return replace(small_report({"target_n": 20, "visited_n": 20}), fsm2_rows=rows, fsm2_req=req)

    assert not small_report({"target_n": 20, "visited_n": 20}).internal
    assert not fsm2((40, 0, 0, 40, 10)).internal
    assert fsm2((40, 0, 2, 38, 10)).small_counts == 2  # exempt 2, and 2 nationally
    met = {"share_pct": 50, "active_n": 3, "indsatsgruppe_n": 6, "month": "2019-01-01", "threshold_pct": 20}
    assert (
        fsm2((40, 0, 0, 40, 10), basis=("F8_met", met)).small_counts == 1
    )  # 'result share 50 % (3 of 6) in 2019-01 (≥ 20 %, F8)'


def _english_fragments() -> set[str]:
    """The English of every basis, grant source and rule message, split at its placeholders: each piece of two or
    more words that the Danish message does not also contain, and every rule-in-force row, in full."""
    import string

    from fsm.config import rules
    from fsm.report.catalogue import MESSAGES
    from fsm.report.rules_in_force import rules_in_force
    from fsm.report.text import Text

    out = set()
    for key, message in MESSAGES.items():
        if key.split(".")[0] in ("basis", "grant", "setting", "value"):
            for literal, *_ in string.Formatter().parse(message["en"]):
                piece = literal.strip(" ;:,()")
                if sum(w.isalpha() for w in piece.split()) >= 2 and piece not in message["da"]:
                    out.add(piece)
    da = {v for row in rules_in_force(rules(), Text("da")) for v in row}
    out |= {v for row in rules_in_force(rules(), Text("en")) for v in row if v not in da and len(v.split()) >= 2}
    return out


def test_the_danish_html_and_xlsx_hold_no_english_basis_or_rule_sentence(reports, fsm2_reports):
    """Danish reports render every basis, grant source and rule from facts and catalogue: no English sentence from
    the warehouse (its `basis` and `grant_source` columns) and no English piece of a message reaches them."""
    fragments = _english_fragments()
    assert {"DKK split by target group at start (largest remainder", "Activity share required (%)", "months running"} <= fragments
    for fixture in (reports, fsm2_reports):
        english = {s for s in fixture["english"] if s}
        assert len(english) > 5
        for out in {fixture["dir"], fixture["dir"].parent / "2018-02"}:
            if not out.exists():
                continue
            for name, text in report_texts(out).items():
                if not name.startswith(("tranche_report.html", "tranche_report.xlsx")):
                    continue
                assert not [s for s in english if s in text], name
                assert not [f for f in fragments if f in text], name
