"""tranche_report.csv and fsm2_result.csv: the rows as Danish Excel reads them (';', decimal comma, UTF-8 BOM)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from babel.numbers import format_decimal

from fsm.report.model import CENT, Report
from fsm.report.text import LOCALES, Text

# The csv keeps these labels and its Danish dialect whatever the report's language (CONTRACT §2).
CSV_COLUMNS = (
    ("kommune_kode", "Kommunekode"),
    ("kommune_navn", "Kommune"),
    ("tranche", "Rate"),
    ("tranche_pct", "Rate_pct"),
    ("grant_dkk", "Tilskud_kr"),
    ("amount_dkk", "Beloeb_kr"),
    ("earned", "Udloest"),
    ("earned_month", "Udloest_maaned"),
    ("basis", "Begrundelse"),
    ("grant_source", "Tilskudsgrundlag"),
)
FSM2_CSV_COLUMNS = (
    ("kommune_kode", "Kommunekode"),
    ("kommune_navn", "Kommune"),
    ("threshold_pct", "Taerskel_pct"),
    ("met", "Opfyldt"),
    ("met_month", "Opfyldt_maaned"),
    ("basis", "Begrundelse"),
    ("indsatsgruppe_n", "Indsatsgruppe"),
    ("active_n", "Aktive"),
    ("share_pct", "Andel_pct"),
)
_DA = Text("da")


def _danish(value: object) -> str:
    """Danish Excel: decimal comma, no thousands separator in data cells, months ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _DA.yes_no(value)
    if isinstance(value, Decimal):
        return format_decimal(value, "0.00", locale=LOCALES["da"])
    if isinstance(value, date):
        return value.strftime("%Y-%m")
    return str(value)


def write_csv(rows: list[dict[str, object]], columns=CSV_COLUMNS) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow([label for _, label in columns])
    for r in rows:
        w.writerow([_danish(r[key]) for key, _ in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def fsm2_csv_rows(rep: Report) -> list[dict[str, object]]:
    """fsm2_result.csv: one row per municipality and threshold, with the as-of month's indsatsgruppe, active and share."""
    out = []
    for k in rep.fsm2_codes:
        r = rep.fsm2_at(k) or {}
        for thr in rep.fsm2_thresholds:
            q = rep.fsm2_req_by.get((k, thr)) or {}
            out.append(
                {
                    "kommune_kode": k,
                    "kommune_navn": rep.name(k),
                    "threshold_pct": Decimal(thr).quantize(CENT),
                    "met": q.get("met"),
                    "met_month": q.get("met_month"),
                    "basis": q.get("basis", ""),  # in the report's language (Report renders it)
                    "indsatsgruppe_n": r.get("indsatsgruppe_n"),
                    "active_n": r.get("active_n"),
                    "share_pct": r.get("share_pct"),
                }
            )
    return out


def csv_rows(rep: Report) -> list[dict[str, object]]:
    """The tranche rows; basis and grant source are already in the report's language."""
    return rep.tranches
