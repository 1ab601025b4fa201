"""The report at country scale: 88 municipalities × 29 months, FSM2's 31 × 36, both programmes at once."""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path

from report.support import FSM2_SHEETS, PERSON_KEY_RE, fill_country, fill_fsm2, report_texts


def test_a_country_of_88_municipalities_and_29_months_takes_seconds(wh, tmp_path, monkeypatch):
    from fsm.report import write_reports

    month = date(2019, 12, 1)
    with wh.connect() as conn:
        fill_country(conn, month)
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path))
    t0 = time.perf_counter()
    r = write_reports(month)
    seconds = time.perf_counter() - t0
    print(f"\nreport for 88 municipalities x 29 months: {seconds:.2f}s ({r['seconds']}s inside)")
    assert r["municipalities"] == 88 and r["rows"] == 264 and r["reconciled"]
    # Speed is measured (printed above and by `make bench`), never asserted by a timed test.
    html = Path(r["dir"]) / "tranche_report.html"
    assert html.stat().st_size < 3_000_000, html.stat().st_size
    assert (Path(r["dir"]) / "tranche_report.xlsx").stat().st_size < 1_000_000
    for name, text in report_texts(Path(r["dir"])).items():
        assert not PERSON_KEY_RE.search(text), name
    shutil.copy(html, "/tmp/report_country.html")


# --- the html in a real browser --------------------------------------------------------------------


def test_fsm2_for_31_municipalities_and_36_months_takes_seconds(wh, tmp_path, monkeypatch):
    import openpyxl

    from fsm.report import write_reports

    month = date(2021, 12, 1)
    with wh.connect() as conn:
        fill_fsm2(conn, month)
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path))
    t0 = time.perf_counter()
    r = write_reports(month)
    seconds = time.perf_counter() - t0
    print(f"\nFSM2 report for 31 municipalities x 36 months: {seconds:.2f}s ({r['seconds']}s inside)")
    assert r["fsm2"]["municipalities"] == 31 and r["sheets"][:5] == FSM2_SHEETS
    # Speed is measured (printed above), never asserted by a timed test.
    out = Path(r["dir"])
    wb = openpyxl.load_workbook(out / "tranche_report.xlsx", read_only=True)
    assert wb["FSM2 andel"].max_column == 2 + 36
    html = out / "tranche_report.html"
    assert html.stat().st_size < 1_500_000, html.stat().st_size
    for name, text in report_texts(out).items():
        assert not PERSON_KEY_RE.search(text), name
    shutil.copy(html, "/tmp/report_fsm2_country.html")


def test_a_2019_month_with_both_programmes_at_country_scale(wh, tmp_path, monkeypatch):
    from fsm.report import write_reports

    month = date(2019, 12, 1)
    with wh.connect() as conn:
        fill_country(conn, month)
        fill_fsm2(conn, month)
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path))
    t0 = time.perf_counter()
    r = write_reports(month)
    seconds = time.perf_counter() - t0
    print(f"\nFSM1 (88 x 29) + FSM2 (31 x 12) report: {seconds:.2f}s")
    assert r["municipalities"] == 88 and r["fsm2"]["municipalities"] == 31 and r["reconciled"]
    assert len(r["sheets"]) == 14 + 5
