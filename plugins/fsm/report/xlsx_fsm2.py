"""tranche_report.xlsx's FSM2 sheets: result and requirements, the share over months with its counts, by origin, payments (F10)."""

from __future__ import annotations

from decimal import Decimal

from fsm import months
from fsm.report.model import FSM2_COUNTS, Report, fsm2_fraction
from fsm.report.text import Text
from fsm.report.xlsx_book import Book, Col, col_name

PARTS = (1, 2, 3)


def xlsx_fsm2(b: Book, rep: Report, t: Text) -> None:
    """FSM2 resultat (as-of month + requirements), FSM2 andel over months with the count sheets behind
    its national row, FSM2 herkomst (by origin, national rows as SUMIFS over the municipalities)."""
    prog = t("programme2")
    thresholds = rep.fsm2_thresholds
    lo, hi = thresholds[0], thresholds[-1]
    levels = [(hi / 100, "good")] + ([(lo / 100, "fair")] if lo != hi else [])
    codes = rep.fsm2_codes
    ms = rep.fsm2_months
    m0 = rep.month

    # FSM2 resultat: one row per municipality, the as-of month's counts and every threshold's requirement
    cols = [Col(t("kode"), "int", width=12), Col(t("kommune"))]
    cols += [Col(t(c), "int", "sum") for c in ("target_n", "group2_n", "exempt_n", "cohort_n", "active_n")]
    cols += [Col(t("result_share"), "pct")]
    for thr in thresholds:
        cols += [
            Col(t("req_met", t=t.number(thr)), width=10),
            Col(t("req_month", t=t.number(thr)), "month", width=10),
            Col(t("req_basis", t=t.number(thr))),
        ]
    rows = []
    for k in codes:
        r = rep.fsm2_at(k) or {}
        line: list[object] = [k, rep.name(k), *(r.get(c) for c in FSM2_COUNTS), fsm2_fraction(r)]
        for thr in thresholds:
            q = rep.fsm2_req_by.get((k, thr))
            line += [
                t.yes_no(q["met"]) if q else None,
                q["met_month"] if q else None,
                q["basis"] if q else None,
            ]
        rows.append(line)
    nat = rep.fsm2_sum()
    share_c = 2 + len(FSM2_COUNTS)

    def result_totals(first: int, last: int, total_row: int) -> dict[int, tuple[str, Decimal | None]]:
        ind, act = (f"{col_name(c)}{total_row + 1}" for c in (5, 6))
        out = {share_c: (f'=IF({ind}=0,"",{act}/{ind})', nat["share"])}
        for i, thr in enumerate(thresholds):
            c = share_c + 1 + 3 * i
            rng = f"{col_name(c)}{first + 1}:{col_name(c)}{last + 1}"
            out[c] = (f'=COUNTIF({rng},"{t("yes")}")', Decimal(rep.fsm2_n_met(thr)))
        return out

    b.table(
        t("sh_fsm2"),
        t("s_fsm2_table", m=rep.label),
        [t("n_fsm2", lo=t.number(lo), hi=t.number(hi))],
        cols,
        rows,
        custom_totals=result_totals,
        total_label=t("country"),
        total_label_col=1,
        bands=(share_c, share_c, levels),
        programme=prog,
    )

    # FSM2 andel: months as columns; the count sheets share its layout, so its national row is a formula over them
    share_sheet, active_sheet, cohort_sheet = t("sh_fsm2_share"), t("sh_fsm2_active"), t("sh_fsm2_cohort")
    month_cols = [Col(months.label(m), "pct", width=9) for m in ms]
    count_cols = [Col(t("kode"), "int", width=12), Col(t("kommune"))] + [Col(months.label(m), "int", "sum", width=9) for m in ms]
    share_rows = [[k, rep.name(k), *(fsm2_fraction(rep.fsm2_at(k, m)) for m in ms)] for k in codes]
    active_rows = [[k, rep.name(k), *((rep.fsm2_at(k, m) or {}).get("active_n") for m in ms)] for k in codes]
    cohort_rows = [[k, rep.name(k), *((rep.fsm2_at(k, m) or {}).get("indsatsgruppe_n") for m in ms)] for k in codes]
    national = {m: rep.fsm2_sum(m) for m in ms}

    def national_total(first: int, last: int, total_row: int) -> dict[int, tuple[str, Decimal | None]]:
        out = {}
        for i, m in enumerate(ms):
            ref = f"{col_name(2 + i)}{total_row + 1}"
            out[2 + i] = (
                f"=IF('{cohort_sheet}'!{ref}=0,\"\",'{active_sheet}'!{ref}/'{cohort_sheet}'!{ref})",
                national[m]["share"],
            )
        return out

    note = [t("n_fsm2_share", lo=t.number(lo), hi=t.number(hi))]
    placed = b.table(
        share_sheet,
        t("result_share") + " · " + prog,
        note,
        [Col(t("kode"), "int", width=12), Col(t("kommune")), *month_cols],
        share_rows,
        custom_totals=national_total,
        total_label=t("country"),
        total_label_col=1,
        bands=(2, 1 + len(ms), levels) if ms else None,
        programme=prog,
    )
    for sheet, label, rows_ in ((active_sheet, "active_n", active_rows), (cohort_sheet, "cohort_n", cohort_rows)):
        b.table(sheet, t(label) + " · " + prog, note, count_cols, rows_, total_label_col=1, programme=prog)

    # FSM2 herkomst: municipality × origin for the as-of month, the share over time in the month columns;
    # the national rows below: all origins (SUM), then each origin (SUMIFS on the origin column)
    origins = rep.fsm2_origins
    cols = [Col(t("kode"), "int", width=12), Col(t("kommune")), Col(t("herkomst"))]
    cols += [Col(t(c), "int", "sum") for c in ("target_n", "group2_n", "exempt_n", "cohort_n", "active_n")]
    cols += [Col(f"{t('result_share')} {rep.label}", "pct", width=11)]
    cols += [Col(months.label(m), "pct", width=9) for m in ms]
    share_c = 3 + len(FSM2_COUNTS)
    rows = []
    for k in codes:
        for o in origins:
            r = rep.fsm2_at(k, m0, o)
            counts = [(r or {}).get(c, 0) for c in FSM2_COUNTS]
            rows.append(
                [k, rep.name(k), t.origin(o), *counts, fsm2_fraction(r), *(fsm2_fraction(rep.fsm2_at(k, m, o)) for m in ms)]
            )

    def origin_totals(first: int, last: int, total_row: int) -> dict[int, tuple[str, Decimal | None]]:
        ind, act = (f"{col_name(c)}{total_row + 1}" for c in (6, 7))
        out: dict[int, object] = {2: t.origin("ALL"), share_c: (f'=IF({ind}=0,"",{act}/{ind})', nat["share"])}
        for i, m in enumerate(ms):
            ref = f"'{share_sheet}'!{col_name(2 + i)}{placed.total_row + 1}"
            out[share_c + 1 + i] = (f"={ref}", national[m]["share"])
        return out

    def origin_rows(first: int, last: int, total_row: int) -> list[dict[int, object]]:
        out = []
        for i, o in enumerate(origins):
            row = total_row + 1 + i
            sums = rep.fsm2_sum(m0, o)
            crit = f"$C${first + 1}:$C${last + 1},$C{row + 1}"
            line: dict[int, object] = {1: t("country"), 2: t.origin(o)}
            for j, c in enumerate(FSM2_COUNTS):
                col = col_name(3 + j)
                line[3 + j] = (f"=SUMIFS({col}{first + 1}:{col}{last + 1},{crit})", Decimal(sums[c]))
            ind, act = f"G{row + 1}", f"H{row + 1}"
            line[share_c] = (f'=IF({ind}=0,"",{act}/{ind})', sums["share"])
            for j, m in enumerate(ms):
                line[share_c + 1 + j] = rep.fsm2_sum(m, o)["share"]
            out.append(line)
        return out

    b.table(
        t("sh_fsm2_origin"),
        t("s_fsm2_origin"),
        [t("n_fsm2_origin", m=rep.label)],
        cols,
        rows,
        custom_totals=origin_totals,
        extra_totals=origin_rows,
        total_label=t("country"),
        total_label_col=1,
        bands=(share_c, share_c + len(ms), levels),
        freeze_cols=3,
        programme=prog,
    )
    if rep.fsm2_pay:
        xlsx_fsm2_payments(b, rep, t)


