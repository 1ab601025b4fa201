"""FSM1's synthetic world, its parameters: the scales, the defect rates and the model's rates (see fsm1.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fsm.contract import FSM1_MARKING_CODES, FSM1_MARKING_RULES
from fsm_dev.synth.common import (
    HYPHEN_CPR_RATE,
    kommune_codes,
)

PROJECT_START = np.datetime64("2017-08-01", "D")  # T2
PROJECT_MONTH = 7  # month index of 2017-08

# --------------------------------------------------------------------------- marking codes (fsm.contract)
MARKING_CODES = np.array(FSM1_MARKING_CODES)
BRUTTO, GR1, GR2, GR3, UDSKUDT, PJF = (
    FSM1_MARKING_CODES.index(c) for c in ("FSM_BRUTTO", "FSM_GR1", "FSM_GR2", "FSM_GR3", "FSM_UDSKUDT", "FSM_PJF")
)
GROUP_CODES = (GR1, GR2, GR3)
DQ_RULES = FSM1_MARKING_RULES  # every FSM1 marking rule gets injected defects at a known rate


@dataclass(frozen=True)
class Scale:
    citizens: int  # FSM_BRUTTO citizens (incl. the ~4 % who left before project start)
    min_per_kommune: int
    rejects_per_kind: int  # unreadable rows of each kind, per feed
    min_defects: int  # floor for each data-quality defect kind
    calibrated: bool = False  # sized and shaped to STAR's figures (calibration.py), else the invented profile


SCALES = {
    # FSM_BRUTTO citizens; ~4 % leave before project start, so the target groups are ~300, ~2,500
    # (invented profile), ~2,700 ('calibrated': national's profile at a tenth), ~27,000 (STAR's figure,
    # calibration.py) and ~54,000 ('2x': twice Denmark, the headroom check of issue 8)
    "tiny": Scale(citizens=312, min_per_kommune=2, rejects_per_kind=1, min_defects=2),
    "small": Scale(citizens=2_600, min_per_kommune=5, rejects_per_kind=2, min_defects=4),
    "calibrated": Scale(citizens=2_813, min_per_kommune=8, rejects_per_kind=2, min_defects=4, calibrated=True),
    "national": Scale(citizens=28_125, min_per_kommune=5, rejects_per_kind=3, min_defects=4, calibrated=True),
    "2x": Scale(citizens=56_250, min_per_kommune=10, rejects_per_kind=3, min_defects=8, calibrated=True),
}

# Share of FSM_BRUTTO citizens (or, for outside-target markings, markings per BRUTTO citizen)
# that carry each defect; the floor above applies at small scales.
DEFECT_RATES = {
    "backdated_marking": 0.012,
    "overlapping_group_marking": 0.004,
    "duplicate_marking": 0.004,
    "invalid_period": 0.002,
    "marking_outside_target_group": 0.002,
    "future_marking": 0.003,
    "revalidering_without_group2": 0.003,  # citizens; each is paid REVALIDERING in 1–3 months
}
RATES = {
    "pre_start_leaver": 0.04,
    "post_start_leaver": 0.03,
    "deferred_first": 0.04,
    "deferred_then_group": 0.6,
    "group_split": (0.75, 0.18, 0.07),
    "move_from_group1": 0.08,
    "move_from_group2_to_1": 0.06,
    "pjf": 0.85,
    "complete_kommuner": 2 / 3,
    "hyphen_cpr": HYPHEN_CPR_RATE,
    "offer_ended_early": 0.10,
    "background_citizens": 0.12,
    "activity_level_range": (0.18, 0.66),
}
# after FSM1 (months from 2020-01, written only when `end` is later than 2019-12)
RATES_AFTER_FSM1 = {"fade_out_monthly": 0.10}

# Ten municipalities that (in this invented world) did not take part.
NON_PARTICIPANTS = (155, 223, 269, 350, 482, 492, 665, 727, 741, 825)
# Invented relative sizes of the larger target groups (uncalibrated scales; the calibrated ones use
# calibration.weights, reference/kommune_weights.csv); the rest get a random small weight.
BIG_WEIGHTS = {
    101: 14.0, 751: 6.5, 461: 5.5, 851: 4.5, 561: 2.6, 730: 2.6, 147: 1.8, 167: 1.9, 169: 1.7, 153: 1.6,
    159: 1.4, 615: 2.0, 621: 1.9, 630: 2.0, 657: 1.5, 791: 1.5, 265: 1.5, 253: 1.3, 330: 1.8, 360: 1.7,
    370: 1.6, 376: 1.6, 400: 1.2, 510: 1.2, 540: 1.4, 580: 1.3, 607: 1.3, 316: 1.3, 740: 1.3, 813: 1.3,
}  # fmt: skip


def participants() -> list[int]:
    """The 88 participating municipalities of the synthetic world (invented: ten small ones left out)."""
    return [k for k in kommune_codes() if k not in NON_PARTICIPANTS]
