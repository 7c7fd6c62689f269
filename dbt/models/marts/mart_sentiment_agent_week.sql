-- Sentiment by tenant, week and agent (issue 19). Every aggregate is grouped by tenant (P4).
select
    m.tenant_id, cast(date_trunc('week', m.day) as date) as week,
    coalesce(m.agent_id, 'unknown') as agent_id, coalesce(any_value(m.team), 'unknown') as team,
    count(*) as calls,
    avg(s.overall) as avg_sentiment, avg(s.agent) as avg_agent_sentiment, avg(s.customer) as avg_customer_sentiment,
    avg(s.customer_change) as avg_customer_change,
    avg(case when s.negative_end then 1.0 else 0.0 end) as negative_end_rate
from {{ ref('stg_call_manifest') }} m
join {{ ref('stg_call_sentiment') }} s on s.call_uid = m.call_uid
group by 1, 2, 3
