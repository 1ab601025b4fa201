"""The CeleryExecutor's settings, once: the native stack test (`make stack-test`) starts its Celery stack with
them, and docker-compose.yml's `celery` profile must say the same (tests/ops/test_compose.py checks it).

Host names, passwords, database names and the Redis db number differ between the two (compose: the `redis`
and `postgres` services, Redis db 0, the metadata database; the native test: 127.0.0.1, a Redis db of its
own, a throw-away database), so the URLs are templates with {placeholders}; everything else is literal.

Why these values:
- Broker Redis, result backend PostgreSQL through psycopg 3 (`db+postgresql+psycopg://`), as Airflow's docs
  recommend (a database, not Redis, for results).
- Two task slots per worker: a month's six ingest tasks spread over two workers, and a worker's memory
  holds two tasks' chunks (FSM_INGEST_CHUNK_ROWS) at national scale.
- `task_acks_late` stays Airflow's default (True) and the visibility timeout is said out loud (Airflow's own
  default, without the warning it logs when unset): a task message is acknowledged only when the task has
  ended, and Redis hands an unacknowledged message to another worker only after this many seconds.
  It is NOT what recovers a task whose worker died mid-task: the scheduler does that, when the task
  instance has not heartbeaten for `[scheduler] task_instance_heartbeat_timeout` seconds (default 300; the
  stack test shortens it, see HEARTBEAT_TIMEOUT_TEST), and the retry then goes to any live worker.
"""

from __future__ import annotations

import re

WORKER_COMMAND = ("celery", "worker")  # `airflow celery worker`
BROKER_URL = "redis://{host}:6379/{db}"
RESULT_BACKEND = "db+postgresql+psycopg://{auth}@{host}:5432/{database}"
CELERY_ENV = {
    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
    "AIRFLOW__CELERY__BROKER_URL": BROKER_URL,
    "AIRFLOW__CELERY__RESULT_BACKEND": RESULT_BACKEND,
    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "86400",
}
# Only the native test: a dead worker's task is noticed after 30 s instead of 5 min (the CI budget).
HEARTBEAT_TIMEOUT_TEST = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
}


def filled(**values: str) -> dict[str, str]:
    """CELERY_ENV with its URL templates filled: host/db for the broker, auth/host/database for the backend."""
    broker = BROKER_URL.format(host=values["redis_host"], db=values["redis_db"])
    backend = RESULT_BACKEND.format(auth=values["pg_auth"], host=values["pg_host"], database=values["pg_database"])
    return {**CELERY_ENV, "AIRFLOW__CELERY__BROKER_URL": broker, "AIRFLOW__CELERY__RESULT_BACKEND": backend}


def matches(template: str, value: str) -> bool:
    """Whether `value` is `template` with each {placeholder} filled by something non-empty."""
    parts = re.split(r"\{\w+\}", template)
    return re.fullmatch(r"[^/]+?".join(map(re.escape, parts)), value) is not None
