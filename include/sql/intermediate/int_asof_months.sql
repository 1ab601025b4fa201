-- int_asof_months — P5: the as-of months of this run and the markings snapshot each one sees
-- (the newest extracted on or before the month's last day; a redelivery of the same day wins).
-- Only the months the run computes: a monthly run reuses earlier months whose inputs are unchanged
-- (fsm.transform.history); a backfill or what-if computes every month.
with

months as (
    select
        g.m::date                              as as_of_month,
        (g.m + interval '1 month')::date       as next_month,
        ((g.m + interval '1 month')::date - 1) as last_day
    from generate_series({{ first_month }}::date, {{ last_month }}::date, interval '1 month') as g (m)
),

snapshots as (
    select f.file_id, f.period as extract_date
    from ingest_file as f
    where f.feed = 'markings'
),

final as (
    select
        m.as_of_month,
        m.next_month,
        m.last_day,
        s.file_id      as snapshot_file_id,
        s.extract_date as snapshot_date,
        m.as_of_month = any({{ write_months }}::date[]) as written
    from months as m
    left join lateral (
        select sn.file_id, sn.extract_date
        from snapshots as sn
        where sn.extract_date <= m.last_day
        order by sn.extract_date desc, sn.file_id desc
        limit 1
    ) as s on true
    where m.as_of_month = any({{ compute_months }}::date[])
)

select * from final
