"""DAG integrity and policy: imports cleanly and lightly, docs/tags/owner/retries, the data interval we mean."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG_FILE = ROOT / "dags" / "fsm_monthly_monitoring.py"
HEAVY = ("great_expectations", "pandas", "matplotlib", "xlsxwriter", "openpyxl", "pyarrow", "jinja2.environment_fsm")
APPROVED_TAGS = {"fsm", "star", "monthly", "finance", "fsm2", "backfill"}
CPH = ZoneInfo("Europe/Copenhagen")


@pytest.fixture(scope="module")
def dag():
    from fsm_dev.run import load_dag

    return load_dag()


def test_parsing_the_dag_file_imports_no_heavy_library():
    code = (
        "import sys, json, importlib.util\n"
        f"sys.path.insert(0, {str(ROOT / 'plugins')!r})\n"
        f"spec = importlib.util.spec_from_file_location('d', {str(DAG_FILE)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        f"print(json.dumps([h for h in {list(HEAVY)!r} if h in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(), check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_dagbag_has_no_import_errors():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert "fsm_monthly_monitoring" in bag.dag_ids


def test_policy_tags_owner_retries_docs(dag):
    assert dag.doc_md and "as of the end of one month" in dag.doc_md
    assert set(dag.tags) <= APPROVED_TAGS and dag.tags
    assert dag.max_active_runs == 1
    for t in dag.tasks:
        assert t.owner == "star-monitoring", t.task_id
        assert t.retries >= 1, t.task_id
        assert (t.doc_md and "failure" in t.doc_md.lower()) or t.task_id == "publish", t.task_id


def test_tasks_are_in_groups_in_order(dag):
    ids = set(dag.task_ids)
    assert {"wait_for_month_files", "prepare_warehouse", "quality.check_inputs", "quality.check_markings",
            "transform.build_marts", "write_report", "publish"} <= ids  # fmt: skip
    assert {f"ingest.ingest_{f}" for f in ("markings", "ydelse", "tilbud", "timer", "uddannelse", "allocations")} <= ids
    sensor = dag.get_task("wait_for_month_files")
    assert sensor.mode == "reschedule" and sensor.timeout > 0
    assert "quality.check_markings" in dag.get_task("transform.build_marts").upstream_task_ids
    assert "transform.check_marts" in dag.get_task("write_report").upstream_task_ids  # no report from failed marts


def test_scheduled_run_for_march_2018_covers_march_in_copenhagen(dag):
    from airflow.serialization.encoders import coerce_to_core_timetable

    tt = coerce_to_core_timetable(dag.timetable)
    # The scheduler creates March's run after March: its interval is [2018-03-01, 2018-04-01) local time.
    info = tt.next_dagrun_info(last_automated_data_interval=_interval(tt, 2018, 2), restriction=_restriction(dag))
    assert info.data_interval.start == datetime(2018, 3, 1, tzinfo=CPH)
    assert info.data_interval.end == datetime(2018, 4, 1, tzinfo=CPH)
    assert info.logical_date == datetime(2018, 3, 1, tzinfo=CPH)

    from fsm.months import as_of_month

    assert as_of_month({"month": ""}, info.data_interval.start) == date(2018, 3, 1)


def test_manual_run_gets_the_previous_interval_so_the_month_param_decides(dag):
    from airflow.serialization.encoders import coerce_to_core_timetable

    from fsm.months import as_of_month

    tt = coerce_to_core_timetable(dag.timetable)
    manual = tt.infer_manual_data_interval(run_after=datetime(2018, 3, 1, tzinfo=CPH))
    assert manual.start == datetime(2018, 2, 1, tzinfo=CPH)  # ARCHITECTURE: manual runs get the interval ending at their date
    assert as_of_month({"month": "2018-03"}, manual.start) == date(2018, 3, 1)
    assert as_of_month({"month": ""}, manual.start) == date(2018, 2, 1)


def _interval(tt, year, month):
    from airflow.timetables.base import DataInterval

    start = datetime(year, month, 1, tzinfo=CPH)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=CPH)
    return DataInterval(start, end)


def _restriction(dag):
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=dag.start_date, latest=None, catchup=True)


def test_the_sensor_names_what_is_missing_and_gives_up_clearly(tmp_path):
    from datetime import timedelta

    from fsm.pipeline import MissingFilesError, wait_check

    (tmp_path / "registers" / "timer").mkdir(parents=True)
    (tmp_path / "registers" / "timer" / "timer_2018-03.csv").write_text("cpr;month;cvr;hours;subsidised\n")
    missing = wait_check(date(2018, 3, 1), datetime.now(UTC), str(tmp_path))
    assert missing == [
        "markings/markings_2018-03-DD.csv (a snapshot extracted in 2018-03)",
        "registers/ydelse/ydelse_2018-03.csv",
        "registers/tilbud/tilbud_2018-03.csv",
    ]
    with pytest.raises(MissingFilesError, match=r"month 2018-03's deliveries .* missing: markings/markings_2018-03-DD.csv"):
        wait_check(date(2018, 3, 1), datetime.now(UTC) - timedelta(days=10), str(tmp_path))


def test_the_schedule_ends_with_the_last_programme_month(dag):
    """F9: FSM2's last month is 2021-12, so its run (interval [2021-12-01, 2022-01-01)) is the last one the
    scheduler creates; unpausing the DAG today creates no run for a month nobody monitors."""
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    tt = coerce_to_core_timetable(dag.timetable)
    restriction = TimeRestriction(earliest=dag.start_date, latest=dag.end_date, catchup=True)
    last = tt.next_dagrun_info(last_automated_data_interval=_interval(tt, 2021, 11), restriction=restriction)
    assert last.data_interval.start == datetime(2021, 12, 1, tzinfo=CPH)
    assert tt.next_dagrun_info(last_automated_data_interval=_interval(tt, 2021, 12), restriction=restriction) is None
    no_catchup = TimeRestriction(earliest=dag.start_date, latest=dag.end_date, catchup=False)
    assert tt.next_dagrun_info(last_automated_data_interval=None, restriction=no_catchup) is None


def test_a_month_outside_every_programme_fails_at_once_without_retries(tmp_path):
    from airflow.sdk.exceptions import AirflowFailException

    from fsm.pipeline import wait_check

    for month in (date(2017, 7, 1), date(2022, 1, 1), date(2026, 10, 1)):
        with pytest.raises(AirflowFailException, match=r"no programme is monitored in \d{4}-\d{2} \(F9: FSM1 2017-08"):
            wait_check(month, datetime.now(UTC), str(tmp_path))


@pytest.mark.parametrize("slow_run_alert_hours", ["", "6"])
def test_the_dag_serializes_as_the_dag_processor_stores_it(monkeypatch, slow_run_alert_hours):
    """DagBag imports without serializing; the dag-processor also serializes (a pendulum Duration in the
    DeadlineAlert once passed the first and failed the second)."""
    from airflow.serialization.serialized_objects import DagSerialization

    from fsm_dev.run import load_dag

    monkeypatch.setenv("FSM_SLOW_RUN_ALERT_HOURS", slow_run_alert_hours)
    dag = load_dag()
    data = DagSerialization.to_dict(dag)["dag"]
    back = DagSerialization.from_dict({"__version": DagSerialization.SERIALIZER_VERSION, "dag": data})
    assert back.dag_id == "fsm_monthly_monitoring" and set(back.task_ids) == set(dag.task_ids)
    if slow_run_alert_hours:
        assert data["deadline"][0]["callback"]["__data__"]["path"] == "fsm.ops.notify.FsmAlert"
    else:
        assert not data.get("deadline")


def test_the_trigger_form_takes_one_month_or_the_backfill_or_a_what_if(dag):
    from airflow.sdk import Param
    from airflow.sdk.definitions.param import ParamValidationError

    params = dag.params
    assert set(params) == {"month", "backfill", "what_if_name", "what_if_rules"}
    assert params["month"] is None and params["backfill"] is False  # empty form = the data interval's month
    assert params["what_if_name"] is None and params["what_if_rules"] == {}  # empty = the official run
    name = params.get_param("what_if_name")
    for good in (None, "", "strict-45", "p3_45pct"):
        Param(**{"default": good, **name.schema}).resolve()
    for bad in ("Strict 45", "../x", "-x"):
        with pytest.raises(ParamValidationError):
            Param(**{"default": bad, **name.schema}).resolve()
    month = params.get_param("month")
    assert "2018-03" in month.schema["examples"] and month.schema["title"]
    for good in (None, "", "2017-08", "2021-12"):  # "" as before: the data interval's month
        Param(**{"default": good, **month.schema}).resolve()
    for bad in ("2018-3", "2018-13", "march", "2018-03-01"):
        with pytest.raises(ParamValidationError):
            Param(**{"default": bad, **month.schema}).resolve()


def test_assets_for_staging_marts_and_report(dag):
    from fsm.contract import FEED_NAMES

    # one Asset per writer, so each is updated once a run (issue 14; the URIs it wrote in the event: fsm.ops.lineage)
    writers = {a.name: t.task_id for t in dag.tasks for a in t.outlets}
    assert writers == {**{f"fsm.staging.{f}": f"ingest.ingest_{f}" for f in FEED_NAMES},
                       "fsm.marts": "transform.build_marts", "fsm.tranche_report": "write_report"}  # fmt: skip
    assert sum(len(t.outlets) for t in dag.tasks) == len(writers) and not dag.get_task("publish").outlets
    assert dag.dag_display_name != dag.dag_id and dag.description
