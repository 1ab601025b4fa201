"""Alerts (fsm.ops.notify): a failed task and a slow run reach the channel the `fsm_alerts` connection names.

A tiny SMTP server and a webhook receiver run in threads on free ports; the connection is an
AIRFLOW_CONN_FSM_ALERTS environment variable in JSON form, as in resources/dev_connections.json.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from pathlib import Path

import pytest

from support.mailbox import mail_catcher

ROOT = Path(__file__).resolve().parents[2]
DEV_CONNECTIONS = json.loads((ROOT / "resources" / "dev_connections.json").read_text())


@pytest.fixture
def smtp_server():
    with mail_catcher() as server:
        yield server


@pytest.fixture
def alerts_to(smtp_server, monkeypatch):
    """The dev `fsm_alerts` connection, pointed at the test SMTP server."""
    conn = json.loads(json.dumps(DEV_CONNECTIONS["fsm_alerts"]))
    conn["port"] = smtp_server.server_address[1]
    monkeypatch.setenv("AIRFLOW_CONN_FSM_ALERTS", json.dumps(conn))
    return smtp_server.messages


class _TI:
    dag_id, run_id, task_id, try_number = (
        "fsm_monthly_monitoring",
        "scheduled__2018-03-01T00:00:00+01:00",
        "ingest.ingest_timer",
        3,
    )
    log_url = "http://airflow.example/dags/fsm_monthly_monitoring/runs/x/tasks/ingest.ingest_timer"


def _failure_context():
    from fsm.ops.docs import TASK_DOCS

    task = type("Task", (), {"doc_md": TASK_DOCS["ingest"]})()
    error = ValueError("timer_2018-03.csv line 7: column 'hours' missing for 010190-1234")
    return {"ti": _TI(), "task": task, "params": {"month": "2018-03", "backfill": False}, "exception": error}


def test_a_failed_task_mails_what_failed_and_what_to_do(alerts_to):
    from fsm.ops.notify import FsmAlert

    FsmAlert()(_failure_context())  # as Airflow calls an on_failure_callback

    (mail,) = alerts_to
    assert mail["To"] == "fsm-operators@localhost" and mail["From"] == "fsm-airflow@localhost"
    assert mail["Subject"] == "[FSM] 2018-03: ingest.ingest_timer failed (fsm_monthly_monitoring)"
    body = mail.get_body(("html",)).get_content()
    assert "(month 2018-03) failed on try 3, its last" in body
    assert "What to do: the message names the file and the problem" in body  # the task doc's 'On failure'
    assert _TI.log_url in body
    assert "010190-1234" not in body and "XXXXXX-XXXX" in body  # a CPR in an error is masked


def test_without_the_connection_an_alert_is_only_logged(monkeypatch, caplog):
    from fsm.ops.notify import FsmAlert

    monkeypatch.delenv("AIRFLOW_CONN_FSM_ALERTS", raising=False)
    with caplog.at_level("WARNING", logger="fsm.ops.notify"):
        FsmAlert()(_failure_context())
    assert "no Airflow connection 'fsm_alerts'" in caplog.text and "ingest.ingest_timer failed" in caplog.text


@pytest.fixture
def webhook():
    """A JSON webhook receiver on a free port: yields (base URL, received [(path, payload)])."""
    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_an_http_connection_posts_to_a_json_webhook_through_apprise(monkeypatch, webhook):
    from fsm.ops.notify import FsmAlert

    base, received = webhook
    monkeypatch.setenv("AIRFLOW_CONN_FSM_ALERTS", json.dumps({"conn_type": "http", "host": f"http://{base}/hooks/fsm"}))
    FsmAlert()(_failure_context())
    ((path, payload),) = received
    assert path == "/hooks/fsm"
    assert payload["title"] == "[FSM] 2018-03: ingest.ingest_timer failed (fsm_monthly_monitoring)"  # no '**' markup
    assert payload["type"] == "failure" and "What to do: the message names the file and the problem" in payload["message"]
    assert "010190-1234" not in payload["message"]


def test_an_apprise_connection_sends_through_its_own_config(monkeypatch, webhook):
    """conn_type apprise (the provider's own form): the config extra names the service URL(s)."""
    from fsm.ops.notify import FsmAlert

    base, received = webhook
    conn = {"conn_type": "apprise", "extra": {"config": {"path": f"json://{base}/chat"}}}
    monkeypatch.setenv("AIRFLOW_CONN_FSM_ALERTS", json.dumps(conn))
    FsmAlert()(_failure_context())
    ((path, payload),) = received
    assert path == "/chat" and payload["title"].startswith("[FSM] 2018-03: ingest.ingest_timer failed")


@pytest.mark.parametrize(("state", "sent"), [("running", True), ("queued", True), ("failed", False), ("success", False)])
def test_the_slow_run_alert_goes_only_for_a_run_still_running(alerts_to, state, sent):
    """Airflow 3.3.2 prunes deadlines only on success (apache/airflow#60927): a failed run's deadline still fires."""
    from fsm.ops.notify import FsmAlert

    run = {"dag_id": "fsm_monthly_monitoring", "dag_run_id": "scheduled__2018-03-01", "state": state, "conf": {}}
    context = {"dag_run": run, "deadline": {"id": "d1", "deadline_time": "2018-04-01T09:00:00+00:00"}}
    asyncio.run(FsmAlert(kind="deadline", context=context).async_notify(context))
    assert len(alerts_to) == (1 if sent else 0)


def test_the_slow_run_alert_runs_as_the_triggerer_runs_it(alerts_to):
    """The DeadlineAlert callback: Airflow's CallbackTrigger imports fsm.ops.notify.FsmAlert, builds it with the
    deadline context and awaits it (async SMTP)."""
    from airflow.models.callback import CallbackState
    from airflow.triggers.callback import CallbackTrigger

    run = {"dag_id": "fsm_monthly_monitoring", "dag_run_id": "scheduled__2018-03-01", "conf": {"month": "2018-03"},
           "start_date": "2018-04-01T00:00:05+00:00"}  # fmt: skip
    context = {"dag_run": run, "deadline": {"id": "d1", "deadline_time": "2018-04-01T09:00:00+00:00"}}
    trigger = CallbackTrigger("fsm.ops.notify.FsmAlert", {"kind": "deadline", "context": context})

    async def events():
        return [e.payload async for e in trigger.run()]

    states = [e["state"] for e in asyncio.run(events())]
    assert states == [CallbackState.RUNNING, CallbackState.SUCCESS]
    (mail,) = alerts_to
    assert mail["Subject"] == "[FSM] fsm_monthly_monitoring: run scheduled__2018-03-01 is taking far longer than usual"
    body = mail.get_body(("html",)).get_content()
    assert "month 2018-03" in body and "wait_for_month_files" in body and "/dags/fsm_monthly_monitoring/runs/" in body


def test_the_dag_wires_both_alerts(monkeypatch):
    from fsm.ops.notify import FsmAlert
    from fsm_dev.run import load_dag

    monkeypatch.delenv("FSM_SLOW_RUN_ALERT_HOURS", raising=False)
    dag = load_dag()
    assert all(isinstance(t.on_failure_callback[0], FsmAlert) for t in dag.tasks)
    assert not dag.deadline  # off for the local runner (dag.test)

    monkeypatch.setenv("FSM_SLOW_RUN_ALERT_HOURS", "6")  # as docker-compose sets it
    (alert,) = load_dag().deadline
    assert type(alert.reference).__name__ == "AverageRuntimeDeadline" and alert.reference.min_runs >= 3
    assert alert.interval.total_seconds() == 6 * 3600
    assert alert.callback.path == "fsm.ops.notify.FsmAlert" and alert.callback.kwargs == {"kind": "deadline"}


PROBE_DAG = """
from airflow.sdk import DAG, task
from fsm.ops.notify import FsmAlert

with DAG("fsm_alert_probe", schedule=None, default_args={"retries": 0, "on_failure_callback": FsmAlert()}):

    @task(doc_md="Probe. **On failure:** nothing to do, this is a test.")
    def boom():
        raise RuntimeError("probe failure")

    boom()
"""


@pytest.mark.slow
def test_a_task_failing_in_a_real_run_sends_the_mail(alerts_to, tmp_path):
    """`airflow dags test` on a one-task DAG in a throw-away Airflow home: the callback gets Airflow 3's
    real context (ti, task, exception) in the task process."""
    import os
    import subprocess
    import sys

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "fsm_alert_probe.py").write_text(PROBE_DAG)
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/airflow.db", "PYTHONPATH": str(ROOT / "plugins")}  # fmt: skip
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=120)
    out = subprocess.run([airflow, "dags", "test", "fsm_alert_probe", "-c", '{"month": "2018-05"}'],
                         env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    (mail,) = alerts_to
    assert mail["Subject"] == "[FSM] 2018-05: boom failed (fsm_alert_probe)", out.stdout[-3000:]
    body = mail.get_body(("html",)).get_content()
    assert "probe failure" in body and "What to do: nothing to do, this is a test." in body
    assert "/dags/fsm_alert_probe/runs/" in body  # ti.log_url
