"""fsm-monitor's dev tooling, apart from the runtime package `fsm` and never in the production image.

synth/     the synthetic landing zone with known, counted defects (`python -m fsm_dev.synth`)
run.py     the local runner: the DAG through Airflow's `dag.test()` (make run, month, backfill)
bench/     the national-scale benchmark (make bench)
dump_marts the marts ordered by every column, to compare a run before and after a change
settings   the dev tools' own variables (FSM_SYNTH_SCALE, FSM_BENCH_SCALE, PY_SPY)

It imports the runtime (`fsm`); the runtime never imports it.
"""
