"""Writing a synthetic landing zone: file names and headers from fsm.contract, the injected unreadable rows, the manifest cache.

A world hands over its files as specs, `rel -> (feed, rows, make)`, where `make(rng)` returns
the file's columns (text arrays, in the contract's column order) only when the file is written,
so national scale stays within a modest memory budget.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from fsm.contract import FEEDS
from fsm_dev.synth.common import month_label

# The headers the generator writes: every column of the contract, in its order.
FEED_COLUMNS = {name: list(feed.columns) for name, feed in FEEDS.items()}
# Unreadable rows injected per feed (csv only), `rejects_per_kind` of each kind.
REJECT_KINDS = {
    "markings": ["bad_cpr", "unknown_kommune", "unknown_code", "bad_date", "column_count"],
    "ydelse": ["bad_cpr", "unknown_kommune", "unknown_code", "bad_date", "column_count"],
    "tilbud": ["bad_cpr", "unknown_kommune", "unknown_code", "bad_date", "column_count"],
    "timer": ["bad_cpr", "bad_date", "negative_hours", "column_count"],
}
# the optional FSM2 feed (F8): only written with programmes including FSM2
REJECT_KINDS_FSM2 = {"uddannelse": ["bad_cpr", "bad_date", "bad_flag", "column_count"]}
# a code the contract does not know, per coded feed
_UNKNOWN_CODE = {"markings": "FSM_GR4", "ydelse": "ARBEJDSLOESHEDSDAGPENGE", "tilbud": "JOBROTATION"}


def rel_path(feed: str, period: str) -> str:
    """Where a feed's file for a period goes, relative to the landing root (csv)."""
    return f"{FEEDS[feed].folder}/{FEEDS[feed].file_name(period)}"


# =========================================================================== manifest
def cached_manifest(out: Path, key: dict) -> dict | None:
    path = out / "manifest.json"
    if not path.is_file():
        return None
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if all(old.get(k) == v for k, v in key.items()):
        return old
    return None


