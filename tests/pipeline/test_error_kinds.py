"""Errors by kind: bad input or settings fail a task at once, without retries, naming the file or the
setting; a transient error (the warehouse unreachable) is left to the DAG's retries with backoff."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from airflow.sdk.exceptions import AirflowFailException

from fsm import pipeline

MARKINGS_HEADER = "marking_id;cpr;kommune_kode;marking_code;start_date;end_date;registered_at;fritagelse_aarsag"


def _write(root, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ((MARKINGS_HEADER + "\nm1;0101801001;101;FSM_GR1;2017-09-01;;2017-09-01;Søren\n").encode("latin-1"), "not UTF-8"),
        ((MARKINGS_HEADER + "\n").encode("utf-16"), "UTF-16"),
        (b"marking_id;cpr;kommune_kode\nm1;0101801001;101\n", "missing required column"),
        ((MARKINGS_HEADER + "\n").encode(), "never a valid delivery"),
    ],
    ids=["latin-1", "utf-16", "missing-column", "empty-snapshot"],
)
def test_a_file_waiting_cannot_fix_fails_the_task_at_once(wh, landing, data, says):
    _write(landing, "markings/markings_2017-09-30.csv", data)
    with pytest.raises(AirflowFailException) as err:
        pipeline.ingest("markings", date(2017, 9, 1))
    message = str(err.value)
    assert "markings_2017-09-30.csv" in message and says in message, message
    assert "LandingError: not retried" in message


def test_an_invalid_rule_setting_fails_the_task_at_once(monkeypatch):
    monkeypatch.setenv("FSM_RULE_ACTIVITY_THRESHOLD_PCT", "forty")
    with pytest.raises(AirflowFailException, match=r"FSM_RULE_ACTIVITY_THRESHOLD_PCT.*SettingsError: not retried"):
        pipeline.transform(date(2018, 3, 1))


def test_an_unreachable_warehouse_is_left_to_the_retries(monkeypatch):
    from fsm import warehouse

    monkeypatch.setenv("FSM_WAREHOUSE_URL", "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    warehouse.url.cache_clear()
    try:
        with pytest.raises(psycopg.OperationalError) as err:
            pipeline.prepare_warehouse()
        assert not isinstance(err.value, AirflowFailException)  # transient: Airflow retries it with backoff
    finally:
        warehouse.url.cache_clear()


def test_the_dag_retries_transient_errors_with_backoff():
    from fsm_dev.run import load_dag

    for task in load_dag().tasks:
        assert task.retries >= 2 and task.retry_exponential_backoff >= 2, task.task_id
        assert task.max_retry_delay is not None, task.task_id


@pytest.mark.slow
def test_a_latin1_snapshot_fails_the_run_on_its_first_try(wh, landing, tmp_path, monkeypatch):
    """Through Airflow (dag.test, as `make month`): the ingest task fails on try 1 and is not retried."""
    from airflow.utils.state import TaskInstanceState

    from fsm_dev.run import RunFailed, load_dag, run_month

    bad = (MARKINGS_HEADER + "\nm1;0101801001;101;FSM_GR1;2017-09-01;;2017-09-01;Søren\n").encode("latin-1")
    _write(landing, "markings/markings_2017-09-30.csv", bad)
    for feed in ("ydelse", "tilbud", "timer"):
        _write(landing, f"registers/{feed}/{feed}_2017-09.csv", b"cpr\n")
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("FSM_PROGRAMMES", "FSM1")
    dag = load_dag()
    with pytest.raises(RunFailed, match=r"ingest\.ingest_markings"):
        run_month(dag, "2017-09")
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == dag.dag_id).order_by(DagRun.id.desc()).first()
        ti = next(t for t in run.get_task_instances(session=session) if t.task_id == "ingest.ingest_markings")
        assert ti.state == TaskInstanceState.FAILED and ti.try_number == 1
