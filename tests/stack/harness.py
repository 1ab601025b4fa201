"""What the stack tests share: the REST calls an operator's script would make, starting and stopping the
native processes, waiting for runs, and dumping the warehouse's marts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "fsm_monthly_monitoring"
ADMIN = "admin"
MONTH = "2019-01"  # FSM1 and FSM2 both in force (F9): every model and report part runs
BACKFILL = "2018-03"  # 2017-08 … 2018-03 (8 months) in one set-based pass
LANDING_END = "2019-01"
STARTUP_TIMEOUT = 240
RUN_TIMEOUT = 900
SHOTS = Path(os.environ.get("FSM_STACK_OUT", ROOT / "build" / "stack-test"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, path: str, token: str | None = None, body: dict | None = None, method: str | None = None):
    """(status, parsed body) — errors are answers here, not exceptions: the refusals are tested."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def start(name: str, args: list[str], env: dict, home: Path) -> subprocess.Popen:
    """`airflow <args>` in a process group of its own, logging to <home>/<name>.log."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    log = (home / f"{name}.log").open("w")
    proc = subprocess.Popen([airflow, *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.name = name  # type: ignore[attr-defined]
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # its own process group: the scheduler's executor workers, the api's workers
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def kill_hard(proc: subprocess.Popen) -> list[int]:
    """SIGKILL to the process group and to every descendant, as if the machine died: the task runners Airflow
    forks sit in process groups of their own (supervisor.py, new_process_group), so the group alone would
    leave them running. Returns the pids killed."""
    import psutil

    try:
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    os.killpg(proc.pid, signal.SIGKILL)
    for child in descendants:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    proc.wait(timeout=10)
    return [proc.pid] + [c.pid for c in descendants]


def tail(home: Path, names, chars: int = 2500) -> str:
    return "\n".join(
        f"--- {n}.log ---\n" + (home / f"{n}.log").read_text(errors="replace")[-chars:]
        for n in names
        if (home / f"{n}.log").exists()
    )


def processes_of(home: Path) -> list[str]:
    """Every process whose environment names this stack's AIRFLOW_HOME (task runners included)."""
    import psutil

    mine = []
    for proc in psutil.process_iter(["pid", "name"]):
        try:
            if proc.environ().get("AIRFLOW_HOME") == str(home):
                mine.append(f"{proc.info['pid']} {' '.join(proc.cmdline())[:80]}")
        except (psutil.Error, OSError):
            continue
    return mine


def token(base: str, password: str) -> str:
    status, body = call(base, "/auth/token", body={"username": ADMIN, "password": password})
    assert status in (200, 201), (status, body)
    return body["access_token"]


def wait_for_dag(base: str, password: str, procs, home: Path, names) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    tok = None
    while True:
        try:
            tok = tok or token(base, password)
            status, _ = call(base, f"/api/v2/dags/{DAG_ID}", tok)
            if status == 200:
                return tok
        except (OSError, AssertionError):
            pass
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            pytest.fail(f"the stack did not serve {DAG_ID} within {STARTUP_TIMEOUT}s:\n{tail(home, names)}")
        time.sleep(2)


def run_path(run_id: str) -> str:
    return f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}"


def trigger(stack: dict, month: str, backfill: bool = False) -> dict:
    status, run = call(stack["base"], f"/api/v2/dags/{DAG_ID}/dagRuns", stack["token"],
                       {"logical_date": None, "conf": {"month": month, "backfill": backfill}})  # fmt: skip
    assert status == 200, (status, run)
    return run


def task_instances(stack: dict, run_id: str) -> list[dict]:
    status, body = call(stack["base"], f"{run_path(run_id)}/taskInstances?limit=100", stack["token"])
    assert status == 200, (status, body)
    return body["task_instances"]


def alive(stack: dict) -> bool:
    return all(p.poll() is None for p in stack["procs"] if p not in stack["killed"])


def wait(stack: dict, run: dict) -> dict:
    """Poll the run until it ends; the run with its task states and seconds taken."""
    base = stack["base"]
    started = time.monotonic()
    while True:
        status, run = call(base, run_path(run["dag_run_id"]), stack["token"])
        assert status == 200, (status, run)
        if run["state"] in ("success", "failed"):
            break
        if time.monotonic() - started > RUN_TIMEOUT or not alive(stack):
            pytest.fail(f"run {run['dag_run_id']} still {run['state']} after {RUN_TIMEOUT}s:\n{stack['tail']()}")
        time.sleep(3)  # the token lives far longer ([api_auth] jwt_expiration_time, 24 h by default)
    run["task_instances"] = task_instances(stack, run["dag_run_id"])
    run["task_states"] = {ti["task_id"]: ti["state"] for ti in run["task_instances"]}
    run["seconds"] = round(time.monotonic() - started, 1)
    return run


def dump_marts(wh_url: str, out: Path) -> dict[str, bytes]:
    """`python -m fsm_dev.dump_marts` on the stack's warehouse: every mart, DQ flag, reject and file count,
    ordered by every column; {file name: bytes}."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "FSM_"))}
    env.update(FSM_WAREHOUSE_URL=wh_url, FSM_PROJECT_ROOT=str(ROOT), PYTHONPATH=f"{ROOT / 'plugins'}:{ROOT / 'dev'}")
    done = subprocess.run([sys.executable, "-m", "fsm_dev.dump_marts", str(out)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}
