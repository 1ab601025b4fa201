"""tranche_report.xlsx: sheets, numbers as numbers, =SUM totals equal to the warehouse, FSM2's sheets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from report.support import (
    AMOUNTS,
    DUE_MARCH,
    EARNED_MARCH,
    FEB19,
    GRANTED,
    JAN19,
    MAR19,
    OUTSTANDING,
    conditional_bands,
    dec,
    sheet_table,
)


def test_xlsx_sheets_numbers_formats_and_totals(reports):
    import openpyxl

    path = reports["dir"] / "tranche_report.xlsx"
    wb = openpyxl.load_workbook(path)  # formulas
    wbv = openpyxl.load_workbook(path, data_only=True)  # cached values
    assert wb.sheetnames == [
        "Udbetalinger", "Ratestatus", "Totaler", "Rater (detalje)", "Nye rater", "Nye DQ-fund", "Visitation",
        "Aktivitetsandel", "Aktive", "Indsatsgruppe", "Datakvalitet", "DQ udvikling", "Regler og grundlag", "Leverancer",
    ]  # fmt: skip
    for ws in wb.worksheets:
        sheet_table(ws)  # every sheet: a frozen, autofiltered header row
        assert "INTERN" in ws.oddHeader.left.text  # printed page header
        assert any("INTERN" in str(c.value) for c in ws["A"][:3])  # banner on the sheet

    # Payments due: the two tranches earned in 2018-03, the total a formula equal to the warehouse
    ws, wv = wb["Udbetalinger"], wbv["Udbetalinger"]
    _, h, rows, total = sheet_table(ws)
    got = {(r["Kommunekode"].value, r["Rate"].value): dec(r["Beløb (kr.)"]) for r in rows}
    assert got == DUE_MARCH
    amount_col = h["Beløb (kr.)"]
    assert rows[0]["Beløb (kr.)"].number_format == "#,##0.00"
    assert isinstance(rows[0]["Beløb (kr.)"].value, (int, float))  # a number, not text
    assert rows[0]["Andel af tilskud"].number_format == "0.00%"
    assert rows[0]["Udløst måned"].is_date and rows[0]["Udløst måned"].number_format == "yyyy-mm"
    assert ws[f"{amount_col}{total}"].value == f"=SUM({amount_col}{total - len(rows)}:{amount_col}{total - 1})"
    assert dec(wv[f"{amount_col}{total}"]) == Decimal("200000.00") == reports["wh_totals"][3]

    # Tranche status: København's grant of 333,333.33 shows as three tranches adding to it exactly
    ws, wv = wb["Ratestatus"], wbv["Ratestatus"]
    _, h, rows, total = sheet_table(ws)
    by = {r["Kommunekode"].value: r for r in rows}
    assert set(by) == {101, 147, 151}
    kbh = by[101]
    tranche_cells = [kbh[f"Rate {n} (kr.)"] for n in (1, 2, 3)]
    assert [dec(c) for c in tranche_cells] == list(AMOUNTS[101])
    assert sum(dec(c) for c in tranche_cells) == dec(kbh["Tilskud (kr.)"]) == Decimal("333333.33")
    assert [kbh[f"Rate {n} udløst"].value.strftime("%Y-%m") for n in (1, 2, 3)] == ["2017-08", "2017-09", "2018-03"]
    assert by[147]["Rate 3 udløst"].value == "ikke udløst"
    assert by[147]["Begrundelse rate 2"].value == "dækning 50 % (3 af 6) i 2018-03; kræver 100 % (P2)"
    assert kbh["Begrundelse rate 3"].value == "aktivitetsandel ≥ 40 % i 2018-01, 2018-02, 2018-03 (40 %, 40 %, 40 %; P3)"
    assert kbh["Tilskudsgrundlag"].value == "tildelingsfil fra økonomi (reference/allocations)"
    expected = {"Tilskud (kr.)": GRANTED, "Udløst til dato (kr.)": EARNED_MARCH, "Udestående (kr.)": OUTSTANDING}
    for header, value in expected.items():
        col = h[header]
        assert ws[f"{col}{total}"].value == f"=SUM({col}{total - 3}:{col}{total - 1})"
        assert dec(wv[f"{col}{total}"]) == value
        assert sum((dec(r[header]) for r in rows), Decimal(0)) == value  # the stored values agree with the formula
        assert rows[0][header].number_format == "#,##0.00"
    assert kbh["Begrundelse rate 3"].alignment.wrap_text  # a long basis wraps (prints readably; tests/report/test_print.py)

    # Totals per tranche
    ws, wv = wb["Totaler"], wbv["Totaler"]
    _, h, rows, total = sheet_table(ws)
    assert [dec(r["Bevilget (kr.)"]) for r in rows] == [sum(a[i] for a in AMOUNTS.values()) for i in range(3)]
    for header, value in {"Bevilget (kr.)": GRANTED, "Udløst til dato (kr.)": EARNED_MARCH, "Udestående (kr.)": OUTSTANDING,
                          "Forfalder i måneden (kr.)": Decimal("200000.00")}.items():  # fmt: skip
        assert ws[f"{h[header]}{total}"].value.startswith("=SUM(")
        assert dec(wv[f"{h[header]}{total}"]) == value

    # Detail: one row per municipality and tranche, summing to the warehouse
    _, h, rows, total = sheet_table(wb["Rater (detalje)"])
    assert len(rows) == 9
    assert sum((dec(r["Beløb (kr.)"]) for r in rows), Decimal(0)) == GRANTED

    # Newly earned since 2018-02: exactly the tranches due in March
    _, h, rows, total = sheet_table(wb["Nye rater"])
    assert {(r["Kommunekode"].value, r["Rate"].value) for r in rows} == set(DUE_MARCH)

    # Visitation: counts as numbers, coverage as a percentage, the national coverage a formula
    ws, wv = wb["Visitation"], wbv["Visitation"]
    _, h, rows, total = sheet_table(ws)
    for r in rows:
        target, visited, deferred, coverage = reports["visitation"][r["Kommunekode"].value]
        assert (r["Målgruppe"].value, r["Visiteret"].value, r["Udskudt"].value) == (target, visited, deferred)
        assert Decimal(str(r["Dækning"].value)) * 100 == coverage
        assert r["Dækning"].number_format == "0.00%" and r["Målgruppe"].number_format == "#,##0"
    assert ws[f"{h['Målgruppe']}{total}"].value.startswith("=SUM(")
    assert wv[f"{h['Målgruppe']}{total}"].value == 16
    assert ws[f"{h['Dækning']}{total}"].value.startswith("=IF(")
    assert Decimal(str(wv[f"{h['Dækning']}{total}"].value)).quantize(Decimal("0.0001")) == Decimal("0.8125")  # (12 + 1) / 16

    # Activity share: months as columns, København 40 % in 2018-03; the national row a formula over the count sheets
    ws, wv = wb["Aktivitetsandel"], wbv["Aktivitetsandel"]
    _, h, rows, total = sheet_table(ws)
    assert "2017-08" in h and "2018-03" in h
    kbh = next(r for r in rows if r["Kommunekode"].value == 101)
    assert kbh["2018-03"].value == pytest.approx(0.4) and kbh["2018-03"].number_format == "0.00%"
    formula = ws[f"{h['2018-03']}{total}"].value
    assert "'Aktive'!" in formula and "'Indsatsgruppe'!" in formula
    # København 2 of 5 active; Frederiksberg 0 of 3 (f6, f7, f8); Ballerup 0 of 3 (group 3 and deferred are not in it)
    assert wv[f"{h['2018-03']}{total}"].value == pytest.approx(2 / 11)
    _, hc, _crow, ctotal = sheet_table(wb["Indsatsgruppe"])
    assert wbv["Indsatsgruppe"][f"{hc['2018-03']}{ctotal}"].value == 11

    # Data quality: counted by rule per municipality, equal to the warehouse
    ws, wv = wb["Datakvalitet"], wbv["Datakvalitet"]
    _, h, rows, total = sheet_table(ws)
    got = {(r["Kommunekode"].value, rule): r[rule].value for r in rows for rule in h if rule in {d[1] for d in reports["dq"]}}
    for kode, rule, n in reports["dq"]:
        assert got[kode, rule] == n
    fred = next(r for r in rows if r["Kommunekode"].value == 147)
    assert fred["backdated_marking"].value == 1 and fred["Nye fund"].value == 1  # only the March backdating is new
    assert fred["overlapping_group_marking"].value == 1

    # Rules in force, grant source, snapshot, deliveries
    ws = wb["Regler og grundlag"]
    text = "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    for needle in ("Krævet aktivitetsandel for rate 3 (%)", "VIRKSOMHEDSPRAKTIK, LOENTILSKUD", "30/40/30", "2018-03-31",
                   "tildelingsfil fra økonomi", "262.500.000"):  # fmt: skip
        assert needle in text, needle
    _, h, rows, total = sheet_table(wb["Leverancer"])
    names = {r["Fil"].value for r in rows}
    assert {"markings_2018-03-31.csv", "timer_2018-03.csv", "allocations.csv"} <= names
    assert "markings_2018-04-30.csv" not in names


# --- csv -----------------------------------------------------------------------------------------


def test_fsm2_result_sheet_equals_the_marts(fsm2_reports):
    import openpyxl

    path = fsm2_reports["dir"] / "tranche_report.xlsx"
    wb, wbv = openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)
    marts, req = fsm2_reports["result_rows"], fsm2_reports["req"]
    ws = wb["FSM2 resultat"]
    _, h, rows, total = sheet_table(ws)  # frozen header, autofilter
    assert ws.freeze_panes == f"C{total - len(rows)}"
    assert "INTERN" in ws.oddHeader.left.text
    assert any("Flere skal med 2 (FSM2)" in str(c.value) for c in ws["A"][:4])
    by = {r["Kommunekode"].value: r for r in rows}
    assert len(by) == 31  # every FSM2 participant (F9), with or without citizens
    headers = {"Målgruppe": 0, "Gruppe 2": 1, "Fritaget": 2, "Indsatsgruppe": 3, "Aktive": 4}
    for k in by:
        mart = marts[k, MAR19, "ALL"]
        for header, i in headers.items():
            cell = by[k][header]
            assert cell.value == mart[i] and isinstance(cell.value, int) and cell.number_format == "#,##0", (k, header)
        share = by[k]["Resultatandel"]
        assert share.number_format == "0.00%"
        assert (share.value is None) == (mart[5] is None)
        if mart[5] is not None:
            assert Decimal(str(share.value * 100)).quantize(Decimal("0.01")) == mart[5]
        for thr in (15, 20):
            met, met_month, _basis = req[k, thr]
            assert by[k][f"Krav {thr} % opfyldt"].value == ("ja" if met else "nej")
            cell = by[k][f"Krav {thr} % måned"]
            assert (cell.value.date() if cell.value else None) == met_month
            if met_month:
                assert cell.is_date and cell.number_format == "yyyy-mm"
    assert by[101]["Kommune"].value == "København"
    assert by[147]["Begrundelse 15 %"].value == "resultatandel 15 % (3 af 20) i 2019-02 (≥ 15 %, F8)"
    assert by[147]["Begrundelse 20 %"].value == "resultatandel 20 % (4 af 20) i 2019-03 (≥ 20 %, F8)"
    assert by[151]["Begrundelse 20 %"].value == "bedste resultatandel i.t. i 2019-01; kræver 20 % i én måned (F8)"
    # Totals row: sums, the national share as a formula, the number of municipalities meeting each threshold
    wv = wbv["FSM2 resultat"]
    for header, value in {"Målgruppe": 30, "Gruppe 2": 1, "Fritaget": 0, "Indsatsgruppe": 29, "Aktive": 6}.items():
        assert ws[f"{h[header]}{total}"].value.startswith("=SUM(") and wv[f"{h[header]}{total}"].value == value
    assert (
        ws[f"{h['Resultatandel']}{total}"].value
        == f'=IF({h["Indsatsgruppe"]}{total}=0,"",{h["Aktive"]}{total}/{h["Indsatsgruppe"]}{total})'
    )
    assert wv[f"{h['Resultatandel']}{total}"].value == pytest.approx(6 / 29)
    assert ws[f"{h['Krav 20 % opfyldt']}{total}"].value.startswith("=COUNTIF(")
    assert wv[f"{h['Krav 20 % opfyldt']}{total}"].value == 2
    # ≥ 20 % green first (it stops there), then ≥ 15 % light green
    bands = conditional_bands(ws)
    col = h["Resultatandel"]
    assert bands[f"{col}{total - len(rows)}:{col}{total - 1}"] == [(0.2, "FFD7EFD9"), (0.15, "FFEEF8E6")]
    assert by[151]["Begrundelse 20 %"].alignment.wrap_text  # a long basis wraps (tests/report/test_print.py)


def test_fsm2_share_sheet_months_as_columns_national_row_over_the_count_sheets(fsm2_reports):
    import openpyxl

    path = fsm2_reports["dir"] / "tranche_report.xlsx"
    wb, wbv = openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)
    marts = fsm2_reports["result_rows"]
    ws = wb["FSM2 andel"]
    _, h, rows, total = sheet_table(ws)
    assert [c for c in h if c.startswith("20")] == ["2019-01", "2019-02", "2019-03"]
    counts = {
        name: {r["Kommunekode"].value: r for r in sheet_table(wb[name])[2]} for name in ("FSM2 aktive", "FSM2 indsatsgruppe")
    }
    for r in rows:
        k = r["Kommunekode"].value
        for m in (JAN19, FEB19, MAR19):
            label = m.strftime("%Y-%m")
            mart = marts[k, m, "ALL"]
            assert counts["FSM2 aktive"][k][label].value == mart[4]
            assert counts["FSM2 indsatsgruppe"][k][label].value == mart[3]
            cell = r[label]
            assert cell.number_format == "0.00%"
            if mart[5] is None:
                assert cell.value is None
            else:
                assert Decimal(str(cell.value * 100)).quantize(Decimal("0.01")) == mart[5]
    kbh = next(r for r in rows if r["Kommunekode"].value == 101)
    assert kbh["2019-02"].value == pytest.approx(1 / 8)
    for label, expected in {"2019-01": 5 / 30, "2019-02": 4 / 28, "2019-03": 6 / 29}.items():
        formula = ws[f"{h[label]}{total}"].value
        assert formula == (
            f"=IF('FSM2 indsatsgruppe'!{h[label]}{total}=0,\"\",'FSM2 aktive'!{h[label]}{total}/'FSM2 indsatsgruppe'!{h[label]}{total})"
        )
        assert wbv["FSM2 andel"][f"{h[label]}{total}"].value == pytest.approx(expected)
        assert wbv["FSM2 aktive"][f"{h[label]}{total}"].value == round(
            expected * {"2019-01": 30, "2019-02": 28, "2019-03": 29}[label]
        )
    bands = conditional_bands(ws)
    assert list(bands.values()) == [[(0.2, "FFD7EFD9"), (0.15, "FFEEF8E6")]]
    assert next(iter(bands)) == f"C{total - len(rows)}:E{total - 1}"


def test_fsm2_origin_sheet_by_municipality_and_nationally(fsm2_reports):
    import openpyxl

    path = fsm2_reports["dir"] / "tranche_report.xlsx"
    wb, wbv = openpyxl.load_workbook(path), openpyxl.load_workbook(path, data_only=True)
    marts = fsm2_reports["result_rows"]
    ws, wv = wb["FSM2 herkomst"], wbv["FSM2 herkomst"]
    _, h, rows, total = sheet_table(ws)
    assert len(rows) == 31 * 3
    labels = {"Dansk": "DANSK", "Vestlig": "VESTLIG", "Ikke-vestlig": "IKKE_VESTLIG"}
    for r in rows:
        k, origin = r["Kommunekode"].value, labels[r["Herkomst"].value]
        mart = marts.get((k, MAR19, origin), (0, 0, 0, 0, 0, None))
        assert [r[x].value for x in ("Målgruppe", "Gruppe 2", "Fritaget", "Indsatsgruppe", "Aktive")] == list(mart[:5])
        for m in (JAN19, FEB19, MAR19):
            got = r[m.strftime("%Y-%m")].value
            want = marts.get((k, m, origin), (None,) * 6)[5]
            assert (got is None and want is None) or Decimal(str(got * 100)).quantize(Decimal("0.01")) == want
    ikke = next(r for r in rows if r["Kommunekode"].value == 101 and r["Herkomst"].value == "Ikke-vestlig")
    assert ikke["Aktive"].value == 2 and ikke["Resultatandel 2019-03"].value == pytest.approx(2 / 3)  # SU education + hours
    # national rows: all origins (SUM), then each origin (SUMIFS over the municipality rows); cached values = the marts
    assert (ws[f"B{total}"].value, ws[f"C{total}"].value) == ("Hele landet", "Alle")
    assert wv[f"{h['Indsatsgruppe']}{total}"].value == 29
    assert ws[f"{h['2019-02']}{total}"].value == f"='FSM2 andel'!D{sheet_table(wb['FSM2 andel'])[3]}"
    for i, (label, origin) in enumerate(labels.items(), start=1):
        row = total + i
        assert (ws[f"B{row}"].value, ws[f"C{row}"].value) == ("Hele landet", label)
        col = h["Aktive"]
        assert (
            ws[f"{col}{row}"].value
            == f"=SUMIFS({col}{total - len(rows)}:{col}{total - 1},$C${total - len(rows)}:$C${total - 1},$C{row})"
        )
        for x, j in (("Indsatsgruppe", 3), ("Aktive", 4)):
            assert wv[f"{h[x]}{row}"].value == sum(v[j] for (k, m, o), v in marts.items() if m == MAR19 and o == origin)
        ind = sum(v[3] for (k, m, o), v in marts.items() if m == JAN19 and o == origin)
        act = sum(v[4] for (k, m, o), v in marts.items() if m == JAN19 and o == origin)
        assert wv[f"{h['2019-01']}{row}"].value == pytest.approx(act / ind)
        assert ws[f"{h['Resultatandel 2019-03']}{row}"].value.startswith("=IF(")
    assert wv[f"{h['2019-01']}{total + 1}"].value == pytest.approx(5 / 15)  # Danish: 3 in København + 2 in Frederiksberg
