"""The finance report's data-quality table (issue 15 point 3): flags per municipality this month and the change
since last month, worked out by hand from tests/report/support.build."""

from __future__ import annotations

import openpyxl

from report.support import sheet_table


def test_flags_per_municipality_and_the_change_since_last_month(reports):
    """Frederiksberg (147): the overlapping group pair f7/f7b (M2) is flagged in February and March; the backdated
    f8, registered 2018-03-05 (M3), only from March → 1 flag in February, 2 in March: +1. No one else is flagged."""
    wb = openpyxl.load_workbook(reports["dir"] / "tranche_report.xlsx")
    _, cols, rows, _ = sheet_table(wb["Datakvalitet"])
    change = next(c for c in cols if c.startswith("Ændring siden 2018-02"))
    by = {r["Kommunekode"].value: {h: c.value for h, c in r.items()} for r in rows if r["Kommunekode"].value is not None}
    assert by[147]["I alt"] == 2 and by[147][change] == 1
    assert all(r[change] == 0 for k, r in by.items() if k != 147)
    html = (reports["dir"] / "tranche_report.html").read_text(encoding="utf-8")
    assert "Ændring siden 2018-02" in html and ">+1<" in html
