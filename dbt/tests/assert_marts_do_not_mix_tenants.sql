-- P4: every call counted in a tenant's month belongs to that tenant, and none is counted twice.
with counted as (select tenant_id, sum(calls) as calls from {{ ref('mart_tenant_month') }} group by 1),
     agents as (select tenant_id, sum(calls) as calls from {{ ref('mart_agent_day') }} group by 1),
     source as (select tenant_id, count(*) as calls from {{ ref('stg_call_scores') }} group by 1)
select s.tenant_id
from source s
left join counted c using (tenant_id)
left join agents a using (tenant_id)
where c.calls is distinct from s.calls or a.calls is distinct from s.calls
