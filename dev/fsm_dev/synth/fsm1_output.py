"""What FSM1's world writes and what the pipeline must find in it: its rows of each file, the marking rules per snapshot (dq_defects) and the truth per municipality (V3, P2, P3)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fsm_dev.synth import files
from fsm_dev.synth.common import (
    HERKOMST,
    MATCH_CODES,
    NAT,
    REVAL,
    TILBUD_TYPES,
    YDELSE_CODES,
    cpr_text,
    date_text,
    month_label,
    month_last,
    month_of,
)
from fsm_dev.synth.fsm1 import Fsm1World
from fsm_dev.synth.fsm1_params import (
    BRUTTO,
    DEFECT_RATES,
    DQ_RULES,
    GR1,
    GR2,
    GR3,
    GROUP_CODES,
    MARKING_CODES,
    PROJECT_MONTH,
    PROJECT_START,
    RATES_AFTER_FSM1,
)


def specs(world: Fsm1World, months: np.ndarray) -> dict:
    """rel -> (feed, rows, make(rng)) for FSM1's rows of the written months (files.py writes them)."""
    specs: dict = {}
    for m in months:
        specs.update(_markings_spec(world, m))
    specs.update(_ydelse_spec(world, months))
    specs.update(_tilbud_spec(world, months))
    specs.update(_timer_spec(world, months))
    return specs


def manifest(world: Fsm1World, months: np.ndarray, written: dict[str, dict]) -> dict:
    """FSM1's part of the manifest, around the written files (after `specs`)."""
    return {
        "participants": [int(k) for k in world.participants],
        "citizens": int(world.N),
        "background_citizens": int(world.B),
        "files": written,
        "dq_defects": _evaluate_dq(world, months),
        "offers_ended_early": _offers_ended_early(world),
        "zero_hour_rows": int((world.timer["h2"] == 0).sum()),
        "rejects_total": sum(len(v["rejects"]) for v in written.values()),
        "rates": {"defects": DEFECT_RATES, **world.rates, "after_fsm1": RATES_AFTER_FSM1},
        "truth": _truth(world, months),
        "notes": {
            "rows": "data lines in the file (header excluded), the injected unreadable rows included",
            "rejects": "line = physical line, header = line 1; kinds: "
            + ", ".join(sorted({k for v in files.REJECT_KINDS.values() for k in v})),
            "dq_defects": "count = distinct violation rows (marking rules: marking ids, or pairs for overlap/duplicate) over all "
            "written snapshots; revalidering: (citizen, month) pairs. by_month = rows the rule gives on that month's snapshot "
            "(revalidering: on that month's ydelse with that month's snapshot)",
            "offers_ended_early": "tilbud_ids whose end_date moves earlier in a later monthly delivery",
            "cpr": "mostly DDMMYYSSSS, some DDMMYY-SSSS, chosen per row: one citizen appears in both forms",
            "after_fsm1": "months after 2019-12: no new FSM1 markings, offers or hours; the FSM1 target group fades "
            "out of benefits, integrationsydelse is paid as overgangsydelse from 2020-01",
        },
    }


def _cpr_text(world: Fsm1World, rng, cit: np.ndarray) -> np.ndarray:
    return cpr_text(rng, world.cpr[cit])


def _markings_spec(world: Fsm1World, m: int) -> dict:
    """The full snapshot extracted on the last day of month m: every marking registered by then,
    with the end dates known by then."""
    mk = world.mk
    D = month_last(m)
    vis = np.flatnonzero(mk["reg"].to_numpy().astype("datetime64[D]") <= D)

    def make(rng) -> list[np.ndarray]:
        x = mk.iloc[vis]
        shown = np.where(x["end_vis"].to_numpy() <= D, x["end"].to_numpy(), NAT)
        cit = x["cit"].to_numpy()
        return [
            x["marking_id"].to_numpy(dtype=object),
            _cpr_text(world, rng, cit),
            world.y_kom[cit].astype(str),
            MARKING_CODES[x["code"].to_numpy()],
            date_text(x["start"].to_numpy()),
            date_text(shown),
            np.datetime_as_string(x["reg"].to_numpy().astype("datetime64[s]"), unit="s"),
            np.full(len(x), "", dtype=object),
        ]

    return {files.rel_path("markings", str(D)): ("markings", len(vis), make)}


