"""Markings as versions (issue 17, P5): every snapshot rebuilt from the versions equals its file's rows.

Random snapshots with unchanged, changed, deleted and re-appearing markings are loaded in order, in
reverse, shuffled, with a same-day redelivery and with a reload; after every load each loaded
snapshot read back through `stg_markings` (versions valid on its date, at their lines) must equal
the rows of its file, and the versions must come out the same whatever the load order.
"""

from __future__ import annotations

import itertools
import random
from datetime import date

import pytest

from fsm.cpr import person_key
from fsm.ingest import ingest_feed

HEADER = "marking_id;cpr;kommune_kode;marking_code;start_date;end_date;registered_at;fritagelse_aarsag"
DATES = [date(2017, 8, 31), date(2017, 9, 30), date(2017, 10, 31), date(2017, 11, 30), date(2017, 12, 31), date(2018, 1, 31)]
COLUMNS = "marking_id, person_id, kommune_kode, marking_code, start_date, end_date, registered_date, fritagelse_aarsag"
CONTENT = (  # person_key from dim_person (V011): the rows carry person_id
    "marking_id, (select p.person_key from dim_person as p where p.person_id = s.person_id), kommune_kode, marking_code,"
    " start_date, end_date, registered_date, fritagelse_aarsag"
)


def _cpr(n: int) -> str:
    return f"010180{1000 + n:04d}"


def _variant(rng: random.Random, mid: str) -> tuple:
    """One content of marking `mid`: (person, kommune, code, start, end, registered, reason)."""
    person = int(mid[1:]) % 7
    code = rng.choice(["FSM_GR1", "FSM_GR2", "FRITAGELSE"])
    end = rng.choice(["", "2018-03-01", "2018-06-01"])
    return (person, rng.choice([101, 147]), code, "2017-08-15", end, f"2017-08-{rng.randint(15, 28)}", rng.choice(["", "syg"]))


def snapshots(seed: int, n_markings: int = 40) -> dict[date, list[tuple]]:
    """Per extract date the rows (marking_id, content …) in file order: a random walk per marking."""
    rng = random.Random(seed)
    state: dict[str, tuple | None] = {f"m{i}": None for i in range(n_markings)}
    last: dict[str, tuple] = {}
    out = {}
    for d in DATES:
        for mid, now in state.items():
            roll = rng.random()
            if now is None:  # absent: appears, often with the content it had before it was deleted
                if roll < 0.4:
                    state[mid] = last.get(mid) if mid in last and rng.random() < 0.6 else _variant(rng, mid)
            elif roll < 0.15:
                state[mid] = None  # deleted from this snapshot on
            elif roll < 0.35:
                state[mid] = _variant(rng, mid)  # changed (end-dated, moved, …)
            if state[mid] is not None:
                last[mid] = state[mid]
        rows = [(mid, *c) for mid, c in state.items() if c is not None]
        rng.shuffle(rows)  # lines move between snapshots
        out[d] = rows
    return out


