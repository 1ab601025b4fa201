"""What FSM2's world writes and what the pipeline must find in it: its rows of each file, its marking rules per snapshot (dq_defects_fsm2) and the F7/F8 truth per participant and month."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fsm_dev.synth import files
from fsm_dev.synth.common import HERKOMST, MATCH_CODES, NAT, YDELSE_CODES, cpr_text, date_text, month_label, month_last
from fsm_dev.synth.fsm2 import Fsm2World
from fsm_dev.synth.fsm2_params import (
    AARSAGER,
    DQ_RULES_FSM2,
    FRIT,
    FSM2_DEFECT_RATES,
    FSM2_RATES,
    GR2,
    HERKOMST_KEYS,
    M_FIRST,
    M_LAST,
    MARKING_CODES_FSM2,
    MEASURES,
    MIN_AGE,
    NM,
    NO_REASON,
    STEPUP,
    THRESHOLDS_PCT,
    _ymd_key,
    month_target,
)


def _cpr_text(world: Fsm2World, cit: np.ndarray) -> np.ndarray:
    return cpr_text(world.rng["render"], world.cpr[cit])


def specs(world: Fsm2World, months: np.ndarray) -> dict:
    """rel -> (feed, rows, make()) for FSM2's rows of the written months."""
    out: dict = {}
    mk = world.mk
    reg_d = mk["reg"].to_numpy().astype("datetime64[D]")
    for m in months:
        m = int(m)
        lab = str(month_label(m))
        D = month_last(m)
        vis = np.flatnonzero(reg_d <= D)
        if len(vis):
            out[files.rel_path("markings", str(D))] = ("markings", len(vis), _markings_make(world, vis, D))
        if not M_FIRST <= m <= M_LAST:
            continue
        a, b = world.wk_lo[m - M_FIRST], world.wk_hi[m - M_FIRST]
        out[files.rel_path("ydelse", lab)] = (
            "ydelse",
            int(np.count_nonzero(world.code[:, a:b])),
            _ydelse_make(world, a, b),
        )
        tm = world.timer
        sel = np.flatnonzero(tm["m"].to_numpy() == m)
        out[files.rel_path("timer", lab)] = ("timer", len(sel), _timer_make(world, sel))
        sel = np.flatnonzero(world.udd["m"].to_numpy() == m)
        out[files.rel_path("uddannelse", lab)] = ("uddannelse", len(sel), _udd_make(world, sel))
    return out


def _markings_make(world: Fsm2World, vis: np.ndarray, D: np.datetime64):
    def make() -> list[np.ndarray]:
        x = world.mk.iloc[vis]
        shown = np.where(x["end_vis"].to_numpy() <= D, x["end"].to_numpy(), NAT)
        code = x["code"].to_numpy()
        return [
            x["marking_id"].to_numpy(dtype=object),
            _cpr_text(world, x["cit"].to_numpy()),
            x["kom"].to_numpy().astype(str),
            MARKING_CODES_FSM2[code],
            date_text(x["start"].to_numpy()),
            date_text(shown),
            np.datetime_as_string(x["reg"].to_numpy().astype("datetime64[s]"), unit="s"),
            np.where(code == FRIT, AARSAGER[x["why"].to_numpy()], ""),
        ]

    return make


def _ydelse_make(world: Fsm2World, a: int, b: int):
    def make() -> list[np.ndarray]:
        ci, wj = np.nonzero(world.code[:, a:b])  # citizens are in CPR order, then weeks
        w = a + wj
        kom = np.where(w >= world.move_w[ci], world.kom2[ci], world.kom1[ci])
        return [
            _cpr_text(world, ci),
            world.week_label[w],
            kom.astype(str),
            YDELSE_CODES[world.code[ci, w]],
            MATCH_CODES[world.match[ci, w]],
            np.where(world.intro[ci, w], "1", "0"),
            HERKOMST[world.herk[ci]],
        ]

    return make


