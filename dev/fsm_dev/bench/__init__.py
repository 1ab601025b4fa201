"""`make bench`: fsm_monthly_monitoring at the size of Denmark, every figure measured in one run (issue 8).

python -m fsm_dev.bench [--scale national] [--month 2019-12] [--seed 42] [--fmt parquet]
                        [--programmes FSM1,FSM2] [--fsm2-month 2021-12] [--no-backfill] [--no-steady] [--profile]
                        [--out bench] [--work-dir DIR]
python -m fsm_dev.bench goals [bench/national.json]      # issue 17's goals table from a bench's JSON

Everything runs against bench-private state under `data/bench/<scale>/` (or --work-dir): the
synthetic landing zone (cached by the generator's manifest: seed, scale, months, format,
programmes), an embedded PostgreSQL server (`pg/`, one fresh database per phase), an Airflow
home with its own SQLite metadata (`airflow/`), GX projects and reports (`runs/<phase>/`) and the
log of each phase (`logs/<phase>.log`). It never touches `data/pg`, `.airflow` or `reports/`.

Each phase runs in a fresh interpreter (as an Airflow worker would), one after the other:

  parse     import of dags/fsm_monthly_monitoring.py in a fresh interpreter, 3 times (median). parse_ms
            is the DAG file alone with `airflow.sdk` already imported (what the DAG processor pays
            per parse); parse_cold_ms adds Airflow's own import.
  noop      overhead_s: the real DAG object through `dag.test()` with every task's work a no-op
            (fsm_dev.bench.noop): same dag_id, task ids, groups, dependencies and operator kinds.
  month     month_run_s: a cold run of the month through `fsm_dev.run.run_month(dag, month)`: a fresh
            warehouse database (server started, schema not yet migrated), nothing of the landing
            zone loaded, so the run migrates, ingests everything it needs, checks, transforms, reports.
  floor     floor_s: the physical floor of that data work: the same files (fsm.ingest.files_for_month)
            decoded to CSV by Arrow and COPYed into unindexed all-text scratch tables, plus one
            grouped distinct count over the staged markings and registers.
  backfill  backfill_s: project start … month in one set-based pass (`run_month(..., backfill=True)`)
            on a fresh warehouse database.
  steady    steady_s: the month as the scheduler runs it. On a fresh warehouse database the history
            (project start … month − 1) is loaded and built by one backfill run of the real DAG with
            only its reports skipped (a month's report reads the warehouse, never an earlier report;
            `history` in the JSON), then the month runs through `run_month(dag, month)` and finds only
            its own files new. steady_over_overhead_s = steady_s − overhead_s (the goal: ≤ 10).
  fsm2      (with FSM2 in --programmes) fsm2_month_s: a cold run of FSM2's last month (--fsm2-month)
            with FSM_PROGRAMMES=FSM2, the same way as `month`; fsm2_floor its COPY floor.
  profile   (--profile) the month run again, fresh, under py-spy (--idle: time waiting on
            PostgreSQL is charged to the call that waits); a summary goes into the JSON.

A sampler thread adds up the RSS of this process tree and of the PostgreSQL server's processes
every 0.2 s (RSS counts shared buffers once per backend that touched them: an upper bound).
The run ends with one line, and writes the same figures to `<out>/<scale>.json`:

  bench: month_run_s=… overhead_s=… floor_s=… ratio=… backfill_s=… backfill_ratio=… peak_rss_mb=… parse_ms=… citizens=… benefit_rows=…
         [fsm2_month_s=… fsm2_floor_s=… fsm2_ratio=… fsm2_target_n=… fsm2_benefit_rows=…]
         steady_s=… steady_over_overhead_s=… bytes_per_benefit_row=…

ratio = (month_run_s − overhead_s) / floor_s; backfill_ratio = backfill_s / month_run_s;
bytes_per_benefit_row = (pg_table_size + pg_indexes_size of stg_ydelse) / its rows after the cold
month run (the JSON's `staged` splits table and indexes, for the markings' versions and lines and dim_person too). The JSON's `goals`
holds issue 17's goals table (figure, goal, met); `python -m fsm_dev.bench goals FILE` prints it.

The synthetic country is the whole landing zone of --programmes: with FSM2 (the default) the
registers and snapshots carry FSM2's ~100,000 citizens too (2017-08 … --fsm2-month), so the FSM1
month run reads them as the real registers would make it; `month`, `floor` and `backfill` run
FSM1 (FSM_PROGRAMMES=FSM1: the figures keep their meaning), and `fsm2` runs FSM2 on its own.
--programmes FSM1 reproduces the FSM1-only country of the first measurement.
"""

from fsm_dev.bench.figures import summarise_pyspy, summary_line, transform_models

__all__ = ["summarise_pyspy", "summary_line", "transform_models"]
