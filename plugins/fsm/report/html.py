"""tranche_report.html: the Jinja2 template (templates/) filled with the report's figures and charts; self-contained."""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path

from fsm import months
from fsm.config import RULE_PREFIX
from fsm.report.model import (
    FSM2_COUNTS,
    VISITATION_COUNTS,
    ZERO,
    Report,
    band,
    national_coverage,
    none_first,
    period_label,
    plain,
)
from fsm.report.rules_in_force import rules_in_force
from fsm.report.text import Text

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
HTML_TEMPLATE = "tranche_report.html.j2"


@functools.cache
def _environment(lang: str):
    """One Environment per language, kept: compiling the template is ~0.5 s, and a backfill renders a report a month."""
    import jinja2

    t = Text(lang)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=t.money, num=t.count, pct=t.pct, month=t.month)
    return env


def render_html(rep: Report, charts: dict[str, object] | None = None) -> str:
    t = rep.t
    env = _environment(rep.lang)
    if charts is None:
        from fsm.report.charts import render_charts

        charts = render_charts(rep)
    tot = rep.totals()
    rules_ = rep.dq_rules
    sev = rep.rules.dq_severity
    by: dict[int | None, dict[str, int]] = {}
    for kode, rule, n in rep.dq_counts:
        by.setdefault(kode, {})[rule] = n
    new_by: dict[int | None, dict[str, int]] = {}
    for kode, rule, n in rep.dq_new:
        new_by.setdefault(kode, {})[rule] = n
    hist_months = sorted({m for m, _, _ in rep.dq_history})[-6:]
    hist = {(m, r): n for m, r, n in rep.dq_history}
    recent = rep.activity_months[-6:]
    feeds: dict[str, dict[str, object]] = {}
    for d in rep.deliveries:
        f = feeds.setdefault(
            d["feed"], {"feed": d["feed"], "files": 0, "first": None, "last": None, "read": 0, "loaded": 0, "rejected": 0}
        )
        f["files"] += 1
        label = period_label(d["feed"], d["period"])
        f["first"] = f["first"] or label
        f["last"] = label
        f["read"] += d["rows_read"]
        f["loaded"] += d["rows_loaded"]
        f["rejected"] += d["rows_rejected"]
    this_month_files = [
        d
        for d in rep.deliveries
        if d["period"]
        and (
            months.label(d["period"]) == rep.label
            or d["period"].year < 1950
            or (d["feed"] == "markings" and d["period"] in rep.snapshot_dates)
        )
    ]
    ctx = {
        "t": t,
        "split": "/".join(t.number(p) for p in rep.rules.tranche_pcts),  # P1–P3 as configured
        "rep": rep,
        "lang": rep.lang,
        "limit": rep.small_limit - 1,
        "totals": tot,
        "per_tranche": rep.per_tranche(),
        "due": rep.due,
        "kommuner": [k for k in rep.kommuner if k.tranches],
        "newly": rep.newly_earned(),
        "newly_total": sum((r["amount_dkk"] for r in rep.newly_earned()), ZERO),
        "lost": rep.no_longer_earned(),
        "amount_changes": rep.amount_changes(),
        "visitation": rep.visitation,
        "vis_total": {c: sum(v[c] for v in rep.visitation) for c in VISITATION_COUNTS},
        "vis_coverage": national_coverage(rep),
        "recent": recent,
        "share": rep.share,
        "national": rep.national_share(),
        "dq_rules": rules_,
        "dq_sev": {r: t.severity(sev.get(r)) for r in rules_},
        "dq_rows": sorted(by.items(), key=none_first),
        "dq_totals": {r: sum(d.get(r, 0) for d in by.values()) for r in rules_},
        "dq_new_rows": sorted(new_by.items(), key=none_first),
        "dq_new_totals": {r: sum(d.get(r, 0) for d in new_by.values()) for r in rules_},
        "dq_resolved": rep.dq_resolved,
        "hist_months": hist_months,
        "hist": hist,
        "describe": rules_in_force(rep.rules, t),
        "rule_prefix": RULE_PREFIX,
        "grant_sources": rep.grant_sources,
        "feeds": list(feeds.values()),
        "month_files": this_month_files,
        "period_label": period_label,
        "charts": charts,
        "wrap_id": lambda s: s.replace("_", "_\u200b"),
        "threshold": t.number(rep.rules.activity_threshold_pct),
        "coverage_required": t.number(rep.rules.coverage_required_pct),
        **_html_fsm2(rep, t),
    }
    return env.get_template(HTML_TEMPLATE).render(**ctx)


