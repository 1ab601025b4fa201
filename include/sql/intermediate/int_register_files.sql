-- int_register_files — P5: the register delivery in force for each feed and described month
-- (a corrected redelivery of a month replaces the earlier file of that month from the run
-- that loaded it on; reruns of earlier months keep seeing the original). Interpretation: within
-- one run, every as-of month sees the deliveries visible to that run's month.
with

files as (
    select f.feed, f.period, f.file_id,
        row_number() over (partition by f.feed, f.period order by f.loaded_at desc, f.file_id desc) as rn
    from ingest_file as f
    where f.feed in ('ydelse', 'tilbud', 'timer', 'uddannelse')
        and coalesce(f.visible_from, f.period) <= {{ last_month }}::date  -- P5: a correction loaded later is not seen by a rerun of an earlier month
),

final as (
    select feed, period, file_id from files where rn = 1
)

select * from final
