-- int_activity — A1: is each indsatsgruppe member active in each activity month, as the as-of
-- month sees the registers (P5: deliveries for months up to it; the newest delivery of an offer
-- id wins). Active = at least one day of a counted offer type in the month (end dates
-- inclusive), or ordinary (unsubsidised) paid hours > 0 in the month.
with

files as (
    select * from int_register_files
),

offer_rows as (  -- each offer id as each as-of month last saw it
    select distinct on (a.as_of_month, t.tilbud_id)
        a.as_of_month, t.tilbud_id, t.person_key, t.tilbud_type, t.start_date, t.end_date
    from int_asof_months as a
    inner join files as f on f.feed = 'tilbud' and f.period <= a.as_of_month
    inner join stg_tilbud as t on t.file_id = f.file_id
    order by a.as_of_month, t.tilbud_id, t.delivery_month desc, t.file_id desc, t.line_no desc
),

counted_offers as (
    select * from offer_rows
    where tilbud_type = any({{ counted_offer_types }})  -- A1 Interpretation: configurable
),

ordinary_hours as (
    select a.as_of_month, h.person_key, h.month, sum(h.hours) as hours
    from int_asof_months as a
    inner join files as f on f.feed = 'timer' and f.period <= a.as_of_month
    inner join stg_timer as h on h.file_id = f.file_id
    where not h.subsidised
    group by a.as_of_month, h.person_key, h.month
),

members as (
    select p.as_of_month, p.activity_month, i.person_key, i.kommune_kode
    from int_activity_pairs as p
    inner join int_indsatsgruppe as i
        on i.as_of_month = p.as_of_month
        and i.member_from <= p.activity_month  -- C3
),

final as (
    select
        m.as_of_month,
        m.activity_month,
        m.person_key,
        m.kommune_kode,
        exists (
            select 1 from counted_offers as o
            where o.as_of_month = m.as_of_month
                and o.person_key = m.person_key
                and o.start_date < (m.activity_month + interval '1 month')::date
                and (o.end_date is null or o.end_date >= m.activity_month)
        )
        or exists (
            select 1 from ordinary_hours as h
            where h.as_of_month = m.as_of_month
                and h.person_key = m.person_key
                and h.month = m.activity_month
                and h.hours > 0
        ) as active
    from members as m
)

select * from final
