"""Ingest: landing zone → readers → validation → staging COPY, one transaction per file (CONTRACT §1).

`ingest_feed(feed, month)` is what the DAG's ingest tasks call.
"""

from fsm.ingest.landing import LandingError, LandingFile, LandingZone
from fsm.ingest.load import FileResult, files_for_month, ingest_feed, load_file
from fsm.ingest.readers import read_table

__all__ = [
    "FileResult",
    "LandingError",
    "LandingFile",
    "LandingZone",
    "files_for_month",
    "ingest_feed",
    "load_file",
    "read_table",
]
