"""`[core] hostname_callable` for the native Celery workers: two workers on one machine record distinct
hostnames on the task instances they run (in docker-compose each container has a hostname of its own)."""

from __future__ import annotations

import os


def hostname() -> str:
    return os.environ["FSM_STACK_WORKER_HOSTNAME"]
