-- mart_visitation_progress — V1–V4, T3 per as-of month and municipality (FSM1).
-- V3: coverage = (visited + deferred) / target group, two decimals; the threshold compares
-- the exact fraction (coverage_met), never the rounded figure.
with

status as (
    select * from int_citizen_status
),

kommuner as (
    select * from ref_kommuner
),

counts as (
    select
        s.as_of_month,
        s.kommune_kode,
        count(*) filter (where not s.left_target)                                     as target_n,
        count(*) filter (where not s.left_target and s.visited)                       as visited_n,
        count(*) filter (where not s.left_target and s.group_at_end = 'FSM_GR1')      as group1_n,
        count(*) filter (where not s.left_target and s.group_at_end = 'FSM_GR2')      as group2_n,
        count(*) filter (where not s.left_target and s.group_at_end = 'FSM_GR3')      as group3_n,
        count(*) filter (where not s.left_target and s.deferred)                      as deferred_n,
        count(*) filter (where s.left_unvisited)                                      as left_unvisited_n,
        count(*) filter (where not s.left_target and s.pjf_group1)                    as pjf_n
    from status as s
    group by s.as_of_month, s.kommune_kode
),

accounted as (
    select c.*,
        c.visited_n + case when {{ deferred_counts_as_visited }} then c.deferred_n else 0 end as accounted_n  -- V2
    from counts as c
),

final as (
    select
        c.as_of_month,
        'FSM1'::text as programme,
        c.kommune_kode,
        k.kommune_navn,
        c.target_n,
        c.visited_n,
        c.group1_n,
        c.group2_n,
        c.group3_n,
        c.deferred_n,
        c.target_n - c.visited_n - c.deferred_n as unvisited_n,
        c.left_unvisited_n,
        case when c.target_n > 0 then round(100.0 * c.accounted_n / c.target_n, 2) end as coverage_pct,
        c.target_n > 0 and c.accounted_n * 100 >= {{ coverage_required_pct }} * c.target_n as coverage_met,
        c.pjf_n,
        a.snapshot_date,
        c.accounted_n
    from accounted as c
    inner join int_asof_months as a on a.as_of_month = c.as_of_month
    left join kommuner as k on k.kommune_kode = c.kommune_kode
)

select * from final
