"""tranche_report.xlsx: FSM1's sheets, FSM2's (xlsx_fsm2), data quality, the rules in force and the deliveries."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from fsm import months
from fsm.config import RULE_PREFIX
from fsm.report.model import VISITATION_COUNTS, Report, none_first, period_label, share_fraction
from fsm.report.rules_in_force import rules_in_force
from fsm.report.text import Text
from fsm.report.xlsx_book import Book, Col, col_name
from fsm.report.xlsx_fsm2 import xlsx_fsm2


def write_xlsx(rep: Report, path: Path) -> list[str]:
    """FSM1's sheets, FSM2's sheets when the month has FSM2 figures, then data quality, rules and deliveries.

    A month with FSM2 figures and none of FSM1 (FSM1 ended 2019-12) gets one 'FSM1' sheet saying so
    instead of FSM1 sheets with empty tables; a month with neither keeps FSM1's sheets, which say so.
    """
    b = Book(path, rep, rep.t)
    sheets(b, rep, rep.t)
    names = [ws.get_name() for ws in b.wb.worksheets()]
    b.close()
    return names


def sheets(b, rep: Report, t: Text) -> None:
    """The report's sheets in their order, drawn into `b`: the xlsx's Book, or the PDF's PdfBook (fsm.report.pdf)."""
    fsm1 = rep.has_fsm1 or not rep.has_fsm2
    if fsm1:
        _xlsx_fsm1(b, rep, t)
    if rep.has_fsm2:
        xlsx_fsm2(b, rep, t)
    if not fsm1:
        a, z = rep.fsm1_period
        b.table(
            t("sh_fsm1"),
            t("s_fsm1"),
            [],
            [Col(t("programme_col"), width=12), Col(t("period"), width=20), Col(t("status"), wrap=100)],
            [["FSM1", f"{months.label(a)} – {months.label(z)}", rep.fsm1_absent_text(t)]],
            freeze_cols=0,
        )
    if fsm1 or rep.dq_counts or rep.dq_history:
        _xlsx_dq(b, rep, t)
    _xlsx_basis(b, rep, t)


