"""FSM2's synthetic world, its parameters (F9's participants, the scales, defect and model rates) and the
vectorised helpers its world is built with, incl. the F7 target-group test per month (see fsm2.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fsm.contract import FSM2_MARKING_CODES, FSM2_MARKING_RULES
from fsm_dev.synth.common import (
    AP,
    DAY,
    HERKOMST,
    IY,
    KH,
    OVERGANG,
    RENAME_MONTH,
    month_first,
    month_index,
    month_last,
)

# --------------------------------------------------------------------------- facts (F9)
FSM2_FIRST_MONTH = "2019-01"
FSM2_LAST_MONTH = "2021-12"
M_FIRST = month_index(FSM2_FIRST_MONTH)
M_LAST = month_index(FSM2_LAST_MONTH)
M_RENAME = month_index(RENAME_MONTH)
NM = M_LAST - M_FIRST + 1
H2 = month_last(M_LAST)
FIRST_DAY = month_first(M_FIRST)
MIN_AGE = 30  # F1/F7: 'over 30' = aged 30 or more on the last day of the month

# --------------------------------------------------------------------------- codes
MARKING_CODES_FSM2 = np.array(FSM2_MARKING_CODES)
GR2, STEPUP, FRIT = (FSM2_MARKING_CODES.index(c) for c in ("FSM2_GR2", "FSM2_STEPUP", "FRITAGELSE"))
AARSAGER = np.array(["SYGDOM", "BARSEL", "JOB_INDEN_6_UGER", "ANDET", ""])
SYGDOM, BARSEL, JOB6, ANDET, NO_REASON = range(5)
# the marking rules that FSM2's codes are checked by (and get injected defects for): four of
# FSM1's, which apply to every code, and FSM2's own
DQ_RULES_FSM2 = ("backdated_marking", "duplicate_marking", "invalid_period", "future_marking", *FSM2_MARKING_RULES)
HERKOMST_KEYS = ("ALL", *HERKOMST.tolist())
MEASURES = ("target_n", "group2_n", "exempt_n", "indsatsgruppe_n", "active_n")
THRESHOLDS_PCT = (15, 20)


@dataclass(frozen=True)
class Scale2:
    citizens: int  # FSM2-relevant citizens (not all are in the target group in a given month)
    min_per_kommune: int
    min_defects: int  # floor for each FSM2 data-quality defect kind
    calibrated: bool = False  # sizes from calibration.weights (population), else FSM2_WEIGHTS


FSM2_SCALES = {
    "tiny": Scale2(citizens=400, min_per_kommune=3, min_defects=2),
    "small": Scale2(citizens=3_000, min_per_kommune=10, min_defects=4),
    # calibrated: ~36,000 in the target group of 2019-01 (F7) with FSM1's citizens who qualify (calibration.py)
    "calibrated": Scale2(citizens=4_900, min_per_kommune=10, min_defects=4, calibrated=True),
    "national": Scale2(citizens=49_000, min_per_kommune=20, min_defects=6, calibrated=True),
    "2x": Scale2(citizens=98_000, min_per_kommune=40, min_defects=12, calibrated=True),
}
FSM2_DEFECT_RATES = {
    "backdated_marking": 0.010,  # FSM2_GR2 or FRITAGELSE registered 2–13 weeks after its claimed start
    "duplicate_marking": 0.004,  # FSM2_GR2 or FRITAGELSE entered twice, overlapping
    "invalid_period": 0.002,  # FSM2_STEPUP or FRITAGELSE with end before start
    "future_marking": 0.003,  # FRITAGELSE (planned maternity leave) or FSM2_STEPUP starting next month
    "fsm2_gr2_outside_target_group": 0.004,  # GR2 left open after leaving the target group, or set outside it
    "fritagelse_without_reason": 0.004,  # FRITAGELSE with an empty fritagelse_aarsag
}
FSM2_RATES = {
    "herkomst": (0.55, 0.10, 0.35),
    "young": 0.15,
    "integration_vestlig": 0.20,
    "integration_ikke_vestlig": 0.45,
    "intro_programme": 0.35,
    "uddannelseshjaelp_if_young": 0.60,
    "match_aktivitetsparat": 0.84,
    "match_reassessed": 0.15,
    "on_benefits_at_start": 0.80,
    "on_spell_weeks_mean": 70,
    "off_spell_weeks_mean": 26,
    "off_spell_sygedagpenge": 0.25,
    "movers": 0.04,
    "move_to_participant": 0.5,
    "gr2": 0.17,  # of citizens with a target month; ~15 % of all
    "gr2_to_ressource_fleks_foertid": 0.35,
    "gr2_back_to_group1": 0.25,
    "gr2_again_after_group1": 0.5,
    "fritagelse": 0.09,  # of citizens with a target month; ~8 % of all
    "fritagelse_reasons": (0.5, 0.2, 0.1, 0.2),
    "fritagelse_second": 0.10,
    "stepup": 0.065,
    "activity_level_range": (0.06, 0.32),
    "activity_ramp": (0.55, 15),  # starts at 55 % of the level, full after 15 months
    "activity_stay": 0.75,
    "activity_outside_target": 0.08,
    "education_share": 0.15,
    "education_share_young": 0.35,
    "education_not_su_citizens": 0.08,
    "education_young_uh": 0.30,
    "loentilskud": 0.04,
    "job_exit_hours": 0.4,
    "zero_hour_rows": 0.003,
}
# invented relative sizes of the FSM2 target groups (København biggest, Fanø tiny)
FSM2_WEIGHTS = {
    101: 16.0, 147: 2.0, 151: 1.2, 153: 1.8, 157: 0.8, 159: 1.5, 167: 2.0, 169: 2.0, 185: 0.9, 253: 1.3,
    265: 1.5, 316: 1.4, 360: 1.9, 480: 0.6, 550: 0.7, 561: 3.0, 563: 0.05, 607: 1.4, 615: 2.0, 630: 2.0,
    657: 1.6, 661: 1.0, 671: 0.4, 710: 0.6, 730: 2.8, 751: 7.0, 760: 0.8, 766: 0.6, 791: 1.5, 840: 0.5,
    849: 0.7,
}  # fmt: skip


# =========================================================================== rules shared with the truth
def _ymd_key(d) -> tuple[np.ndarray, np.ndarray]:
    """(year, month*100 + day) of dates."""
    d = np.asarray(d, dtype="datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]").astype("datetime64[D]")) // DAY + 1
    return y, m * 100 + day


def _aged(by: np.ndarray, bmd: np.ndarray, D: np.datetime64, years: int = MIN_AGE) -> np.ndarray:
    """Aged `years` or more on day D (birth + years <= D; a 29 February birthday falls on
    28 February in other years, as date + interval does in PostgreSQL and DuckDB)."""
    yD, mdD = _ymd_key(np.array([D]))
    yD, mdD = int(yD[0]), int(mdD[0])
    leap = (yD % 4 == 0 and yD % 100 != 0) or yD % 400 == 0
    bmd_eff = np.where((bmd == 229) & (not leap), 228, bmd)
    return (yD - by > years) | ((yD - by == years) & (bmd_eff <= mdD))


def month_target(code, match, intro, kom, m: int, by, bmd, part_lut) -> tuple[np.ndarray, np.ndarray]:
    """F7 for month m over rows of weekly data (the weeks whose Thursday is in m): in the target
    group, and the paying municipality of the last qualifying week. `intro` may be (n, 1) and
    `kom` one code per row (constant) or per row and week."""
    q = (code == KH) | (code == OVERGANG)
    if m < M_RENAME:
        q |= code == IY
    q &= (match == AP) & ~intro
    anyq = q.any(axis=1)
    last = q.shape[1] - 1 - np.argmax(q[:, ::-1], axis=1)
    k = kom if kom.ndim == 1 else kom[np.arange(len(kom)), last]
    return anyq & part_lut[k] & _aged(by, bmd, month_last(m)), k


def _next_off(tg: np.ndarray) -> np.ndarray:
    """For each citizen and month: the first month from there on outside the target group (NM = none)."""
    out = np.empty(tg.shape, np.int16)
    nxt = np.full(len(tg), NM, np.int16)
    for mo in range(NM - 1, -1, -1):
        nxt = np.where(tg[:, mo], nxt, mo).astype(np.int16)
        out[:, mo] = nxt
    return out


def _pick(rng, mask: np.ndarray, bias: float = 1.0) -> np.ndarray:
    """A random True column per row (rows need one); bias > 1 favours early columns."""
    cnt = mask.sum(axis=1)
    k = np.floor(rng.random(len(mask)) ** bias * cnt).astype(np.int64)
    return np.argmax(np.cumsum(mask, axis=1) > k[:, None], axis=1)


def _expand(rows: np.ndarray, first: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, first + k) for k < length, per item."""
    length = np.maximum(length, 0)
    i = np.repeat(rows, length)
    k = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    return i, np.repeat(first, length) + k


# =========================================================================== the FSM2 world
