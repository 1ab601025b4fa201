"""Scale-out on Celery, proven against the same runs under the LocalExecutor (`make stack-test`).

Each executor's stack runs the same three runs on the same landing zone: MONTH (test_stack), the backfill
2017-08 … BACKFILL in one pass, and MONTH once more. Under Celery, during that last run's ingest (six loads,
one file = one transaction), the worker running a load for MIN_RUNNING seconds is killed with SIGKILL — its
process group and every process under it (the task runners sit in groups of their own), as if its machine
died. The scheduler notices that those task instances stopped heartbeating ([scheduler]
task_instance_heartbeat_timeout), they go up for retry (the DAG's retry_delay), and try 2 of each runs on
the other worker; the run succeeds. Then the warehouse's marts, DQ flags, rejects and file counts
(fsm_dev.dump_marts, ordered by every column) equal the LocalExecutor stack's byte for byte.
What was seen (victim, tries, seconds to notice and to rerun) goes to build/stack-test/CeleryExecutor/
worker_loss.json with the lost tries' task logs.
"""

from __future__ import annotations

import json
import shutil
import sys
import time

import pytest

from stack.celery_settings import CELERY_ENV
from stack.harness import BACKFILL, DAG_ID, MONTH, call, dump_marts, kill_hard, run_path, task_instances, trigger, wait

pytestmark = pytest.mark.stack

KILL_GROUP = "ingest."  # six loads in parallel, one file = one transaction: a killed load must leave nothing behind
MIN_RUNNING = 1.0  # seconds a task has run when its worker is killed: past parsing the DAG, inside the load
KILL_TIMEOUT = 300


@pytest.fixture(scope="package")
def backfill_run(stack, finished_run):
    run = wait(stack, trigger(stack, BACKFILL, backfill=True))
    assert run["state"] == "success", f"{run['state']}: {run['task_states']}\n{stack['tail']()}"
    print(f"\nstack-test [{stack['executor']}]: backfill …{BACKFILL} succeeded in {run['seconds']} s", file=sys.stderr)
    return run


def _kill_while_running(stack, run: dict) -> dict:
    """Wait until a worker has run an ingest task for MIN_RUNNING seconds while no ingest task waits in the
    queue (so no worker holds a message it has not started), SIGKILL that worker, then follow each task it
    was running until its next try runs."""
    run_id, started = run["dag_run_id"], time.monotonic()
    while True:
        tis = [ti for ti in task_instances(stack, run_id) if ti["task_id"].startswith(KILL_GROUP)]
        running: dict[str, list] = {}
        for ti in tis:
            if ti["state"] == "running" and ti["hostname"] in stack["workers"]:
                running.setdefault(ti["hostname"], []).append(ti)
        ripe = [host for host, on in running.items() if max(time.time() - _epoch(ti["start_date"]) for ti in on) >= MIN_RUNNING]
        if ripe and not any(ti["state"] == "queued" for ti in tis):
            break
        if (tis and all(ti["state"] == "success" for ti in tis)) or time.monotonic() - started > KILL_TIMEOUT:
            pytest.fail(f"no ingest task seen running {MIN_RUNNING}s on a worker: {[(t['task_id'], t['state']) for t in tis]}")
        time.sleep(0.1)
    victim, lost = ripe[0], running[ripe[0]]
    proc = stack["workers"][victim]
    stack["killed"].add(proc)
    killed_at = time.monotonic()
    pids = kill_hard(proc)
    seen = {"victim": victim, "pids_killed": pids, "when": time.strftime("%H:%M:%S"),
            "lost": {ti["task_id"]: {"try": ti["try_number"], "ran_for_before_kill": round(time.time() - _epoch(ti["start_date"]), 1)}
                     for ti in lost}}  # fmt: skip
    while True:  # each lost task: its state leaving `running` (noticed), then its next try running (rerun)
        now = round(time.monotonic() - killed_at, 1)
        tis = {ti["task_id"]: ti for ti in task_instances(stack, run_id)}
        for task_id, info in seen["lost"].items():
            ti = tis[task_id]
            if "noticed_after_s" not in info and (ti["state"] != "running" or ti["try_number"] > info["try"]):
                info.update(noticed_after_s=now, state_when_noticed=ti["state"])
            if "rerun_after_s" not in info and ti["try_number"] > info["try"] and ti["state"] in ("running", "success"):
                info.update(rerun_after_s=now, rerun_try=ti["try_number"], rerun_hostname=ti["hostname"])
            if ti["state"] == "failed":
                pytest.fail(f"{task_id} failed after its worker died\n{stack['tail']()}")
        if all("rerun_after_s" in info for info in seen["lost"].values()):
            return seen
        if now > KILL_TIMEOUT:
            pytest.fail(f"not rerun {KILL_TIMEOUT}s after their worker died: {seen}\n{stack['tail']()}")
        time.sleep(1)


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="package")
def worker_loss_run(stack, backfill_run):
    """MONTH again; under Celery a worker is killed while it runs ingest tasks."""
    started = time.monotonic()
    run = trigger(stack, MONTH)
    seen = _kill_while_running(stack, run) if stack["executor"] == "CeleryExecutor" else {}
    run = wait(stack, run)
    run["seconds"] = round(time.monotonic() - started, 1)
    run["tries"] = {}
    for task_id in seen.get("lost", {}):
        status, tries = call(stack["base"], f"{run_path(run['dag_run_id'])}/taskInstances/{task_id}/tries", stack["token"])
        assert status == 200, (status, tries)
        run["tries"][task_id] = tries["task_instances"]
        logs = stack["home"] / "logs" / f"dag_id={DAG_ID}" / f"run_id={run['dag_run_id']}" / f"task_id={task_id}"
        for log in logs.glob("attempt=*.log"):  # kept beside the screenshots
            shutil.copy(log, stack["shots"] / f"worker_loss_{task_id}_{log.name}")
    run["seen"] = seen
    if seen:
        seen["tries"] = {t: [(x["try_number"], x["hostname"], x["state"]) for x in tries] for t, tries in run["tries"].items()}
        seen["run_seconds"] = run["seconds"]
        (stack["shots"] / "worker_loss.json").write_text(json.dumps(seen, indent=2))
    print(f"\nstack-test [{stack['executor']}]: {MONTH} again in {run['seconds']} s; worker loss: {seen}", file=sys.stderr)
    return run


