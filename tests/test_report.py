"""The finance report (tranche_report.xlsx/.html/.csv) against the real warehouse.

Three municipalities, hand-made rows, two as-of months (2018-02 and 2018-03). Expected money was
worked out by hand (P4: a grant of 333,333.33 is 100,000.00 / 133,333.33 / 100,000.00) and is also
re-read from the warehouse, so the report is checked to reconcile to the øre.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import time
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from fsm_scenario import Scenario, cpr, person_key

MARCH, FEB = date(2018, 3, 1), date(2018, 2, 1)
PERSON_KEY_RE = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
CPR_RE = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")
CHROMIUM = "/usr/bin/chromium"
PEOPLE = range(1, 30)

# Hand-computed (P4): tranches 30/40/30 to the øre, the rounding difference on tranche 3.
GRANTS = {101: Decimal("333333.33"), 147: Decimal("1000000.00"), 151: Decimal("250000.01")}
AMOUNTS = {
    101: (Decimal("100000.00"), Decimal("133333.33"), Decimal("100000.00")),
    147: (Decimal("300000.00"), Decimal("400000.00"), Decimal("300000.00")),
    151: (Decimal("75000.00"), Decimal("100000.00"), Decimal("75000.01")),
}
DUE_MARCH = {(101, 3): Decimal("100000.00"), (151, 2): Decimal("100000.00")}
EARNED_MARCH = Decimal("808333.33")  # 101: all three; 147: tranche 1; 151: tranches 1 and 2
GRANTED = Decimal("1583333.34")
OUTSTANDING = Decimal("775000.01")


def build(sc: Scenario) -> None:
    # København (101): 5 citizens in group 1 from 2017-09 (P2 in 2017-09); 40 % active in Jan, Feb, Mar -> tranche 3 in 2018-03.
    for p in range(1, 6):
        sc.brutto(p, kommune=101).mark(f"g{p}", p, "FSM_GR1", "2017-09-01", kommune=101)
    for month, k in {"2017-10": 2, "2017-11": 2, "2017-12": 1, "2018-01": 2, "2018-02": 2, "2018-03": 2}.items():
        for p in range(1, k + 1):
            sc.hours(month, p, "7,5")
    # Frederiksberg (147): 6 citizens, 3 visited -> 50 %; a backdated marking registered in March (new DQ finding)
    # and an overlapping group pair seen in both months (not new).
    for p in range(6, 12):
        sc.brutto(p, kommune=147)
    sc.mark("f6", 6, "FSM_GR1", "2017-10-01", kommune=147)
    sc.mark("f7", 7, "FSM_GR1", "2017-09-01", kommune=147).mark("f7b", 7, "FSM_GR2", "2017-12-01", kommune=147)
    sc.mark("f8", 8, "FSM_GR1", "2018-02-01", registered="2018-03-05", kommune=147)
    # Ballerup (151): 5 citizens, 4 visited in 2017-10, the fifth in March 2018 -> tranche 2 earned 2018-03.
    for p in range(12, 17):
        sc.brutto(p, kommune=151)
    for p in range(12, 16):
        sc.mark(f"b{p}", p, "FSM_GR1" if p < 15 else "FSM_GR3", "2017-10-02", kommune=151)
    sc.mark("b16", 16, "FSM_UDSKUDT", "2018-03-10", kommune=151)
    sc.grant(101, "333333,33").grant(147, "1000000").grant(151, "250000,01")


@pytest.fixture(scope="module")
def reports(warehouse_url, tmp_path_factory):
    """Build the warehouse once, write the reports for 2018-02 and 2018-03, remember the warehouse's own figures."""
    from fsm import warehouse
    from fsm.quality import check_markings
    from fsm.report import write_reports

    with warehouse.connect() as conn:
        from conftest import DATA_TABLES

        conn.execute("truncate " + ", ".join(DATA_TABLES) + " restart identity cascade")
    root = tmp_path_factory.mktemp("report")
    sc = Scenario(root / "landing")
    build(sc)
    sc.run("2018-03", months=["2018-02", "2018-03"])
    check_markings(FEB)
    check_markings(MARCH)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FSM_REPORTS_DIR", str(root / "reports"))
        mp.delenv("FSM_REPORT_LANG", raising=False)
        write_reports(FEB)
        t0 = time.perf_counter()
        result = write_reports(MARCH)
        seconds = time.perf_counter() - t0
    with warehouse.connect() as conn:
        wh_rows = conn.execute(
            "select kommune_kode, tranche, grant_dkk, amount_dkk, earned, earned_month from mart_tranche_status"
            " where as_of_month = %s and programme = 'FSM1' order by 1, 2",
            (MARCH,),
        ).fetchall()
        wh_totals = conn.execute(
            "select sum(amount_dkk), sum(amount_dkk) filter (where earned), sum(amount_dkk) filter (where not earned),"
            " sum(amount_dkk) filter (where earned_month = %s) from mart_tranche_status where as_of_month = %s",
            (MARCH, MARCH),
        ).fetchone()
        visitation = {
            r[0]: r[1:]
            for r in conn.execute(
                "select kommune_kode, target_n, visited_n, deferred_n, coverage_pct from mart_visitation_progress where as_of_month = %s",
                (MARCH,),
            ).fetchall()
        }
        dq = conn.execute(
            "select kommune_kode, rule_id, count(*) from dq_marking_violations where as_of_month = %s group by 1, 2", (MARCH,)
        ).fetchall()
        person_keys = [r[0] for r in conn.execute("select distinct person_key from stg_markings").fetchall()]
    out = Path(result["dir"])
    return {
        "dir": out,
        "result": result,
        "seconds": seconds,
        "wh_rows": wh_rows,
        "wh_totals": wh_totals,
        "visitation": visitation,
        "dq": dq,
        "person_keys": person_keys,
    }


