-- V010 (issue 17): stg_markings reads each snapshot through one PL/pgSQL function, so that a query on the
-- view sees a snapshot as one scan of ~50,000 rows (its ROWS estimate). Through V009's plain joins the
-- planner guessed a few thousand rows for a national snapshot of 75,000, and a query joining the view to
-- itself (GX's expect_column_values_to_be_unique on marking_id) chose nested loops that ran for minutes.
create function stg_marking_snapshot(p_file_id bigint, p_extract_date date)
returns table (
    line_no            integer,
    marking_id         text,
    person_key         text,
    kommune_kode       smallint,
    marking_code       text,
    start_date         date,
    end_date           date,
    registered_at      timestamptz,
    registered_date    date,
    fritagelse_aarsag  text
)
language plpgsql stable rows 50000 as $$
begin
    return query
        select l.line_no, v.marking_id, v.person_key, v.kommune_kode, v.marking_code, v.start_date, v.end_date,
            v.registered_at, v.registered_date, v.fritagelse_aarsag
        from stg_marking_file_lines(p_file_id) as l
        inner join stg_marking_versions as v
            on v.marking_id = l.marking_id and p_extract_date between v.valid_from and v.valid_to;
end
$$;

create or replace view stg_markings as
select
    f.file_id,
    f.period as extract_date,
    s.line_no,
    s.marking_id,
    s.person_key,
    s.kommune_kode,
    s.marking_code,
    s.start_date,
    s.end_date,
    s.registered_at,
    s.registered_date,
    s.fritagelse_aarsag
from ingest_file as f
cross join lateral stg_marking_snapshot(f.file_id, f.period) as s
where f.feed = 'markings'
    and f.file_id = (select max(g.file_id) from ingest_file as g where g.feed = 'markings' and g.period = f.period);
