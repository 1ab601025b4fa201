"""Feedback to the municipalities (CONTRACT §2): per month one file per municipality with flagged markings.

<reports>/<YYYY-MM>/kommuner/<kode>_<navn>.xlsx (flagged markings, and the municipality's own status)
and .csv (the flagged markings). Each marking is named by its marking_id — the id in the municipality's
own case system — with the rule in plain Danish, the month it was first flagged and what to do. These
files leave STAR: no CPR and no person_key, and no free text from the warehouse.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from fsm import months
from fsm.config import settings
from fsm.report.basis import basis_text
from fsm.report.text import Text
from fsm.report.write import atomic_write
from fsm.warehouse import connect

# Every flag of month M with the month its (rule, marking, other marking) was first flagged (as of M or earlier).
FLAGS_SQL = """
select v.kommune_kode, v.programme, v.rule_id, v.severity, v.marking_id, v.other_marking_id,
       (select min(h.as_of_month) from dq_marking_violations as h
        where h.rule_id = v.rule_id and h.marking_id = v.marking_id and h.other_marking_id = v.other_marking_id
          and h.programme = v.programme and h.as_of_month <= v.as_of_month) as first_flagged
from dq_marking_violations as v
where v.as_of_month = %s
order by v.kommune_kode, v.programme, v.rule_id, v.marking_id, v.other_marking_id
"""
FLAG_COLUMNS = ("marking_id", "other_marking_id", "rule", "severity", "first_flagged", "todo")


def file_stem(kode: int, navn: str) -> str:
    """'101_København', '400_Bornholm': the name as written, separators that break paths replaced."""
    return f"{kode}_{'-'.join(navn.replace('/', ' ').replace(chr(92), ' ').split())}"  # no separator that splits a path


def flag_rows(flags: list[tuple], t: Text) -> list[dict[str, str]]:
    return [
        {"marking_id": mid, "other_marking_id": other or "", "rule": t.rule(rule), "severity": t.severity(sev),
         "first_flagged": t.month(first), "todo": t(f"todo.{rule}")}
        for _k, _prog, rule, sev, mid, other, first in flags
    ]  # fmt: skip


def status_rows(conn, month: date, kode: int, t: Text) -> list[tuple[str, str]]:
    """The municipality's own figures as of M: coverage, the last activity shares, tranches, FSM2 requirements."""
    out: list[tuple[str, str]] = []
    cov = conn.execute(
        "select coverage_pct, visited_n + deferred_n, target_n from mart_visitation_progress"
        " where as_of_month = %s and programme = 'FSM1' and kommune_kode = %s",
        (month, kode),
    ).fetchone()
    if cov:
        out.append((t("fb.coverage"), f"{t.pct(cov[0])} ({t.count(cov[1])} / {t.count(cov[2])})"))
    for m, share, active, cohort in conn.execute(
        "select activity_month, share_pct, active_n, cohort_n from mart_activity_share"
        " where as_of_month = %s and programme = 'FSM1' and kommune_kode = %s order by activity_month desc limit 3",
        (month, kode),
    ).fetchall()[::-1]:
        out.append((t("fb.activity", m=t.month(m)), f"{t.pct(share)} ({t.count(active)} / {t.count(cohort)})"))
    for n, earned_month, amount, code, args in conn.execute(
        "select tranche, earned_month, amount_dkk, basis_code, basis_args from mart_tranche_status"
        " where as_of_month = %s and programme = 'FSM1' and kommune_kode = %s order by tranche",
        (month, kode),
    ):
        state = t("since", m=t.month(earned_month)) if earned_month else t("not_earned")
        out.append((t("fb.tranche", n=n), f"{t.money(amount)} kr. · {state} · {basis_text(code, args, t) if code else ''}"))
    for thr, met_month, code, args in conn.execute(
        "select threshold_pct, met_month, basis_code, basis_args from mart_fsm2_requirement"
        " where as_of_month = %s and kommune_kode = %s order by threshold_pct",
        (month, kode),
    ):
        out.append((t("fb.fsm2_threshold", t=t.number(thr)), basis_text(code, args, t) if code else t.month(met_month)))
    return out