def _html_fsm2(rep: Report, t: Text) -> dict[str, object]:
    """The FSM2 section's context, and which sections the html has in which order (numbered in the TOC)."""
    show_fsm1 = rep.has_fsm1 or not rep.has_fsm2
    show_dq = show_fsm1 or bool(rep.dq_counts or rep.dq_history)
    thresholds = rep.fsm2_thresholds
    lo, hi = (thresholds[0], thresholds[-1]) if thresholds else (Decimal(15), Decimal(20))
    rows = []
    for k in rep.fsm2_codes:
        r = rep.fsm2_at(k) or dict.fromkeys((*FSM2_COUNTS, "share_pct"))
        rows.append(
            {
                "kode": k,
                "navn": rep.name(k),
                **{c: r.get(c) for c in (*FSM2_COUNTS, "share_pct")},
                "band": band(r, lo, hi),
                "req": [(thr, rep.fsm2_req_by.get((k, thr))) for thr in thresholds],
            }
        )
    recent = rep.fsm2_months[-6:]
    recent_rows = [
        {
            "kode": k,
            "navn": rep.name(k),
            "cells": [(r, band(r, lo, hi)) for m in recent for r in [rep.fsm2_at(k, m)]],
        }
        for k in rep.fsm2_codes
    ]
    national = rep.fsm2_sum() if rep.has_fsm2 else None
    origin_rows = [
        {
            "origin": o,
            "label": t.origin(o),
            "now": (now := rep.fsm2_sum(rep.month, o)),
            "band": band(now, lo, hi),
            "recent": [(n["share_pct"], band(n, lo, hi)) for m in recent for n in [rep.fsm2_sum(m, o)]],
        }
        for o in ("ALL", *rep.fsm2_origins)
    ]
    newly = [{**r, "kommune_navn": rep.name(r["kommune_kode"])} for r in rep.fsm2_newly_met()]
    order = (
        (["due", "status", "totals", "changes", "visitation", "activity"] if show_fsm1 else ["changes"])
        + (["fsm2"] if rep.has_fsm2 else [])
        + (["fsm2_pay"] if rep.fsm2_pay else [])
        + ([] if show_fsm1 else ["fsm1"])
        + (["dq"] if show_dq else [])
        + ["rules"]
    )
    titles = {
        "due": t("s_due", m=rep.label),
        "status": t("s_status"),
        "totals": t("s_totals"),
        "changes": t("s_changes", p=rep.prev_label),
        "visitation": t("s_visitation"),
        "activity": t("s_activity"),
        "fsm2": t("s_fsm2"),
        "fsm2_pay": t("s_fsm2_pay"),
        "fsm1": t("s_fsm1"),
        "dq": t("s_dq"),
        "rules": t("s_rules"),
    }
    return {
        "show_fsm1": show_fsm1,
        "show_dq": show_dq,
        "fsm1_absent": "" if show_fsm1 else rep.fsm1_absent_text(t),
        "sections": [(sid, titles[sid]) for sid in order],
        "num": {sid: i for i, sid in enumerate(order, 1)},
        "fsm2_rows": rows,
        "fsm2_national": national,
        "fsm2_recent": recent,
        "fsm2_recent_rows": recent_rows,
        "fsm2_origin_rows": origin_rows,
        "fsm2_thresholds": [t.number(x) for x in thresholds],
        "fsm2_n_met": [(plain(x), t.number(x), rep.fsm2_n_met(x)) for x in thresholds],
        "fsm2_lo": t.number(lo),
        "fsm2_hi": t.number(hi),
        "fsm2_newly": newly,
        "fsm2_pay_totals": rep.fsm2_pay_totals(),
        "fsm2_per_part": rep.fsm2_per_part(),
        "fsm2_pay_note": t(
            "n_fsm2_pay",
            split="/".join(t.number(p) for p in rep.rules.fsm2_part_pcts),
            lo=t.number(rep.rules.fsm2_part_thresholds_pct[0]),
            hi=t.number(rep.rules.fsm2_part_thresholds_pct[-1]),
        ),
        "plain": t.number,
    }