def _xlsx_fsm1(b: Book, rep: Report, t: Text) -> None:
    tot = rep.totals()
    prev_note = [] if rep.has_prev else [t("n_no_prev", p=rep.prev_label, m=rep.label)]
    recon = [t("reconcile_ok")] if rep.reconciled else [t("reconcile_bad", a=t.money(tot["granted"]), b=t.money(tot["tranches"]))]
    if not rep.tranches:
        recon = [t("no_data", m=rep.label)]

    def tranche_line(r: dict[str, object]) -> list[object]:
        return [
            r["kommune_kode"],
            r["kommune_navn"],
            r["tranche"],
            r["tranche_pct"] / 100,
            r["amount_dkk"],
            r["earned_month"],
            r["basis"],
        ]

    tranche_cols = [
        Col(t("kode"), "int", width=12),
        Col(t("kommune")),
        Col(t("tranche"), "int", width=7),
        Col(t("tranche_pct"), "pct"),
        Col(t("amount"), "money", "sum"),
        Col(t("earned_month"), "month", width=10),
        Col(t("basis")),
    ]
    # 1. payments due
    due = [tranche_line(r) for r in rep.due] or [[None, t("s_due_none", m=rep.label), None, None, None, None, None]]
    b.table(t("sh_due"), t("s_due", m=rep.label), [t("n_due", m=rep.label)], tranche_cols, due)

    # 2. status per municipality (wide)
    cols = [Col(t("kode"), "int", width=12), Col(t("kommune")), Col(t("grant"), "money", "sum")]
    for n in (1, 2, 3):
        cols += [Col(t("tranche_n", n=n), "money", "sum"), Col(t("tranche_n_earned", n=n), "month", width=10)]
    cols += [
        Col(t("earned_to_date"), "money", "sum"),
        Col(t("outstanding"), "money", "sum"),
        Col(t("basis_n", n=2)),
        Col(t("basis_n", n=3)),
        Col(t("grant_source")),
    ]
    rows = []
    for k in rep.kommuner:
        if not k.tranches:
            continue
        line: list[object] = [k.kode, k.navn, k.grant]
        for n in (1, 2, 3):
            tr = k.tranches.get(n)
            line += [
                tr["amount_dkk"] if tr else None,
                (tr["earned_month"] if tr and tr["earned"] else t("not_earned")) if tr else None,
            ]
        line += [
            k.earned,
            k.outstanding,
            k.tranches.get(2, {}).get("basis") or "",
            k.tranches.get(3, {}).get("basis") or "",
            k.grant_source,
        ]
        rows.append(line)
    split = "/".join(t.number(p) for p in rep.rules.tranche_pcts)  # P1–P3 as configured
    b.table(t("sh_status"), t("s_status"), [t("n_status", split=split), *recon], cols, rows)

    # 3. totals per tranche
    cols = [
        Col(t("tranche"), "int", width=8),
        Col(t("tranche_pct"), "pct"),
        Col(t("granted"), "money", "sum"),
        Col(t("earned_to_date"), "money", "sum"),
        Col(t("outstanding"), "money", "sum"),
        Col(t("due_now"), "money", "sum"),
        Col(t("n_earned"), "int"),
        Col(t("n_kommuner"), "int"),
    ]
    rows = [
        [p["tranche"], p["pct"] / 100, p["granted"], p["earned"], p["outstanding"], p["due"], p["n_earned"], p["n"]]
        for p in rep.per_tranche()
    ]
    b.table(t("sh_totals"), t("s_totals"), recon, cols, rows, freeze_cols=1)

    # 4. detail, as the csv
    cols = [
        Col(t("kode"), "int", width=12),
        Col(t("kommune")),
        Col(t("tranche"), "int", width=7),
        Col(t("tranche_pct"), "pct"),
        Col(t("grant"), "money"),
        Col(t("amount"), "money", "sum"),
        Col(t("earned")),
        Col(t("earned_month"), "month", width=10),
        Col(t("basis")),
        Col(t("grant_source")),
    ]
    rows = [
        [
            r["kommune_kode"],
            r["kommune_navn"],
            r["tranche"],
            r["tranche_pct"] / 100,
            r["grant_dkk"],
            r["amount_dkk"],
            t.yes_no(r["earned"]),
            r["earned_month"],
            r["basis"],
            r["grant_source"],
        ]
        for r in rep.tranches
    ]
    b.table(t("sh_detail"), t("sh_detail"), [t("n_detail")], cols, rows)

    # 5. what changed: newly earned tranches, new DQ findings
    notes = [t("n_new", m=rep.label, p=rep.prev_label), *prev_note]
    lost = rep.no_longer_earned()
    if lost:
        notes.append(t("n_lost", p=rep.prev_label, m=rep.label, x=", ".join(f"{r['kommune_navn']} {r['tranche']}" for r in lost)))
    for r, before in rep.amount_changes():
        notes.append(
            f"{t('n_amount_changed', p=rep.prev_label)}: {r['kommune_navn']}, {t('tranche')} {r['tranche']}: "
            f"{t.money(before)} → {t.money(r['amount_dkk'])}"
        )
    new = [tranche_line(r) for r in rep.newly_earned()] or [[None, t("n_none_new"), None, None, None, None, None]]
    b.table(t("sh_new"), t("s_changes", p=rep.prev_label), notes, tranche_cols, new)

    rules_, dq_cols = rep.dq_rules, _dq_cols(rep, t)
    new_by: dict[int | None, dict[str, int]] = {}
    for kode, rule, n in rep.dq_new:
        new_by.setdefault(kode, {})[rule] = n
    rows = [
        [kode, rep.name(kode), *(by.get(r, 0) for r in rules_), sum(by.values())]
        for kode, by in sorted(new_by.items(), key=none_first)
    ]
    cols = [*dq_cols, Col(t("total"), "int", "sum", width=8)]
    b.table(
        t("sh_dq_new"),
        t("new_findings") + f" · {rep.label}",
        [t("n_dq_new", m=rep.label, p=rep.prev_label)],
        cols,
        rows or [[None, t("n_none_dq_new"), *([None] * (len(rules_) + 1))]],
    )

    # 6. visitation
    vcols = [Col(t("kode"), "int", width=12), Col(t("kommune"))] + [Col(t(c), "int", "sum") for c in VISITATION_COUNTS[:-1]]
    vcols += [Col(t("coverage"), "pct"), Col(t("coverage_met")), Col(t("pjf_n"), "int", "sum")]
    rows = [
        [
            v["kommune_kode"],
            v["kommune_navn"],
            *(v[c] for c in VISITATION_COUNTS[:-1]),
            None if v["coverage_pct"] is None else v["coverage_pct"] / 100,
            t.yes_no(v["coverage_met"]),
            v["pjf_n"],
        ]
        for v in rep.visitation
    ]
    target_c, visited_c, deferred_c, cov_c = 2, 3, 7, 2 + len(VISITATION_COUNTS) - 1
    tsum = {c: sum(v[c] for v in rep.visitation) for c in VISITATION_COUNTS}
    accounted = tsum["visited_n"] + (tsum["deferred_n"] if rep.rules.deferred_counts_as_visited else 0)
    cov_value = Decimal(accounted) / Decimal(tsum["target_n"]) if tsum["target_n"] else None

    def coverage_total(first: int, last: int, total_row: int) -> dict[int, tuple[str, Decimal | None]]:
        T, V, D = (f"{col_name(c)}{total_row + 1}" for c in (target_c, visited_c, deferred_c))
        num = f"({V}+{D})" if rep.rules.deferred_counts_as_visited else V
        return {cov_c: (f'=IF({T}=0,"",{num}/{T})', cov_value)}

    b.table(t("sh_visitation"), t("s_visitation"), [t("n_coverage")], vcols, rows, custom_totals=coverage_total)

    # 7. activity share, months as columns; 8./9. the counts behind it, same layout
    ms = rep.activity_months
    kom = [k for k in rep.kommuner if any((k.kode, m) in rep.share for m in ms)]
    month_cols = [Col(months.label(m), "pct", width=9) for m in ms]
    threshold = rep.rules.activity_threshold_pct
    cohort_rows = [[k.kode, k.navn, *(rep.share.get((k.kode, m), {}).get("cohort_n") for m in ms)] for k in kom]
    active_rows = [[k.kode, k.navn, *(rep.share.get((k.kode, m), {}).get("active_n") for m in ms)] for k in kom]
    share_rows = [[k.kode, k.navn, *(share_fraction(rep.share.get((k.kode, m))) for m in ms)] for k in kom]
    count_cols = [Col(t("kode"), "int", width=12), Col(t("kommune"))] + [Col(months.label(m), "int", "sum", width=9) for m in ms]
    share_sheet, active_sheet, cohort_sheet = t("sh_share"), t("sh_active"), t("sh_cohort")
    national = {m: (c, a) for m, c, a, _ in rep.national_share()}

    def national_total(first: int, last: int, total_row: int) -> dict[int, tuple[str, Decimal | None]]:
        # the three sheets share one layout, so the totals rows of 'Aktive' and 'Indsatsgruppe' are this row
        out = {}
        for i, m in enumerate(ms):
            ref = f"{col_name(2 + i)}{total_row + 1}"
            c, a = national[m]
            out[2 + i] = (
                f"=IF('{cohort_sheet}'!{ref}=0,\"\",'{active_sheet}'!{ref}/'{cohort_sheet}'!{ref})",
                Decimal(a) / Decimal(c) if c else None,
            )
        return out

    b.table(
        share_sheet,
        t("s_activity"),
        [t("n_share", t=t.number(threshold))],
        [Col(t("kode"), "int", width=12), Col(t("kommune")), *month_cols],
        share_rows,
        custom_totals=national_total,
        total_label=t("country"),
        total_label_col=1,
        good_cells=(2, 1 + len(ms), threshold / 100) if ms else None,
    )
    b.table(
        active_sheet,
        t("active_n") + " · " + t("s_activity"),
        [t("n_share", t=t.number(threshold))],
        count_cols,
        active_rows,
        total_label_col=1,
    )
    b.table(
        cohort_sheet,
        t("cohort_n") + " · " + t("s_activity"),
        [t("n_share", t=t.number(threshold))],
        count_cols,
        cohort_rows,
        total_label_col=1,
    )