# --- the basics ------------------------------------------------------------------------------


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


def test_warehouse_agrees_with_the_hand_computed_figures(reports):
    """The scenario does what the report tests assume (a guard, so failures below are the report's)."""
    got = {(k, t): (g, a, e, m) for k, t, g, a, e, m in reports["wh_rows"]}
    for k, amounts in AMOUNTS.items():
        assert [got[k, t][1] for t in (1, 2, 3)] == list(amounts)
        assert sum(amounts) == GRANTS[k] == got[k, 1][0]
    assert {key for key, v in got.items() if v[3] == MARCH} == set(DUE_MARCH)
    assert reports["wh_totals"] == (GRANTED, EARNED_MARCH, OUTSTANDING, Decimal("200000.00"))


# --- xlsx --------------------------------------------------------------------------------------


def _sheet_table(ws):
    """(header row number, {header: column letter}, data rows as dicts, totals row number)."""
    header_row = None
    for row in ws.iter_rows(min_row=1, max_row=15):
        if row[0].value in ("Kommunekode", "Rate", "Regel-id", "Feed", "Municipality code", "Tranche"):
            header_row = row[0].row
            break
    assert header_row, f"no header row in {ws.title}"
    assert ws.freeze_panes is not None and int(re.sub(r"\D", "", ws.freeze_panes)) == header_row + 1
    assert ws.auto_filter.ref and ws.auto_filter.ref.split(":")[0].endswith(str(header_row))
    headers = {c.value: c.column_letter for c in ws[header_row] if c.value is not None}
    rows, total_row = [], None
    for r in range(header_row + 1, ws.max_row + 1):
        values = {h: ws[f"{col}{r}"] for h, col in headers.items()}
        first = ws[f"A{r}"].value
        second = ws[f"B{r}"].value
        if first in ("I alt", "Total") or second in ("I alt", "Hele landet", "Total", "Whole country"):
            total_row = r
            break
        rows.append(values)
    return header_row, headers, rows, total_row