def _csv(rows: list[dict[str, str]], t: Text) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow([t(f"fb.{c}") for c in FLAG_COLUMNS])
    w.writerows([[r[c] for c in FLAG_COLUMNS] for r in rows])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _xlsx(path: Path, title: str, rows: list[dict[str, str]], status: list[tuple[str, str]], t: Text) -> None:
    import xlsxwriter

    tmp = path.with_name(path.name + ".tmp")
    wb = xlsxwriter.Workbook(str(tmp), {"in_memory": True})
    bold, wrap = wb.add_format({"bold": True, "font_size": 12}), wb.add_format({"text_wrap": True, "valign": "top"})
    head = wb.add_format({"bold": True, "bg_color": "#DDE6F0", "text_wrap": True, "valign": "top", "border": 1})
    ws = wb.add_worksheet(t("fb.sheet_flags"))
    widths = (18, 18, 34, 10, 14, 70)
    ws.write(0, 0, title, bold)
    ws.merge_range(1, 0, 1, len(FLAG_COLUMNS) - 1, t("fb.intro"), wrap)
    ws.set_row(1, 30)
    for c, (col, width) in enumerate(zip(FLAG_COLUMNS, widths, strict=True)):
        ws.write(3, c, t(f"fb.{col}"), head)
        ws.set_column(c, c, width, wrap)
    ws.set_row(3, 30)
    for r, row in enumerate(rows, start=4):
        ws.write_row(r, 0, [row[c] for c in FLAG_COLUMNS], wrap)
        # LibreOffice and Excel do not grow a wrapped row when printing: give it the lines its longest cell needs
        lines = max(-(-len(str(row[c])) // int(w * 1.1)) for c, w in zip(FLAG_COLUMNS, widths, strict=True))
        ws.set_row(r, 15 * max(lines, 1))
    ws.freeze_panes(4, 0)
    ws.autofilter(3, 0, 3 + len(rows), len(FLAG_COLUMNS) - 1)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(3)
    st = wb.add_worksheet(t("fb.sheet_status"))
    st.write(0, 0, title, bold)
    st.write_row(2, 0, [t("fb.status_measure"), t("fb.status_value")], head)
    st.set_column(0, 0, 45, wrap)
    st.set_column(1, 1, 95, wrap)
    for r, (measure, value) in enumerate(status, start=3):
        st.write_row(r, 0, [measure, value], wrap)
        st.set_row(r, 15 * max(-(-len(measure) // 50), -(-len(value) // 105), 1))
    st.set_landscape()
    st.fit_to_pages(1, 0)
    wb.close()
    tmp.replace(path)


def write_feedback(month: date) -> dict[str, object]:
    """One xlsx and one csv per municipality with flags as of `month`; earlier files of the month are replaced."""
    month = month.replace(day=1)
    t = Text("da")  # the municipalities read Danish
    folder = settings().reports_folder / months.label(month) / "kommuner"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.*"):
        old.unlink()  # a municipality whose flags were all fixed gets no file this month
    with connect() as conn:
        flags = conn.execute(FLAGS_SQL, (month,)).fetchall()
        names = dict(conn.execute("select kommune_kode, kommune_navn from ref_kommuner").fetchall())
        by_kommune: dict[int, list[tuple]] = {}
        for f in flags:
            by_kommune.setdefault(f[0], []).append(f)
        written = []
        for kode, own in sorted(by_kommune.items()):
            navn = names.get(kode, str(kode))
            stem, rows = file_stem(kode, navn), flag_rows(own, t)
            title = t("fb.title", kommune=f"{navn} ({kode})", m=t.month_name(month))
            atomic_write(folder / f"{stem}.csv", _csv(rows, t))
            _xlsx(folder / f"{stem}.xlsx", title, rows, status_rows(conn, month, kode, t), t)
            written.append(stem)
    return {"dir": str(folder), "kommuner": len(written), "flags": len(flags)}