def _dq_cols(rep: Report, t: Text) -> list[Col]:
    return [Col(t("kode"), "int", width=12), Col(t("kommune"))] + [
        Col(r, "int", "sum", width=max(12, min(len(r), 18))) for r in rep.dq_rules
    ]


def _xlsx_dq(b: Book, rep: Report, t: Text) -> None:
    rules_, dq_cols = rep.dq_rules, _dq_cols(rep, t)
    # 10. data quality per municipality; 11. by month
    by: dict[int | None, dict[str, int]] = {k.kode: {} for k in rep.kommuner}
    for kode, rule, n in rep.dq_counts:
        by.setdefault(kode, {})[rule] = n
    new_total: dict[int | None, int] = {}
    for kode, _, n in rep.dq_new:
        new_total[kode] = new_total.get(kode, 0) + n
    cols = [*dq_cols, Col(t("total"), "int", "sum", width=8), Col(t("new_findings"), "int", "sum"),
            Col(t("dq_change", p=rep.prev_label), "int", "sum", width=12)]  # fmt: skip
    rows = [
        [kode, rep.name(kode), *(d.get(r, 0) for r in rules_), sum(d.values()), new_total.get(kode, 0),
         sum(d.values()) - rep.dq_prev_totals.get(kode, 0)]
        for kode, d in sorted(by.items(), key=none_first)
    ]  # fmt: skip
    sev = rep.rules.dq_severity
    legend = "; ".join(f"{r} = {t.rule(r)} ({t.severity(sev.get(r))})" for r in rules_)
    b.table(t("sh_dq"), t("s_dq") + f" · {rep.label}", [t("n_dq"), legend], cols, rows)

    hist_months = sorted({m for m, _, _ in rep.dq_history})
    counts = {(m, r): n for m, r, n in rep.dq_history}
    cols = [Col(t("rule_id")), Col(t("rule"))] + [Col(months.label(m), "int", "sum", width=9) for m in hist_months]
    rows = [[r, t.rule(r), *(counts.get((m, r), 0) for m in hist_months)] for r in rules_]
    b.table(t("sh_dq_hist"), t("s_dq"), [t("n_dq_hist")], cols, rows, total_label_col=1)


