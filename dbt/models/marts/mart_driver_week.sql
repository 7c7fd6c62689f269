-- Call drivers (why customers call) by tenant and week, from the call cards (one driver a call:
-- the first one said), with the change against the previous week (issue 19).
with calls as (
    select tenant_id, cast(date_trunc('week', day) as date) as week, count(*) as calls
    from {{ ref('stg_call_cards') }} group by 1, 2
),
w as (
    select c.tenant_id, cast(date_trunc('week', c.day) as date) as week, coalesce(c.driver, 'none') as driver,
           count(*) as driver_calls,
           avg(case when c.outcome = 'resolved' then 1.0 else 0.0 end) as resolved_rate,
           avg(c.closing_sentiment) as avg_closing_sentiment
    from {{ ref('stg_call_cards') }} c
    group by 1, 2, 3
)
select w.tenant_id, w.week, w.driver, w.driver_calls, calls.calls,
       w.driver_calls * 1.0 / calls.calls as share, w.resolved_rate, w.avg_closing_sentiment,
       coalesce(p.driver_calls, 0) as previous_driver_calls,
       w.driver_calls - coalesce(p.driver_calls, 0) as change_vs_previous
from w
join calls on calls.tenant_id = w.tenant_id and calls.week = w.week
left join w p on p.tenant_id = w.tenant_id and p.driver = w.driver and p.week = cast(w.week - interval 7 day as date)
