"""Loading a landing file into bitemporal staging, one transaction per file (CONTRACT §1 'Bad input').

Per file: rows read = rows loaded + rows rejected, each reject with its physical line
number, reason and the row with anything CPR-shaped masked. A file unusable as a whole
raises `LandingError` naming it and the problem. A file is loaded in one transaction, keyed
by (feed, name, sha256): loading it again changes nothing, and a failure or a killed process
leaves nothing of it behind.

Files are streamed: decoded, parsed, validated and copied in chunks (config:
ingest_chunk_rows), so memory stays bounded whatever the size; the max_file_bytes and
max_file_rows settings fail a file that is too large. A physical line is never lost: a record that runs over several lines
is accepted only when its line breaks sit in free text (fritagelse_aarsag); otherwise (an
unbalanced quote) each of its physical lines is rejected on its own.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
import pyarrow as pa

from fsm.contract import FEEDS
from fsm.ingest import versions
from fsm.ingest.fast import FeedMemo, prepare
from fsm.ingest.landing import LandingFile, LandingZone
from fsm.ingest.persons import PersonIds
from fsm.ingest.readers import file_problem, iter_chunks
from fsm.ingest.staging import StagingCopy
from fsm.ingest.validate import CprMemo
from fsm.warehouse import connect

log = logging.getLogger(__name__)


@dataclass
class FileResult:
    feed: str
    file: str
    status: str  # loaded | skipped (already loaded)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0

    def as_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


# Errors in the values of a file that reached the warehouse: the file's problem, not the warehouse's.
_REFUSED = (psycopg.DataError, psycopg.IntegrityError, psycopg.errors.ProgramLimitExceeded)


def _prepare_file(zone: LandingZone, f: LandingFile, memo: FeedMemo) -> Iterator[tuple]:
    """A file read, validated and shaped for staging, chunk by chunk: ("chunk", rows_read, staging
    rows with file_id 0, rejects) …, then ("end", sha256 of the bytes read (CSV)). Raises
    LandingError for a file unusable as a whole."""
    digest = hashlib.sha256()
    seen_ids: dict[str, int] = {}
    with zone.open(f) as stream:
        for chunk in iter_chunks(f, stream, zone.size(f), digest):
            ready = prepare(f.feed, chunk, f, seen_ids, memo)
            staged, rejects = ready.staged.num_rows, len(ready.rejects)
            if chunk.rows_read != staged + rejects:  # never silently lose a row
                raise file_problem(f, f"reconciliation failed: read {chunk.rows_read} != {staged} + {rejects}")
            yield ("chunk", chunk.rows_read, ready.staged, ready.rejects)
    yield ("end", digest.hexdigest())


class _Prefetch:
    """The files of one feed prepared (`_prepare_file`) in a thread, ahead of the loader: Python reads
    and validates the next file while PostgreSQL stores the last chunks of this one and commits it.
    Bounded (a few chunks queued); the first failing file ends it, its error raised where that file
    is loaded, in that file's transaction, exactly as without the thread."""

    DEPTH = 4

    def __init__(self, zone: LandingZone, files: list[LandingFile], memo: FeedMemo):
        import queue
        import threading

        self._queue: queue.Queue = queue.Queue(maxsize=self.DEPTH)
        self._stop = threading.Event()
        self._full = queue.Full
        self._thread = threading.Thread(target=self._run, args=(zone, files, memo), name="ingest-prefetch", daemon=True)
        self._thread.start()

    def _run(self, zone: LandingZone, files: list[LandingFile], memo: FeedMemo) -> None:
        for f in files:
            try:
                for item in _prepare_file(zone, f, memo):
                    if not self._put((f.uri, item)):
                        return
            except BaseException as exc:  # noqa: BLE001 (handed to the loader, which raises it)
                self._put((f.uri, ("error", exc)))
                return

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except self._full:
                continue
        return False

    def take(self, f: LandingFile) -> Iterator[tuple]:
        """The prepared chunks of `f` (the next file in order), then its "end"."""
        while True:
            uri, item = self._queue.get()
            if uri != f.uri:
                raise RuntimeError(f"ingest prefetch out of order: expected {f.uri}, got {uri}")
            if item[0] == "error":
                raise item[1]
            yield item
            if item[0] == "end":
                return

    def skip(self, f: LandingFile) -> None:
        """`f` turned out to be loaded already (by a concurrent run): drop what was prepared of it."""
        for _item in self.take(f):
            pass

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            while not self._queue.empty():
                self._queue.get_nowait()
            self._thread.join(timeout=0.1)


