"""Markings as versions (issue 17, P5): a snapshot merged into `stg_marking_versions`.

A markings snapshot is copied into a temporary table (`LOAD_TABLE`), then merged: a marking whose
content is unchanged from a neighbouring snapshot extends that version's interval of extract dates
[valid_from, valid_to] instead of being stored again. The invariant, kept whatever order snapshots
load in: for every loaded extract date d, the versions with valid_from <= d <= valid_to are exactly
the rows of d's newest file (a same-day redelivery replaces d's rows, as int_asof_months reads it);
intervals are maximal runs of consecutive loaded snapshots, so any load order gives the same
versions. Each file's physical lines are kept apart, compactly (`stg_marking_lines`: its marking
ids in line order), so the view `stg_markings` gives every snapshot file's rows at their lines.
`merge` checks the invariant for the snapshot it loaded, row for row, before the file commits.

Merging snapshot d (prev/next: the loaded extract dates just before and after d):
1. a version spanning d that d shows unchanged stays as it is (the common case: ~95 % of rows);
2. any other version spanning d is cut around d: [valid_from, prev] and/or [next, valid_to];
3. each remaining row of d extends the version of equal content ending at prev and/or starting at
   next (joining both into one), or becomes a new version [d, d] (9999-12-31 for the newest).
"""

from __future__ import annotations

from datetime import date

from fsm.contract import FEEDS

LOAD_TABLE = "_markings_in"  # the snapshot being loaded, as COPY wrote it (dropped at commit)
VERSIONS = "stg_marking_versions"
LINES = "stg_marking_lines"
# a version's content: the staged marking columns (fsm.contract) without the snapshot's own identity
CONTENT = tuple(c for c in FEEDS["markings"].staging_columns if c not in ("file_id", "extract_date", "line_no"))


class VersionMismatch(RuntimeError):
    """The versions valid on a snapshot's date differ from the snapshot's rows (never expected)."""


def _same(a: str, b: str) -> str:
    """SQL: rows a and b have equal content (a NULL equals a NULL)."""
    return f"({', '.join(f'{a}.{c}' for c in CONTENT)}) is not distinct from ({', '.join(f'{b}.{c}' for c in CONTENT)})"


def create_load_table(conn) -> str:
    """The temporary table COPY writes a snapshot into: stg_markings' columns, gone at commit."""
    # a national snapshot (~12 MB) stays in memory (8 MB by default); load_file's connection is fresh,
    # so no temporary table was used in this session yet (PostgreSQL's condition for changing it)
    conn.execute("set local temp_buffers = '64MB'")
    conn.execute(f"create temp table {LOAD_TABLE} (like stg_markings) on commit drop")
    return LOAD_TABLE


