"""The bench's figures as text: the closing `bench:` line, per-model transform seconds from a phase's log, a py-spy summary."""

from __future__ import annotations

import ast
import contextlib
import re
from collections import Counter


def summary_line(f: dict) -> str:
    def fmt(v, digits):
        return "n/a" if v is None else (f"{v:.{digits}f}" if digits else f"{round(v)}")

    return (
        f"bench: month_run_s={fmt(f['month_run_s'], 2)} overhead_s={fmt(f['overhead_s'], 2)} floor_s={fmt(f['floor_s'], 2)}"
        f" ratio={fmt(f['ratio'], 1)} backfill_s={fmt(f['backfill_s'], 2)} backfill_ratio={fmt(f['backfill_ratio'], 2)}"
        f" peak_rss_mb={fmt(f['peak_rss_mb'], 0)} parse_ms={fmt(f['parse_ms'], 0)} citizens={f['citizens']}"
        f" benefit_rows={f['benefit_rows']}"
        + (
            f" fsm2_month_s={fmt(f['fsm2_month_s'], 2)} fsm2_floor_s={fmt(f['fsm2_floor_s'], 2)}"
            f" fsm2_ratio={fmt(f['fsm2_ratio'], 1)} fsm2_target_n={f['fsm2_target_n']} fsm2_benefit_rows={f['fsm2_benefit_rows']}"
            if "fsm2_month_s" in f
            else ""
        )
        + (
            f" steady_s={fmt(f['steady_s'], 2)} steady_over_overhead_s={fmt(f['steady_over_overhead_s'], 2)}"
            f" bytes_per_benefit_row={fmt(f['bytes_per_benefit_row'], 0)}"
            if "steady_s" in f
            else ""
        )
    )


def _tops(tasks: list[dict] | None, n: int = 3) -> str:
    top = sorted(tasks or [], key=lambda t: -(t.get("s") or 0))[:n]
    return ", ".join(f"{t['task'].rsplit('.', 1)[-1]} {t['s']:.1f} s" for t in top if t.get("s") is not None)


def goals(doc: dict) -> list[dict]:
    """Issue 17's goals table from a bench JSON: one row per goal with the figure, its limit and whether it is met."""
    f = doc["bench"]
    staged = (doc.get("staged") or {}).get("stg_ydelse") or {}
    month_tasks = (doc.get("month_run") or {}).get("tasks")
    steady_tasks = (doc.get("steady") or {}).get("tasks")
    fsm2_tasks = ((doc.get("fsm2") or {}).get("run") or {}).get("tasks")
    overhead = f.get("overhead_s")
    rows = [
        ("cold FSM1 month (empty warehouse)", f.get("month_run_s"), "s", 30.0, _tops(month_tasks)),
        ("floor ratio (run − overhead) / floor", f.get("ratio"), "", 1.5, f"floor {f.get('floor_s')} s"),
        (
            "steady-state month (history loaded, only M's files new)",
            f.get("steady_s"),
            "s",
            round(overhead + 10, 2) if overhead is not None else None,
            "; ".join(x for x in (_tops(steady_tasks), f"overhead {overhead} s + 10 s" if overhead is not None else "") if x),
        ),
        ("FSM2's month, cold", f.get("fsm2_month_s"), "s", 60.0, _tops(fsm2_tasks)),
        ("peak RSS", f.get("peak_rss_mb"), "MB", 1024.0, ""),
        (
            "staged bytes per benefit row",
            f.get("bytes_per_benefit_row"),
            "B",
            80.0,
            f"stg_ydelse {staged['total_bytes'] / 2**20:,.0f} MB (table {staged['table_bytes'] / 2**20:,.0f},"
            f" indexes {staged['index_bytes'] / 2**20:,.0f}) for {staged['rows']:,} rows"
            if staged
            else "",
        ),
        ("backfill / cold month", f.get("backfill_ratio"), "", 2.0, f"backfill {f.get('backfill_s')} s"),
    ]
    return [
        {
            "figure": name,
            "value": value,
            "unit": unit,
            "goal": limit,
            "met": None if value is None or limit is None else value <= limit,
            "detail": detail,
        }
        for name, value, unit, limit, detail in rows
    ]


def goals_table(doc: dict) -> str:
    """The goals as a Markdown table (python -m fsm_dev.bench goals bench/national.json)."""

    def num(v) -> str:
        return "n/a" if v is None else f"{v:,.2f}".rstrip("0").rstrip(".")

    lines = [
        f"{doc.get('scale')} {doc.get('month')} ({doc.get('machine', {}).get('git')}, {doc.get('finished')})",
        "",
        "| figure | now | goal | met | detail |",
        "|---|---|---|---|---|",
    ]
    for g in doc.get("goals") or goals(doc):
        unit = f" {g['unit']}" if g["unit"] else ""
        met = "n/a" if g["met"] is None else ("yes" if g["met"] else "no")
        now = num(g["value"]) + (unit if g["value"] is not None else "")
        lines.append(f"| {g['figure']} | {now} | ≤ {num(g['goal'])}{unit} | {met} | {g['detail']} |")
    return "\n".join(lines)


