"""The Airflow plugin (plugins/fsm_airflow_plugin.py, fsm.ops.ui) without a browser: links, month resolution,
the served report pages and their access check. The browser test is tests/ops/test_ui_browser.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugins" / "fsm_airflow_plugin.py"
RUN_ID = "manual__2018-04-02T10:00:00+00:00"


def test_the_plugin_is_one_top_level_file_airflow_loads_without_fastapi():
    """Airflow imports every .py under plugins/ in every process: the plugin must import cheaply."""
    code = (
        "import sys, json, importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('fsm_airflow_plugin', {str(PLUGIN)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "p = m.FsmPlugin\n"
        "print(json.dumps({'name': p.name, 'links': [l.name for l in p.global_operator_extra_links],\n"
        "  'prefix': [a['url_prefix'] for a in p.fastapi_apps], 'fastapi': 'fastapi' in sys.modules}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "plugins")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"name": "fsm", "links": ["Tranche report", "Data Docs"], "prefix": ["/fsm"], "fastapi": False}
    assert "fsm/" in (ROOT / "plugins" / ".airflowignore").read_text().split()  # the package is not a plugin


def test_the_links_name_the_run_and_only_for_our_dag():
    from airflow.models.taskinstancekey import TaskInstanceKey

    from fsm.ops.ui import DataDocsLink, ReportLink

    key = TaskInstanceKey("fsm_monthly_monitoring", "write_report", RUN_ID)
    assert ReportLink().get_link(None, ti_key=key) == (
        "/fsm/run/report?dag_id=fsm_monthly_monitoring&run_id=manual__2018-04-02T10%3A00%3A00%2B00%3A00"
    )
    assert DataDocsLink().get_link(None, ti_key=key).startswith("/fsm/run/data_docs?dag_id=fsm_monthly_monitoring&")
    assert ReportLink().get_link(None, ti_key=TaskInstanceKey("other_dag", "t", RUN_ID)) == ""  # hidden elsewhere


def test_a_runs_month_is_the_sensors_xcom_else_the_month_param_else_the_data_interval():
    from fsm.ops.ui import resolve_month

    march_cph = datetime(2018, 2, 28, 23, 0, tzinfo=UTC)  # 2018-03-01 00:00 in Copenhagen
    assert resolve_month("2018-05-01", {"month": "2018-04"}, march_cph) == "2018-05"
    assert resolve_month(None, {"month": "2018-04", "backfill": False}, march_cph) == "2018-04"
    assert resolve_month(None, {"month": None}, march_cph) == "2018-03"
    assert resolve_month(None, {}, None) is None


@pytest.fixture
def reports(tmp_path, monkeypatch):
    (tmp_path / "2018-03" / "data_docs").mkdir(parents=True)
    (tmp_path / "2018-03" / "tranche_report.html").write_text("<title>report 2018-03</title>")
    (tmp_path / "2018-03" / "data_docs" / "index.html").write_text("<title>docs 2018-03</title>")
    (tmp_path / "secret.txt").write_text("not a report")
    monkeypatch.setenv("FSM_REPORTS_DIR", str(tmp_path))
    return tmp_path


def test_report_files_are_found_only_inside_a_months_folder(reports):
    from fsm.ops.ui import report_file

    assert report_file(reports, "2018-03", "tranche_report.html") == reports / "2018-03" / "tranche_report.html"
    assert report_file(reports, "2018-03", "data_docs/index.html") is not None
    assert report_file(reports, "2018-03", "../secret.txt") is None
    assert report_file(reports, "..", "secret.txt") is None
    assert report_file(reports, "2018-13", "tranche_report.html") is None
    assert report_file(reports, "2018-03", "data_docs") is None  # a folder
    assert report_file(reports, "2018-04", "tranche_report.html") is None


def _client(authorised: bool):
    from fastapi.testclient import TestClient

    from fsm.ops.ui import create_app

    app = create_app()
    if authorised:  # stand in for a user who may read the DAG
        (check,) = app.router.dependencies
        app.dependency_overrides[check.dependency] = lambda: None
    return TestClient(app)


def test_the_pages_need_a_user_who_may_read_the_dag(reports):
    response = _client(authorised=False).get("/reports/2018-03/tranche_report.html")
    assert response.status_code == 401


def test_the_reports_are_served_with_relative_links_intact(reports):
    client = _client(authorised=True)
    page = client.get("/reports/2018-03/tranche_report.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html") and "report 2018-03" in page.text
    assert "docs 2018-03" in client.get("/reports/2018-03/data_docs/index.html").text
    assert client.get("/reports/2018-03/..%2F..%2Fsecret.txt").status_code == 404
    index = client.get("/reports/")
    assert "2018-03/tranche_report.html" in index.text and "2018-03/data_docs/index.html" in index.text
    assert client.get("/run/report", params={"dag_id": "other_dag", "run_id": RUN_ID}).status_code == 404