def _ydelse_spec(world: Fsm1World, months: np.ndarray) -> dict:
    ci, wi = np.nonzero(world.y_code)
    mon = world.week_m[wi]
    order = np.lexsort((wi, world.cpr_rank[ci], mon))
    ci, wi, mon = ci[order], wi[order], mon[order]

    def make(a: int, b: int):
        def cols(rng) -> list[np.ndarray]:
            c, w = ci[a:b], wi[a:b]
            return [
                _cpr_text(world, rng, c),
                world.week_label[w],
                world.y_kom[c].astype(str),
                YDELSE_CODES[world.y_code[c, w]],
                MATCH_CODES[world.y_match[c, w]],
                np.where(world.y_intro[c], "1", "0"),
                HERKOMST[world.y_herk[c]],
            ]

        return cols

    return files.split_by_month("ydelse", months, mon, make)


def _tilbud_spec(world: Fsm1World, months: np.ndarray) -> dict:
    """Offers in force on a day of the month; an early end shows from the month it is delivered
    in (its own month, or the next one: 'changed in it')."""
    of = world.offers
    nH = world.nT  # offers running past 2019-12 stay in the later deliveries
    s_m = month_of(of["start"].to_numpy())
    e_m = np.minimum(month_of(of["end"].to_numpy()), nH - 1)
    late = of["late_change"].to_numpy().astype(int)
    last_m = np.minimum(e_m + late, nH - 1)
    change_m = np.where(of["early"].to_numpy(), e_m + late, -1)
    n = last_m - s_m + 1
    oi = np.repeat(np.arange(len(of)), n)
    om = np.repeat(s_m, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    keep = (om >= world.m_lo) & (om <= world.m_hi)
    oi, om = oi[keep], om[keep]
    shown_end = np.where(om >= change_m[oi], of["end"].to_numpy()[oi], of["planned"].to_numpy()[oi])
    order = np.lexsort((oi, om))
    oi, om, shown_end = oi[order], om[order], shown_end[order]
    world.tilbud_rows = pd.DataFrame({"oi": oi, "m": om, "end": shown_end})
    ids = of["tilbud_id"].to_numpy(dtype=object)
    cit_of, type_of, start_of = of["i"].to_numpy(), of["type"].to_numpy(), of["start"].to_numpy()

    def make(a: int, b: int):
        def cols(rng) -> list[np.ndarray]:
            o = oi[a:b]
            cit = cit_of[o]
            return [
                ids[o],
                _cpr_text(world, rng, cit),
                world.y_kom[cit].astype(str),
                TILBUD_TYPES[type_of[o]],
                date_text(start_of[o]),
                date_text(shown_end[a:b]),
            ]

        return cols

    return files.split_by_month("tilbud", months, om, make)


def _timer_spec(world: Fsm1World, months: np.ndarray) -> dict:
    tm = world.timer
    tm = tm[(tm["m"] >= world.m_lo) & (tm["m"] <= world.m_hi)]
    order = np.lexsort((tm["cvr"].to_numpy(), world.cpr_rank[tm["i"].to_numpy()], tm["m"].to_numpy()))
    tm = tm.iloc[order]
    ci, m, cvr = tm["i"].to_numpy(), tm["m"].to_numpy(), tm["cvr"].to_numpy(dtype=object)
    h2, sub = tm["h2"].to_numpy(), tm["sub"].to_numpy()

    def make(a: int, b: int):
        def cols(rng) -> list[np.ndarray]:
            h = h2[a:b]
            whole = (h // 2).astype(str)
            return [
                _cpr_text(world, rng, ci[a:b]),
                month_label(m[a:b]),
                cvr[a:b],
                np.where(h % 2 == 1, np.char.add(whole, ",5"), whole),  # decimal comma
                sub[a:b].astype(str),
            ]

        return cols

    return files.split_by_month("timer", months, m, make)


def _offers_ended_early(world: Fsm1World) -> int:
    r = world.tilbud_rows
    if r.empty:
        return 0
    ends = r.groupby("oi")["end"].agg(["min", "max"])
    return int((ends["min"] < ends["max"]).sum())


# ----------------------------------------------------------------- data-quality bookkeeping
def _evaluate_dq(world: Fsm1World, months: np.ndarray) -> dict:
    """Evaluate DOMAIN's rules on the generated data, snapshot by snapshot (the ground truth
    the pipeline's dq tables must match). Rejected rows are not part of it."""
    mk = world.mk
    start = mk["start"].to_numpy()
    end = mk["end"].to_numpy()
    end_vis = mk["end_vis"].to_numpy()
    reg_d = mk["reg"].to_numpy().astype("datetime64[D]")
    code = mk["code"].to_numpy()
    cit = mk["cit"].to_numpy()
    ids = mk["marking_id"].to_numpy()
    municipal = code != BRUTTO
    # candidate pairs: the same citizen, both group codes (overlap) or the same code (duplicate)
    df = pd.DataFrame({"cit": cit, "code": code, "r": np.arange(len(mk))})
    pairs = df.merge(df, on="cit", suffixes=("_a", "_b"))
    pairs = pairs[pairs["r_a"] < pairs["r_b"]]
    a, b = pairs["r_a"].to_numpy(), pairs["r_b"].to_numpy()
    ca, cb = code[a], code[b]
    is_grp = np.isin(ca, GROUP_CODES) & np.isin(cb, GROUP_CODES) & (ca != cb)
    is_dup = ca == cb
    far = np.datetime64("9999-12-31")
    seen: dict[str, set] = {r: set() for r in DQ_RULES}
    by_month: dict[str, dict[str, int]] = {r: {} for r in DQ_RULES}
    for m in months:
        D = month_last(m)
        lab = str(month_label(m))
        v = reg_d <= D
        shown = np.where(end_vis <= D, end, NAT)
        endx = np.where(np.isnat(shown), far, shown)
        flags = {
            "backdated_marking": v & municipal & (start < reg_d),
            "invalid_period": v & ~np.isnat(shown) & (shown < start),
            "future_marking": v & (start > D),
        }
        # target group at project start, as this snapshot shows it (T2)
        in_force = v & (code == BRUTTO) & (start <= PROJECT_START) & (endx > PROJECT_START)
        tg = np.zeros(world.N + world.B, bool)
        tg[cit[in_force]] = True
        flags["marking_outside_target_group"] = v & municipal & ~tg[cit]
        for rule, f in flags.items():
            hit = ids[f]
            by_month[rule][lab] = len(hit)
            seen[rule].update(hit.tolist())
        pv = v[a] & v[b] & (start[a] < endx[b]) & (start[b] < endx[a])
        for rule, mask in (("overlapping_group_marking", is_grp), ("duplicate_marking", is_dup)):
            hit = pv & mask
            by_month[rule][lab] = int(hit.sum())
            seen[rule].update(zip(ids[a[hit]].tolist(), ids[b[hit]].tolist(), strict=True))
    # revalidering_without_group2: (citizen, month) pairs in that month's ydelse
    rv = _revalidering_pairs(world, months)
    out = {}
    for rule in DQ_RULES:
        if rule == "revalidering_without_group2":
            bm = {str(month_label(m)): int(rv.get(int(m), 0)) for m in months}
            count = sum(bm.values())
        else:
            bm = by_month[rule]
            count = len(seen[rule])
        first = next((k for k, c in bm.items() if c), None)
        out[rule] = {"count": count, "first_visible_month": first, "by_month": bm}
    return out


def _revalidering_pairs(world: Fsm1World, months: np.ndarray) -> dict[int, int]:
    """Per month: target-group citizens paid REVALIDERING with no FSM_GR2 in force at month end (D1)."""
    mk = world.mk
    N = world.N
    wm = world.week_m
    reval_cm = np.zeros((world.N + world.B, world.nT), bool)
    ci, wi = np.nonzero(world.y_code == REVAL)
    reval_cm[ci, wm[wi]] = True
    start = mk["start"].to_numpy()
    reg_d = mk["reg"].to_numpy().astype("datetime64[D]")
    eff = np.maximum(start, reg_d)  # D1
    end, end_vis = mk["end"].to_numpy(), mk["end_vis"].to_numpy()
    code, cit = mk["code"].to_numpy(), mk["cit"].to_numpy()
    res: dict[int, int] = {}
    for m in months:
        D = month_last(m)
        shown = np.where(end_vis <= D, end, NAT)
        g2 = (code == GR2) & (reg_d <= D) & (eff <= D) & (np.isnat(shown) | (shown > D))
        has_g2 = np.zeros(world.N + world.B, bool)
        has_g2[cit[g2]] = True
        target = np.zeros(world.N + world.B, bool)
        target[:N] = _in_target(world, D)
        res[int(m)] = int((reval_cm[:, m] & target & ~has_g2).sum())
    return res


def _in_target(world: Fsm1World, D: np.datetime64) -> np.ndarray:
    """T2/T3 as of the snapshot extracted on D (the end of a month)."""
    pre_out = (world.leaver == 1) & (world.leave_vis <= D)
    visited = world.G <= D
    post_out = (world.leaver == 2) & (world.leave_vis <= D) & (world.leave_date <= D) & ~visited
    return ~pre_out & ~post_out


# ----------------------------------------------------------------- truth
def _truth(world: Fsm1World, months: np.ndarray) -> dict:
    """What the pipeline should find, per municipality (V3, P2, P3), under DOMAIN's interpretations."""
    K = len(world.participants)
    kidx = world.kidx
    cov_month = np.full(K, -1)
    p3_month = np.full(K, -1)
    target_start = np.bincount(kidx[world.leaver != 1], minlength=K)
    brutto = np.bincount(kidx, minlength=K)
    # coverage (V1–V3): visited = first group registered by then (D1); deferred = open UDSKUDT
    for m in months:
        D = month_last(m)
        tg = _in_target(world, D)
        visited = world.G <= D
        deferred = world.deferred & (world.t1 <= D) & ~visited
        acc = np.bincount(kidx[tg & (visited | deferred)], minlength=K)
        n = np.bincount(kidx[tg], minlength=K)
        hit = (n > 0) & (acc == n) & (cov_month < 0)
        cov_month[hit] = m
    # activity (C2, C3, A1): share of the indsatsgruppe active in month m, per municipality
    share_ok = np.zeros((K, world.nT), bool)
    mem_m = np.where(world.member, month_of(world.G), 10_000)
    for m in months:
        cohort = mem_m <= m
        nc = np.bincount(kidx[cohort], minlength=K)
        na = np.bincount(kidx[cohort & world.A[:, m]], minlength=K)
        share_ok[:, m] = (nc > 0) & (na * 100 >= 40 * nc)
    for m in months:
        if m - 2 < world.m_lo or m - 2 < PROJECT_MONTH:
            continue
        hit = share_ok[:, m] & share_ok[:, m - 1] & share_ok[:, m - 2] & (p3_month < 0)
        p3_month[hit] = m
    max_share = np.zeros(K)
    for m in months:
        cohort = mem_m <= m
        nc = np.bincount(kidx[cohort], minlength=K)
        na = np.bincount(kidx[cohort & world.A[:, m]], minlength=K)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.where(nc > 0, na / np.maximum(nc, 1), 0)
        max_share = np.maximum(max_share, s)

    def lab(x):
        return None if x < 0 else str(month_label(x))

    # groups (M1, V3): the first group marking, and the group in force at the end of the last written
    # month (a move's marking starts the day the earlier one ends, or overrides it per D1)
    D = month_last(months[-1])
    moved = world.move_date <= D
    now = np.where(moved, world.move_code, world.first_group)
    now = np.where(world.G <= D, now, 0)
    first = {
        g: np.bincount(kidx[(world.first_group == code) & (world.G <= D)], minlength=K)
        for g, code in zip((1, 2, 3), GROUP_CODES, strict=True)
    }
    at_end = {g: np.bincount(kidx[now == code], minlength=K) for g, code in zip((1, 2, 3), GROUP_CODES, strict=True)}

    per_k = {
        str(int(k)): {
            "brutto_n": int(brutto[j]),
            "target_n": int(target_start[j]),
            "designed_complete": bool(world.complete[j]),
            "full_coverage_month": lab(cov_month[j]),
            "activity_level": round(float(world.act_level[j]), 3),
            "max_activity_share_pct": round(100 * float(max_share[j]), 1),
            "p3_month": lab(p3_month[j]),
            "first_group": {str(g): int(first[g][j]) for g in (1, 2, 3)},
            "group_at_end": {str(g): int(at_end[g][j]) for g in (1, 2, 3)},
            "indsatsgruppe_n": int(np.bincount(kidx[world.member], minlength=K)[j]),
        }
        for j, k in enumerate(world.participants)
    }
    if world.design is not None:  # the calibrated design (calibration.py), beside what the data gives
        for j, k in enumerate(world.participants):
            per_k[str(int(k))]["designed_meets_40"] = bool(not world.design["fails"][j])
            per_k[str(int(k))]["designed_p3_by"] = None if world.design["fails"][j] else lab(world.design["T_k"][j])
    fg = world.first_group
    return {
        "note": "target_n: FSM_BRUTTO in force on 2017-08-01 (T2; the 2017-08 snapshot still shows pre-start leavers, brutto_n). "
        "full_coverage_month: first month with (visited + deferred) = target group (V3, P2). "
        "p3_month: first month M with the activity share of M-2, M-1, M each >= 40 % (P3).",
        "target_group": int((world.leaver != 1).sum()),
        "pre_start_leavers": int((world.leaver == 1).sum()),
        "post_start_leavers_unvisited": int((world.leaver == 2).sum()),
        "deferred_first": int(world.deferred.sum()),
        "first_group": {"1": int((fg == GR1).sum()), "2": int((fg == GR2).sum()), "3": int((fg == GR3).sum())},
        "moved_group1_to_2_or_3": int(((fg == GR1) & ~np.isnat(world.move_date)).sum()),
        "moved_group2_to_1": int(world.switcher.sum()),
        "never_visited": int(((world.leaver == 0) & np.isnat(world.G) & ~world.deferred).sum()),
        "kommuner_full_coverage": int((cov_month >= 0).sum()),
        "kommuner_p3": int((p3_month >= 0).sum()),
        "per_kommune": per_k,
    }