def _dec(cell) -> Decimal:
    return Decimal(str(cell.value)).quantize(Decimal("0.01"))


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
        _sheet_table(ws)  # every sheet: a frozen, autofiltered header row
        assert "INTERN" in ws.oddHeader.left.text  # printed page header
        assert any("INTERN" in str(c.value) for c in ws["A"][:3])  # banner on the sheet

    # Payments due: the two tranches earned in 2018-03, the total a formula equal to the warehouse
    ws, wv = wb["Udbetalinger"], wbv["Udbetalinger"]
    _, h, rows, total = _sheet_table(ws)
    got = {(r["Kommunekode"].value, r["Rate"].value): _dec(r["Beløb (kr.)"]) for r in rows}
    assert got == DUE_MARCH
    amount_col = h["Beløb (kr.)"]
    assert rows[0]["Beløb (kr.)"].number_format == "#,##0.00"
    assert isinstance(rows[0]["Beløb (kr.)"].value, (int, float))  # a number, not text
    assert rows[0]["Andel af tilskud"].number_format == "0.00%"
    assert rows[0]["Udløst måned"].is_date and rows[0]["Udløst måned"].number_format == "yyyy-mm"
    assert ws[f"{amount_col}{total}"].value == f"=SUM({amount_col}{total - len(rows)}:{amount_col}{total - 1})"
    assert _dec(wv[f"{amount_col}{total}"]) == Decimal("200000.00") == reports["wh_totals"][3]

    # Tranche status: København's grant of 333,333.33 shows as three tranches adding to it exactly
    ws, wv = wb["Ratestatus"], wbv["Ratestatus"]
    _, h, rows, total = _sheet_table(ws)
    by = {r["Kommunekode"].value: r for r in rows}
    assert set(by) == {101, 147, 151}
    kbh = by[101]
    tranche_cells = [kbh[f"Rate {n} (kr.)"] for n in (1, 2, 3)]
    assert [_dec(c) for c in tranche_cells] == list(AMOUNTS[101])
    assert sum(_dec(c) for c in tranche_cells) == _dec(kbh["Tilskud (kr.)"]) == Decimal("333333.33")
    assert [kbh[f"Rate {n} udløst"].value.strftime("%Y-%m") for n in (1, 2, 3)] == ["2017-08", "2017-09", "2018-03"]
    assert by[147]["Rate 3 udløst"].value == "ikke udløst"
    assert by[147]["Begrundelse rate 2"].value == "dækning 50 % (3 af 6) i 2018-03; kræver 100 % (P2)"
    assert kbh["Begrundelse rate 3"].value == "aktivitetsandel ≥ 40 % i 2018-01, 2018-02, 2018-03 (40 %, 40 %, 40 %; P3)"
    assert kbh["Tilskudsgrundlag"].value == "tildelingsfil fra økonomi (reference/allocations)"
    expected = {"Tilskud (kr.)": GRANTED, "Udløst til dato (kr.)": EARNED_MARCH, "Udestående (kr.)": OUTSTANDING}
    for header, value in expected.items():
        col = h[header]
        assert ws[f"{col}{total}"].value == f"=SUM({col}{total - 3}:{col}{total - 1})"
        assert _dec(wv[f"{col}{total}"]) == value
        assert sum((_dec(r[header]) for r in rows), Decimal(0)) == value  # the stored values agree with the formula
        assert rows[0][header].number_format == "#,##0.00"
    assert (ws.column_dimensions[h["Begrundelse rate 3"]].width or 0) >= len(kbh["Begrundelse rate 3"].value)

    # Totals per tranche
    ws, wv = wb["Totaler"], wbv["Totaler"]
    _, h, rows, total = _sheet_table(ws)
    assert [_dec(r["Bevilget (kr.)"]) for r in rows] == [sum(a[i] for a in AMOUNTS.values()) for i in range(3)]
    for header, value in {"Bevilget (kr.)": GRANTED, "Udløst til dato (kr.)": EARNED_MARCH, "Udestående (kr.)": OUTSTANDING,
                          "Forfalder i måneden (kr.)": Decimal("200000.00")}.items():  # fmt: skip
        assert ws[f"{h[header]}{total}"].value.startswith("=SUM(")
        assert _dec(wv[f"{h[header]}{total}"]) == value

    # Detail: one row per municipality and tranche, summing to the warehouse
    _, h, rows, total = _sheet_table(wb["Rater (detalje)"])
    assert len(rows) == 9
    assert sum((_dec(r["Beløb (kr.)"]) for r in rows), Decimal(0)) == GRANTED

    # Newly earned since 2018-02: exactly the tranches due in March
    _, h, rows, total = _sheet_table(wb["Nye rater"])
    assert {(r["Kommunekode"].value, r["Rate"].value) for r in rows} == set(DUE_MARCH)

    # Visitation: counts as numbers, coverage as a percentage, the national coverage a formula
    ws, wv = wb["Visitation"], wbv["Visitation"]
    _, h, rows, total = _sheet_table(ws)
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
    _, h, rows, total = _sheet_table(ws)
    assert "2017-08" in h and "2018-03" in h
    kbh = next(r for r in rows if r["Kommunekode"].value == 101)
    assert kbh["2018-03"].value == pytest.approx(0.4) and kbh["2018-03"].number_format == "0.00%"
    formula = ws[f"{h['2018-03']}{total}"].value
    assert "'Aktive'!" in formula and "'Indsatsgruppe'!" in formula
    # København 2 of 5 active; Frederiksberg 0 of 3 (f6, f7, f8); Ballerup 0 of 3 (group 3 and deferred are not in it)
    assert wv[f"{h['2018-03']}{total}"].value == pytest.approx(2 / 11)
    _, hc, _crow, ctotal = _sheet_table(wb["Indsatsgruppe"])
    assert wbv["Indsatsgruppe"][f"{hc['2018-03']}{ctotal}"].value == 11

    # Data quality: counted by rule per municipality, equal to the warehouse
    ws, wv = wb["Datakvalitet"], wbv["Datakvalitet"]
    _, h, rows, total = _sheet_table(ws)
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
    _, h, rows, total = _sheet_table(wb["Leverancer"])
    names = {r["Fil"].value for r in rows}
    assert {"markings_2018-03-31.csv", "timer_2018-03.csv", "allocations.csv"} <= names
    assert "markings_2018-04-30.csv" not in names


