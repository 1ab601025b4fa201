"""The two kinds of failure: one that waiting cannot fix (fail at once, no retry) and everything else (retry).

A `PermanentError` is bad input or bad configuration: an unreadable landing file, a wrong
encoding, a missing column, an empty snapshot, an invalid rule setting, a missing connection,
a failed input suite. Retrying it only delays the alert, so the task boundary
(`fsm.pipeline.final_on_permanent_errors`) turns it into Airflow's AirflowFailException. Any
other error (a lost database connection, an object-storage timeout) keeps the DAG's retries
with exponential backoff.
"""

from __future__ import annotations


class PermanentError(Exception):
    """Waiting cannot fix this: the message names the file or the setting and the problem."""
