-- int_activity_pairs — which (as-of month, activity month) pairs this run needs: every
-- activity month for the months it writes (mart_activity_share), and for every as-of month
-- the last {{ activity_months_running }} months, which decide when tranche 3 was earned (P3, P5).
with

pairs as (
    select a.as_of_month, g.m::date as activity_month, a.written
    from int_asof_months as a
    cross join lateral generate_series({{ project_start }}::date, a.as_of_month, interval '1 month') as g (m)
),

final as (
    select as_of_month, activity_month
    from pairs
    where written
        or activity_month > (as_of_month - make_interval(months => {{ activity_months_running }}))::date
)

select * from final
