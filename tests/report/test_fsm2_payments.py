"""F10 in the report: the FSM2 payment sheets and html section, on the FSM2 report scenario (report.support.build_fsm2).

By hand (F10, no allocation file: the 148,000,000 DKK pool split by target group in 2019-01, the first month
with FSM2 data): København 10 and Frederiksberg 20 of 30 citizens; 148,000,000 × 10/30 = 49,333,333.33…,
× 20/30 = 98,666,666.66…; floors add up to 147,999,999, the 1 krone left goes to the larger remainder
(Frederiksberg): 49,333,333 and 98,666,667; the other 29 participants had no target group: 0.
Parts 50/40/10: København 24,666,666.50 / 19,733,333.20 / 4,933,333.30; Frederiksberg 49,333,333.50 /
39,466,666.80 / 9,866,666.70. København reached 15 % and 20 % in 2019-01 (3 of 10); Frederiksberg 15 % in
2019-02 and 20 % in 2019-03, so as of 2019-03 only Frederiksberg's part 3 falls due: 9,866,666.70.
Everything is earned by 2019-03: 148,000,000.00 earned to date, 0.00 outstanding.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from report.support import dec, sheet_table

GRANTS = {101: Decimal("49333333.00"), 147: Decimal("98666667.00")}
PARTS = {
    101: (Decimal("24666666.50"), Decimal("19733333.20"), Decimal("4933333.30")),
    147: (Decimal("49333333.50"), Decimal("39466666.80"), Decimal("9866666.70")),
}


@pytest.fixture(scope="module")
def book(fsm2_reports):
    import openpyxl

    return openpyxl.load_workbook(fsm2_reports["dir"] / "tranche_report.xlsx")


def test_F10_payment_sheet_per_municipality_with_totals_that_reconcile(book):
    ws = book["FSM2 udbetaling"]
    header_row, headers, rows, total_row = sheet_table(ws)
    by = {r["Kommunekode"].value: r for r in rows}
    assert len(by) == 31  # every participant (F9)
    for k, grant in GRANTS.items():
        assert dec(by[k]["Tilskud (kr.)"]) == grant
        assert tuple(dec(by[k][f"Del {n} (kr.)"]) for n in (1, 2, 3)) == PARTS[k]
        assert dec(by[k]["Udløst til dato (kr.)"]) == grant and dec(by[k]["Udestående (kr.)"]) == 0
    assert by[147]["Del 3 udløst"].value.strftime("%Y-%m") == "2019-03"
    assert dec(by[147]["FSM2 forfalder i 2019-03"]) == Decimal("9866666.70")
    assert by[147]["Begrundelse del 3"].value == "resultatandel 20 % (4 af 20) i 2019-03 (≥ 20 %, F8; del 3, F10)"
    assert by[151]["Tilskud (kr.)"].value == 0
    assert by[151]["Begrundelse del 2"].value.startswith("tilskud 0: ingen målgruppe i 2019-01")
    assert by[101]["Tilskudsgrundlag"].value == "F10 standard: 148.000.000 kr. fordelt efter målgruppen i 2019-01 (største rest)"
    col = headers["Tilskud (kr.)"]
    total = ws[f"{col}{total_row}"]
    assert total.value == f"=SUM({col}{header_row + 1}:{col}{total_row - 1})"
    notes = [ws[f"A{r}"].value for r in range(1, header_row)]
    assert any(n and n.startswith("Afstemt: FSM2-tilskud i alt") for n in notes)
    assert any(n and "50/40/10 %" in n and "15 %" in n and "Udbetalingsmodel og tilskud" in n for n in notes)


def test_F10_due_sheet_lists_the_parts_earned_this_month(book):
    _, _, rows, total_row = sheet_table(book["FSM2 forfald"])
    got = [(r["Kommunekode"].value, r["Del"].value, dec(r["Beløb (kr.)"])) for r in rows]
    assert got == [(147, 3, Decimal("9866666.70"))]
    assert total_row is not None


def test_F10_html_section_due_parts_totals_per_part_and_reconciliation(fsm2_reports):
    html = (fsm2_reports["dir"] / "tranche_report.html").read_text(encoding="utf-8")
    assert 'href="#fsm2_pay"' in html and '<section id="fsm2_pay"' in html
    due = html.split('id="fsm2-due-table"')[1].split("</table>")[0]
    assert "9.866.666,70" in due and due.count("<tr>") == 3  # header, one part, total
    totals = html.split('id="fsm2-pay-totals-table"')[1].split("</table>")[0]
    assert "74.000.000,00" in totals and "59.200.000,00" in totals and "14.800.000,00" in totals  # 50/40/10 of 148m
    assert "148.000.000,00" in totals
    assert "Afstemt: FSM2-tilskud i alt" in html.split('id="fsm2-reconcile"')[1]


def test_F10_A3_rules_sheet_lists_the_settings_and_the_source(book):
    _, _, rows, _ = sheet_table(book["Regler og grundlag"])
    got = {(r["Regel-id"].value, r["Værdi"].value) for r in rows}
    assert ("F10", "50/40/10") in got and ("F10", "15, 20") in got and ("F10", "148.000.000") in got
    assert ("F10", "STAR's FAQ til Flere skal med 2, 'Udbetalingsmodel og tilskud' (ikke i kildedokumenterne)") in got
    assert ("A3", "nej") in got  # the education option is off by default


def test_A3_rules_sheet_says_when_the_education_option_is_on():
    from fsm.config import Rules
    from fsm.report.rules_in_force import rules_in_force
    from fsm.report.text import Text

    on = {rid: v for rid, _, v in rules_in_force(Rules(education_counts_as_activity=True), Text("en"))}
    assert on["A3"] == "yes"
