"""Dump the warehouse's marts (and DQ flags, rejects, file counts) ordered by every column, to compare two runs.

A code change that reshapes the house must leave these files byte-identical:

    python -m fsm_dev.dump_marts before/          # on the warehouse of the run before the change
    python -m fsm_dev.dump_marts after/           # … and after it
    diff -r before/ after/

`--exclude` leaves out columns a change adds (e.g. `--exclude basis_code,basis_args`), so the
columns both sides have are compared. The warehouse is the one `fsm.warehouse` resolves
(FSM_WAREHOUSE_URL, else the embedded one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Volatile columns (load times, surrogate keys) never compare equal across runs.
TABLES: dict[str, str | None] = {
    "mart_visitation_progress": None,
    "mart_activity_share": None,
    "mart_tranche_status": None,
    "mart_fsm2_result": None,
    "mart_fsm2_requirement": None,
    "mart_fsm2_payment_status": None,  # F10 (V007)
    "dq_marking_violations": None,
    "ingest_rejects": "file, line_no, feed, reason, row_masked",
    "ingest_file": "feed, file_name, sha256, period, size_bytes, rows_read, rows_loaded, rows_rejected",
}


def dump(out: Path, exclude: set[str]) -> dict[str, int]:
    from fsm import warehouse

    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    with warehouse.connect() as conn:
        for table, fixed in TABLES.items():
            if fixed is None:
                cols = [
                    r[0]
                    for r in conn.execute(
                        "select column_name from information_schema.columns where table_name = %s order by ordinal_position",
                        (table,),
                    )
                    if r[0] not in exclude
                ]
                if not cols:
                    continue  # an older schema without this table
                fixed = ", ".join(cols)
            n = fixed.count(",") + 1
            order = ", ".join(str(i) for i in range(1, n + 1))
            path = out / f"{table}.csv"
            with (
                path.open("wb") as fh,
                conn.cursor().copy(f"copy (select {fixed} from {table} order by {order}) to stdout csv header") as cp,
            ):
                for block in cp:
                    fh.write(block)
            counts[table] = sum(1 for _ in path.open(encoding="utf-8")) - 1
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="folder for the CSV files")
    ap.add_argument("--exclude", default="", help="comma-separated columns to leave out")
    args = ap.parse_args(argv)
    counts = dump(args.out, {c.strip() for c in args.exclude.split(",") if c.strip()})
    for table, n in counts.items():
        print(f"{table}: {n:,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