def _timer_make(world: Fsm2World, sel: np.ndarray):
    def make() -> list[np.ndarray]:
        x = world.timer.iloc[sel]
        x = x.iloc[np.lexsort((x["cvr"].to_numpy(), x["i"].to_numpy()))]
        h = x["h2"].to_numpy()
        whole = (h // 2).astype(str)
        return [
            _cpr_text(world, x["i"].to_numpy()),
            month_label(x["m"].to_numpy()),
            x["cvr"].to_numpy(dtype=object),
            np.where(h % 2 == 1, np.char.add(whole, ",5"), whole),
            x["sub"].to_numpy().astype(str),
        ]

    return make


def _udd_make(world: Fsm2World, sel: np.ndarray):
    def make() -> list[np.ndarray]:
        x = world.udd.iloc[sel]
        return [_cpr_text(world, x["i"].to_numpy()), month_label(x["m"].to_numpy()), x["su"].to_numpy().astype(str)]

    return make


# =================================================================== bookkeeping
def _in_force(world: Fsm2World, D: np.datetime64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per marking, as the snapshot extracted on D shows it: registered, in force at D (D1:
    from the registration day; invalid periods are never in force), and the shown end."""
    mk = world.mk
    start = mk["start"].to_numpy()
    reg_d = mk["reg"].to_numpy().astype("datetime64[D]")
    shown = np.where(mk["end_vis"].to_numpy() <= D, mk["end"].to_numpy(), NAT)
    v = reg_d <= D
    eff = np.maximum(start, reg_d)
    inforce = v & (eff <= D) & (np.isnat(shown) | (shown > D))
    return v, inforce, shown


def evaluate_dq(world: Fsm2World, months: np.ndarray) -> dict:
    """DQ_RULES_FSM2 on each written snapshot (FSM2 codes only; the target-group rule with
    that month's ydelse). count = distinct marking ids (pairs for duplicates) over all snapshots."""
    mk = world.mk
    start = mk["start"].to_numpy()
    end = mk["end"].to_numpy()
    reg_d = mk["reg"].to_numpy().astype("datetime64[D]")
    code = mk["code"].to_numpy()
    cit = mk["cit"].to_numpy()
    ids = mk["marking_id"].to_numpy()
    why = mk["why"].to_numpy()
    end_vis = mk["end_vis"].to_numpy()
    df = pd.DataFrame({"cit": cit, "code": code, "r": np.arange(len(mk))})
    pairs = df.merge(df, on=["cit", "code"], suffixes=("_a", "_b"))
    pairs = pairs[pairs["r_a"] < pairs["r_b"]]
    a, b = pairs["r_a"].to_numpy(), pairs["r_b"].to_numpy()
    far = np.datetime64("9999-12-31")
    seen: dict[str, set] = {r: set() for r in DQ_RULES_FSM2}
    by_month: dict[str, dict[str, int]] = {r: {} for r in DQ_RULES_FSM2}
    for m in months:
        m = int(m)
        D = month_last(m)
        lab = str(month_label(m))
        v = reg_d <= D
        shown = np.where(end_vis <= D, end, NAT)
        endx = np.where(np.isnat(shown), far, shown)
        valid = np.isnat(shown) | (shown >= start)
        in_force = v & (start <= D) & (endx > D)
        if M_FIRST <= m <= M_LAST:
            outside = ~world.tg[cit, m - M_FIRST]
        else:
            outside = np.ones(len(mk), bool)
        flags = {
            "backdated_marking": v & (start < reg_d),
            "invalid_period": v & ~valid,
            "future_marking": v & (start > D),
            "fsm2_gr2_outside_target_group": in_force & (code == GR2) & outside,
            "fritagelse_without_reason": v & (code == FRIT) & (why == NO_REASON),
        }
        for rule, f in flags.items():
            hit = ids[f]
            by_month[rule][lab] = len(hit)
            seen[rule].update(hit.tolist())
        pv = v[a] & v[b] & valid[a] & valid[b] & (start[a] < endx[b]) & (start[b] < endx[a])
        by_month["duplicate_marking"][lab] = int(pv.sum())
        seen["duplicate_marking"].update(zip(ids[a[pv]].tolist(), ids[b[pv]].tolist(), strict=True))
    out = {}
    for rule in DQ_RULES_FSM2:
        bm = by_month[rule]
        first = next((k for k, c in bm.items() if c), None)
        out[rule] = {"count": len(seen[rule]), "first_visible_month": first, "by_month": bm}
    return out


def truth(world: Fsm2World, months: np.ndarray) -> dict:
    """F7/F8 per participant and month (each month as of its own end), from all citizens in the
    written registers (FSM1's and the background's too) and the FSM2 markings."""
    w1 = world.fsm1
    tm = [int(m) for m in months if M_FIRST <= m <= M_LAST]
    N1 = len(w1.cpr)
    Nall = N1 + world.N
    K = len(world.parts)
    by1, bmd1 = _ymd_key(w1.birth)
    herk = np.concatenate([w1.herkomst, world.herk])
    # active: ordinary hours > 0 (timer) or SU-eligible education, in the month
    act = np.zeros((Nall, NM), bool)
    t1 = w1.timer
    sel = (
        (t1["sub"].to_numpy() == 0) & (t1["h2"].to_numpy() > 0) & (t1["m"].to_numpy() >= M_FIRST) & (t1["m"].to_numpy() <= M_LAST)
    )
    act[t1["i"].to_numpy()[sel], t1["m"].to_numpy()[sel] - M_FIRST] = True
    t2 = world.timer
    sel = (t2["sub"].to_numpy() == 0) & (t2["h2"].to_numpy() > 0)
    act[N1 + t2["i"].to_numpy()[sel], t2["m"].to_numpy()[sel] - M_FIRST] = True
    ud = world.udd[world.udd["su"] == 1]
    act[N1 + ud["i"].to_numpy(), ud["m"].to_numpy() - M_FIRST] = True
    counts = np.zeros((len(MEASURES), K, 3, len(tm)), np.int64)
    code = world.mk["code"].to_numpy()
    cit = world.mk["cit"].to_numpy()
    for j, m in enumerate(tm):
        cols = np.flatnonzero(w1.week_month == m)
        ok1, k1 = month_target(w1.ydelse[:, cols], w1.match[:, cols], w1.intro[:, None], w1.kommune, m, by1, bmd1, world.part_lut)
        a, b = world.wk_lo[m - M_FIRST], world.wk_hi[m - M_FIRST]
        ok2, k2 = month_target(
            world.code[:, a:b],
            world.match[:, a:b],
            world.intro[:, a:b],
            world._kom_block(a, b),
            m,
            world.by,
            world.bmd,
            world.part_lut,
        )
        tg = np.concatenate([ok1, ok2])
        kom = np.concatenate([k1, k2])
        _v, inforce, _shown = _in_force(world, month_last(m))
        g2 = np.zeros(Nall, bool)
        g2[N1 + cit[inforce & (code == GR2)]] = True
        ex = np.zeros(Nall, bool)
        ex[N1 + cit[inforce & (code == FRIT)]] = True
        ex &= ~g2
        ind = ~g2 & ~ex
        key = world.kpos[kom[tg]] * 3 + herk[tg]
        for q, mask in enumerate((np.ones(Nall, bool), g2, ex, ind, ind & act[:, m - M_FIRST])):
            counts[q, :, :, j] = np.bincount(key[mask[tg]], minlength=K * 3).reshape(K, 3)
    labels = [str(month_label(m)) for m in tm]
    per_k = {}
    for kk, k in enumerate(world.parts):
        entry: dict = {}
        ind_all = counts[3, kk].sum(axis=0)
        act_all = counts[4, kk].sum(axis=0)
        for t in THRESHOLDS_PCT:
            hit = np.flatnonzero((ind_all > 0) & (act_all * 100 >= t * ind_all))
            entry[f"first_month_{t}"] = labels[hit[0]] if len(hit) else None
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(ind_all > 0, act_all / np.maximum(ind_all, 1), 0.0)
        entry["max_share_pct"] = round(100 * float(share.max()), 1) if len(share) else None
        entry["activity_level"] = round(float(world.level[kk]), 3)
        for h, hk in enumerate(HERKOMST_KEYS):
            sub = counts[:, kk].sum(axis=1) if hk == "ALL" else counts[:, kk, h - 1]
            entry[hk] = {q: sub[qi].tolist() for qi, q in enumerate(MEASURES)}
        per_k[str(int(k))] = entry
    return {
        "note": "Per participant (kommune code) and month m, as of the end of m (m's snapshot and m's register files), "
        "lists aligned with 'months'. target_n: F7 (a week of m with KONTANTHJAELP or OVERGANGSYDELSE, or "
        "INTEGRATIONSYDELSE before 2020-01, AKTIVITETSPARAT, introduktionsprogram 0; aged 30+ on m's last day from "
        "the CPR birth date, 29 Feb birthdays on 28 Feb; kommune and herkomst of the last such week; participants "
        "only). group2_n: FSM2_GR2 in force at the end of m (half-open, from max(start, registration day), D1). "
        "exempt_n: FRITAGELSE in force then, among those not in group 2. indsatsgruppe_n = target - group 2 - "
        "exempt. active_n: indsatsgruppe members with ordinary (unsubsidised) hours > 0 or su_eligible=1 in m. "
        "Markings are per citizen (CPR), whatever municipality is on them. first_month_15/20: first month with "
        "active_n*100 >= t*indsatsgruppe_n (ALL, indsatsgruppe_n > 0). Everyone in the registers counts "
        "(FSM1 and background citizens too).",
        "months": labels,
        "measures": list(MEASURES),
        "herkomst": list(HERKOMST_KEYS),
        "thresholds_pct": list(THRESHOLDS_PCT),
        "kommuner_reaching_15": sum(1 for v in per_k.values() if v["first_month_15"]),
        "kommuner_reaching_20": sum(1 for v in per_k.values() if v["first_month_20"]),
        "per_kommune": per_k,
    }


def manifest(world: Fsm2World, months: np.ndarray) -> dict:
    mk = world.mk
    code = mk["code"].to_numpy()
    cit = mk["cit"].to_numpy()
    tm = [int(m) - M_FIRST for m in months if M_FIRST <= m <= M_LAST]
    turning = (world.by + MIN_AGE) * 100 + world.bmd // 100
    lo, hi = 201901, 202112
    in_months = np.zeros(world.N, bool)
    if tm:
        in_months = world.tg[:, tm].any(axis=1)
    return {
        "fsm2_participants": [int(k) for k in world.parts],
        "fsm2_citizens": int(world.N),
        "dq_defects_fsm2": evaluate_dq(world, months),
        "truth_fsm2": truth(world, months),
        "fsm2_summary": {
            "citizens_in_target_group_some_month": int(in_months.sum()),
            "citizens_with_fsm2_gr2": len(np.unique(cit[code == GR2])),
            "citizens_with_fritagelse": len(np.unique(cit[code == FRIT])),
            "citizens_with_stepup": len(np.unique(cit[code == STEPUP])),
            "citizens_gr2_to_ressource_fleks_foertid": int(world.gr2_trans.sum()),
            "citizens_turning_30_in_period": int(((turning >= lo) & (turning <= hi)).sum()),
            "citizens_moving": int(world.mover.sum()),
            "fsm2_markings": len(mk),
            "injected_defects_per_kind": {k: int(v) for k, v in world.n_defect.items()},
        },
        "rates_fsm2": {"defects": FSM2_DEFECT_RATES, **FSM2_RATES},
    }


def notes() -> dict:
    return {
        "dq_defects_fsm2": "FSM2 codes (FSM2_GR2, FSM2_STEPUP, FRITAGELSE) only; dq_defects covers FSM1's codes only. "
        "count = distinct marking ids (pairs for duplicate_marking) over all written snapshots; by_month = rows the "
        "rule gives on that month's snapshot (fsm2_gr2_outside_target_group: FSM2_GR2 in force at the month's end "
        "for a citizen outside that month's F7 target group, from that month's ydelse). duplicate_marking and "
        "invalid_period as in DOMAIN (invalid periods take part in no pair).",
        "truth_fsm2": "see truth_fsm2.note",
        "uddannelse": "registers/uddannelse/uddannelse_YYYY-MM.csv for each written month 2019-01..2021-12 (FSM2 only)",
    }
