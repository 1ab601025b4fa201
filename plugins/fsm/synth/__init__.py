"""Synthetic FSM1 landing zone (CONTRACT §1) with known, counted defects: `generate(out_dir, seed, scale)`."""

from fsm.synth.generator import DQ_RULES, REJECT_KINDS, SCALES, generate, participants

__all__ = ["DQ_RULES", "REJECT_KINDS", "SCALES", "generate", "participants"]
