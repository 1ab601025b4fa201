-- V001: the warehouse. Raw/staging is bitemporal (P5): every markings snapshot is kept
-- with its extract date and every register delivery with its month and file, so the
-- view as of any month can be recomputed exactly. No column ever holds a raw CPR.

-- One row per delivered file; (feed, file_name, sha256) makes a reload a no-op.
create table ingest_file (
    file_id        bigserial primary key,
    feed           text        not null,
    file_name      text        not null,
    uri            text        not null,
    sha256         text        not null,
    period         date        not null,   -- extract date (markings) or described month (registers)
    size_bytes     bigint      not null,
    rows_read      integer     not null,
    rows_loaded    integer     not null,
    rows_rejected  integer     not null,
    loaded_at      timestamptz not null default now(),
    unique (feed, file_name, sha256)
);

create table ingest_rejects (
    file        text        not null,
    line_no     integer     not null,   -- physical line in the file; the header is line 1
    file_id     bigint      not null references ingest_file,
    feed        text        not null,
    reason      text        not null,
    row_masked  text        not null,   -- the raw row with anything CPR-shaped masked
    loaded_at   timestamptz not null default now(),
    primary key (file_id, line_no)
);
create index ingest_rejects_file on ingest_rejects (file, line_no);

-- markings: full snapshots, one per extract date.
create table stg_markings (
    file_id            bigint  not null references ingest_file,
    extract_date       date    not null,
    line_no            integer not null,
    marking_id         text    not null,
    person_key         text    not null,
    kommune_kode       smallint not null,
    marking_code       text    not null,
    start_date         date    not null,
    end_date           date,
    registered_at      timestamptz not null,
    registered_date    date    not null,   -- registered_at as a Copenhagen calendar day (D1)
    fritagelse_aarsag  text,
    primary key (file_id, line_no)
);
create index stg_markings_extract on stg_markings (extract_date, person_key);

create table stg_ydelse (
    file_id               bigint  not null references ingest_file,
    delivery_month        date    not null,
    line_no               integer not null,
    person_key            text    not null,
    iso_week              text    not null,
    week_month            date    not null,   -- the month of the week's Thursday
    kommune_kode          smallint not null,
    ydelse_kode           text    not null,
    matchgruppe           text,
    introduktionsprogram  boolean not null,
    herkomst              text    not null,
    birth_date            date    not null,   -- from the CPR at ingest (F1/F7); the CPR itself is not kept
    primary key (file_id, line_no)
);
create index stg_ydelse_month on stg_ydelse (week_month, person_key);

create table stg_tilbud (
    file_id         bigint  not null references ingest_file,
    delivery_month  date    not null,
    line_no         integer not null,
    tilbud_id       text    not null,
    person_key      text    not null,
    kommune_kode    smallint not null,
    tilbud_type     text    not null,
    start_date      date    not null,
    end_date        date,                     -- inclusive, as the source gives it
    primary key (file_id, line_no)
);
create index stg_tilbud_id on stg_tilbud (tilbud_id, delivery_month);

create table stg_timer (
    file_id         bigint  not null references ingest_file,
    delivery_month  date    not null,
    line_no         integer not null,
    person_key      text    not null,
    month           date    not null,
    cvr             text    not null,
    hours           numeric(10, 2) not null,
    subsidised      boolean not null,
    primary key (file_id, line_no)
);
create index stg_timer_month on stg_timer (month, person_key);

create table stg_uddannelse (
    file_id         bigint  not null references ingest_file,
    delivery_month  date    not null,
    line_no         integer not null,
    person_key      text    not null,
    month           date    not null,
    su_eligible     boolean not null,
    primary key (file_id, line_no)
);

create table stg_allocations (
    file_id       bigint  not null references ingest_file,
    line_no       integer not null,
    kommune_kode  smallint not null,
    programme     text    not null,
    grant_dkk     numeric(14, 2) not null,
    primary key (file_id, line_no)
);

-- Marts (CONTRACT §2). A month's run replaces its (as_of_month, programme) rows only.
create table mart_visitation_progress (
    as_of_month       date     not null,
    programme         text     not null,
    kommune_kode      smallint not null,
    kommune_navn      text     not null,
    target_n          integer  not null,
    visited_n         integer  not null,
    group1_n          integer  not null,
    group2_n          integer  not null,
    group3_n          integer  not null,
    deferred_n        integer  not null,
    unvisited_n       integer  not null,
    left_unvisited_n  integer  not null,
    coverage_pct      numeric(5, 2),
    coverage_met      boolean  not null,
    pjf_n             integer  not null,
    snapshot_date     date,
    primary key (as_of_month, programme, kommune_kode)
);

create table mart_activity_share (
    as_of_month      date     not null,
    programme        text     not null,
    kommune_kode     smallint not null,
    activity_month   date     not null,
    cohort_n         integer  not null,
    active_n         integer  not null,
    share_pct        numeric(5, 2),
    meets_threshold  boolean  not null,
    primary key (as_of_month, programme, kommune_kode, activity_month)
);

create table mart_tranche_status (
    as_of_month    date     not null,
    programme      text     not null,
    kommune_kode   smallint not null,
    tranche        smallint not null check (tranche in (1, 2, 3)),
    kommune_navn   text     not null,
    tranche_pct    numeric(5, 2)  not null,
    grant_dkk      numeric(14, 2) not null,
    amount_dkk     numeric(14, 2) not null,
    earned         boolean  not null,
    earned_month   date,
    basis          text     not null,
    grant_source   text     not null,
    primary key (as_of_month, programme, kommune_kode, tranche)
);

create table mart_fsm2_result (
    as_of_month      date     not null,
    kommune_kode     smallint not null,
    activity_month   date     not null,
    herkomst         text     not null,
    target_n         integer  not null,
    group2_n         integer  not null,
    exempt_n         integer  not null,
    indsatsgruppe_n  integer  not null,
    active_n         integer  not null,
    share_pct        numeric(5, 2),
    primary key (as_of_month, kommune_kode, activity_month, herkomst)
);

create table mart_fsm2_requirement (
    as_of_month    date     not null,
    kommune_kode   smallint not null,
    threshold_pct  numeric(5, 2) not null,
    met            boolean  not null,
    met_month      date,
    basis          text     not null,
    primary key (as_of_month, kommune_kode, threshold_pct)
);

create table dq_marking_violations (
    as_of_month       date   not null,
    programme         text   not null default 'FSM1',
    rule_id           text   not null,
    marking_id        text   not null,
    other_marking_id  text   not null default '',   -- '' when the rule concerns one marking
    kommune_kode      smallint,
    person_key        text   not null,
    severity          text   not null,
    detail            text   not null,
    -- CONTRACT grain (as_of_month, rule_id, marking_id, other_marking_id), widened by
    -- programme and person_key because register cross-checks concern a citizen-month, not a marking.
    primary key (as_of_month, programme, rule_id, marking_id, other_marking_id, person_key)
);

-- One row per run of a month: what it read, so a report can say 'data as of …'.
create table run_log (
    as_of_month      date        not null,
    programme        text        not null,
    step             text        not null,
    snapshot_file    text,
    snapshot_date    date,
    register_files   integer,
    rows_written     integer,
    finished_at      timestamptz not null default now(),
    primary key (as_of_month, programme, step)
);

-- The 98 municipalities (filled from plugins/fsm/reference/kommuner.csv by migrate()).
create table ref_kommuner (
    kommune_kode  smallint primary key,
    kommune_navn  text not null
);
