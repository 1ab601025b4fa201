"""The calibrated profile: the synthetic world sized and shaped to STAR's known FSM1/FSM2 figures (DOMAIN.md).

Scales with `calibrated=True` (national, 2x and the 1/10 'calibrated' scale) take their design from
here; tiny and small keep the invented profile of fsm1.py/fsm2.py byte for byte. What is calibrated:

- Sizes: ~27,000 in FSM1's target group on 2017-08-01 (28,125 FSM_BRUTTO citizens, ~4 % of them
  leave before project start, T2), and ~36,000 in FSM2's target group in its first month (F7, 2019-01)
  over its 30 participants. Both split over the municipalities in proportion to a data file,
  reference/kommune_weights.csv (population on 1 January 2017, see its header for the source and how exact).
- Groups (M1): the first group marking is 55/34/11 % group 1/2/3 (STAR's final note), assigned by exact
  quota within each municipality, so every municipality has an indsatsgruppe and the national shares
  hold at any scale. Moves 1→2/3 and 2→1 are balanced, so the groups in force at the end are about
  the same 55/34/11 %.
- The 40 % requirement (P3): exactly FAIL_40 (4) municipalities never have a 3-month run ≥ 40 %; the
  other 84 have one ending no later than a designed month between 2018-01 and 2019-10 (staggered).
  Activity follows a per-municipality level that rises around its designed month; then the design is
  enforced month by month on the simulated activity (a failing municipality's month ≥ 40 % loses
  active members, a passing one's three months gain them), so the outcome is exact, not likely.
- Tranche 2 (P2): COMPLETE_SHARE of the municipalities account for their whole target group, in a
  month spread over 2017-10 … 2019-11 (an Interpretation: STAR's figures are silent).

The manifest's truth is computed from the written data as before (fsm1_output, fsm2_output); it also
records the design (designed_meets_40, designed_p3_by) so a test can see that the two agree.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import numpy as np

from fsm_dev.synth.common import month_of

WEIGHTS_CSV = Path(__file__).parent / "reference" / "kommune_weights.csv"

# STAR's figures (DOMAIN.md 'Known figures') the calibrated profile is built to reproduce
STAR = {
    "fsm1_target_group": 27_000,  # 'Hovedkonklusioner i slutevalueringen', 17 December 2020
    "fsm1_group_shares_pct": (55, 34, 11),
    "fsm1_participants": 88,
    "fsm1_meeting_40": 84,
    "fsm2_participants": 30,
    "fsm2_target_group": 36_000,  # 'more than 36,000 citizens' in the 30 selected municipalities
}
FAIL_40 = STAR["fsm1_participants"] - STAR["fsm1_meeting_40"]

# FSM1 rates that differ from fsm1_params.RATES in the calibrated profile (the rest are shared)
RATES_FSM1 = {
    "group_split": (0.55, 0.34, 0.11),
    "group_split_by": "exact quota within each municipality",
    # balanced moves: ~0.55 * 0.05 leave group 1 (95 % to group 2), ~0.34 * 0.095 come back, which also
    # offsets the overlapping_group_marking defect's moves out of group 1
    "move_from_group1": 0.05,
    "move_group1_to_group2": 0.95,
    "move_from_group2_to_1": 0.095,
    "complete_kommuner": 0.80,  # Interpretation: 70 of 88 earn tranche 2 (P2) by 2019-12
    "complete_month_range": ("2017-10", "2019-11"),
    "meeting_40": STAR["fsm1_meeting_40"] / STAR["fsm1_participants"],
    "p3_design_range": ("2018-01", "2019-10"),
    "activity_low": (0.14, 0.26),  # level before the rise, spread over the municipalities
    "activity_high_pass": (0.46, 0.62),
    "activity_high_fail": (0.24, 0.33),
    "top_up_share": (0.41, 0.47),
}


@cache
def _population() -> dict[int, float]:
    with WEIGHTS_CSV.open(encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {int(r["kommunekode"]): float(r["population_2017"]) for r in rows}


def weights(codes) -> np.ndarray:
    """Relative target-group sizes of `codes` (reference/kommune_weights.csv: population 2017)."""
    pop = _population()
    missing = [int(k) for k in codes if int(k) not in pop]
    if missing:
        raise ValueError(f"{WEIGHTS_CSV.name} has no population for {missing}")
    return np.array([pop[int(k)] for k in codes], dtype=float)


def split(total: int, floor: int, w: np.ndarray) -> np.ndarray:
    """`total` citizens over the municipalities: `floor` each, the rest in proportion to `w` (largest remainder)."""
    extra = total - floor * len(w)
    raw = extra * w / w.sum()
    n = np.floor(raw).astype(int)
    n[np.argsort(-(raw - n), kind="stable")[: extra - n.sum()]] += 1
    return n + floor


def design_kommuner(rng: np.random.Generator, K: int, month_index) -> dict[str, np.ndarray]:
    """Per municipality: tranche 2 (complete, C_k) and the 40 % requirement (fails, T_k, activity levels)."""
    R = RATES_FSM1
    complete = np.zeros(K, bool)
    complete[rng.permutation(K)[: round(K * R["complete_kommuner"])]] = True
    c_lo, c_hi = (month_index(x) for x in R["complete_month_range"])
    C_k = np.where(complete, c_lo + np.floor(rng.beta(1.3, 2.2, size=K) * (c_hi - c_lo + 1)).astype(int), 10_000)
    fails = np.zeros(K, bool)
    fails[rng.permutation(K)[:FAIL_40]] = True
    t_lo, t_hi = (month_index(x) for x in R["p3_design_range"])
    T_k = np.where(fails, -1, t_lo + np.floor(rng.beta(1.6, 2.0, size=K) * (t_hi - t_lo + 1)).astype(int))
    low = rng.uniform(*R["activity_low"], size=K)
    high = np.where(fails, rng.uniform(*R["activity_high_fail"], size=K), rng.uniform(*R["activity_high_pass"], size=K))
    # the level rises around four months before the designed month (failing ones: somewhere in 2018)
    centre = np.where(fails, rng.integers(t_lo, t_lo + 12, size=K), T_k - 4)
    # where the chain falls short, the designed window is topped up to this share, not to 40 % exactly
    top_up = rng.uniform(*R["top_up_share"], size=K)
    return {
        "complete": complete, "C_k": C_k, "fails": fails, "T_k": T_k, "low": low, "high": high, "centre": centre,
        "top_up": top_up,
    }  # fmt: skip


def first_groups(rng: np.random.Generator, kidx: np.ndarray, has_g: np.ndarray, codes: tuple[int, int, int]) -> np.ndarray:
    """The first group of each visited citizen by exact quota within each municipality (0 = none)."""
    p = np.cumsum(RATES_FSM1["group_split"])
    out = np.zeros(len(kidx), int)
    who = np.flatnonzero(has_g)
    order = who[np.lexsort((rng.random(len(who)), kidx[who]))]  # by municipality, random within
    k = kidx[order]
    start = np.searchsorted(k, k, side="left")
    n = np.bincount(k, minlength=k.max() + 1 if len(k) else 0)[k]
    pos = (np.arange(len(order)) - start + 0.5) / n
    out[order] = np.where(pos < p[0], codes[0], np.where(pos < p[1], codes[1], codes[2]))
    return out


def activity(world, rng: np.random.Generator, sim, elig_from, damp_from, first_month: int) -> np.ndarray:
    """A1 for the calibrated profile: a monthly two-state chain at each municipality's rising level, then
    the design enforced exactly (see the module docstring). Returns A (citizens × months); a passing
    municipality whose members cannot fill its designed window (too few eligible yet) gets the next month."""
    N, nH = world.N, world.nH
    d = world.design
    kidx = world.kidx
    stay = 0.8
    A = np.zeros((N, nH), bool)
    for m in range(first_month, nH):
        level = d["low"] + (d["high"] - d["low"]) / (1 + np.exp(-(m - d["centre"]) / 1.5))
        p = level[kidx] * np.where(m >= damp_from, 0.3, 1.0)
        enter = np.clip(p * (1 - stay) / (1 - p), 0, 1)
        u = rng.random(N)
        A[:, m] = sim & (m >= elig_from) & np.where(A[:, m - 1], u < stay, u < enter)
    mem_m = np.where(world.member, month_of(world.G), 10_000)
    moved = ~np.isnat(world.move_date)
    for m in range(first_month, nH):  # failing municipalities: every month below 40 %, so no 3-month run
        cohort, nc, na = _counts(world, A, mem_m, m)
        cap = np.where(nc > 0, (40 * nc - 1) // 100, 0)
        for j in np.flatnonzero(d["fails"] & (na > cap)):
            on = np.flatnonzero(cohort & A[:, m] & (kidx == j))
            A[rng.permutation(on)[: na[j] - cap[j]], m] = False
    T = d["T_k"].copy()
    todo = np.flatnonzero(~d["fails"])
    while len(todo):  # passing municipalities: the designed month and the two before it at least 40 %
        short = []
        for j in todo:
            if T[j] >= nH:
                raise RuntimeError(f"calibration: municipality {world.participants[j]} cannot reach 40 % by 2019-12")
            ok = True
            for m in range(T[j] - 2, T[j] + 1):
                cohort, nc, na = _counts(world, A, mem_m, m, j)
                need40 = -(-40 * nc // 100)
                need = max(need40, int(np.ceil(d["top_up"][j] * nc))) if na < need40 else na
                off = np.flatnonzero(cohort & ~A[:, m] & (m >= elig_from))
                off = off[np.lexsort((rng.random(len(off)), moved[off]))]  # those still in group 1 first
                A[off[: need - na], m] = True
                ok &= nc > 0 and na + min(len(off), need - na) >= need40
            if not ok:
                T[j] += 1
                short.append(j)
        todo = np.array(short, int)
    d["T_k"] = T
    return A


def _counts(world, A: np.ndarray, mem_m: np.ndarray, m: int, j: int | None = None):
    """The indsatsgruppe of month m (C2, C3) and its active members (A1): per municipality, or of municipality j."""
    cohort = world.member & (mem_m <= m)
    if j is not None:
        cohort = cohort & (world.kidx == j)
        return cohort, int(cohort.sum()), int((cohort & A[:, m]).sum())
    K = len(world.participants)
    return cohort, np.bincount(world.kidx[cohort], minlength=K), np.bincount(world.kidx[cohort & A[:, m]], minlength=K)