def _xlsx_basis(b: Book, rep: Report, t: Text) -> None:
    rules_, sev = rep.dq_rules, rep.rules.dq_severity
    # 12. rules and settings in force, data basis
    rows: list[list[object]] = [list(row) for row in rules_in_force(rep.rules, t)]
    rows += [[r, f"{t('severity')}: {t.rule(r)}", t.severity(sev.get(r))] for r in rules_]
    rows += [["P4", t("grant_source"), "; ".join(rep.grant_sources)]]
    rows += [["P5", t("snapshot"), ", ".join(d.isoformat() for d in rep.snapshot_dates)]]
    for lg in rep.run_log:
        rows.append(
            [
                "P5",
                f"{t('computed')} ({lg['programme']}, {lg['step']})",
                t("made_by", run=lg["run_id"], code=lg["code_version"] or "?", at=f"{lg['finished_at']:%Y-%m-%d %H:%M}")
                + f" · {t('snapshot')} {lg['snapshot_date'] or ''}",
            ]
        )
    rows += [
        [
            "—",
            t("n_small"),
            t("internal_detail", k=rep.small_counts, m=rep.small_limit - 1)
            if rep.internal
            else t("not_internal", m=rep.small_limit - 1),
        ]
    ]
    rows += [["—", t("language"), rep.lang], ["—", t("generated"), f"{rep.generated_at:%Y-%m-%d %H:%M %Z}"]]
    b.table(
        t("sh_rules"),
        t("s_rules"),
        [t("n_rules", prefix=RULE_PREFIX)],
        [Col(t("rule_id"), width=10), Col(t("setting"), wrap=80), Col(t("value"), wrap=80)],
        rows,
        freeze_cols=0,
    )

    cols = [
        Col(t("feed")),
        Col(t("file")),
        Col(t("period")),
        Col(t("rows_read"), "int", "sum"),
        Col(t("rows_loaded"), "int", "sum"),
        Col(t("rows_rejected"), "int", "sum"),
        Col(t("loaded_at"), "datetime"),
    ]
    rows = [
        [
            d["feed"],
            d["file_name"],
            period_label(d["feed"], d["period"]),
            d["rows_read"],
            d["rows_loaded"],
            d["rows_rejected"],
            d["loaded_at"].astimezone(months.COPENHAGEN) if d["loaded_at"] else None,
        ]
        for d in rep.deliveries
    ]
    b.table(t("sh_deliveries"), t("s_deliveries"), [t("n_deliveries", m=rep.label)], cols, rows, total_label_col=1)
