"""docker-compose.yml checked statically (no Docker engine here): parsed, then interpolated by compose's
rules (on the parsed strings, as compose does) against .env.example, then the services, healthchecks,
secrets, mounts and connections it yields."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = (ROOT / "docker-compose.yml").read_text()
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
_VAR = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}|\$(\w+)")


class MissingVariable(ValueError):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's rules: ${X}, ${X:-default}, ${X-default}, ${X:?error}, ${X?error}, $$ for a literal $."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group(1) or m.group(4), m.group(2), m.group(3)
        value = env.get(name)
        unset_or_empty = value is None or (op is not None and op.startswith(":") and value == "")
        if op and op.endswith("?") and unset_or_empty:
            raise MissingVariable(f"{name}: {arg}")
        if op and op.endswith("-") and unset_or_empty:
            return interpolate(arg, env)
        return value or ""

    return _VAR.sub(sub, text)


def dotenv(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip().strip("'\"")
    return env


EXAMPLE = dotenv(ROOT / ".env.example")
DOCUMENTED = set(EXAMPLE) | set(re.findall(r"^#\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
FILLED = {k: (v or f"secret-{k.lower().replace('_', '-')}") for k, v in EXAMPLE.items()}


def load(env: dict[str, str]) -> dict:
    def walk(node):
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return interpolate(node, env) if isinstance(node, str) else node

    return walk(yaml.safe_load(COMPOSE))


@pytest.fixture(scope="module")
def stack() -> dict:
    return load(FILLED)


def test_env_example_names_every_variable_and_holds_no_secret():
    used = {m.group(1) or m.group(4) for m in _VAR.finditer(COMPOSE) if m.group(0) != "$$"} - {"HOSTNAME"}
    assert used <= DOCUMENTED, sorted(used - DOCUMENTED)
    required = {m.group(1) for m in _VAR.finditer(COMPOSE) if m.group(2) in (":?", "?")}
    assert {"POSTGRES_AIRFLOW_PASSWORD", "POSTGRES_WAREHOUSE_PASSWORD", "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_JWT_SECRET",
            "AIRFLOW_FERNET_KEY", "FSM_PSEUDONYM_KEY"} <= required  # fmt: skip
    assert all(EXAMPLE[name] == "" for name in required), "a required secret has a value in .env.example"
    with pytest.raises(MissingVariable):  # an unfilled .env does not start the stack
        load(EXAMPLE)
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_the_services_and_their_healthchecks(stack):
    services = stack["services"]
    assert {"postgres", "warehouse", "redis", "airflow-worker"} | AIRFLOW_SERVICES | LINEAGE_SERVICES == set(services)
    for name, service in services.items():
        if name != "airflow-init":  # a one-shot job: the others wait for it to complete
            assert service.get("healthcheck", {}).get("test"), name
    assert services["redis"]["profiles"] == ["celery"] and services["airflow-worker"]["profiles"] == ["celery"]
    assert services["airflow-worker"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully", name
        assert services[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name  # the default
    assert {services[n]["command"] for n in AIRFLOW_SERVICES - {"airflow-init"}} == {
        "api-server", "scheduler", "dag-processor", "triggerer"}  # fmt: skip


def test_airflow_3_settings_are_shared_by_every_airflow_service(stack):
    envs = [stack["services"][n]["environment"] for n in AIRFLOW_SERVICES | {"airflow-worker"}]
    for key in ("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"):  # fmt: skip
        assert len({env[key] for env in envs}) == 1, key
    env = envs[0]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "secret-airflow-jwt-secret"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://airflow:secret-")
    assert "@postgres:5432/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def test_connections_come_as_airflow_connections(stack):
    from airflow.sdk.definitions.connection import Connection

    from fsm.warehouse import _libpq_url

    env = stack["services"]["airflow-scheduler"]["environment"]
    assert (
        _libpq_url(env["AIRFLOW_CONN_FSM_WAREHOUSE"]) == "postgresql://fsm:secret-postgres-warehouse-password@warehouse:5432/fsm"
    )
    key = Connection.from_json(env["AIRFLOW_CONN_FSM_PSEUDONYM"], conn_id="fsm_pseudonym")
    assert key.password == "secret-fsm-pseudonym-key"
    assert "FSM_PSEUDONYM_KEY" not in env and "FSM_WAREHOUSE_URL" not in env  # no FSM_* override in a deployment
    assert env["FSM_ENV"] == "production" and float(env["FSM_SLOW_RUN_ALERT_HOURS"]) > 0
    example = '{"conn_type": "smtp", "host": "smtp.example.dk", "extra": {"to": "ops@example.dk"}}'
    with_alerts = load({**FILLED, "AIRFLOW_CONN_FSM_ALERTS": example})
    alerts = with_alerts["services"]["airflow-triggerer"]["environment"]["AIRFLOW_CONN_FSM_ALERTS"]
    assert Connection.from_json(alerts, conn_id="fsm_alerts").extra_dejson["to"] == "ops@example.dk"


# What the code reads from the environment that a deployment deliberately does not set, and why.
NOT_DEPLOYED = {
    "FSM_WAREHOUSE_URL": "local override; a deployment gives the Airflow connection fsm_warehouse",
    "FSM_PSEUDONYM_KEY": "local override; a deployment gives the Airflow connection fsm_pseudonym",
    "FSM_PROJECT_ROOT": "the image's layout (/opt/airflow) is the code's own default",
    "FSM_CODE_VERSION": "baked into the image (Dockerfile ARG CODE_VERSION), recorded in run_log",
    "FSM_BENCH_SCALE": "make bench only",
    "FSM_SYNTH_SCALE": "make run's synthetic landing zone only",
    "FSM_TEST_PG_URL": "tests only",
    "FSM_STACK_OUT": "make stack-test only",
}


def test_every_variable_the_code_reads_is_set_by_the_stack(stack):
    """Every setting of fsm.config.Settings (the only FSM_* reader) and every other variable read in
    plugins/ or dags/ is set by docker-compose, unless NOT_DEPLOYED says why not."""
    from fsm.config import Settings, env_name

    read = {env_name(field) for field in Settings.model_fields}
    pattern = re.compile(r"""(?:environ(?:\.get|\.setdefault)?[(\[]|getenv\()\s*f?["']((?:FSM|AIRFLOW)_[A-Z0-9_]+)""")
    for path in [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "dags").rglob("*.py")]:
        read |= set(pattern.findall(path.read_text()))
    # the Airflow connections the code looks up (fsm.connections); a deployment gives them by environment
    from fsm.connections import CONN_IDS

    read |= {f"AIRFLOW_CONN_{c.upper()}" for c in CONN_IDS}
    assert {"FSM_LANDING", "FSM_REPORTS_DIR", "FSM_WAIT_HOURS", "AIRFLOW_CONN_FSM_WAREHOUSE"} <= read  # the scan sees them
    env = stack["x-airflow-common"]["environment"]
    for name in sorted(read - set(NOT_DEPLOYED) - {"AIRFLOW_HOME"}):
        assert name in env, f"{name} is read by the code but docker-compose.yml does not set it"
    assert env["FSM_PROGRAMMES"] == "FSM1,FSM2" and float(env["FSM_WAIT_HOURS"]) == 24 * 9


def test_code_landing_zone_and_reports_are_mounted(stack):
    volumes = set(stack["x-airflow-common"]["volumes"])
    for folder in ("dags", "plugins", "include", "expectations"):
        assert f"./{folder}:/opt/airflow/{folder}" in volumes
    assert "./data/landing:/opt/airflow/landing:ro" in volumes and "./reports:/opt/airflow/reports" in volumes
    env = stack["x-airflow-common"]["environment"]
    assert (env["FSM_LANDING"], env["FSM_REPORTS_DIR"]) == ("/opt/airflow/landing", "/opt/airflow/reports")
    for name in AIRFLOW_SERVICES:
        assert set(stack["services"][name]["volumes"]) == volumes, name


def test_init_migrates_and_writes_the_admin_password_from_the_environment(stack):
    init = stack["services"]["airflow-init"]
    script = init["command"][-1]
    assert "airflow db migrate" in script and "/opt/airflow/auth/passwords.json" in script
    assert "secret-airflow-admin-password" not in script  # never on the command line
    assert init["environment"]["_ADMIN_PASSWORD"] == "secret-airflow-admin-password"
    env = init["environment"]
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == "/opt/airflow/auth/passwords.json"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"


def test_the_image_builds_from_requirements_on_the_airflow_image():
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = re.search(r"ARG AIRFLOW_IMAGE=apache/airflow:(?:slim-)?(\d+\.\d+\.\d+)-python(\d+\.\d+)", dockerfile)
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert base and pinned and base.group(1) == pinned.group(1) and base.group(2) == "3.11"
    assert "-r /requirements.txt" in dockerfile
    assert re.search(r"^apache-airflow-providers-celery==", (ROOT / "requirements.txt").read_text(), re.M)  # the celery profile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "data", "reports", ".env"} <= set(ignored)
    assert json.loads((ROOT / "resources" / "dev_connections.json").read_text())  # baked in for `connections import`


def test_the_celery_profile_uses_the_settings_the_stack_test_proves():
    """docker-compose.yml's celery profile says what tests/stack/celery_settings.py says, the settings
    `make stack-test` runs natively (two workers, one killed mid-task): executor, broker, result backend,
    worker command and slots, visibility timeout — the same variable names, the URLs with compose's hosts."""
    from stack import celery_settings

    stack = load({**FILLED, "AIRFLOW_EXECUTOR": "CeleryExecutor", "COMPOSE_PROFILES": "celery"})
    services = stack["services"]
    worker = services["airflow-worker"]
    assert tuple(worker["command"].split()) == celery_settings.WORKER_COMMAND
    for name in AIRFLOW_SERVICES | {"airflow-worker"}:
        env = services[name]["environment"]
        for key, template in celery_settings.CELERY_ENV.items():
            if key == "AIRFLOW__CELERY__WORKER_CONCURRENCY" and name != "airflow-worker":
                continue  # read by the worker only
            assert key in env and celery_settings.matches(template, env[key]), (name, key, env.get(key))
    env = worker["environment"]
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0" and services["redis"]["profiles"] == ["celery"]
    backend = env["AIRFLOW__CELERY__RESULT_BACKEND"]  # the metadata server, through psycopg 3 like the metadata DB
    assert backend == "db+" + env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], backend
    assert not celery_settings.matches(celery_settings.BROKER_URL, "redis://redis:6380/0")  # the check can fail


LINEAGE_SERVICES = {"marquez-db", "marquez", "marquez-web"}


def test_the_lineage_profile_runs_marquez_and_points_openlineage_at_it():
    """COMPOSE_PROFILES=lineage: Marquez (API, its PostgreSQL, the web UI) only in that profile; the Airflow
    services send OpenLineage events there when OPENLINEAGE_URL says so, and are quiet (disabled) without it."""
    quiet = load(FILLED)
    on = load({**FILLED, "COMPOSE_PROFILES": "lineage", "OPENLINEAGE_URL": "http://marquez:5000"})
    services = on["services"]
    for name in LINEAGE_SERVICES:
        assert services[name]["profiles"] == ["lineage"] and services[name]["healthcheck"]["test"], name
    assert services["marquez"]["depends_on"]["marquez-db"]["condition"] == "service_healthy"
    assert services["marquez-web"]["environment"]["MARQUEZ_HOST"] == "marquez"
    api = services["marquez"]
    assert api["environment"]["POSTGRES_HOST"] == "marquez-db" and api["configs"][0]["source"] == "marquez-config"
    config = yaml.safe_load(on["configs"]["marquez-config"]["content"])
    assert config["db"]["url"] == "jdbc:postgresql://${POSTGRES_HOST}:${POSTGRES_PORT}/${POSTGRES_DB}"  # Marquez's own ${}
    assert config["server"]["applicationConnectors"][0]["port"] == 5000 and "5000" in api["ports"][0]
    assert all(p.startswith("127.0.0.1:") for n in LINEAGE_SERVICES for p in services[n].get("ports", []))
    assert "marquez-db" in on["volumes"]
    for name in AIRFLOW_SERVICES | {"airflow-worker"}:
        env, off = services[name]["environment"], quiet["services"][name]["environment"]
        assert env["OPENLINEAGE_URL"] == "http://marquez:5000" and off["OPENLINEAGE_URL"] == "", name
        assert env["AIRFLOW__OPENLINEAGE__CUSTOM_RUN_FACETS"] == "fsm.ops.lineage.month_run_facet", name
        assert env["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "fsm-monitor", name
        assert not any(k.startswith("AIRFLOW__OPENLINEAGE__TRANSPORT") for k in env), name  # the URL decides
    from airflow.providers.openlineage.utils.utils import try_import_from_string

    assert callable(try_import_from_string("fsm.ops.lineage.month_run_facet"))