def merge(conn, file_id: int, extract_date: date) -> dict[str, int]:
    """Merge the snapshot in LOAD_TABLE (file `file_id`, extract date `extract_date`) into the versions.

    Runs in the loading file's transaction, under ingest's per-feed lock (one markings loader at a time)."""
    prev, nxt = conn.execute(
        "select max(period) filter (where period < %(d)s), min(period) filter (where period > %(d)s)"
        " from ingest_file where feed = 'markings'",
        {"d": extract_date},
    ).fetchone()
    p = {"d": extract_date, "prev": prev, "nxt": nxt}
    cols = ", ".join(CONTENT)
    conn.execute(
        f"insert into {LINES} (file_id, marking_ids, line_nos)"
        f" select %s, coalesce(array_agg(marking_id order by line_no), '{{}}'), coalesce(array_agg(line_no order by line_no), '{{}}')"
        f" from {LOAD_TABLE}",
        (file_id,),
    )
    # 1. versions spanning d, and whether d shows each unchanged
    conn.execute(
        "create temp table _span on commit drop as"
        f" select v.version_id, v.marking_id, v.valid_from, v.valid_to, s.marking_id is not null as kept"
        f" from {VERSIONS} as v left join {LOAD_TABLE} as s on s.marking_id = v.marking_id and {_same('s', 'v')}"
        " where v.valid_from <= %(d)s and v.valid_to >= %(d)s",
        p,
    )
    # 2. cut the others around d: the part after d (only when a later snapshot exists) …
    cut = conn.execute(
        f"insert into {VERSIONS} ({cols}, valid_from, valid_to)"
        f" select {', '.join('v.' + c for c in CONTENT)}, %(nxt)s, v.valid_to"
        f" from {VERSIONS} as v join _span as k using (version_id)"
        " where not k.kept and %(nxt)s::date is not null and k.valid_from < %(d)s and k.valid_to > %(d)s",
        p,
    ).rowcount
    conn.execute(  # a version that began on d (a same-day redelivery replaces d) now begins at next …
        f"update {VERSIONS} as v set valid_from = %(nxt)s from _span as k"
        " where k.version_id = v.version_id and not k.kept and %(nxt)s::date is not null"
        " and k.valid_from = %(d)s and k.valid_to > %(d)s",
        p,
    )
    conn.execute(  # … or, shown on d alone (or open and d the newest), is gone
        f"delete from {VERSIONS} as v using _span as k where k.version_id = v.version_id and not k.kept"
        " and k.valid_from = %(d)s and (k.valid_to = %(d)s or %(nxt)s::date is null)",
        p,
    )
    ended = conn.execute(  # … and the part before d ends at prev
        f"update {VERSIONS} as v set valid_to = %(prev)s from _span as k"
        " where k.version_id = v.version_id and not k.kept and k.valid_from < %(d)s",
        p,
    ).rowcount
    # 3. d's other rows: join the equal neighbour ending at prev and/or starting at next, else a new version
    conn.execute(
        f"create temp table _rest on commit drop as select s.* from {LOAD_TABLE} as s"
        " where not exists (select 1 from _span as k where k.kept and k.marking_id = s.marking_id)"
    )
    conn.execute("analyze _rest")  # usually a few hundred rows: their neighbours are looked up by index
    conn.execute(
        "create temp table _attach on commit drop as"
        " select s.*, l.version_id as left_id, r.version_id as right_id, r.valid_to as right_to"
        " from _rest as s"
        f" left join {VERSIONS} as l on l.marking_id = s.marking_id and l.valid_to = %(prev)s and {_same('l', 's')}"
        f" left join {VERSIONS} as r on r.marking_id = s.marking_id and r.valid_from = %(nxt)s and {_same('r', 's')}",
        p,
    )
    to_d = "case when %(nxt)s::date is null then date '9999-12-31' else %(d)s end"
    conn.execute(
        f"update {VERSIONS} as v set valid_to = coalesce(a.right_to, {to_d}) from _attach as a where v.version_id = a.left_id",
        p,
    )
    conn.execute(f"delete from {VERSIONS} where version_id in (select right_id from _attach where left_id is not null)")
    conn.execute(
        f"update {VERSIONS} as v set valid_from = %(d)s from _attach as a where v.version_id = a.right_id and a.left_id is null",
        p,
    )
    new = conn.execute(
        f"insert into {VERSIONS} ({cols}, valid_from, valid_to)"
        f" select {cols}, %(d)s, {to_d} from _attach where left_id is null and right_id is null",
        p,
    ).rowcount
    kept = conn.execute("select count(*) filter (where kept) from _span").fetchone()[0]
    conn.execute("drop table _span, _rest, _attach")
    rows = _check(conn, extract_date)
    return {"rows": rows, "kept": kept, "new": new, "ended": ended, "cut": cut}


def _check(conn, d: date) -> int:
    """P5, proved on every load: the versions valid on d are the snapshot's rows, no more, no fewer.

    Both sides hold each marking_id at most once in a valid state; the proof does not assume it: n rows
    in the snapshot, n versions on d, and n pairs of equal content covering n distinct snapshot rows
    leave no row unmatched and none matched twice, so the two are equal as multisets."""
    n_rows, n_versions, pairs, matched = conn.execute(
        f"select (select count(*) from {LOAD_TABLE}),"
        f" (select count(*) from {VERSIONS} where %(d)s between valid_from and valid_to),"
        " count(*), count(distinct s.marking_id)"
        f" from {LOAD_TABLE} as s join {VERSIONS} as v on v.marking_id = s.marking_id"
        f" and %(d)s between v.valid_from and v.valid_to and {_same('s', 'v')}",
        {"d": d},
    ).fetchone()
    if not n_rows == n_versions == pairs == matched:
        raise VersionMismatch(
            f"markings versions on {d}: {n_rows} snapshot rows, {n_versions} versions, {pairs} equal pairs over {matched} rows"
        )
    return n_versions
