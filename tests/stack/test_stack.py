"""The whole stack as docker-compose deploys it, run natively (no Docker engine here): `make stack-test`.

Once per executor (LocalExecutor; CeleryExecutor with two workers: tests/stack/conftest.py starts them).
The warehouse connection `fsm_warehouse` is created through the REST API, not the environment; then
`fsm_monthly_monitoring` is triggered for one month through the REST API as an operator would, the run
waited to success, and the month checked in that warehouse and in the report. Unauthenticated requests
are refused; a failing run mails the operators.

Then headless Chromium logs in, opens the DAG and its docs, the green run in the grid, the run's
report link and the report itself. Screenshots: FSM_STACK_OUT (default build/stack-test/<executor>/).
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest

from stack.harness import ADMIN, DAG_ID, MONTH, call, trigger, wait

pytestmark = pytest.mark.stack

OUTSIDE = "2026-10"  # after FSM2 (F9): a manual run for it fails at once and the operators get a mail


def test_unauthenticated_requests_are_refused(stack):
    base = stack["base"]
    for path in (f"/api/v2/dags/{DAG_ID}", "/api/v2/dags", "/api/v2/connections", "/api/v2/variables",
                 "/fsm/reports/", f"/fsm/reports/{MONTH}/tranche_report.html"):  # fmt: skip
        status, _ = call(base, path)
        assert status in (401, 403), (path, status)
        status, _ = call(base, path, token="not-a-token")
        assert status in (401, 403), (path, "forged token", status)
    status, _ = call(base, f"/api/v2/dags/{DAG_ID}/dagRuns", body={"logical_date": None, "conf": {"month": MONTH}})
    assert status in (401, 403), ("trigger without a token", status)
    status, _ = call(base, f"/api/v2/dags/{DAG_ID}", body={"is_paused": False}, method="PATCH")
    assert status in (401, 403), ("unpause without a token", status)
    status, _ = call(base, "/api/v2/connections", body={"connection_id": "fsm_warehouse", "conn_type": "postgres"})
    assert status in (401, 403), ("a connection without a token", status)
    status, _ = call(base, "/auth/token", body={"username": ADMIN, "password": "wrong-" + stack["password"]})
    assert status in (401, 403), ("token for a wrong password", status)
    # the Task SDK's execution API needs a task's own token too
    status, _ = call(base, "/execution/task-instances/00000000-0000-0000-0000-000000000000/heartbeat",
                      body={"hostname": "x", "pid": 1}, method="PUT")  # fmt: skip
    assert status in (401, 403), ("execution API without a token", status)


def test_a_month_triggered_through_the_api_succeeds(stack, finished_run):
    states = finished_run["task_states"]
    assert len(states) == 14 and set(states.values()) == {"success"}, states
    assert finished_run["conf"]["month"] == MONTH and finished_run["run_type"] == "manual"
    # no scheduled run was created by unpausing: the schedule ends with the last programme month (F9)
    _, runs = call(stack["base"], f"/api/v2/dags/{DAG_ID}/dagRuns", stack["token"])
    assert {r["run_type"] for r in runs["dag_runs"]} == {"manual"}, runs


def test_the_warehouse_connection_comes_through_the_rest_api_not_the_environment(stack, warehouse_connection, finished_run):
    from urllib.parse import urlsplit

    env = stack["env"]
    assert "AIRFLOW_CONN_FSM_WAREHOUSE" not in env and "FSM_WAREHOUSE_URL" not in env and env["FSM_ENV"] == "production"
    status, conn = call(stack["base"], "/api/v2/connections/fsm_warehouse", stack["token"])
    assert status == 200, (status, conn)
    wh = urlsplit(stack["wh_url"])
    assert (conn["conn_type"], conn["host"], conn["port"], conn["schema"]) == ("postgres", wh.hostname, wh.port, wh.path[1:])
    # production: no embedded PostgreSQL was started anywhere (the month is in that database, below)
    assert not list((stack["home"] / "data").rglob("PG_VERSION"))


def test_the_warehouse_and_report_hold_the_month(stack, finished_run):
    import psycopg

    with psycopg.connect(stack["wh_url"]) as conn:
        one = conn.execute
        assert one("select count(*) from mart_tranche_status where as_of_month = %s", (f"{MONTH}-01",)).fetchone()[0] > 0
        assert one("select count(*) from mart_visitation_progress where as_of_month = %s", (f"{MONTH}-01",)).fetchone()[0] > 0
        assert one("select count(*) from mart_fsm2_result where as_of_month = %s", (f"{MONTH}-01",)).fetchone()[0] > 0
        files = one("select count(*), sum(rows_read), sum(rows_loaded) + sum(rows_rejected) from ingest_file").fetchone()
        assert files[0] > 0 and files[1] == files[2]  # every row read is loaded or rejected
    month_dir = stack["reports"] / MONTH
    for name in ("tranche_report.xlsx", "tranche_report.html", "tranche_report.csv"):
        assert (month_dir / name).stat().st_size > 0, name
    assert (month_dir / "data_docs" / "index.html").exists()


def test_an_operator_logs_in_and_sees_the_green_run_and_its_report(stack, finished_run, page):
    base = stack["base"]
    page.goto(f"{base}/dags/{DAG_ID}")
    page.wait_for_url(re.compile(r"/auth/login"))  # not logged in: the UI sends you to the login form
    page.get_by_label(re.compile("username", re.I)).fill(ADMIN)
    page.get_by_label(re.compile("password", re.I)).fill(stack["password"])
    page.screenshot(path=stack["shots"] / "stack_login.png")
    page.get_by_role("button", name=re.compile("sign in|log in|login", re.I)).click()
    page.wait_for_url(re.compile(rf"/dags/{DAG_ID}"))

    page.get_by_role("button", name="Dag Docs").click()
    docs = page.locator("[role=dialog][data-state=open]")
    docs.get_by_role("heading", name="When something fails").wait_for()
    page.wait_for_timeout(800)  # the dialog fades in; a screenshot mid-fade is unreadable
    page.screenshot(path=stack["shots"] / "stack_dag_docs.png")
    docs.get_by_role("heading", name="When something fails").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.screenshot(path=stack["shots"] / "stack_dag_docs_failures.png")
    page.keyboard.press("Escape")

    run_id = quote(finished_run["dag_run_id"], safe="")
    page.goto(f"{base}/dags/{DAG_ID}/runs/{run_id}")
    page.get_by_text("success", exact=False).first.wait_for()
    page.screenshot(path=stack["shots"] / "stack_grid.png", full_page=True)

    page.goto(f"{base}/dags/{DAG_ID}/runs/{run_id}/tasks/write_report/details")
    page.get_by_text("Extra Links").wait_for()
    page.screenshot(path=stack["shots"] / "stack_extra_links.png")
    page.get_by_role("link", name="Tranche report").click()
    page.wait_for_url(re.compile(rf"/fsm/reports/{MONTH}/tranche_report\.html$"))
    page.get_by_text(MONTH, exact=False).first.wait_for()
    assert "2019" in page.title()
    page.screenshot(path=stack["shots"] / "stack_report.png", full_page=True)


def test_a_failed_run_mails_the_operators_what_to_do(stack, finished_run, page):
    """A manual run for a month no programme covers fails at its first task, without retries (waiting
    cannot help), and the task's on_failure_callback mails through the fsm_alerts connection."""
    run = wait(stack, trigger(stack, OUTSIDE))
    assert run["state"] == "failed" and run["task_states"]["wait_for_month_files"] == "failed", run["task_states"]
    assert {s for t, s in run["task_states"].items() if t != "wait_for_month_files"} == {"upstream_failed"}
    deadline = time.monotonic() + 60
    while not (mails := [m for m in stack["mails"] if OUTSIDE in m["Subject"]]) and time.monotonic() < deadline:
        time.sleep(1)
    (mail,) = mails
    assert mail["Subject"] == f"[FSM] {OUTSIDE}: wait_for_month_files failed ({DAG_ID})"
    assert mail["To"] == "fsm-operators@localhost"
    body = mail.get_body(("html",)).get_content()
    assert f"no programme is monitored in {OUTSIDE}" in body and "on try 1, its last" in body
    assert "What to do:" in body and f"/dags/{DAG_ID}/runs/" in body

    page.goto(f"{stack['base']}/dags/{DAG_ID}/runs/{quote(run['dag_run_id'], safe='')}")
    page.get_by_text("Failed", exact=False).first.wait_for()
    page.screenshot(path=stack["shots"] / "stack_failed_run.png")