def write_json(path: Path, obj: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(obj, indent=1, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def clean(out: Path) -> None:
    """Remove earlier generated feed files, so a regenerated zone has no stale months."""
    for feed in FEEDS.values():
        if not feed.period:  # reference files are not generated
            continue
        d = out / feed.folder
        if d.is_dir():
            for p in d.iterdir():
                if p.name.startswith(f"{feed.name}_") and p.suffix in (".csv", ".parquet", ".tmp"):
                    p.unlink()
    old = out / "manifest.json"
    if old.exists():
        old.unlink()


# =========================================================================== specs
def split_by_month(feed: str, months: np.ndarray, mon: np.ndarray, make) -> dict:
    """One spec per written month of a monthly feed, from rows sorted by their month index `mon`."""
    cuts = np.searchsorted(mon, months, side="left")
    ends = np.searchsorted(mon, months, side="right")
    return {
        rel_path(feed, str(month_label(m))): (feed, int(b - a), make(int(a), int(b)))
        for m, a, b in zip(months, cuts, ends, strict=True)
    }


def joined(make1, make2):
    """One file's columns: FSM1's rows (drawn with the shared render stream), then FSM2's."""

    def cols(rng) -> list[np.ndarray]:
        a, b = make1(rng), make2()
        return [np.concatenate([np.asarray(x), np.asarray(y)]) for x, y in zip(a, b, strict=True)]

    return cols


def alone(make2):
    def cols(_rng) -> list[np.ndarray]:
        return make2()

    return cols


# =========================================================================== unreadable rows
def plan_rejects(
    rng: np.random.Generator, per_kind: int, files: dict[str, tuple[str, int]]
) -> dict[str, list[tuple[int, int, str, int, int]]]:
    """Pick, per feed and kind, a file, an insert position and a template row.
    Returns rel -> [(position in the original rows, template row, kind, seq, variant)], by position."""
    by_feed: dict[str, list[str]] = {}
    for rel, (feed, n) in sorted(files.items()):
        if n:
            by_feed.setdefault(feed, []).append(rel)
    plan: dict[str, list[tuple[int, int, str, int, int]]] = {}
    seq = 0
    for feed, kinds in {**REJECT_KINDS, **REJECT_KINDS_FSM2}.items():
        rels = by_feed.get(feed, [])
        for kind in kinds if rels else ():
            for variant in range(per_kind):
                rel = rels[rng.integers(0, len(rels))]
                n = files[rel][1]
                seq += 1
                plan.setdefault(rel, []).append((int(rng.integers(0, n + 1)), int(rng.integers(0, n)), kind, seq, variant))
    for items in plan.values():
        items.sort(key=lambda t: (t[0], t[3]))
    return plan


def bad_line(feed: str, kind: str, f: list[str], seq: int, variant: int) -> str:
    """A copy of a good row `f` made unreadable in one way (`kind`); `variant` picks one of two forms."""
    col = {name: i for i, name in enumerate(FEEDS[feed].columns)}
    if feed == "uddannelse":
        year = f[col["month"]][:4]
        if kind == "bad_cpr":
            c = f[col["cpr"]].replace("-", "")
            f[col["cpr"]] = c[:4] + "AB" + c[6:] if variant % 2 == 0 else "3002" + c[4:]
        elif kind == "bad_date":
            f[col["month"]] = f"{year}-13"
        elif kind == "bad_flag":
            f[col["su_eligible"]] = "2" if variant % 2 == 0 else "ja"
        elif kind == "column_count":
            return ";".join(f[:-1]) if variant % 2 == 0 else ";".join([*f, "EKSTRA"])
        return ";".join(f)
    if feed == "markings":
        f[col["marking_id"]] = f"FSM9{seq:06d}"  # a fresh id: the row is not a real marking
    if feed == "tilbud":
        f[col["tilbud_id"]] = f"T9{seq:07d}"
    period = {"markings": "start_date", "ydelse": "iso_week", "tilbud": "start_date", "timer": "month"}[feed]
    year = f[col[period]][:4]  # keep the row's own year
    if kind == "bad_cpr":
        c = f[col["cpr"]].replace("-", "")
        f[col["cpr"]] = c[:4] + "AB" + c[6:] if variant % 2 == 0 else "3002" + c[4:]  # letters / 30 February
    elif kind == "unknown_kommune":
        f[col["kommune_kode"]] = "999" if variant % 2 == 0 else "100"
    elif kind == "unknown_code":
        code = {"markings": "marking_code", "ydelse": "ydelse_kode", "tilbud": "tilbud_type"}[feed]
        f[col[code]] = _UNKNOWN_CODE[feed]
    elif kind == "bad_date":
        if feed == "markings":
            if variant % 2 == 0:
                f[col["start_date"]] = f"{year}-02-30"
            else:
                f[col["registered_at"]] = f"{year}-13-05T10:15:00"
        elif feed == "tilbud":
            if variant % 2 == 0:
                f[col["start_date"]] = f"{year}-02-30"
            else:
                f[col["end_date"]] = f"{year}-04-31"
        elif feed == "ydelse":
            f[col["iso_week"]] = f"{year}-W54"
        else:
            f[col["month"]] = f"{year}-13"
    elif kind == "negative_hours":
        f[col["hours"]] = "-7,5"
    elif kind == "column_count":
        return ";".join(f[:-1]) if variant % 2 == 0 else ";".join([*f, "EKSTRA"])
    return ";".join(f)


# =========================================================================== one file
def _cat(*parts) -> np.ndarray:
    """Concatenate string arrays (or scalars) element-wise, fast enough for millions of rows."""
    n = max(len(p) for p in parts if not isinstance(p, str))
    cols = [[p] * n if isinstance(p, str) else p for p in parts]
    out = np.empty(n, dtype=object)
    out[:] = ["".join(t) for t in zip(*cols, strict=True)]
    return out


def write_file(path: Path, feed: str, cols: list[np.ndarray], plan: list, fmt: str) -> tuple[int, list]:
    """Write one file; returns (data rows, [(physical line, kind)] of the unreadable rows)."""
    header = FEED_COLUMNS[feed]
    n = len(cols[0])
    if fmt == "parquet":  # typed text columns; no unreadable rows (they have no line numbers)
        df = pd.DataFrame({h: pd.array(np.asarray(c, dtype=object), dtype="string") for h, c in zip(header, cols, strict=True)})
        df.replace("", pd.NA).to_parquet(path, index=False)
        return n, []
    lines = _cat(*[x for c in cols for x in (c, ";")][:-1]) if n else np.array([], dtype=object)
    rejects = []
    if plan:
        bad = [bad_line(feed, kind, [str(c[row]) for c in cols], seq, variant) for _pos, row, kind, seq, variant in plan]
        lines = np.insert(lines, [pos for pos, *_ in plan], bad)
        # np.insert puts the k-th value (by position) at pos + k; the header is line 1
        rejects = [(pos + k + 2, kind) for k, (pos, _row, kind, _s, _v) in enumerate(plan)]
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(";".join(header) + "\n")
        if len(lines):
            fh.write("\n".join(lines.tolist()))
            fh.write("\n")
    os.replace(tmp, path)
    return len(lines), rejects
