-- int_citizen_status — T3, V1, V2, V4 per as-of month and target-group citizen, at month end.
-- V1: visited once a group marking has started (per D1), in force or ended by then.
-- T3: FSM_BRUTTO ending after start before the citizen was visited drops them from the
-- target group from the month it ends (visited citizens stay, configurable).
with

target as (
    select t.*, a.last_day
    from int_target_group as t
    inner join int_asof_months as a on a.as_of_month = t.as_of_month
),

first_visit as (
    select as_of_month, person_id, min(eff_start) as visited_from
    from int_group_periods
    group by as_of_month, person_id
),

group_at_end as (
    select distinct on (g.as_of_month, g.person_id)
        g.as_of_month, g.person_id, g.marking_code
    from int_group_periods as g
    inner join int_asof_months as a on a.as_of_month = g.as_of_month
    where g.eff_start <= a.last_day
        and (g.eff_end is null or g.eff_end > a.last_day)
        and (g.eff_end is null or g.eff_end > g.eff_start)
    order by g.as_of_month, g.person_id, g.eff_start desc
),

in_force_at_end as (  -- UDSKUDT (M4) and PJF (M5) in force on the month's last day
    select m.as_of_month, m.person_id,
        bool_or(m.marking_code = 'FSM_UDSKUDT') as deferred_marking,
        bool_or(m.marking_code = 'FSM_PJF')     as pjf
    from int_markings_asof as m
    where m.marking_code in ('FSM_UDSKUDT', 'FSM_PJF')
        and not m.invalid_period
        and m.eff_start <= m.last_day
        and (m.end_date is null or m.end_date > m.last_day)
    group by m.as_of_month, m.person_id
),

joined as (
    select
        t.as_of_month,
        t.person_id,
        t.kommune_kode,
        v.visited_from is not null and v.visited_from <= t.last_day as visited,
        t.brutto_end is not null and t.brutto_end <= t.last_day    as brutto_ended,
        v.visited_from is not null and v.visited_from < t.brutto_end as visited_before_end,
        g.marking_code as group_at_end,
        coalesce(f.deferred_marking, false) as deferred_marking,
        coalesce(f.pjf, false) as pjf
    from target as t
    left join first_visit as v using (as_of_month, person_id)
    left join group_at_end as g using (as_of_month, person_id)
    left join in_force_at_end as f using (as_of_month, person_id)
),

final as (
    select
        as_of_month,
        person_id,
        kommune_kode,
        -- T3
        brutto_ended and not coalesce(visited_before_end, false) as left_unvisited,
        brutto_ended and (not coalesce(visited_before_end, false) or not {{ visited_stay_in_target_group }}) as left_target,
        visited,                                             -- V1
        deferred_marking and not visited as deferred,        -- V2
        group_at_end,                                        -- V3 group counts
        group_at_end = 'FSM_GR1' and pjf as pjf_group1       -- V4
    from joined
)

select * from final