# --- csv -----------------------------------------------------------------------------------------


def test_csv_reads_as_danish_excel_reads_it(reports):
    raw = (reports["dir"] / "tranche_report.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens it as UTF-8
    text = raw.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert list(rows[0]) == ["Kommunekode", "Kommune", "Rate", "Rate_pct", "Tilskud_kr", "Beloeb_kr", "Udloest",
                             "Udloest_maaned", "Begrundelse", "Tilskudsgrundlag"]  # fmt: skip
    assert len(rows) == 9

    def money(s: str) -> Decimal:
        assert re.fullmatch(r"-?\d+,\d{2}", s), s  # decimal comma, no thousands separator
        return Decimal(s.replace(",", "."))

    got = {(int(r["Kommunekode"]), int(r["Rate"])): r for r in rows}
    for kode, tranche, grant, amount, earned, earned_month in reports["wh_rows"]:
        r = got[kode, tranche]
        assert money(r["Beloeb_kr"]) == amount and money(r["Tilskud_kr"]) == grant
        assert r["Udloest"] == ("ja" if earned else "nej")
        assert r["Udloest_maaned"] == (earned_month.strftime("%Y-%m") if earned_month else "")
    assert [money(got[101, t]["Beloeb_kr"]) for t in (1, 2, 3)] == list(AMOUNTS[101])
    assert sum(money(r["Beloeb_kr"]) for r in rows) == GRANTED
    assert sum(money(r["Beloeb_kr"]) for r in rows if r["Udloest"] == "ja") == EARNED_MARCH
    assert got[101, 1]["Kommune"] == "København"  # UTF-8 survives


def test_write_csv_keeps_its_dialect():
    from fsm.report import write_csv

    row = {"kommune_kode": 101, "kommune_navn": "Høje-Taastrup; Øst", "tranche": 2, "tranche_pct": Decimal("40.00"),
           "grant_dkk": Decimal("1234567.89"), "amount_dkk": Decimal("493827.16"), "earned": False, "earned_month": None,
           "basis": 'says "why"', "grant_source": "x"}  # fmt: skip
    data = write_csv([row])
    assert data.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert parsed[1] == ["101", "Høje-Taastrup; Øst", "2", "40,00", "1234567,89", "493827,16", "nej", "", 'says "why"', "x"]


# --- html ----------------------------------------------------------------------------------------


def test_html_is_self_contained_and_has_the_content(reports):
    html = (reports["dir"] / "tranche_report.html").read_text(encoding="utf-8")
    assert '<html lang="da">' in html
    assert "@page" in html and "size: A4" in html and "break-before: page" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html)  # nothing loads from the network
    assert not re.search(r"<link[^>]+stylesheet", html) and "<script" not in html
    assert html.count("data:image/png;base64,") >= 3  # coverage, national line, small multiples
    assert "INTERN – indeholder små tal" in html
    assert 'id="total-due">200.000,00<' in html
    assert 'id="total-earned">808.333,33<' in html
    assert 'id="total-outstanding">775.000,01<' in html
    assert 'id="total-granted">1.583.333,34<' in html
    assert "133.333,33" in html and "dækning 50 % (3 af 6) i 2018-03; kræver 100 % (P2)" in html
    assert "Ændringer siden sidste måned (2018-02)" in html
    assert "Krævet aktivitetsandel for rate 3 (%)" in html  # Rules.describe(), in Danish
    size = len(html.encode("utf-8"))
    assert size < 2_000_000, size


