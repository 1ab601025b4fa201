-- int_fsm2_pairs — which (as-of month, activity month) pairs the FSM2 run needs: every month of
-- the programme for the months it writes (mart_fsm2_result), and for every as-of month its own
-- month, which decides when a requirement was first met (F8, P5: never rewritten later).
with

pairs as (
    select a.as_of_month, g.m::date as activity_month, a.written, a.last_day, a.snapshot_file_id, a.snapshot_date
    from int_asof_months as a
    cross join lateral generate_series({{ fsm2_first_month }}::date, a.as_of_month, interval '1 month') as g (m)
),

final as (
    select as_of_month, activity_month, (activity_month + interval '1 month')::date - 1 as activity_last_day, snapshot_file_id,
        snapshot_date
    from pairs
    where written or activity_month = as_of_month
)

select * from final
