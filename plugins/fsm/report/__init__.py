"""The finance report for an as-of month (CONTRACT §2): tranche_report.csv/.xlsx/.html and fsm2_result.csv.

Finance decides payments from this report, so:

* money is read from the warehouse as Decimal (NUMERIC) and every total is computed in Decimal;
  the xlsx stores numbers as numbers (a float only at the moment the cell is written), its totals
  rows are ``=SUM(...)`` formulas whose cached values are the Decimal totals;
* the html is self-contained (inline CSS, charts as base64 PNG) and prints on A4;
* no CPR and no person_key ever reaches a report: every query selects counts and amounts only.
  Counts of 1–4 (settings: report_small_count, default 5) mark the report INTERNAL.

Labels are Danish, as finance reads them; the report_lang setting 'en' switches the xlsx and html to
English. The csv keeps its column labels and Danish dialect in both languages.

The package by job: collect (warehouse → model.Report), catalogue (every message in Danish and
English), text (Babel formatting), basis (the marts' basis codes and facts → sentences, also the
warehouse's English columns), rules_in_force, then one writer per format: csv_out, xlsx (+ xlsx_book,
xlsx_fsm2), charts + html (templates/), and write (write_reports).
"""

from __future__ import annotations

from fsm.report.collect import collect
from fsm.report.csv_out import write_csv
from fsm.report.model import Report
from fsm.report.text import Text
from fsm.report.write import write_reports

__all__ = ["Report", "Text", "collect", "write_csv", "write_reports"]
