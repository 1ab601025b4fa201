"""A month-by-month run in a process of its own, for the fault tests (issue 9).

python tests/support/child.py <landing> <progress-file> <YYYY-MM> [<YYYY-MM> …]

For each month: migrate, ingest every feed, the marking rules (SQL only, no GX) and the FSM1
marts, against FSM_WAREHOUSE_URL with FSM_PSEUDONYM_KEY, exactly as the DAG's tasks call them.
Each step is announced in the progress file before it starts ('STEP ingest:ydelse 2017-09'), so
the parent knows where its SIGKILL or pg_terminate_backend landed. Exit 0 after 'DONE'.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins"))

FEEDS = ("markings", "ydelse", "tilbud", "timer", "uddannelse", "allocations")


def run(landing: str, months: list[str], say=lambda *_: None) -> None:
    from fsm import warehouse
    from fsm.ingest import ingest_feed
    from fsm.months import parse_month
    from fsm.quality import check_markings
    from fsm.transform import run_fsm1

    say("STEP migrate")
    warehouse.migrate()
    for label in months:
        m = parse_month(label)
        for feed in FEEDS:
            say(f"STEP ingest:{feed} {label}")
            ingest_feed(feed, m, landing)
        say(f"STEP dq {label}")
        check_markings(m)
        say(f"STEP transform {label}")
        run_fsm1(m)


def main() -> int:
    landing, progress, *months = sys.argv[1:]
    t0 = time.perf_counter()
    with open(progress, "a", buffering=1, encoding="utf-8") as out:

        def say(text: str) -> None:
            out.write(f"{time.perf_counter() - t0:.3f} {text}\n")

        import pandas  # noqa: F401 - the heavy imports first, so READY means 'about to work'
        import psycopg  # noqa: F401

        import fsm.ingest
        import fsm.quality
        import fsm.transform  # noqa: F401

        say("READY")
        try:
            run(landing, months, say)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which checks the kind
            say(f"FAILED {type(exc).__name__}: {str(exc)[:200]!r}")
            return 1
        say("DONE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
