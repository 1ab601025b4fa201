-- V013 (issue 17): what each as-of month's mart rows were computed from, so that a monthly run recomputes only
-- the as-of months its inputs can change (fsm.transform.history). A fingerprint is written in the transaction
-- that writes the month's official rows, and read by later runs of the same programme.
create table if not exists mart_inputs (
    programme   text        not null,
    as_of_month date        not null,
    fingerprint text        not null,  -- md5 of the models, the rules, the snapshot and the register files the rows read
    row_counts  jsonb       not null,  -- rows written per mart: rows deleted since then make the month computed again
    recorded_at timestamptz not null default now(),
    primary key (programme, as_of_month)
);

-- V2's count behind coverage (visited, and deferred when they count as visited): tranche 2 reads it for
-- earlier months (P2's basis), so a month reused from the warehouse needs it stored with its row.
alter table mart_visitation_progress add column if not exists accounted_n integer;
