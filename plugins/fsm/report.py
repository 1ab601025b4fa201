"""The finance report for an as-of month (CONTRACT §2): tranche_report.csv/.xlsx/.html."""

from __future__ import annotations

import csv
import io
import logging
from datetime import date
from decimal import Decimal

from fsm import months
from fsm.config import reports_dir
from fsm.warehouse import connect

log = logging.getLogger(__name__)

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


def tranche_rows(conn, month: date) -> list[dict[str, object]]:
    cur = conn.execute(
        "select kommune_kode, kommune_navn, tranche, tranche_pct, grant_dkk, amount_dkk, earned, earned_month, basis,"
        " grant_source from mart_tranche_status where as_of_month = %s and programme = 'FSM1'"
        " order by kommune_kode, tranche",
        (month,),
    )
    names = [d.name for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _danish(value: object) -> str:
    """Danish Excel: decimal comma, no thousands separator in data cells, dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, date):
        return value.strftime("%Y-%m")
    return str(value)


def write_csv(rows: list[dict[str, object]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow([label for _, label in CSV_COLUMNS])
    for r in rows:
        w.writerow([_danish(r[key]) for key, _ in CSV_COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def write_reports(month: date) -> dict[str, object]:
    out = reports_dir() / months.label(month)
    out.mkdir(parents=True, exist_ok=True)
    with connect() as conn:
        rows = tranche_rows(conn, month)
    (out / "tranche_report.csv").write_bytes(write_csv(rows))
    earned = sum((r["amount_dkk"] for r in rows if r["earned"]), Decimal(0))
    log.info("report for %s: %d rows, earned to date %s DKK, in %s", months.label(month), len(rows), earned, out)
    return {"month": months.label(month), "dir": str(out), "rows": len(rows), "earned_dkk": str(earned)}
