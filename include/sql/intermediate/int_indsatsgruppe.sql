-- int_indsatsgruppe — C1, C2, C3: the monitored group 1. A citizen is in it when their first
-- group marking at start clarification (earliest effective start per D1, then registration
-- time, then id) is FSM_GR1; they stay even if moved to group 2 or 3 later, and citizens first
-- placed in group 2 or 3 never enter. Member from the month that first marking starts (C3).
with

first_group as (
    select as_of_month, person_id, marking_code, eff_start
    from int_group_periods
    where seq = 1
),

final as (
    select
        s.as_of_month,
        s.person_id,
        s.kommune_kode,
        date_trunc('month', f.eff_start)::date as member_from
    from int_citizen_status as s
    inner join first_group as f using (as_of_month, person_id)
    where f.marking_code = 'FSM_GR1'
        and not s.left_target
)

select * from final
