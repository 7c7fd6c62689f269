-- P4: every call counted in a tenant's month belongs to that tenant, and none is counted twice.
-- meta.dagster.ref: a Dagster asset check on mart_tenant_month (a singular test over several models
-- is otherwise logged as an observation, with a warning on every build).
{{ config(meta={'dagster': {'ref': {'name': 'mart_tenant_month'}}}) }}
with counted as (select tenant_id, sum(calls) as calls from {{ ref('mart_tenant_month') }} group by 1),
     agents as (select tenant_id, sum(calls) as calls from {{ ref('mart_agent_day') }} group by 1),
     source as (select tenant_id, count(*) as calls from {{ ref('stg_call_scores') }} group by 1)
select s.tenant_id
from source s
left join counted c using (tenant_id)
left join agents a using (tenant_id)
where c.calls is distinct from s.calls or a.calls is distinct from s.calls
