-- int_register_files — P5: the register delivery in force for each feed and described month
-- (a corrected redelivery of a month replaces the earlier file of that month).
with

files as (
    select f.feed, f.period, f.file_id,
        row_number() over (partition by f.feed, f.period order by f.loaded_at desc, f.file_id desc) as rn
    from ingest_file as f
    where f.feed in ('ydelse', 'tilbud', 'timer', 'uddannelse')
),

final as (
    select feed, period, file_id from files where rn = 1
)

select * from final
