"""The synthetic landing zone (CONTRACT §1) with known, counted defects: `generate(out_dir, seed, scale)`;
`programmes=("FSM1", "FSM2")` adds 'Flere skal med 2'. `python -m fsm_dev.synth --help` writes one."""

from fsm.contract import FSM2_PARTICIPANTS
from fsm_dev.synth.fsm2_params import DQ_RULES_FSM2, FSM2_SCALES
from fsm_dev.synth.generator import DQ_RULES, REJECT_KINDS, REJECT_KINDS_FSM2, SCALES, generate, participants

__all__ = [
    "DQ_RULES",
    "DQ_RULES_FSM2",
    "FSM2_PARTICIPANTS",
    "FSM2_SCALES",
    "REJECT_KINDS",
    "REJECT_KINDS_FSM2",
    "SCALES",
    "generate",
    "participants",
]