def _report_texts(out: Path) -> dict[str, str]:
    """Every report file as text: the xlsx unzipped (numeric <v> values dropped), the html without its data: URIs."""
    texts = {}
    for f in out.iterdir():
        if f.suffix == ".xlsx":
            with zipfile.ZipFile(f) as z:
                for name in z.namelist():
                    if name.endswith((".xml", ".rels")):
                        xml = z.read(name).decode("utf-8")
                        texts[f"{f.name}:{name}"] = re.sub(r"<v>[^<]*</v>", "", xml) if "worksheets/" in name else xml
        elif f.suffix == ".html":
            texts[f.name] = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "", f.read_text(encoding="utf-8"))
        else:
            texts[f.name] = f.read_bytes().decode("utf-8-sig")
    return texts


def test_no_cpr_and_no_person_key_in_any_report_file(reports):
    keys = reports["person_keys"]
    assert len(keys) >= 16 and all(len(k) == 64 for k in keys)
    for out in (reports["dir"], reports["dir"].parent / "2018-02"):
        for name, text in _report_texts(out).items():
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
    _, h, rows, _total = _sheet_table(wb["Tranche status"])
    assert "Tranche 3 earned" in h
    kbh = next(r for r in rows if r["Municipality code"].value == 101)
    assert kbh["Basis tranche 3"].value == "activity share ≥ 40 % in 2018-01, 2018-02, 2018-03 (40 %, 40 %, 40 %; P3)"
    html = (Path(r["dir"]) / "tranche_report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "INTERNAL – contains small numbers" in html and "808,333.33" in html
    csv_text = (Path(r["dir"]) / "tranche_report.csv").read_bytes().decode("utf-8-sig")
    assert csv_text.startswith("Kommunekode;Kommune;Rate;")  # the csv keeps its labels


def test_basis_and_numbers_in_danish():
    from fsm.report import Labels, basis_text, grant_source_text

    assert basis_text("coverage 66.67 % (24,000 of 36,000) in 2018-03; needs 100 % (P2)", "da") == (
        "dækning 66,67 % (24.000 af 36.000) i 2018-03; kræver 100 % (P2)"
    )
    assert basis_text("paid at project start (P1): 2017-08", "da") == "udbetales ved projektstart (P1): 2017-08"
    assert (
        basis_text(
            "activity share 20 %, n/a, 40 % in 2017-12, 2018-01, 2018-02; needs 40 % 3 months running (1 of 3 met; P3)", "da"
        )
        == "aktivitetsandel 20 %, i.t., 40 % i 2017-12, 2018-01, 2018-02; kræver 40 % 3 måneder i træk (1 af 3 opfyldt; P3)"
    )
    assert basis_text("something new the SQL says", "da") == "something new the SQL says"  # unknown: verbatim
    assert grant_source_text("P4 default: 262,500,000 DKK split by target group at start (largest remainder)", "da") == (
        "P4 standard: 262.500.000 kr. fordelt efter målgruppen ved projektstart (største rest)"
    )
    t = Labels("da")
    assert (t.money(Decimal("1234567.8")), t.count(24000), t.pct(Decimal("66.666"))) == ("1.234.567,80", "24.000", "66,67\u00a0%")


# --- speed: 88 municipalities x 29 months ----------------------------------------------------------


def _fill_country(conn, month: date) -> None:
    """Marts for 88 municipalities as of `month` (and the month before), filled directly: no pipeline needed."""
    from fsm.config import kommuner

    codes = sorted(kommuner())[:88]
    prev = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    for m in (prev, month):
        conn.execute(
            """
            insert into mart_visitation_progress
            select %(m)s, 'FSM1', k, 'K' || k, 100 + k, 60 + k %% 41, 40 + k %% 30, 10 + k %% 7, k %% 5, k %% 4,
                   (100 + k) - (60 + k %% 41) - (k %% 4), k %% 3,
                   round(100.0 * (60 + k %% 41 + k %% 4) / (100 + k), 2), false, 30 + k %% 9, %(m)s + interval '1 month' - interval '1 day'
            from unnest(%(codes)s::int[]) as k
            """,
            {"m": m, "codes": codes},
        )
        conn.execute(
            """
            insert into mart_activity_share
            select %(m)s, 'FSM1', k, a::date, 200 + k %% 50, (200 + k %% 50) * (10 + (k + extract(month from a)::int * 3) %% 45) / 100,
                   round(100.0 * ((200 + k %% 50) * (10 + (k + extract(month from a)::int * 3) %% 45) / 100) / (200 + k %% 50), 2),
                   (10 + (k + extract(month from a)::int * 3) %% 45) >= 40
            from unnest(%(codes)s::int[]) as k, generate_series(date '2017-08-01', %(m)s::date, interval '1 month') as a
            """,
            {"m": m, "codes": codes},
        )
        conn.execute(
            """
            insert into mart_tranche_status
            select %(m)s, 'FSM1', k, t, 'K' || k, case t when 2 then 40 else 30 end, 2983000 + k * 1000.37,
                   case t when 1 then round((2983000 + k * 1000.37) * 0.3, 2) when 2 then round((2983000 + k * 1000.37) * 0.4, 2)
                        else (2983000 + k * 1000.37) - round((2983000 + k * 1000.37) * 0.3, 2) - round((2983000 + k * 1000.37) * 0.4, 2) end,
                   t = 1 or (t = 2 and k %% 3 = 0) or (t = 3 and k %% 5 = 0 and %(m)s = %(last)s),
                   case when t = 1 then date '2017-08-01' when t = 2 and k %% 3 = 0 then date '2018-06-01'
                        when t = 3 and k %% 5 = 0 and %(m)s = %(last)s then %(m)s end,
                   'basis for ' || k || ' tranche ' || t, 'allocation file (reference/allocations)'
            from unnest(%(codes)s::int[]) as k, generate_series(1, 3) as t
            """,
            {"m": m, "codes": codes, "last": month},
        )
        conn.execute(
            """
            insert into dq_marking_violations (as_of_month, rule_id, marking_id, kommune_kode, person_key, severity, detail)
            select %(m)s, (array['backdated_marking', 'duplicate_marking', 'future_marking'])[1 + i %% 3], 'm' || i,
                   (%(codes)s::int[])[1 + i %% 88], encode(sha256(('p' || i)::bytea), 'hex'), 'error', 'x'
            from generate_series(1, case when %(m)s = %(last)s then 2000 else 1800 end) as i
            """,
            {"m": m, "codes": codes, "last": month},
        )
    conn.execute(
        """
        insert into ingest_file (feed, file_name, uri, sha256, period, size_bytes, rows_read, rows_loaded, rows_rejected)
        select f, f || '_' || to_char(p, 'YYYY-MM') || '.csv', 'x', md5(f || p), p, 1, 1000, 990, 10
        from unnest(array['ydelse', 'tilbud', 'timer']) as f, generate_series(date '2017-08-01', %(m)s::date, interval '1 month') as p
        """,
        {"m": month},
    )


def test_a_country_of_88_municipalities_and_29_months_takes_seconds(wh, tmp_path, monkeypatch):
    from fsm.report import write_reports

    month = date(2019, 12, 1)
    with wh.connect() as conn:
        _fill_country(conn, month)
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path))
    t0 = time.perf_counter()
    r = write_reports(month)
    seconds = time.perf_counter() - t0
    print(f"\nreport for 88 municipalities x 29 months: {seconds:.2f}s ({r['seconds']}s inside)")
    assert r["municipalities"] == 88 and r["rows"] == 264 and r["reconciled"]
    assert seconds < 20, seconds  # a few seconds on a laptop; generous for a loaded CI runner
    html = Path(r["dir"]) / "tranche_report.html"
    assert html.stat().st_size < 3_000_000, html.stat().st_size
    assert (Path(r["dir"]) / "tranche_report.xlsx").stat().st_size < 1_000_000
    for name, text in _report_texts(Path(r["dir"])).items():
        assert not PERSON_KEY_RE.search(text), name
    shutil.copy(html, "/tmp/report_country.html")


