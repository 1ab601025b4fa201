"""A report to file (issue 15 point 6): tranche_report.pdf, and an xlsx whose every sheet prints readably."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace

from report.support import CPR_RE, DUE_MARCH, EARNED_MARCH, GRANTED, OUTSTANDING, PERSON_KEY_RE


def _pdf_pages(path) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() for p in PdfReader(path).pages]


def _da(v) -> str:
    """Money as the Danish report writes it: 808.333,33."""
    return f"{v:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def test_pdf_holds_the_months_key_figures_and_every_table(reports):
    import openpyxl

    out = reports["dir"]
    assert reports["result"]["files"] == [
        "tranche_report.xlsx",
        "tranche_report.html",
        "tranche_report.pdf",
        "tranche_report.csv",
    ]
    pdf = out / "tranche_report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert (out.parent / "2018-02" / "tranche_report.pdf").exists()
    pages = _pdf_pages(pdf)
    n = len(pages)
    assert 2 <= n <= 20  # 3 municipalities: the front page and about a page a table
    for i, text in enumerate(pages, start=1):
        assert f"side {i} af {n}" in text  # the footer counts the pages
        assert "INTERN" in text  # the month has small counts: every page says so in its head
    text = "\n".join(pages)
    front = pages[0]
    # the key figures on page 1, to the øre, hand-worked in support.py: earned 808.333,33, granted, outstanding, due
    for v in (EARNED_MARCH, GRANTED, OUTSTANDING, sum(DUE_MARCH.values())):
        assert _da(v) in front, v
    assert "Flere skal med – ratestatus og udbetalinger" in front and "2018-03" in front
    # the tables: every xlsx sheet's title but the count sheets behind the share formulas and the csv-like detail
    wb = openpyxl.load_workbook(out / "tranche_report.xlsx")
    skipped = {"Aktive", "Indsatsgruppe", "Rater (detalje)"}
    for ws in wb:
        if ws.title not in skipped:
            assert ws["A1"].value.split(" · ")[0] in text, ws.title
    # København's three tranches and Ballerup's tranche 2 due this month, with their basis in Danish
    for amount in ("100.000,00", "133.333,33", "75.000,01"):
        assert amount in text
    assert "dækning 100 %" in text
    # no CPR, no person_key
    assert not CPR_RE.search(text)
    assert not PERSON_KEY_RE.search(text)
    assert not [k for k in reports["person_keys"] if k in text or k[:16] in text]


def test_pdf_of_an_fsm2_month(fsm2_reports):
    pdf = fsm2_reports["dir"] / "tranche_report.pdf"
    assert "tranche_report.pdf" in fsm2_reports["result"]["files"]
    pages = _pdf_pages(pdf)
    text = "\n".join(pages)
    assert f"side {len(pages)} af {len(pages)}" in pages[-1]
    assert "Flere skal med 2 (FSM2)" in pages[0] and "FSM2 resultatandel 2019-03" in pages[0]
    assert "Resultat og krav pr. kommune, 2019-03" in text
    assert not PERSON_KEY_RE.search(text) and not CPR_RE.search(text)
    assert not [k for k in fsm2_reports["person_keys"] if k in text]


def _width(ws, col: int) -> float:
    """A column's width (openpyxl keeps equal neighbours as one min–max range)."""
    return next(d.width for d in ws.column_dimensions.values() if d.min and d.min <= col <= d.max)


def _across(ws) -> int:
    """Pages across (fitToWidth; absent means OOXML's default, 1)."""
    return int(ws.page_setup.fitToWidth or 1)


