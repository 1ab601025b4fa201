"""Airflow plugin for fsm_monthly_monitoring: from a run to its tranche report and Data Docs.

A single top-level file because Airflow's plugin loader imports every .py under plugins/ (the fsm
package is kept out of it by .airflowignore); the code is in fsm.ops.ui. Adds, in the UI:
- extra links 'Tranche report' and 'Data Docs' on every task instance of the DAG,
- a 'Report' tab on each of its runs, 'FSM reports' (every month) and 'FSM status' (fsm.ops.status) under Browse,
all served by the api-server from FSM_REPORTS_DIR under /fsm/.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from fsm.ops.ui import DataDocsLink, ReportLink, reports_app


class FsmPlugin(AirflowPlugin):
    name = "fsm"
    global_operator_extra_links = [ReportLink(), DataDocsLink()]  # noqa: RUF012 - Airflow's plugin API
    fastapi_apps = [{"app": reports_app, "url_prefix": "/fsm", "name": "FSM reports"}]  # noqa: RUF012
    external_views = [  # noqa: RUF012
        {
            "name": "Report",
            "href": "/fsm/run/report?dag_id={DAG_ID}&run_id={RUN_ID}",
            "destination": "dag_run",
            "url_route": "fsm_report",
        },
        {"name": "FSM reports", "href": "/fsm/reports/", "destination": "nav", "category": "browse", "url_route": "fsm_reports"},
        {"name": "FSM status", "href": "/fsm/status/", "destination": "nav", "category": "browse", "url_route": "fsm_status"},
    ]
