"""fsm-monitor: STAR's monitoring of 'Flere skal med' (FSM1, FSM2), by pipeline stage.

ingest → quality → transform → report, as the DAG's task groups; ops holds what the Airflow UI
and the operators see; config, contract, months, cpr, warehouse and pipeline are shared by all.
docs/ARCHITECTURE.md draws the tree.
"""
