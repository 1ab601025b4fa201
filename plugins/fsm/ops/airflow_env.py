"""The project-local Airflow home: SQLite metadata in .airflow/, examples off, our dags/ and plugins/.

Set before Airflow is imported (the Makefile exports the same values); explicit environment
variables win, so a deployment configures Airflow its own way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fsm.config import PROJECT_ROOT


def configure(root: Path = PROJECT_ROOT) -> None:
    home = Path(os.environ.setdefault("AIRFLOW_HOME", str(root / ".airflow")))
    home.mkdir(parents=True, exist_ok=True)
    defaults = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://localhost:8080/execution/",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    plugins = str(root / "plugins")
    if plugins not in sys.path:
        sys.path.insert(0, plugins)


def migrate_metadata() -> None:
    """`airflow db migrate` once per Airflow home (a stamp file makes the second call free)."""
    configure()
    home = Path(os.environ["AIRFLOW_HOME"])
    stamp = home / ".migrated"
    if stamp.exists() and (home / "airflow.db").exists():
        return
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, env=os.environ.copy(), stdout=subprocess.DEVNULL)
    stamp.touch()