# --- the html in a real browser --------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")
def test_html_renders_in_headless_chromium_with_its_charts(reports):
    from playwright.sync_api import sync_playwright

    html = reports["dir"] / "tranche_report.html"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            requests: list[str] = []
            page.on("request", lambda req: requests.append(req.url))
            page.goto(html.as_uri(), wait_until="load")
            images = page.evaluate(
                "() => Array.from(document.images).map(i => ({id: i.id, w: i.naturalWidth, h: i.naturalHeight, ok: i.complete}))"
            )
            assert len(images) >= 3
            assert all(i["ok"] and i["w"] > 0 and i["h"] > 0 for i in images), images
            assert {"chart-coverage", "chart-national"} <= {i["id"] for i in images}
            assert page.inner_text("#total-due") == "200.000,00"
            assert page.locator("#status-table tbody tr").count() == 3
            assert page.locator(".banner.internal").is_visible()
            assert all(u.startswith(("file:", "data:")) for u in requests), requests  # no network
            page.screenshot(path="/tmp/report_screenshot.png", full_page=True)
            pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
            assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) >= 8  # a page per section at least
            Path("/tmp/report_screenshot.pdf").write_bytes(pdf)
        finally:
            browser.close()


# --- edge cases ----------------------------------------------------------------------------------


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


