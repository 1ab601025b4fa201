-- mart_fsm2_result — F5, F7, F8: per as-of month, municipality, activity month and origin
-- (ALL and F5's categories): target group, group 2, exempt, indsatsgruppe = target − group 2 −
-- exempt, active members of the indsatsgruppe and their share.
with

status as (
    select * from int_fsm2_status
),

by_origin as (
    select
        s.as_of_month,
        s.kommune_kode,
        s.activity_month,
        coalesce(s.herkomst, 'ALL') as herkomst,
        count(*)                                                          as target_n,
        count(*) filter (where s.group2)                                  as group2_n,
        count(*) filter (where s.exempt)                                  as exempt_n,
        count(*) filter (where not s.group2 and not s.exempt)             as indsatsgruppe_n,
        count(*) filter (where not s.group2 and not s.exempt and s.active) as active_n
    from status as s
    group by grouping sets (
        (s.as_of_month, s.kommune_kode, s.activity_month),
        (s.as_of_month, s.kommune_kode, s.activity_month, s.herkomst)
    )
),

grid as (  -- every participant and month has an ALL row, also when nobody qualifies
    select p.as_of_month, p.activity_month, k.kommune_kode
    from int_fsm2_pairs as p
    cross join unnest({{ fsm2_participants }}) as k (kommune_kode)
),

final as (
    select
        g.as_of_month,
        g.kommune_kode,
        g.activity_month,
        coalesce(b.herkomst, 'ALL') as herkomst,
        coalesce(b.target_n, 0) as target_n,
        coalesce(b.group2_n, 0) as group2_n,
        coalesce(b.exempt_n, 0) as exempt_n,
        coalesce(b.indsatsgruppe_n, 0) as indsatsgruppe_n,
        coalesce(b.active_n, 0) as active_n,
        case when b.indsatsgruppe_n > 0 then round(100.0 * b.active_n / b.indsatsgruppe_n, 2) end as share_pct
    from grid as g
    left join by_origin as b
        on b.as_of_month = g.as_of_month and b.activity_month = g.activity_month and b.kommune_kode = g.kommune_kode
)

select * from final
