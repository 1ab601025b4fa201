-- int_fsm2_status — F2, F3, F4, F6, F8 per as-of month, activity month and target-group citizen.
-- Group 2 = FSM2_GR2 in force at the end of the month; exempt = FRITAGELSE in force then (F3);
-- groups are not locked (F4): the marking in force counts. D1 applies: a marking counts from
-- its registration day and only if registered by then; invalid periods are ignored.
-- Active (F6, F8) = ordinary unsubsidised hours > 0 or SU-eligible education in the month,
-- as known to the as-of month's deliveries (P5).
with

pairs as (
    select * from int_fsm2_pairs
),

markings as (
    select
        p.as_of_month,
        p.activity_month,
        k.person_id,
        bool_or(k.marking_code = 'FSM2_GR2')   as group2,
        bool_or(k.marking_code = 'FRITAGELSE') as exempt
    from pairs as p
    inner join stg_marking_versions as k  -- the snapshot's versions (issue 17)
        on p.snapshot_date between k.valid_from and k.valid_to
        and k.marking_code in ('FSM2_GR2', 'FRITAGELSE')
    where coalesce(k.end_date >= k.start_date, true)                          -- D1: invalid ignored
        and greatest(k.start_date, k.registered_date) <= p.activity_last_day     -- D1: from registration
        and (k.end_date is null or k.end_date > p.activity_last_day)           -- M6 half-open
    group by p.as_of_month, p.activity_month, k.person_id
),

files as (
    select * from int_register_files
),

hours_known as (
    select h.person_id, h.month as activity_month, min(f.period) as known_from
    from stg_timer as h
    inner join files as f on f.feed = 'timer' and f.file_id = h.file_id
    where not h.subsidised and h.hours > 0  -- F6: løntilskud and fleksjob hours do not count
    group by h.person_id, h.month
),

education_known as (
    select u.person_id, u.month as activity_month, min(f.period) as known_from
    from stg_uddannelse as u
    inner join files as f on f.feed = 'uddannelse' and f.file_id = u.file_id
    where u.su_eligible
    group by u.person_id, u.month
),

final as (
    select
        p.as_of_month,
        p.activity_month,
        t.person_id,
        t.kommune_kode,
        t.herkomst,
        coalesce(m.group2, false) as group2,
        coalesce(m.exempt, false) and not coalesce(m.group2, false) as exempt,
        coalesce(h.known_from <= p.as_of_month, false) or coalesce(e.known_from <= p.as_of_month, false) as active
    from pairs as p
    inner join int_fsm2_target as t on t.activity_month = p.activity_month
    left join markings as m
        on m.as_of_month = p.as_of_month and m.activity_month = p.activity_month and m.person_id = t.person_id
    left join hours_known as h on h.person_id = t.person_id and h.activity_month = p.activity_month
    left join education_known as e on e.person_id = t.person_id and e.activity_month = p.activity_month
)

select * from final