def _report(visitation_counts, activity=((10, 5),), basis="coverage 100 % (20 of 20) in 2017-09 (P2)"):
    from datetime import datetime

    from fsm.config import Rules
    from fsm.report import Report

    vis = [dict.fromkeys(
        ("target_n", "visited_n", "group1_n", "group2_n", "group3_n", "deferred_n", "unvisited_n", "left_unvisited_n", "pjf_n"), 0)]  # fmt: skip
    vis[0].update(
        visitation_counts, kommune_kode=101, kommune_navn="København", coverage_pct=None, coverage_met=False, snapshot_date=None
    )
    tranche = {"kommune_kode": 101, "kommune_navn": "København", "tranche": 2, "tranche_pct": Decimal(40), "grant_dkk": Decimal(1),
               "amount_dkk": Decimal(1), "earned": True, "earned_month": date(2017, 9, 1), "basis": basis, "grant_source": "x"}  # fmt: skip
    act = [{"kommune_kode": 101, "activity_month": date(2017, 9, 1), "cohort_n": c, "active_n": a, "share_pct": None,
            "meets_threshold": False} for c, a in activity]  # fmt: skip
    return Report(month=date(2017, 9, 1), prev_month=date(2017, 8, 1), lang="da", rules=Rules(), generated_at=datetime(2020, 1, 1),
                  tranches=[tranche], prev_tranches=[], visitation=vis, activity=act, dq_counts=[], dq_new=[], dq_resolved={},
                  dq_history=[], deliveries=[], run_log=[], names={101: "København"})  # fmt: skip


def test_small_numbers_are_counts_from_1_to_4_anywhere_in_the_report():
    assert not _report({"target_n": 20, "visited_n": 20}, activity=((10, 0), (12, 6))).internal  # zero is not small
    assert _report({"target_n": 20, "visited_n": 20, "group3_n": 2}).small_counts == 1
    assert _report({"target_n": 20}, activity=((10, 3),)).internal
    assert (
        _report({"target_n": 20}, activity=((10, 5),), basis="coverage 75 % (3 of 4) in 2017-09; needs 100 % (P2)").small_counts
        == 2
    )
