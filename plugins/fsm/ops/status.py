"""The FSM status view in the Airflow UI: per programme and municipality, what is earned and how it is going.

One page per as-of month, served by the api-server behind Airflow's auth (fsm.ops.ui): FSM1 tranches
with earned month and amount, coverage, the activity share over the months (a small chart); FSM2
requirements (and payments, F10) with the result share over the months; DQ flags by rule; links to the
month's report, each municipality's feedback file and the Data Docs. Read-only, from the warehouse.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

from fsm import months
from fsm.config import rules, settings
from fsm.report.feedback import file_stem
from fsm.report.text import Text

WIDTH, HEIGHT = 140, 28  # the small chart: shares 0–100 % over the months up to M


def spark(points: list[tuple[date, Decimal | None]], thresholds: list[Decimal]) -> str:
    """A small inline SVG line of shares (0–100 %) with dashed threshold lines; months without a share break the line."""
    if not points:
        return ""
    step = WIDTH / max(len(points) - 1, 1)

    def y(v: Decimal | float) -> float:
        return round(HEIGHT - float(v) / 100 * HEIGHT, 1)

    segments: list[list[str]] = [[]]
    for i, (_, v) in enumerate(points):
        if v is None:
            segments.append([])
            continue
        segments[-1].append(f"{round(i * step, 1)},{y(v)}")
    segments = [s for s in segments if s]
    lines = "".join(f'<polyline points="{" ".join(s)}" fill="none" stroke="#1f5fa8" stroke-width="1.5"/>' for s in segments)
    rules_ = "".join(
        f'<line x1="0" x2="{WIDTH}" y1="{y(t)}" y2="{y(t)}" stroke="#b03030" stroke-dasharray="3,2" stroke-width="1"/>'
        for t in thresholds
    )
    return f'<svg class="spark" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">{rules_}{lines}</svg>'


def newest_month(conn) -> date | None:
    row = conn.execute(
        "select max(m) from (select max(as_of_month) as m from mart_tranche_status"
        " union all select max(as_of_month) from mart_fsm2_requirement) as x"
    ).fetchone()
    return row[0] if row else None


def facts(conn, month: date) -> dict[str, object]:
    """Everything the page shows for `month`, grouped by programme and municipality."""
    names = dict(conn.execute("select kommune_kode, kommune_navn from ref_kommuner").fetchall())
    fsm1: dict[int, dict[str, object]] = defaultdict(lambda: {"tranches": {}, "series": [], "coverage": None})
    for k, n, earned, amount in conn.execute(
        "select kommune_kode, tranche, earned_month, amount_dkk from mart_tranche_status"
        " where as_of_month = %s and programme = 'FSM1' order by 1, 2",
        (month,),
    ):
        fsm1[k]["tranches"][n] = (earned, amount)
    for k, cov in conn.execute(
        "select kommune_kode, coverage_pct from mart_visitation_progress where as_of_month = %s and programme = 'FSM1'", (month,)
    ):
        fsm1[k]["coverage"] = cov
    for k, m, share in conn.execute(
        "select kommune_kode, activity_month, share_pct from mart_activity_share"
        " where as_of_month = %s and programme = 'FSM1' order by 1, 2",
        (month,),
    ):
        fsm1[k]["series"].append((m, share))
    fsm2: dict[int, dict[str, object]] = defaultdict(lambda: {"met": {}, "series": [], "parts": {}})
    for k, thr, met in conn.execute(
        "select kommune_kode, threshold_pct, met_month from mart_fsm2_requirement where as_of_month = %s", (month,)
    ):
        fsm2[k]["met"][thr] = met
    for k, m, share in conn.execute(
        "select kommune_kode, activity_month, share_pct from mart_fsm2_result"
        " where as_of_month = %s and herkomst = 'ALL' order by 1, 2",
        (month,),
    ):
        fsm2[k]["series"].append((m, share))
    if conn.execute("select to_regclass('mart_fsm2_payment_status')").fetchone()[0]:
        for k, part, earned, amount in conn.execute(
            "select kommune_kode, part, earned_month, amount_dkk from mart_fsm2_payment_status where as_of_month = %s", (month,)
        ):
            fsm2[k]["parts"][part] = (earned, amount)
    flags: dict[int, dict[str, int]] = defaultdict(dict)
    for k, rule, n in conn.execute(
        "select kommune_kode, rule_id, count(*) from dq_marking_violations where as_of_month = %s group by 1, 2 order by 1, 2",
        (month,),
    ):
        flags[k][rule] = n
    months_ = [r[0] for r in conn.execute("select distinct as_of_month from mart_tranche_status order by 1 desc")]
    return {"names": names, "fsm1": dict(fsm1), "fsm2": dict(fsm2), "flags": dict(flags), "months": months_}


def render(conn, month: date | None, prefix: str) -> tuple[str, int]:
    """The page's html and status code (404 when the warehouse has no figures for the month)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    t = Text(settings().report_lang)
    month = month or newest_month(conn)
    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape())
    if month is None:
        return env.get_template("status.html.j2").render(t=t, month=None, prefix=prefix), 404
    f = facts(conn, month)
    r = rules()
    label = months.label(month)
    folder = settings().reports_folder / label
    feedback = {
        k: f"{prefix}/reports/{label}/kommuner/{file_stem(k, f['names'].get(k, str(k)))}.xlsx"
        for k in f["flags"]
        if (folder / "kommuner" / f"{file_stem(k, f['names'].get(k, str(k)))}.xlsx").is_file()
    }
    page = env.get_template("status.html.j2").render(
        t=t, month=month, label=label, prefix=prefix, f=f, feedback=feedback,
        fsm1_spark={k: spark(v["series"], [r.activity_threshold_pct]) for k, v in f["fsm1"].items()},
        fsm2_spark={k: spark(v["series"], list(r.fsm2_thresholds_pct)) for k, v in f["fsm2"].items()},
        thresholds=list(r.fsm2_thresholds_pct), report=(folder / "tranche_report.html").is_file(),
        data_docs=(folder / "data_docs" / "index.html").is_file(),
    )  # fmt: skip
    found = bool(f["fsm1"] or f["fsm2"])
    return page, 200 if found else 404
