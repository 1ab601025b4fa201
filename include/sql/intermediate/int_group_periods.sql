-- int_group_periods — D1, M2, M6: the group markings (FSM_GR1/2/3) of each citizen with their
-- effective period. Of two overlapping group markings the earlier ends when the later starts,
-- so at most one group is in force on any day. Invalid periods are ignored.
-- seq orders the markings as start clarification saw them (C2): effective start, then
-- registration time, then marking id.
with

groups as (
    select
        m.as_of_month,
        m.person_id,
        m.marking_id,
        m.marking_code,
        m.eff_start,
        m.end_date,
        m.registered_at,
        lead(m.eff_start) over w as next_start,
        row_number() over w      as seq
    from int_markings_asof as m
    where m.marking_code in ('FSM_GR1', 'FSM_GR2', 'FSM_GR3')
        and not m.invalid_period
    window w as (partition by m.as_of_month, m.person_id order by m.eff_start, m.registered_at, m.marking_id)
),

final as (
    select
        as_of_month,
        person_id,
        marking_id,
        marking_code,
        seq,
        eff_start,
        case
            when next_start is not null and (end_date is null or next_start < end_date) then next_start
            else end_date
        end as eff_end
    from groups
)

select * from final
