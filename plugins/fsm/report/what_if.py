"""The what-if comparison report: official vs what-if per municipality (earned months, amounts) and the totals that change.

Written under <reports>/<YYYY-MM>/what_if/<name>/ as comparison.csv (the Danish Excel dialect of
tranche_report.csv) and comparison.html (the report's language, from the catalogue).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from fsm import months
from fsm.config import Rules, settings
from fsm.report.csv_out import write_csv
from fsm.report.text import Text
from fsm.report.write import atomic_write
from fsm.warehouse import connect


@dataclass(frozen=True)
class Compared:
    """A mart whose earned months (and amounts) a what-if run may move."""

    programme: str
    mart: str
    part: str  # the column that tells the rows of a municipality apart: tranche, threshold_pct, part
    month: str  # earned_month / met_month
    amount: str | None  # amount_dkk, or None (FSM2 requirements carry no money)
    where: str = "true"


COMPARED = (
    Compared("FSM1", "mart_tranche_status", "tranche", "earned_month", "amount_dkk", "programme = 'FSM1'"),  # P1–P3
    Compared("FSM2", "mart_fsm2_requirement", "threshold_pct", "met_month", None),  # F8
    Compared("FSM2", "mart_fsm2_payment_status", "part", "earned_month", "amount_dkk"),  # F10
)
CSV_COLUMNS = (
    ("programme", "Program"),
    ("measure", "Maal"),
    ("kommune_kode", "Kommunekode"),
    ("kommune_navn", "Kommune"),
    ("part", "Del"),
    ("official_month", "Officiel_maaned"),
    ("what_if_month", "Hvis_maaned"),
    ("official_amount", "Officiel_beloeb_kr"),
    ("what_if_amount", "Hvis_beloeb_kr"),
    ("changed", "Aendret"),
)


def _side(conn, c: Compared, table: str, month: date, name: str | None) -> dict[tuple[int, object], tuple]:
    amount = c.amount or "null::numeric"
    key = "and what_if = %s" if name else ""
    rows = conn.execute(
        f"select kommune_kode, {c.part}, {c.month}, {amount} from {table} where as_of_month = %s and {c.where} {key}",
        (month, name) if name else (month,),
    ).fetchall()
    return {(k, part): (m, a) for k, part, m, a in rows}


def comparison_rows(conn, month: date, name: str) -> list[dict[str, object]]:
    """Every municipality's earned months and amounts, official beside what-if, for the marts the run wrote."""
    names = dict(conn.execute("select kommune_kode, kommune_navn from ref_kommuner").fetchall())
    out = []
    for c in COMPARED:
        if conn.execute("select to_regclass(%s)", (f"what_if.{c.mart}",)).fetchone()[0] is None:
            continue  # a mart no what-if run has written yet (e.g. FSM2 before its period)
        official = _side(conn, c, c.mart, month, None)
        alt = _side(conn, c, f"what_if.{c.mart}", month, name)
        if not alt:
            continue
        for k, part in sorted(set(official) | set(alt), key=lambda x: (x[0], x[1])):
            (om, oa), (wm, wa) = official.get((k, part), (None, None)), alt.get((k, part), (None, None))
            out.append(
                {"programme": c.programme, "measure": c.mart, "kommune_kode": k, "kommune_navn": names.get(k, str(k)),
                 "part": part, "official_month": om, "what_if_month": wm,
                 "official_amount": oa if om else (Decimal("0.00") if c.amount else None),
                 "what_if_amount": wa if wm else (Decimal("0.00") if c.amount else None),
                 "changed": (om, oa) != (wm, wa)}
            )  # fmt: skip
    return out


def totals(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Per programme and measure: parts earned and money earned to date, official vs what-if."""
    out: dict[tuple[str, str], dict[str, object]] = {}
    for r in rows:
        t = out.setdefault(
            (r["programme"], r["measure"]),
            {"programme": r["programme"], "measure": r["measure"], "official_n": 0, "what_if_n": 0,
             "official_amount": Decimal("0.00"), "what_if_amount": Decimal("0.00"), "changed_n": 0},
        )  # fmt: skip
        t["official_n"] += r["official_month"] is not None
        t["what_if_n"] += r["what_if_month"] is not None
        t["official_amount"] += r["official_amount"] or 0
        t["what_if_amount"] += r["what_if_amount"] or 0
        t["changed_n"] += r["changed"]
    return list(out.values())


def write_comparison(month: date, name: str, rules_: Rules) -> dict[str, object]:
    """comparison.csv and comparison.html for a what-if run of `month`."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    month = month.replace(day=1)
    folder = settings().reports_folder / months.label(month) / "what_if" / name
    folder.mkdir(parents=True, exist_ok=True)
    with connect() as conn:
        rows = comparison_rows(conn, month, name)
    sums = totals(rows)
    atomic_write(folder / "comparison.csv", write_csv(rows, CSV_COLUMNS))
    t = Text(settings().report_lang)
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape())
    html = env.get_template("what_if.html.j2").render(
        t=t, name=name, month=month, overrides=rules_.overridden(), rows=[r for r in rows if r["changed"]], totals=sums
    )
    atomic_write(folder / "comparison.html", html.encode("utf-8"))
    return {"dir": str(folder), "rows": len(rows), "changed": sum(r["changed"] for r in rows)}