_TRANSFORM_LOG = re.compile(
    r"(FSM[12]) (\d{4}-\d{2}): wrote (\{.*?\}) in ([\d.]+)s(?:, (\d+) earlier as-of months reused)? \((\{.*?\})\)"
)


def transform_models(log_text: str) -> dict[str, dict]:
    """Seconds per SQL model of each programme's transform, from fsm.transform's log line."""
    out = {}
    for prog, _month, _written, seconds, reused, timings in _TRANSFORM_LOG.findall(log_text):
        with contextlib.suppress(ValueError, SyntaxError):
            out[prog] = {"seconds": float(seconds), "months_reused": int(reused or 0), "models": ast.literal_eval(timings)}
    return out


def phase_summary(name: str, out: dict) -> str:
    """One line on a finished phase, for the console."""
    if "seconds" in out and "tasks" in out:
        if out.get("history"):
            h = out["history"]
            lead = f"history to {h['until']} {h['seconds']:.2f}s, then " if h.get("until") else ""
            top = sorted(out["tasks"], key=lambda t: -(t["s"] or 0))[:3]
            return lead + f"{out['seconds']:.2f}s (top tasks: " + ", ".join(f"{t['task']} {t['s']:.1f}s" for t in top) + ")"
        top = sorted(out["tasks"], key=lambda t: -(t["s"] or 0))[:3]
        return f"{out['seconds']:.2f}s (top tasks: " + ", ".join(f"{t['task']} {t['s']:.1f}s" for t in top) + ")"
    if name == "floor" or name.endswith("_floor"):
        return f"{out['seconds']:.2f}s (decode {out['decode_s']:.2f}s, copy {out['copy_s']:.2f}s, scan {out['scan_s']:.2f}s; {out['rows']:,} rows)"
    if name.startswith("parse"):
        return f"dag file {out['dag_file_ms']:.0f} ms (+ airflow import {out['airflow_import_ms']:.0f} ms)"
    if name == "generate":
        return f"{out['seconds']:.1f}s{' (cached)' if out['cached'] else ''}: {out['rows_by_feed']}"
    return "done"


def summarise_pyspy(raw: str, top: int = 25, root: str = "fsm_dev.run.run_month") -> dict:
    """py-spy's raw (collapsed) stacks -> where the run's time goes.

    Only stacks through `root` count (the thread that runs the DAG; Airflow's in-process API
    server threads idle in the background). With --idle, time the run spends waiting for
    PostgreSQL shows as a psycopg wait under the project's function that sent the SQL.
    `inclusive_pct`: the project's own functions (plugins/fsm, the DAG file, dev/fsm_dev), including callees;
    `self_pct`: the innermost frames; `postgres_wait_pct`: stacks ending in a psycopg wait."""
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = waiting = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame_name(f) for f in stack.split(";")]
        if root not in frames:
            continue
        n = int(count)
        total += n
        self_t[frames[-1]] += n
        for name in set(frames):
            if name.startswith(("fsm.", "fsm_dev.", "dags.")):
                incl[name] += n
        if any("psycopg" in f and "wait" in f.lower() for f in frames[-4:]):
            waiting += n
    if not total:
        return {"samples": 0}

    def pct(c: Counter[str]) -> list[list[object]]:
        return [[name, round(100 * n / total, 1)] for name, n in c.most_common(top)]

    return {
        "samples": total,
        "postgres_wait_pct": round(100 * waiting / total, 1),
        "inclusive_pct": pct(incl),
        "self_pct": pct(self_t),
    }


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]+?)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    """'load_file (fsm/ingest.py:612)' or '(/…/plugins/fsm/ingest.py:612)' -> 'fsm.ingest.load_file';
    '(/…/dev/fsm_dev/run.py:40)' -> 'fsm_dev.run.…'; the DAG file's frames -> 'dags.fsm_monthly_monitoring.…';
    others 'func (package/file.py)'."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    func, path = m.group("func"), m.group("file")
    if path.endswith("fsm_monthly_monitoring.py"):
        return f"dags.fsm_monthly_monitoring.{func}"
    for package, folder in (("fsm", "/plugins/fsm/"), ("fsm_dev", "/dev/fsm_dev/")):
        if folder in path or path.startswith(f"{package}/"):
            mod = path.split(f"{package}/", 1)[1] if path.startswith(f"{package}/") else path.split(folder, 1)[1]
            return f"{package}.{mod.removesuffix('.py').replace('/', '.')}.{func}"
    short = path.split("site-packages/", 1)[-1] if "site-packages/" in path else path
    return f"{func} ({short})"
