-- V011 (issue 17 part 2): a person dimension. Each citizen's person_key (HMAC-SHA256 of the CPR, fsm.cpr; 64 hex
-- characters) is stored once, in dim_person; the staging tables carry its person_id (4 bytes) instead. Still no
-- CPR anywhere. The birth date is a function of the CPR (F1/F7), so it is a fact of the person, computed once per
-- CPR at ingest: it moves from every benefit row to dim_person. stg_ydelse is rebuilt compact (≤ 80 bytes a row
-- with its one index, was ~250): code columns as enums, the ISO week as its number (its ISO year is the year of
-- week_month: the year of the week's Thursday), no delivery_month (its file's period in ingest_file).
-- An existing warehouse upgrades in place: every staged person_key gets a person_id, every row keeps its person.

-- pseudonym only: person_key is the HMAC (fsm.cpr), never the CPR
create table dim_person (
    person_id   integer generated always as identity primary key,
    person_key  text not null unique check (person_key ~ '^[0-9a-f]{64}$'),
    -- from the CPR at ingest (F1/F7). Null only for a person staged before V011 who has no benefit row yet:
    -- the next ingest of their CPR fills it (fsm.ingest.persons), before any benefit row of theirs is staged
    birth_date  date
);

-- the birth date is a function of the CPR: one per person_key (checked, not assumed)
do $$
begin
    if exists (select 1 from stg_ydelse group by person_key having count(distinct birth_date) > 1) then
        raise exception 'V011: a person_key with two birth dates in stg_ydelse';
    end if;
    if exists (select 1 from stg_ydelse where iso_week <> to_char(week_month, 'YYYY') || '-W' || substr(iso_week, 7)) then
        raise exception 'V011: an iso_week whose ISO year is not the year of its week_month';
    end if;
end
$$;

insert into dim_person (person_key, birth_date)
select k.person_key, b.birth_date
from (
    select person_key from stg_marking_versions
    union select person_key from stg_ydelse
    union select person_key from stg_tilbud
    union select person_key from stg_timer
    union select person_key from stg_uddannelse
) as k
left join (select person_key, min(birth_date) as birth_date from stg_ydelse group by person_key) as b using (person_key)
order by k.person_key;

-- benefits: the contract's code lists (fsm.contract; tests/ingest/test_person_dim.py checks they agree)
create type ydelse_kode as enum (
    'KONTANTHJAELP', 'UDDANNELSESHJAELP', 'INTEGRATIONSYDELSE', 'OVERGANGSYDELSE', 'RESSOURCEFORLOEB',
    'LEDIGHEDSYDELSE', 'FLEKSJOB', 'FOERTIDSPENSION', 'SYGEDAGPENGE', 'REVALIDERING'
);
create type matchgruppe as enum ('AKTIVITETSPARAT', 'JOBPARAT', 'UDDANNELSESPARAT');
create type herkomst as enum ('DANSK', 'VESTLIG', 'IKKE_VESTLIG');  -- F5

-- 4-byte columns first, then 2-byte, then 1-byte: no alignment padding (a row's data is 33 bytes, 40 aligned)
create table stg_ydelse_v011 (
    file_id               integer     not null,   -- ingest_file (its period is the delivery month)
    line_no               integer     not null,
    person_id             integer     not null,   -- dim_person
    week_month            date        not null,   -- the month of the week's Thursday
    ydelse_kode           ydelse_kode not null,
    herkomst              herkomst    not null,
    matchgruppe           matchgruppe,
    kommune_kode          smallint    not null,
    iso_week_no           smallint    not null,   -- the ISO week's number; its ISO year is week_month's year
    introduktionsprogram  boolean     not null
);
insert into stg_ydelse_v011 (
    file_id, line_no, person_id, week_month, ydelse_kode, herkomst, matchgruppe, kommune_kode, iso_week_no,
    introduktionsprogram
)
select y.file_id, y.line_no, p.person_id, y.week_month, y.ydelse_kode::ydelse_kode, y.herkomst::herkomst,
    y.matchgruppe::matchgruppe, y.kommune_kode, substr(y.iso_week, 7)::smallint, y.introduktionsprogram
from stg_ydelse as y
inner join dim_person as p using (person_key)
order by y.file_id, y.line_no;
drop table stg_ydelse;
alter table stg_ydelse_v011 rename to stg_ydelse;
-- One index: a file's rows, a file's month (the input suites' batches, the register cross-check, the load's
-- reconciliation). B-tree deduplication keeps it at ~7 bytes a row (a file holds a handful of weeks' months).
-- The primary key (file_id, line_no) went: the loader gives it by construction (one transaction per file,
-- a physical line once), as V004 reasoned for the row foreign keys; (week_month, person_key) had no reader
-- left that is not a whole-table scan (fsm2_gr2_outside_target_group now reads the month's file set-based).
create index stg_ydelse_file_month on stg_ydelse (file_id, week_month);

-- the other feeds and the markings versions: person_key → person_id in place
alter table stg_tilbud add column person_id integer;
update stg_tilbud as t set person_id = p.person_id from dim_person as p where p.person_key = t.person_key;
alter table stg_tilbud alter column person_id set not null, drop column person_key;

alter table stg_timer add column person_id integer;
update stg_timer as t set person_id = p.person_id from dim_person as p where p.person_key = t.person_key;
alter table stg_timer alter column person_id set not null, drop column person_key;  -- drops stg_timer_month
create index stg_timer_month on stg_timer (month, person_id);

alter table stg_uddannelse add column person_id integer;
update stg_uddannelse as t set person_id = p.person_id from dim_person as p where p.person_key = t.person_key;
alter table stg_uddannelse alter column person_id set not null, drop column person_key;

drop view stg_markings;
drop function stg_marking_snapshot(bigint, date);
alter table stg_marking_versions add column person_id integer;
update stg_marking_versions as v set person_id = p.person_id from dim_person as p where p.person_key = v.person_key;
alter table stg_marking_versions alter column person_id set not null, drop column person_key;

-- V010's snapshot function and view, with person_id where person_key was
create function stg_marking_snapshot(p_file_id bigint, p_extract_date date)
returns table (
    line_no            integer,
    marking_id         text,
    person_id          integer,
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
        select l.line_no, v.marking_id, v.person_id, v.kommune_kode, v.marking_code, v.start_date, v.end_date,
            v.registered_at, v.registered_date, v.fritagelse_aarsag
        from stg_marking_file_lines(p_file_id) as l
        inner join stg_marking_versions as v
            on v.marking_id = l.marking_id and p_extract_date between v.valid_from and v.valid_to;
end
$$;

create view stg_markings as
select
    f.file_id,
    f.period as extract_date,
    s.line_no,
    s.marking_id,
    s.person_id,
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