@pytest.fixture(scope="package")
def marts(stack, worker_loss_run, marts_by_executor):
    out = stack["shots"] / "marts"
    marts_by_executor[stack["executor"]] = dump_marts(stack["wh_url"], out)
    return marts_by_executor[stack["executor"]]


def test_a_backfill_completes(stack, backfill_run):
    assert set(backfill_run["task_states"].values()) == {"success"}, backfill_run["task_states"]
    assert backfill_run["conf"] == {"month": BACKFILL, "backfill": True}
    import psycopg

    with psycopg.connect(stack["wh_url"]) as conn:
        months = conn.execute("select count(distinct as_of_month) from mart_tranche_status where as_of_month <= %s",
                              (f"{BACKFILL}-01",)).fetchone()[0]  # fmt: skip
    assert months == 8  # 2017-08 … 2018-03, written in one pass


def test_a_worker_killed_mid_task_its_tasks_rerun_on_the_other_worker(stack, worker_loss_run):
    if stack["executor"] != "CeleryExecutor":
        pytest.skip("LocalExecutor: no worker to lose (its runs are the reference for the marts)")
    seen = worker_loss_run["seen"]
    assert worker_loss_run["state"] == "success", worker_loss_run["task_states"]
    assert set(worker_loss_run["task_states"].values()) == {"success"}, worker_loss_run["task_states"]
    (other,) = set(stack["workers"]) - {seen["victim"]}
    assert 1 <= len(seen["lost"]) <= int(CELERY_ENV["AIRFLOW__CELERY__WORKER_CONCURRENCY"]), seen
    for task_id, info in seen["lost"].items():
        assert (info["rerun_hostname"], info["rerun_try"]) == (other, info["try"] + 1), (task_id, info)
        by_try = {t["try_number"]: t for t in worker_loss_run["tries"][task_id]}
        assert by_try[info["try"]]["hostname"] == seen["victim"], (task_id, by_try)
        assert by_try[info["try"]]["state"] in ("failed", "up_for_retry"), (task_id, by_try)
        assert (by_try[info["rerun_try"]]["hostname"], by_try[info["rerun_try"]]["state"]) == (other, "success"), by_try
    assert stack["workers"][seen["victim"]].poll() is not None and stack["workers"][other].poll() is None


def test_the_marts_equal_the_local_executor_runs(stack, marts, marts_by_executor):
    assert marts and all(marts.values()), "nothing dumped"
    if stack["executor"] == "LocalExecutor":
        return  # the reference
    if "LocalExecutor" not in marts_by_executor:
        pytest.skip("the LocalExecutor stack did not run in this session (make stack-test runs both)")
    local = marts_by_executor["LocalExecutor"]
    assert sorted(marts) == sorted(local)
    differ = [name for name in marts if marts[name] != local[name]]
    assert not differ, f"differ from the LocalExecutor run: {differ} (dumps under {stack['shots'].parent}/*/marts)"