def xlsx_fsm2_payments(b: Book, rep: Report, t: Text) -> None:
    """FSM2 udbetaling (per participant: grant, the three parts, earned to date, outstanding, due now; totals that
    reconcile with the grants) and FSM2 forfald (the parts falling due in the as-of month), F10."""
    prog = t("programme2")
    r_ = rep.rules
    tot = rep.fsm2_pay_totals()
    split = "/".join(t.number(p) for p in r_.fsm2_part_pcts)
    lo, hi = r_.fsm2_part_thresholds_pct
    note = t("n_fsm2_pay", split=split, lo=t.number(lo), hi=t.number(hi))
    recon = (
        t("fsm2_reconcile_ok")
        if rep.fsm2_pay_reconciled
        else t("fsm2_reconcile_bad", a=t.money(tot["granted"]), b=t.money(tot["parts"]))
    )
    cols = [Col(t("kode"), "int", width=12), Col(t("kommune")), Col(t("grant"), "money", "sum")]
    for n in PARTS:
        cols += [Col(t("part_n", n=n), "money", "sum"), Col(t("part_n_earned", n=n), "month", width=10)]
    cols += [
        Col(t("earned_to_date"), "money", "sum"),
        Col(t("outstanding"), "money", "sum"),
        Col(t("fsm2_due_now", m=rep.label), "money", "sum"),
        Col(t("part_basis_n", n=2), wrap=60),
        Col(t("part_basis_n", n=3), wrap=60),
        Col(t("grant_source"), wrap=60),
    ]
    rows = []
    for k in rep.fsm2_payers:
        line: list[object] = [k.kode, k.navn, k.grant]
        for n in PARTS:
            p = k.tranches.get(n)
            line += [p["amount_dkk"] if p else None, (p["earned_month"] if p["earned"] else t("not_earned")) if p else None]
        due = sum((p["amount_dkk"] for p in k.tranches.values() if p["earned"] and p["earned_month"] == rep.month), Decimal(0))
        line += [
            k.earned,
            k.outstanding,
            due,
            (k.tranches.get(2) or {}).get("basis"),
            (k.tranches.get(3) or {}).get("basis"),
            k.grant_source,
        ]
        rows.append(line)
    b.table(t("sh_fsm2_pay"), t("s_fsm2_pay_table"), [note, recon], cols, rows, total_label_col=1, programme=prog)

    due_cols = [
        Col(t("kode"), "int", width=12),
        Col(t("kommune")),
        Col(t("part"), "int", width=7),
        Col(t("part_pct"), "pct"),
        Col(t("amount"), "money", "sum"),
        Col(t("earned_month"), "month", width=10),
        Col(t("basis"), wrap=80),
    ]
    due_rows = [
        [r["kommune_kode"], r["kommune_navn"], r["part"], r["part_pct"] / 100, r["amount_dkk"], r["earned_month"], r["basis"]]
        for r in rep.fsm2_due
    ] or [[None, t("s_fsm2_due_none", m=rep.label), None, None, None, None, None]]
    b.table(t("sh_fsm2_due"), t("s_fsm2_due", m=rep.label), [t("n_fsm2_due", m=rep.label)], due_cols, due_rows, programme=prog)
