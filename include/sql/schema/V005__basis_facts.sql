-- V005: the facts behind each mart row's sentence (issue 13). `basis` and `grant_source` stay
-- (CONTRACT §2) and are rendered from these by fsm.report.basis, in English for the warehouse and
-- in the report's language for the report: no sentence is built in SQL and no configured value
-- (pool, thresholds) is spelled in one. Rows written before V005 keep null codes until their
-- month is rerun. Idempotent.
alter table mart_tranche_status
    add column if not exists basis_code        text,    -- P1_paid_at_start, P2_coverage_met, … (fsm.report.basis)
    add column if not exists basis_args        jsonb,   -- months, shares, counts, the threshold and pool in force
    add column if not exists grant_source_code text;    -- P4_allocation_file, P4_allocation_missing, P4_default_split

alter table mart_fsm2_requirement
    add column if not exists basis_code  text,          -- F8_met, F8_not_met
    add column if not exists basis_args  jsonb;         -- share, counts, month, threshold