def write(landing, d: date, rows: list[tuple]) -> None:
    folder = landing / "markings"
    folder.mkdir(exist_ok=True)
    lines = [HEADER] + [
        f"{mid};{_cpr(p)};{k};{code};{start};{end};{reg}T10:00:00;{reason}" for mid, p, k, code, start, end, reg, reason in rows
    ]
    (folder / f"markings_{d}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def expected(rows: list[tuple]) -> list[tuple]:
    return sorted(
        (line, mid, person_key(_cpr(p)), k, code, date.fromisoformat(start), date.fromisoformat(end) if end else None,
         date.fromisoformat(reg), reason or None)
        for line, (mid, p, k, code, start, end, reg, reason) in enumerate(rows, start=2)
    )  # fmt: skip


def staged(conn, d: date) -> list[tuple]:
    """Snapshot d as the warehouse gives it back: the newest file of that date, through the view."""
    return conn.execute(
        f"select line_no, {CONTENT} from stg_markings as s where extract_date = %s order by line_no", (d,)
    ).fetchall()


def versions(conn) -> list[tuple]:
    return conn.execute(
        f"select {CONTENT}, registered_at, valid_from, valid_to from stg_marking_versions as s order by 1, 10"
    ).fetchall()


def load(landing, snaps: dict[date, list[tuple]], order: list[date], wh) -> None:
    """Load the snapshots one at a time in `order`; after each, every loaded one must read back exactly."""
    for i, d in enumerate(order):
        write(landing, d, snaps[d])
        ingest_feed("markings", date(2018, 12, 1))
        with wh.connect() as conn:
            for seen in order[: i + 1]:
                assert staged(conn, seen) == expected(snaps[seen]), f"snapshot {seen} after loading {order[: i + 1]}"
            _canonical(conn)


def _canonical(conn) -> None:
    """Per marking, versions never overlap, and two touching ones always differ (maximal runs)."""
    overlapping = conn.execute(
        "select count(*) from stg_marking_versions a join stg_marking_versions b on a.marking_id = b.marking_id"
        " and a.version_id < b.version_id and a.valid_from <= b.valid_to and b.valid_from <= a.valid_to"
    ).fetchone()[0]
    assert overlapping == 0
    touching_equal = conn.execute(
        "with d as (select distinct period from ingest_file where feed = 'markings'),"
        " nxt as (select period, lead(period) over (order by period) as n from d)"
        f" select count(*) from stg_marking_versions a join nxt on nxt.period = a.valid_to"
        f" join stg_marking_versions b on b.marking_id = a.marking_id and b.valid_from = nxt.n"
        f" and ({', '.join('a.' + c for c in COLUMNS.split(', '))}, a.registered_at)"
        f" is not distinct from ({', '.join('b.' + c for c in COLUMNS.split(', '))}, b.registered_at)"
    ).fetchone()[0]
    assert touching_equal == 0


@pytest.mark.parametrize("seed", [1, 2])
def test_snapshots_rebuilt_from_versions_equal_their_files_in_any_load_order(wh, landing, seed):
    snaps = snapshots(seed)
    ids = [{r[0] for r in snaps[d]} for d in DATES]
    assert any(a - b for a, b in itertools.pairwise(ids)), "the walk deletes markings"
    assert any((b - a) & set().union(*ids[:i]) for i, (a, b) in enumerate(itertools.pairwise(ids))), "and re-adds"
    load(landing, snaps, DATES, wh)
    with wh.connect() as conn:
        in_order = versions(conn)
        n_rows = sum(len(r) for r in snaps.values())
        assert len(in_order) < n_rows  # unchanged content is stored once
    rng = random.Random(seed)
    for order in (list(reversed(DATES)), rng.sample(DATES, len(DATES)), rng.sample(DATES, len(DATES))):
        wh_empty(wh, landing)
        load(landing, snaps, order, wh)
        with wh.connect() as conn:
            assert versions(conn) == in_order, f"load order {order}"


def wh_empty(wh, landing) -> None:
    from support.db import empty_warehouse

    empty_warehouse()
    for f in (landing / "markings").iterdir():
        f.unlink()


def test_a_same_day_redelivery_replaces_that_snapshot_and_a_reload_changes_nothing(wh, landing):
    snaps = snapshots(7)
    load(landing, snaps, DATES, wh)
    with wh.connect() as conn:
        before = versions(conn)
    ingest_feed("markings", date(2018, 12, 1))  # the same files again: skipped
    with wh.connect() as conn:
        assert versions(conn) == before
    d = DATES[2]
    fixed = [r for r in snaps[d] if r[0] != snaps[d][0][0]]  # one marking less, one changed, one new
    fixed[0] = (fixed[0][0], *_variant(random.Random(99), fixed[0][0]))
    fixed.append(("m99", 3, 101, "FSM_GR1", "2017-10-02", "", "2017-10-02", ""))
    write(landing, d, fixed)
    assert ingest_feed("markings", date(2018, 12, 1))["files_loaded"] == 1
    with wh.connect() as conn:
        assert staged(conn, d) == expected(fixed)
        for other in DATES:
            if other != d:
                assert staged(conn, other) == expected(snaps[other])
        # the replaced file shows nothing any more; the as-of month reads the redelivery
        n_files = conn.execute("select count(distinct file_id) from stg_markings where extract_date = %s", (d,)).fetchone()[0]
        assert n_files == 1
        _canonical(conn)
    # the same redelivery loaded into a fresh warehouse after the original gives the same versions
    with wh.connect() as conn:
        after = versions(conn)
    wh_empty(wh, landing)
    write(landing, d, snaps[d])
    ingest_feed("markings", date(2018, 12, 1))
    write(landing, d, fixed)
    for other in DATES:
        if other != d:
            write(landing, other, {**snaps, d: fixed}[other])
    ingest_feed("markings", date(2018, 12, 1))
    with wh.connect() as conn:
        assert versions(conn) == after
