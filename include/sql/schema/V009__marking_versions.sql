-- V009 (issue 17, P5): markings staged as versions. A marking is stored once per unchanged content,
-- valid from the extract date of the first snapshot that shows it to the last one (closed interval;
-- 9999-12-31 while the newest snapshot shows it), instead of a full copy per snapshot (~95 % of a
-- snapshot's rows are unchanged from the one before). The snapshot of extract date d is exactly the
-- versions with valid_from <= d <= valid_to, for every loaded d (fsm.ingest.versions keeps the
-- intervals canonical whatever order snapshots load in, and checks each load against its file).
-- A later snapshot that lacks a marking (deleted) or shows it changed ends the version at the
-- snapshot before; a marking that re-appears starts a new version.
create table stg_marking_versions (
    version_id         bigint generated always as identity primary key,
    marking_id         text     not null,
    person_key         text     not null,
    kommune_kode       smallint not null,
    marking_code       text     not null,
    start_date         date     not null,
    end_date           date,
    registered_at      timestamptz not null,
    registered_date    date     not null,   -- registered_at as a Copenhagen calendar day (D1)
    fritagelse_aarsag  text,
    valid_from         date     not null,   -- extract date of the first snapshot showing this content
    valid_to           date     not null,   -- extract date of the last one; 9999-12-31 while the newest shows it
    check (valid_from <= valid_to)
);
create index stg_marking_versions_marking on stg_marking_versions (marking_id, valid_to);

-- Existing per-snapshot rows become versions: per marking, runs of consecutive snapshots (the
-- effective file of each extract date: a same-day redelivery wins, as int_asof_months reads it) with
-- identical content collapse to one version (gaps and islands).
insert into stg_marking_versions (
    marking_id, person_key, kommune_kode, marking_code, start_date, end_date, registered_at, registered_date,
    fritagelse_aarsag, valid_from, valid_to
)
with snaps as (
    select file_id, period, row_number() over (order by period) as seq, lead(period) over (order by period) as next_period
    from (
        select distinct on (period) file_id, period from ingest_file where feed = 'markings' order by period, file_id desc
    ) as newest
),
shown as (
    select m.*, s.seq, s.period, s.next_period,
        s.seq - row_number() over (
            partition by m.marking_id, m.person_key, m.kommune_kode, m.marking_code, m.start_date, m.end_date,
                m.registered_at, m.registered_date, m.fritagelse_aarsag
            order by s.seq
        ) as island
    from stg_markings as m
    inner join snaps as s using (file_id)
)
select marking_id, person_key, kommune_kode, marking_code, start_date, end_date, registered_at, registered_date,
    fritagelse_aarsag,
    min(period),
    case when bool_or(next_period is null) then date '9999-12-31' else max(period) end
from shown
group by marking_id, person_key, kommune_kode, marking_code, start_date, end_date, registered_at, registered_date,
    fritagelse_aarsag, island;

-- Where each marking stood in each snapshot file (the physical line; CONTRACT §1 'Bad input': every
-- line of a file is a loaded row or a reject): one row per file, the marking ids in line order.
create table stg_marking_lines (
    file_id      bigint    primary key,
    marking_ids  text[]    not null,
    line_nos     integer[] not null
);
insert into stg_marking_lines (file_id, marking_ids, line_nos)
select file_id, array_agg(marking_id order by line_no), array_agg(line_no order by line_no)
from stg_markings
group by file_id;

drop table stg_markings;

-- A file's marking ids at their lines. PL/pgSQL, so that the planner takes the ROWS estimate (a snapshot
-- holds tens of thousands of markings; unnest's default guess of 10 rows turned joins into nested loops).
create function stg_marking_file_lines(p_file_id bigint)
returns table (marking_id text, line_no integer)
language plpgsql stable rows 50000 as $$
begin
    return query
        select u.marking_id, u.line_no
        from stg_marking_lines as l, unnest(l.marking_ids, l.line_nos) as u (marking_id, line_no)
        where l.file_id = p_file_id;
end
$$;

-- stg_markings stays readable with its columns (the input suite, the marking rules' GX batch and ad-hoc
-- queries read a snapshot by file_id): each markings file that is the newest of its extract date, with
-- the versions valid on that date, each at its line in that file.
create view stg_markings as
select
    f.file_id,
    f.period as extract_date,
    l.line_no,
    v.marking_id,
    v.person_key,
    v.kommune_kode,
    v.marking_code,
    v.start_date,
    v.end_date,
    v.registered_at,
    v.registered_date,
    v.fritagelse_aarsag
from ingest_file as f
cross join lateral stg_marking_file_lines(f.file_id) as l
inner join stg_marking_versions as v on v.marking_id = l.marking_id and f.period between v.valid_from and v.valid_to
where f.feed = 'markings'
    and f.file_id = (select max(g.file_id) from ingest_file as g where g.feed = 'markings' and g.period = f.period);
