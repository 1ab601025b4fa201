"""`generate()`: a synthetic landing zone (CONTRACT §1) with known, counted defects, and its manifest.

Everything in it is invented; only the shape (fsm.contract, CONTRACT.md §1) and the rules
(DOMAIN.md) are real. The generator is deterministic by seed and vectorised (numpy/pandas over
citizens and months); its manifest says exactly which defects it injected, so the pipeline's
flags and rejects can be checked against it.

FSM1's world (fsm1.py) is always built; with FSM2 in `programmes`, FSM2's world (fsm2.py) is
built on top of it from what FSM1's hands over (`Fsm1World.registers()`), and its rows go after
FSM1's in the shared files. fsm1_output.py and fsm2_output.py turn each world into rows and say
what the pipeline must find in them; files.py writes the files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fsm.contract import PROGRAMMES
from fsm_dev.synth import files, fsm1_output, fsm2_output
from fsm_dev.synth.common import LAST_DEFAULT_MONTH, LAST_MONTH, month_index
from fsm_dev.synth.files import FEED_COLUMNS, REJECT_KINDS, REJECT_KINDS_FSM2
from fsm_dev.synth.fsm1 import Fsm1World
from fsm_dev.synth.fsm1_params import DQ_RULES, SCALES, participants
from fsm_dev.synth.fsm2 import Fsm2World

GENERATOR_VERSION = 4
FIRST_ALLOWED_START = "2017-06"  # FSM_BRUTTO is registered in June 2017: earlier snapshots would be empty
SCALE_ALIASES = {"national2x": "2x"}  # `--scale national2x` is the same scale (and cache) as `--scale 2x`

__all__ = [
    "DQ_RULES",
    "FEED_COLUMNS",
    "LAST_DEFAULT_MONTH",
    "LAST_MONTH",
    "REJECT_KINDS",
    "REJECT_KINDS_FSM2",
    "SCALES",
    "SCALE_ALIASES",
    "generate",
    "participants",
]


def generate(
    out_dir: str | Path,
    seed: int = 42,
    scale: str = "small",
    start: str = "2017-08",
    end: str = LAST_DEFAULT_MONTH,
    fmt: str = "csv",
    programmes: tuple[str, ...] | list[str] | str = ("FSM1",),
) -> dict:
    """Write a synthetic landing zone (CONTRACT §1) to `out_dir` and return its manifest.

    `programmes` is ("FSM1",) or ("FSM1", "FSM2") (or "FSM1,FSM2"); with FSM2 the same markings
    snapshots and registers also carry 'Flere skal med 2' (2019-01..2021-12, fsm2.py), plus the
    optional `uddannelse` feed, and the manifest gains `dq_defects_fsm2` and `truth_fsm2`.
    `end` may be up to 2021-12 either way. FSM1's content for a month is the same whatever
    `programmes` and `end` are (FSM2 rows are appended to the shared files).

    The manifest is also written to `<out_dir>/manifest.json`; when that file already exists for
    the same seed, scale, start, end, format and programmes, it is returned and nothing is regenerated.
    """
    scale = SCALE_ALIASES.get(scale, scale)
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(SCALES)}")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"unknown fmt {fmt!r}; expected 'csv' or 'parquet'")
    progs = _programmes(programmes)
    m_lo, m_hi = month_index(start), month_index(end)
    if m_lo < month_index(FIRST_ALLOWED_START):
        raise ValueError(f"start {start} is before {FIRST_ALLOWED_START}: FSM_BRUTTO did not exist yet")
    if m_hi > month_index(LAST_MONTH):
        raise ValueError(f"end {end} is after {LAST_MONTH}: the synthetic world ends with FSM2")
    if m_hi < m_lo:
        raise ValueError(f"end {end} is before start {start}")
    out = Path(out_dir)
    key = {
        "seed": int(seed),
        "scale": scale,
        "start": start,
        "end": end,
        "fmt": fmt,
        "programmes": list(progs),
        "generator_version": GENERATOR_VERSION,
    }
    cached = files.cached_manifest(out, key)
    if cached is not None:
        return cached

    w1 = Fsm1World(seed=int(seed), scale=SCALES[scale], m_lo=m_lo, m_hi=m_hi)
    w1.build()
    w2 = None
    if "FSM2" in progs:
        w2 = Fsm2World(w1.registers(), seed=int(seed), scale_name=scale)
        w2.build()
    manifest = dict(key)
    manifest.update(_write(w1, w2, out, fmt))
    manifest = json.loads(json.dumps(manifest))  # exactly what a cached read returns (lists, not tuples)
    files.write_json(out / "manifest.json", manifest)
    return manifest


def _programmes(programmes) -> tuple[str, ...]:
    items = programmes.split(",") if isinstance(programmes, str) else list(programmes)
    progs = {str(p).strip().upper() for p in items if str(p).strip()}
    unknown = progs - set(PROGRAMMES)
    if unknown:
        raise ValueError(f"unknown programme(s) {sorted(unknown)}; expected some of {list(PROGRAMMES)}")
    if "FSM1" not in progs:
        raise ValueError("FSM1 is always generated (FSM2 shares its registers); use programmes=('FSM1', 'FSM2')")
    return tuple(p for p in PROGRAMMES if p in progs)


def _write(w1: Fsm1World, w2: Fsm2World | None, out: Path, fmt: str) -> dict:
    """Render every file of the written months (FSM1's rows, then FSM2's), then describe them."""
    out.mkdir(parents=True, exist_ok=True)
    files.clean(out)
    months = np.arange(w1.m_lo, w1.m_hi + 1)
    specs = fsm1_output.specs(w1, months)
    if w2 is not None:  # FSM2 rows go after FSM1's in the shared files; uddannelse is its own
        for rel, (feed, n2, make2) in fsm2_output.specs(w2, months).items():
            if rel in specs:
                _f, n1, make1 = specs[rel]
                specs[rel] = (feed, n1 + n2, files.joined(make1, make2))
            else:
                specs[rel] = (feed, n2, files.alone(make2))
    plan = {}
    if fmt == "csv":
        plan = files.plan_rejects(w1.rng["reject"], w1.scale.rejects_per_kind, {rel: (f, n) for rel, (f, n, _m) in specs.items()})
    rng_r = w1.rng["render"]
    written: dict[str, dict] = {}
    for rel, (feed, _n, make) in sorted(specs.items()):
        path = out / (rel if fmt == "csv" else rel[:-4] + ".parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        n, lines = files.write_file(path, feed, make(rng_r), plan.get(rel, []), fmt)
        written[path.relative_to(out).as_posix()] = {
            "feed": feed,
            "rows": n,
            "rejects": [{"line": line, "kind": kind} for line, kind in lines],
        }
    result = fsm1_output.manifest(w1, months, written)
    if w2 is not None:
        result.update(fsm2_output.manifest(w2, months))
        result["notes"].update(fsm2_output.notes())
    return result