def load_file(
    zone: LandingZone,
    f: LandingFile,
    run_month: date | None = None,
    analyze: bool = True,
    memo: CprMemo | None = None,
    sha: str | None = None,
    prefetch: _Prefetch | None = None,
    person_ids: PersonIds | None = None,
) -> FileResult:
    """Load one file in one transaction: all its rows and rejects, or nothing. Streams in chunks.

    `analyze=False` leaves the staging table's statistics to the caller (ingest_feed refreshes
    them once per feed, not once per file); `memo` carries per-CPR work from file to file; `sha`
    is the file's hash taken before anything of it was read, `prefetch` the thread that prepares
    it and `person_ids` the feed's dim_person ids (ingest_feed; with `prefetch`, that thread's)."""
    if person_ids is None:
        with PersonIds() as own:
            return load_file(zone, f, run_month, analyze, memo, sha, prefetch, own)
    sha = sha or zone.sha256(f)
    with connect() as conn:
        # One loader per feed at a time; re-check inside the lock so concurrent runs load once.
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"ingest:{f.feed}",))
        seen = conn.execute(
            "select rows_read, rows_loaded, rows_rejected from ingest_file where feed = %s and file_name = %s and sha256 = %s",
            (f.feed, f.name, sha),
        ).fetchone()
        if seen:
            if prefetch is not None:
                prefetch.skip(f)
            return FileResult(f.feed, f.name, "skipped", *seen)
        size = zone.size(f)
        file_id = conn.execute(
            "insert into ingest_file (feed, file_name, uri, sha256, period, size_bytes, rows_read, rows_loaded, rows_rejected,"
            " visible_from)"
            " values (%s, %s, %s, %s, %s, %s, 0, 0, 0,"
            # P5: a redelivery of a register month counts from the run that loaded it (never earlier)
            "  case when %s::date is not null and %s <> 'markings' and exists ("
            "    select 1 from ingest_file where feed = %s and period = %s)"
            "  then greatest(%s, %s::date) else %s end)"
            " returning file_id",
            (
                f.feed,
                f.name,
                f.uri,
                sha,
                f.period,
                size if size is not None else -1,
                run_month,
                f.feed,
                f.feed,
                f.period,
                f.period,
                run_month,
                f.period,
            ),
        ).fetchone()[0]
        table = FEEDS[f.feed].staging_table
        # a markings snapshot is copied aside, then merged into its versions (issue 17, P5)
        target = versions.create_load_table(conn) if f.feed == "markings" else table
        read = loaded = rejected = 0
        read_sha = None
        source = prefetch.take(f) if prefetch is not None else _prepare_file(zone, f, FeedMemo(person_ids, memo))
        try:
            with StagingCopy(conn, target, f, file_id) as out:
                for item in source:
                    if item[0] == "end":
                        read_sha = item[1]
                        break
                    _, rows_read, staged, rejects = item
                    at = staged.schema.get_field_index("file_id")
                    staged = staged.set_column(at, "file_id", pa.repeat(pa.scalar(file_id, pa.int64()), staged.num_rows))
                    out.add(staged, rejects)
                    read, loaded, rejected = read + rows_read, loaded + staged.num_rows, rejected + len(rejects)
        except _REFUSED as exc:
            raise file_problem(f, f"the warehouse refused a value ({type(exc).__name__}: {str(exc)[:300]})") from exc
        if read == 0 and not FEEDS[f.feed].empty_allowed:
            raise file_problem(f, f"a {f.feed} snapshot with a header and no rows is never a valid delivery")
        if (read_sha if f.fmt == "csv" else zone.sha256(f)) != sha:
            raise file_problem(f, "the file changed while it was being loaded (a redelivery in progress?); the next try loads it")
        merged = versions.merge(conn, file_id, f.period) if f.feed == "markings" else None
        if merged is not None:
            log.info("%s: versions %s", f.uri, json.dumps(merged))
        conn.execute(
            "update ingest_file set rows_read = %s, rows_loaded = %s, rows_rejected = %s where file_id = %s",
            (read, loaded, rejected, file_id),
        )
        if merged is not None:  # versions.merge proved the versions on the snapshot's date equal its rows
            n_stg = merged["rows"]
        else:
            n_stg = conn.execute(f"select count(*) from {table} where file_id = %s", (file_id,)).fetchone()[0]
        n_rej = conn.execute("select count(*) from ingest_rejects where file_id = %s", (file_id,)).fetchone()[0]
        if (n_stg, n_rej) != (loaded, rejected):
            raise file_problem(f, f"reconciliation failed in the warehouse: staged {n_stg}/{loaded}, rejects {n_rej}/{rejected}")
        if analyze:  # fresh statistics: the next queries (rules, GX, marts) plan on them; stale ones cost minutes
            conn.execute(f"analyze {_stored_in(f.feed)}")
    result = FileResult(f.feed, f.name, "loaded", read, loaded, rejected)
    log.info("%s: read %d = loaded %d + rejected %d", f.uri, result.rows_read, result.rows_loaded, result.rows_rejected)
    return result


