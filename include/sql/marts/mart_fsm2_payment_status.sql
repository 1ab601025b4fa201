-- mart_fsm2_payment_status — F10 (STAR's FSM2 FAQ 'Udbetalingsmodel og tilskud'): three rows per
-- participant (F9) and as-of month. The grant comes from the newest allocation file with FSM2 rows;
-- without one, the configured pool (fsm2_pool_dkk) is split over the participants by their target
-- group (F7) in the first month with FSM2 data (the first month whose target group, all participants,
-- is not empty, as the as-of run sees it), to whole kroner, the remainder by largest remainder, ties by
-- municipality code (as P4). Parts 50/40/10 (fsm2_part_pcts) to the øre, the rounding difference on
-- part 3. Part 1 is earned in the programme's first month (F9); parts 2 and 3 in the month their F8
-- threshold (fsm2_part_thresholds_pct) was first met, as mart_fsm2_requirement judged it (the exact
-- fraction, all origins, each month on its own as-of run: P5, never moved later).
-- Why is a fact here (basis_code, grant_source_code, basis_args); the sentences are rendered by
-- fsm.report.basis.
with

asof as (
    select as_of_month from int_asof_months where written and as_of_month >= {{ fsm2_first_month }}::date
),

participants as (
    select unnest({{ fsm2_participants }}) as kommune_kode
),

allocation_file as (  -- the newest allocation file that has FSM2 rows, if any
    select max(f.file_id) as file_id
    from ingest_file as f
    where f.feed = 'allocations'
        and exists (select 1 from stg_allocations as x where x.file_id = f.file_id and x.programme = 'FSM2')
),

allocations as (  -- a municipality listed twice in the file: its last line counts
    select distinct on (a.kommune_kode) a.kommune_kode, a.grant_dkk
    from stg_allocations as a
    inner join allocation_file as f on f.file_id = a.file_id
    where a.programme = 'FSM2'
    order by a.kommune_kode, a.line_no desc
),

split_month as (  -- the first month with FSM2 data, as each as-of run sees it
    select r.as_of_month, min(r.activity_month) as month
    from mart_fsm2_result_all as r
    inner join asof as a using (as_of_month)
    where r.herkomst = 'ALL' and r.target_n > 0
    group by r.as_of_month
),

split_group as (
    select s.as_of_month, s.month as split_month, p.kommune_kode, coalesce(r.target_n, 0) as n
    from split_month as s
    cross join participants as p
    left join mart_fsm2_result_all as r
        on r.as_of_month = s.as_of_month and r.activity_month = s.month and r.kommune_kode = p.kommune_kode
        and r.herkomst = 'ALL'
),

default_split as (
    select g.*, {{ fsm2_pool_dkk }} * g.n / sum(g.n) over (partition by g.as_of_month) as exact_share
    from split_group as g
),

largest_remainder as (
    select d.*,
        floor(d.exact_share) as whole,
        row_number() over (
            partition by d.as_of_month order by d.exact_share - floor(d.exact_share) desc, d.kommune_kode
        ) as rank_,
        {{ fsm2_pool_dkk }} - sum(floor(d.exact_share)) over (partition by d.as_of_month) as leftover
    from default_split as d
),

grants as (
    select
        a.as_of_month,
        p.kommune_kode,
        l.split_month,
        coalesce(l.n, 0) as split_target_n,
        case
            when exists (select 1 from allocations) then coalesce(al.grant_dkk, 0)
            when coalesce(l.n, 0) = 0 then 0
            else l.whole + case when l.rank_ <= l.leftover then 1 else 0 end
        end::numeric(14, 2) as grant_dkk,
        case
            when exists (select 1 from allocations) and al.grant_dkk is not null then 'F10_allocation_file'
            when exists (select 1 from allocations) then 'F10_allocation_missing'
            when l.split_month is null then 'F10_no_data'
            else 'F10_default_split'
        end as grant_source_code
    from asof as a
    cross join participants as p
    left join largest_remainder as l on l.as_of_month = a.as_of_month and l.kommune_kode = p.kommune_kode
    left join allocations as al on al.kommune_kode = p.kommune_kode
),

parts as (
    select g.*, t.part,
        case t.part when 1 then {{ fsm2_part1_pct }} when 2 then {{ fsm2_part2_pct }} else {{ fsm2_part3_pct }} end as part_pct,
        case t.part when 2 then {{ fsm2_part2_threshold_pct }} when 3 then {{ fsm2_part3_threshold_pct }} end as threshold_pct,
        round(g.grant_dkk * {{ fsm2_part1_pct }} / 100, 2) as a1,
        round(g.grant_dkk * {{ fsm2_part2_pct }} / 100, 2) as a2
    from grants as g
    cross join (values (1), (2), (3)) as t (part)
),

decided as (
    select
        p.*,
        case p.part when 1 then p.a1 when 2 then p.a2 else p.grant_dkk - p.a1 - p.a2 end as amount_dkk,  -- rounding on part 3
        case when p.part = 1 then {{ fsm2_first_month }}::date else q.met_month end as earned_month,  -- F9 / F8
        q.basis_args as requirement_args
    from parts as p
    left join mart_fsm2_requirement_all as q
        on q.as_of_month = p.as_of_month and q.kommune_kode = p.kommune_kode and q.threshold_pct = p.threshold_pct
),

final as (
    select
        d.as_of_month,
        d.kommune_kode,
        d.part::smallint as part,
        coalesce(k.kommune_navn, d.kommune_kode::text) as kommune_navn,
        d.part_pct::numeric(5, 2) as part_pct,
        d.grant_dkk,
        d.amount_dkk::numeric(14, 2) as amount_dkk,
        d.earned_month is not null as earned,
        d.earned_month,
        case
            when d.grant_source_code = 'F10_no_data' then 'F10_no_data'
            when d.grant_source_code = 'F10_default_split' and d.split_target_n = 0 then 'F10_no_target_group'
            when d.part = 1 then 'F10_part1_at_start'
            when d.earned_month is not null then 'F10_result_met'
            else 'F10_result_not_met'
        end as basis_code,
        jsonb_build_object('part', d.part, 'part_pct', d.part_pct)
        || case
            when d.grant_source_code in ('F10_no_data', 'F10_default_split') and d.split_target_n = 0
                then jsonb_build_object('month', coalesce(d.split_month, d.as_of_month))  -- grant 0: why
            when d.part = 1 then jsonb_build_object('month', d.earned_month)  -- F10: no result requirement
            else coalesce(d.requirement_args, '{}')  -- F8's facts: share, counts, month, threshold
        end
        || case
            when d.grant_source_code in ('F10_default_split', 'F10_no_data') then jsonb_build_object(
                'pool_dkk', {{ fsm2_pool_dkk }}, 'split_month', d.split_month, 'split_target_n', d.split_target_n)
            else '{}'
        end
        as basis_args,
        d.grant_source_code
    from decided as d
    left join ref_kommuner as k on k.kommune_kode = d.kommune_kode
)

select * from final