def _check_print_setup(ws) -> None:
    """Landscape A4, fit to the page width (height free), header row repeated, the table as print area."""
    from openpyxl.utils import get_column_letter

    assert ws.page_setup.orientation == "landscape", ws.title
    assert int(ws.page_setup.paperSize) == 9, ws.title
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True, ws.title
    assert _across(ws) >= 1 and int(ws.page_setup.fitToHeight) == 0, ws.title
    header = int(ws.freeze_panes.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - 1  # the frozen header row
    assert ws.print_title_rows == f"${header}:${header}", ws.title
    last_col = get_column_letter(ws.max_column)
    assert ws.print_area == f"'{ws.title}'!$A$1:${last_col}${ws.max_row}", ws.title


def test_xlsx_sheets_print_landscape_fit_to_width_with_titles_and_area(reports, fsm2_reports):
    import openpyxl

    for fixture in (reports, fsm2_reports):
        wb = openpyxl.load_workbook(fixture["dir"] / "tranche_report.xlsx")
        for ws in wb:
            _check_print_setup(ws)
    wb = openpyxl.load_workbook(reports["dir"] / "tranche_report.xlsx")
    # the status sheet's basis columns wrap at 45 characters instead of widening the sheet to 120
    ws = wb["Ratestatus"]
    header = int(ws.freeze_panes.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - 1
    basis = [c for c in ws[header] if c.value in ("Begrundelse rate 2", "Begrundelse rate 3")]
    assert len(basis) == 2
    for c in basis:
        assert 45 <= _width(ws, c.column) <= 47
        cells = [ws.cell(r, c.column) for r in range(header + 1, ws.max_row) if ws.cell(r, c.column).value]
        long = [x for x in cells if len(x.value) > 45]
        assert long, "the fixture has bases longer than a line"
        for x in long:
            assert x.alignment.wrap_text is True
            assert ws.row_dimensions[x.row].height >= 26  # two lines or more, set (LibreOffice does not fit it)
    # 14 columns of about 200 width units (~1,546 px) are more than the 1,411 px a page holds at 70 %: the sheet
    # prints two pages across, code and name repeated, rather than at 64 % on one
    assert _across(ws) == 2 and ws.print_title_cols == "$A:$B"


def test_a_wide_sheet_prints_on_pages_across_with_code_and_name_repeated(tmp_path):
    """Hand-worked: code (12) + name (11) + 40 month columns (9) = 89 + 82 + 40 × 68 = 2,891 px; at the smallest
    scale, 70 %, a landscape A4 page holds (11.69 − 1.4) in × 96 / 0.7 = 1,411 px: three pages across."""
    from datetime import date
    from decimal import Decimal

    import openpyxl

    from fsm.report.text import Text
    from fsm.report.xlsx_book import MIN_PRINT_SCALE, PRINT_WIDTH_PX, WRAP_AT, Book, Col

    rep = SimpleNamespace(
        label="2019-06",
        internal=False,
        has_fsm1=True,
        has_fsm2=False,
        small_limit=5,
        generated_at=datetime(2019, 7, 1, 8, 0, tzinfo=UTC),
        snapshot_dates=[date(2019, 6, 28)],
    )
    t = Text("da")
    book = Book(tmp_path / "wide.xlsx", rep, t)
    cols = [Col("Kommunekode", "int", width=12), Col("Kommune")] + [Col(f"M{i}", "pct", width=9) for i in range(40)]
    book.table("Bred", "Bred tabel", ["kort note"], cols, [[101, "København", *([Decimal("0.4")] * 40)]])
    basis = "aktivitetsandel 26,67 %, 33,33 %, 26,67 % i 2019-04, 2019-05, 2019-06; kræver 40 % 3 måneder i træk (0 af 3)"
    book.table("Smal", "Smal tabel", [], [Col("Kode", "int", width=8), Col("Begrundelse")], [[101, basis]], freeze_cols=1)
    book.close()
    assert math.ceil(2891 / (PRINT_WIDTH_PX / MIN_PRINT_SCALE)) == 3
    wb = openpyxl.load_workbook(tmp_path / "wide.xlsx")
    ws = wb["Bred"]
    _check_print_setup(ws)
    assert _across(ws) == 3
    assert ws.print_title_cols == "$A:$B"  # code and name on every page across
    assert ws.page_setup.pageOrder == "overThenDown"  # the rows' continuation follows their first columns
    ws = wb["Smal"]
    _check_print_setup(ws)
    assert _across(ws) == 1 and ws.print_title_cols is None
    assert round(_width(ws, 2)) in (WRAP_AT, WRAP_AT + 1)  # 108 characters wrap at 45 (xlsx rounds to pixels)
    assert ws["B5"].value == basis and ws["B5"].alignment.wrap_text is True
    # 108 characters at 55 a line ((45 − 1) units × 1.25), broken at spaces after '2019-04,': 2 lines of 13 pt
    assert abs(ws.row_dimensions[5].height - 13 * 2) < 0.5  # xlsx keeps whole pixels