def _stored_in(feed: str) -> str:
    """The table a feed's rows are stored in (stg_markings is a view over the markings versions)."""
    return versions.VERSIONS if feed == "markings" else FEEDS[feed].staging_table


def files_for_month(zone: LandingZone, feed: str, month: date) -> list[LandingFile]:
    """P5: the files a run for `month` may see: snapshots extracted by its last day, registers up to it."""
    last_day = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    limit = last_day if feed == "markings" else month
    return [f for f in zone.files(feed) if f.period <= limit]


def ingest_feed(feed: str, month: date, root: str | None = None) -> dict[str, object]:
    """Load every not-yet-loaded file of `feed` visible to `month`'s run. Returns counts (no CPRs)."""
    zone = LandingZone(root)
    results: list[FileResult] = []
    files = files_for_month(zone, feed, month)
    # Hash every file before anything of it is read (a file replaced mid-load then fails its check),
    # and prepare only those not loaded yet: a month's run usually finds one new file per feed.
    hashes = {f.uri: zone.sha256(f) for f in files}
    with connect() as conn:
        loaded = set(conn.execute("select file_name, sha256 from ingest_file where feed = %s", (feed,)).fetchall())
    todo = [f for f in files if (f.name, hashes[f.uri]) not in loaded]
    person_ids = PersonIds()  # used by the prefetch thread alone
    prefetch = _Prefetch(zone, todo, FeedMemo(person_ids)) if todo else None
    try:
        for f in files:
            ahead = prefetch if f in todo else None
            results.append(load_file(zone, f, month, analyze=False, sha=hashes[f.uri], prefetch=ahead, person_ids=person_ids))
    finally:
        person_ids.close()
        if prefetch is not None:
            prefetch.close()
        if any(r.status == "loaded" for r in results):
            # Fresh statistics once per feed (not per file): the next queries (rules, GX, marts) plan
            # on them, and stale ones cost minutes. Also after a failure: what did load is there.
            with connect(autocommit=True) as conn:
                conn.execute(f"analyze {_stored_in(feed)}")
                # ingest_file too: stg_markings (a view) and the input suites' batches join it per file, and
                # a planner that guesses 2 markings files where there are 29 chooses nested loops that run for minutes
                conn.execute("analyze ingest_file")
                conn.execute("analyze dim_person")  # joined for person_key and birth dates (F7)
    summary = {
        "feed": feed,
        "files_loaded": sum(r.status == "loaded" for r in results),
        "files_skipped": sum(r.status == "skipped" for r in results),
        "rows_read": sum(r.rows_read for r in results if r.status == "loaded"),
        "rows_loaded": sum(r.rows_loaded for r in results if r.status == "loaded"),
        "rows_rejected": sum(r.rows_rejected for r in results if r.status == "loaded"),
    }
    log.info("ingest %s for %s: %s", feed, month.isoformat()[:7], json.dumps(summary))
    return summary
