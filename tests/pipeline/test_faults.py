"""Issue 9, faults mid-run: SIGKILL of the process, and the warehouse connection dropped.

A child process (tests/support/child.py) runs ingest, the marking rules and the FSM1 marts
month by month on a tiny synthetic landing zone. It is killed (SIGKILL) at random points of ingest
and of transform, or its connection is ended from another one (pg_terminate_backend) in the middle
of a transaction. Then:
  - no file is half-loaded: each ingest_file row has exactly its rows_loaded staging rows and
    rows_rejected rejects; a month's marts are there completely (and right) or not at all;
  - a rerun of the months completes, and everything (files, staging, rejects, DQ flags, marts)
    equals a reference run of the same data, undisturbed, in a fresh database of its own.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from support.child import run as run_months
from support.db import MARTS, database_url, dump, empty_warehouse, throwaway_database

CHILD = Path(__file__).resolve().parents[1] / "support" / "child.py"
MONTHS = ["2017-08", "2017-09", "2017-10"]
KILLS = int(os.environ.get("FSM_FAULT_KILLS", 26))
TERMINATIONS = int(os.environ.get("FSM_FAULT_TERMINATIONS", 8))


def half_loaded(conn) -> list[str]:
    bad = []
    for file_id, name, feed, loaded, rejected in conn.execute(
        "select file_id, file_name, feed, rows_loaded, rows_rejected from ingest_file"
    ).fetchall():
        table = "stg_" + feed
        n = conn.execute(f"select count(*) from {table} where file_id = %s", (file_id,)).fetchone()[0]
        r = conn.execute("select count(*) from ingest_rejects where file_id = %s", (file_id,)).fetchone()[0]
        if (n, r) != (loaded, rejected):
            bad.append(f"{name}: staged {n}/{loaded}, rejects {r}/{rejected}")
    return bad


def marts_partial_or_wrong(conn, reference: dict[str, list]) -> list[str]:
    """A month in the marts must be there completely, and as the undisturbed run wrote it."""
    got = {t: conn.execute(f"select as_of_month, (to_jsonb(m))::text from {t} m order by 1, 2").fetchall() for t in MARTS}
    months = {t: {r[0] for r in rows} for t, rows in got.items()}
    problems = []
    fsm1 = months["mart_visitation_progress"]
    for t in ("mart_activity_share", "mart_tranche_status"):
        if months[t] != fsm1:
            problems.append(f"{t} has months {sorted(months[t])}, mart_visitation_progress {sorted(fsm1)}")
    for t, rows in got.items():
        for m in months[t]:
            mine = [r for r in rows if r[0] == m]
            ref = [r for r in reference[t] if r[0] == m]
            if mine != ref:
                problems.append(f"{t} {m}: {len(mine)} rows differ from the reference ({len(ref)})")
    return problems


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from fsm_dev.synth import generate

    root = tmp_path_factory.mktemp("faults") / "landing"
    generate(root, seed=3, scale="tiny", start=MONTHS[0], end=MONTHS[-1])
    return root


@pytest.fixture(scope="module")
def reference(warehouse_url, synthetic, tmp_path_factory):
    """The undisturbed run, in a database of its own; also times the work for the kill points."""
    with throwaway_database(database_url(warehouse_url, "postgres"), "fsm_ref") as ref_url:
        progress = tmp_path_factory.mktemp("ref") / "progress.txt"
        env = {**os.environ, "FSM_WAREHOUSE_URL": ref_url}
        subprocess.run([sys.executable, str(CHILD), str(synthetic), str(progress), *MONTHS], env=env, check=True, timeout=300)
        steps = _steps(progress)
        assert steps[-1][1] == "DONE"
        with psycopg.connect(ref_url) as conn:
            data = dump(conn)
        assert data["mart_visitation_progress"] and data["dq_marking_violations"] and data["ingest_rejects"]
        yield {"data": data, "steps": steps}


def _steps(progress: Path) -> list[tuple[float, str]]:
    if not progress.exists():
        return []
    out = []
    for line in progress.read_text(encoding="utf-8").splitlines():
        t, _, what = line.partition(" ")
        out.append((float(t), what))
    return out


def _wait_for(progress: Path, prefix: str, proc: subprocess.Popen, timeout: float = 60) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(s.startswith(prefix) for _, s in _steps(progress)):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    raise TimeoutError(prefix)


def _wait_backends_gone(wh, app: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    with wh.connect(autocommit=True) as conn:
        while time.monotonic() < end:
            if not conn.execute("select count(*) from pg_stat_activity where application_name = %s", (app,)).fetchone()[0]:
                return
            time.sleep(0.02)
    raise TimeoutError(f"backends of {app} still there")


def _target(rng: random.Random, i: int, steps: list[tuple[float, str]] | None = None) -> tuple[str, float]:
    """Alternate ingest and transform; a random month and feed, and a delay into the step of up to 80 % of
    the step's length in the undisturbed run (a fixed delay outran the ~50 ms transform of a tiny month
    on a busy machine, and the kill landed in the next step instead)."""
    month = rng.choice(MONTHS)
    if i % 2:
        target = f"STEP transform {month}"
    else:
        target = f"STEP ingest:{rng.choice(['markings', 'ydelse', 'ydelse', 'tilbud', 'timer'])} {month}"
    length = 0.1
    for (t0, what), (t1, _) in zip(steps or [], (steps or [])[1:], strict=False):
        if what == target:
            length = t1 - t0
    return target, rng.uniform(0, 0.8 * length)


def _child(wh, warehouse_url: str, synthetic: Path, progress: Path, app: str) -> subprocess.Popen:
    url = warehouse_url + ("&" if "?" in warehouse_url else "?") + f"application_name={app}"
    env = {**os.environ, "FSM_WAREHOUSE_URL": url}
    return subprocess.Popen([sys.executable, str(CHILD), str(synthetic), str(progress), *MONTHS], env=env)


def _verify_and_rerun(wh, synthetic: Path, reference: dict) -> None:
    with wh.connect() as conn:
        assert half_loaded(conn) == []
        assert marts_partial_or_wrong(conn, reference["data"]) == []
    run_months(str(synthetic), MONTHS)  # the rerun, to completion
    with wh.connect() as conn:
        after = dump(conn)
    for table, rows in reference["data"].items():
        assert after[table] == rows, f"{table} differs from the undisturbed run after the rerun"


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_equals_undisturbed(wh, warehouse_url, synthetic, reference, tmp_path):
    rng = random.Random(9)
    landed: Counter[str] = Counter()
    for i in range(KILLS):
        empty_warehouse()
        progress = tmp_path / f"kill{i}.txt"
        app = f"fsm_kill_{i}_{uuid.uuid4().hex[:6]}"
        target, delay = _target(rng, i, reference["steps"])
        proc = _child(wh, warehouse_url, synthetic, progress, app)
        try:
            reached = _wait_for(progress, target, proc)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=60)
        steps = _steps(progress)
        if proc.returncode == -signal.SIGKILL and reached and steps[-1][1].startswith("STEP"):
            landed[steps[-1][1].split(" ")[1].split(":")[0]] += 1  # ingest | dq | transform
        else:
            landed["after DONE" if steps and steps[-1][1] == "DONE" else f"rc={proc.returncode}"] += 1
        _wait_backends_gone(wh, app)
        _verify_and_rerun(wh, synthetic, reference)
    print(f"\n{KILLS} SIGKILLs survived; killed during: {dict(landed)}")
    assert landed["ingest"] >= KILLS // 4 and landed["transform"] >= KILLS // 4
    assert landed["ingest"] + landed["dq"] + landed["transform"] >= 20


@pytest.mark.slow
def test_connection_terminated_mid_transaction_then_rerun_equals_undisturbed(wh, warehouse_url, synthetic, reference, tmp_path):
    rng = random.Random(11)
    hit: Counter[str] = Counter()
    for i in range(TERMINATIONS):
        empty_warehouse()
        progress = tmp_path / f"term{i}.txt"
        app = f"fsm_term_{i}_{uuid.uuid4().hex[:6]}"
        target, _ = _target(rng, i)
        proc = _child(wh, warehouse_url, synthetic, progress, app)
        terminated = None
        try:
            _wait_for(progress, target, proc)
            with wh.connect(autocommit=True) as conn:
                end = time.monotonic() + 20
                while terminated is None and time.monotonic() < end and proc.poll() is None:
                    # the child's backend inside a transaction: end it from here
                    row = conn.execute(
                        "select pid, left(query, 40) from pg_stat_activity where application_name = %s and xact_start is not null"
                        " and state in ('active', 'idle in transaction') limit 1",
                        (app,),
                    ).fetchone()
                    if row and conn.execute("select pg_terminate_backend(%s)", (row[0],)).fetchone()[0]:
                        terminated = row[1]
        finally:
            proc.wait(timeout=60)
        steps = _steps(progress)
        assert terminated is not None, f"never caught the child in a transaction ({steps[-2:]})"
        if proc.returncode == 0 and steps[-1][1] == "DONE":
            # The termination landed as the last transaction committed (a race seen once in CI):
            # nothing to fail, but the consistency checks below still apply.
            hit["raced_with_commit"] += 1
        else:
            # psycopg's AdminShutdown is an OperationalError: the task fails and Airflow retries it
            assert proc.returncode == 1 and steps[-1][1].startswith(("FAILED AdminShutdown", "FAILED OperationalError")), steps[
                -2:
            ]
            hit[steps[-2][1].split(" ")[1].split(":")[0]] += 1
        _wait_backends_gone(wh, app)
        _verify_and_rerun(wh, synthetic, reference)
    print(f"\n{TERMINATIONS} pg_terminate_backend mid-transaction survived; during: {dict(hit)}")
    assert hit["ingest"] and hit["transform"]
