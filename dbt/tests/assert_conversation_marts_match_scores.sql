-- P4 (issue 19): every scored call of a tenant has its sentiment and its card in that tenant's
-- marts, counted once; a call of another tenant never is.
{{ config(meta={'dagster': {'ref': {'name': 'mart_driver_week'}}}) }}
with scores as (select tenant_id, count(*) as calls from {{ ref('stg_call_scores') }} group by 1),
     drivers as (select tenant_id, sum(driver_calls) as calls from {{ ref('mart_driver_week') }} group by 1),
     sentiment as (select tenant_id, sum(calls) as calls from {{ ref('mart_sentiment_agent_week') }} group by 1)
select s.tenant_id
from scores s
left join drivers d using (tenant_id)
left join sentiment t using (tenant_id)
where d.calls is distinct from s.calls or t.calls is distinct from s.calls
