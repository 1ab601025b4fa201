-- mart_activity_share — A2: active members of the indsatsgruppe / members, per as-of month,
-- municipality and activity month. meets_threshold compares the exact fraction with P3's 40 %.
-- Every participating municipality gets a row for every needed month, also with no members.
with

participants as (
    select distinct as_of_month, kommune_kode from int_target_group
),

grid as (
    select p.as_of_month, p.activity_month, k.kommune_kode
    from int_activity_pairs as p
    inner join participants as k on k.as_of_month = p.as_of_month
),

counts as (
    select as_of_month, activity_month, kommune_kode,
        count(*) as cohort_n,
        count(*) filter (where active) as active_n
    from int_activity
    group by as_of_month, activity_month, kommune_kode
),

final as (
    select
        g.as_of_month,
        'FSM1'::text as programme,
        g.kommune_kode,
        g.activity_month,
        coalesce(c.cohort_n, 0) as cohort_n,
        coalesce(c.active_n, 0) as active_n,
        case when c.cohort_n > 0 then round(100.0 * c.active_n / c.cohort_n, 2) end as share_pct,
        coalesce(c.cohort_n > 0 and c.active_n * 100 >= {{ activity_threshold_pct }} * c.cohort_n, false) as meets_threshold
    from grid as g
    left join counts as c using (as_of_month, activity_month, kommune_kode)
)

select * from final
