-- V007: FSM2 payments (F10, CONTRACT §2 mart_fsm2_payment_status): per as-of month, municipality and
-- part (1, 2, 3: 50/40/10 by default) the grant, the part's amount to the øre (the rounding difference on
-- part 3), whether and when it was earned, and why. As the other marts: the facts (basis_code,
-- basis_args, grant_source_code) are written by the SQL, the English `basis` and `grant_source` rendered
-- from them by fsm.report.basis. Idempotent.
create table if not exists mart_fsm2_payment_status (
    as_of_month        date     not null,
    kommune_kode       smallint not null,
    part               smallint not null check (part in (1, 2, 3)),
    kommune_navn       text     not null,
    part_pct           numeric(5, 2)  not null,
    grant_dkk          numeric(14, 2) not null,
    amount_dkk         numeric(14, 2) not null,
    earned             boolean  not null,
    earned_month       date,
    basis              text     not null,
    grant_source       text     not null,
    basis_code         text     not null,   -- F10_part1_at_start, F10_result_met, F10_result_not_met, F10_no_target_group
    basis_args         jsonb    not null,   -- months, share, counts, the threshold, part and pool in force
    grant_source_code  text     not null,   -- F10_allocation_file, F10_allocation_missing, F10_default_split
    primary key (as_of_month, kommune_kode, part)
);
