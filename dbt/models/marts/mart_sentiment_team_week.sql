-- Sentiment by tenant, week and team (issue 19), with the change against the previous week.
with w as (
    select
        m.tenant_id, cast(date_trunc('week', m.day) as date) as week, coalesce(m.team, 'unknown') as team,
        count(*) as calls,
        avg(s.overall) as avg_sentiment, avg(s.customer) as avg_customer_sentiment,
        avg(s.customer_change) as avg_customer_change,
        avg(case when s.negative_end then 1.0 else 0.0 end) as negative_end_rate
    from {{ ref('stg_call_manifest') }} m
    join {{ ref('stg_call_sentiment') }} s on s.call_uid = m.call_uid
    group by 1, 2, 3
)
select w.*, p.avg_customer_sentiment as previous_avg_customer_sentiment,
       w.avg_customer_sentiment - p.avg_customer_sentiment as customer_sentiment_change
from w
left join w p on p.tenant_id = w.tenant_id and p.team = w.team and p.week = cast(w.week - interval 7 day as date)
