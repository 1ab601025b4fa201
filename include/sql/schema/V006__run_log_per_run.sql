-- V006: run_log becomes one row per run of a month and programme (CONTRACT §2, issue 14): which run
-- (Airflow run id, started/finished), which code, which rules (the whole Rules model as JSON), which
-- files (feed, name, sha256 of every delivery the month's figures read, P5) and how many rows each mart
-- got. A rerun adds a row instead of overwriting the last one, so the history of a month's figures is
-- kept; the report shows the newest. `what_if` names a what-if run (null: the official figures).
alter table run_log
    add column if not exists run_id       text not null default 'before-v006',
    add column if not exists started_at   timestamptz,
    add column if not exists code_version text,
    add column if not exists rules        jsonb,
    add column if not exists files        jsonb,
    add column if not exists row_counts   jsonb,
    add column if not exists what_if      text;

alter table run_log drop constraint if exists run_log_pkey;
alter table run_log add constraint run_log_pkey primary key (as_of_month, programme, step, run_id);
create index if not exists run_log_newest on run_log (as_of_month, programme, step, finished_at desc);
