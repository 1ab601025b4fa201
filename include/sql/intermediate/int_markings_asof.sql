-- int_markings_asof — D1, M6, P5: FSM1 markings as each as-of month sees them.
-- D1: monitoring sees a marking only from its registration day, and only if registered by
-- the month's end; a municipal marking backdated beyond the grace counts from that day.
-- FSM_BRUTTO is STAR's pre-fill and keeps its own start. Invalid periods are kept but flagged.
-- The month's snapshot is read as versions (issue 17): those valid on its extract date.
with

asof as (
    select * from int_asof_months where snapshot_file_id is not null
),

markings as (
    select * from stg_marking_versions
    where marking_code in ('FSM_BRUTTO', 'FSM_GR1', 'FSM_GR2', 'FSM_GR3', 'FSM_UDSKUDT', 'FSM_PJF')
),

final as (
    select
        a.as_of_month,
        a.last_day,
        k.marking_id,
        k.person_id,
        k.kommune_kode,
        k.marking_code,
        k.start_date,
        k.end_date,
        k.registered_at,
        k.registered_date,
        case
            when k.marking_code = 'FSM_BRUTTO' then k.start_date
            when k.registered_date - k.start_date > {{ backdating_grace_days }} then k.registered_date  -- D1
            else k.start_date
        end as eff_start,
        coalesce(k.end_date < k.start_date, false) as invalid_period  -- M6
    from asof as a
    inner join markings as k
        on a.snapshot_date between k.valid_from and k.valid_to
        and k.registered_date <= a.last_day  -- P5
)

select * from final
