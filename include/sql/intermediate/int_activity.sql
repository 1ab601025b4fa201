-- int_activity — A1: is each indsatsgruppe member active in each activity month, as the as-of
-- month sees the registers (P5: deliveries for months up to it; the newest delivery of an offer
-- id wins). Active = at least one day of a counted offer type in the month (end dates
-- inclusive), or ordinary (unsubsidised) paid hours > 0 in the month; with the A3 option on
-- (education_counts_as_activity, off by default), also a month of SU-eligible education (uddannelse feed).
-- Set-based: each offer version is valid for the as-of months from its delivery until the next
-- delivery of the same id; hours only accumulate (hours >= 0), so a person-month is active from
-- the first delivery that shows positive ordinary hours for it.
with

files as (
    select * from int_register_files
),

member_keys as (  -- only indsatsgruppe members can be active (C1); skip everyone else's offers and hours
    select distinct person_id from int_indsatsgruppe
),

asof_bounds as (
    select min(as_of_month) as first_asof, max(as_of_month) as last_asof from int_asof_months
),

offer_versions as (  -- one row per offer id and delivery month (last row of that delivery)
    select distinct on (t.tilbud_id, f.period)
        t.tilbud_id, f.period as delivered, t.person_id, t.tilbud_type, t.start_date, t.end_date
    from stg_tilbud as t
    inner join files as f on f.feed = 'tilbud' and f.file_id = t.file_id
    order by t.tilbud_id, f.period, t.line_no desc
),

offer_validity as (
    select v.*,
        lead(v.delivered) over (partition by v.tilbud_id order by v.delivered) as superseded
    from offer_versions as v
),

offer_months as (  -- A1 Interpretation: counted offer types are configuration
    select distinct
        o.person_id,
        g.m::date as activity_month,
        o.delivered,
        o.superseded
    from offer_validity as o
    cross join asof_bounds as b
    cross join lateral generate_series(
        date_trunc('month', greatest(o.start_date, {{ project_start }}::date)),
        least(coalesce(o.end_date, b.last_asof), b.last_asof),
        interval '1 month'
    ) as g (m)
    where o.tilbud_type = any({{ counted_offer_types }})
        and coalesce(o.end_date, 'infinity'::date) >= {{ project_start }}::date
        and o.person_id in (select person_id from member_keys)
),

hours_known as (  -- the first delivery that shows ordinary hours > 0 for a person-month
    select h.person_id, h.month as activity_month, min(f.period) as known_from
    from stg_timer as h
    inner join files as f on f.feed = 'timer' and f.file_id = h.file_id
    where not h.subsidised and h.hours > 0
        and h.person_id in (select person_id from member_keys)
    group by h.person_id, h.month
),

education_known as (  -- A3 Interpretation (an option): the first delivery that shows SU-eligible education for a person-month
    select u.person_id, u.month as activity_month, min(f.period) as known_from
    from stg_uddannelse as u
    inner join files as f on f.feed = 'uddannelse' and f.file_id = u.file_id
    where {{ education_counts_as_activity }}
        and u.su_eligible
        and u.person_id in (select person_id from member_keys)
    group by u.person_id, u.month
),

active_known as (  -- only the (as-of, activity month) pairs this run needs (int_activity_pairs)
    select a.as_of_month, o.person_id, o.activity_month
    from offer_months as o
    inner join int_activity_pairs as a
        on a.activity_month = o.activity_month
        and a.as_of_month >= o.delivered
        and (o.superseded is null or a.as_of_month < o.superseded)
    union
    select a.as_of_month, h.person_id, h.activity_month
    from hours_known as h
    inner join int_activity_pairs as a
        on a.activity_month = h.activity_month
        and a.as_of_month >= h.known_from
    union
    select a.as_of_month, e.person_id, e.activity_month
    from education_known as e
    inner join int_activity_pairs as a
        on a.activity_month = e.activity_month
        and a.as_of_month >= e.known_from
),

members as (
    select p.as_of_month, p.activity_month, i.person_id, i.kommune_kode
    from int_activity_pairs as p
    inner join int_indsatsgruppe as i
        on i.as_of_month = p.as_of_month
        and i.member_from <= p.activity_month  -- C3
),

final as (
    select
        m.as_of_month,
        m.activity_month,
        m.person_id,
        m.kommune_kode,
        k.person_id is not null as active
    from members as m
    left join active_known as k
        on k.as_of_month = m.as_of_month
        and k.person_id = m.person_id
        and k.activity_month = m.activity_month
)

select * from final
