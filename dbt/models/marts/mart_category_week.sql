-- Categories (and every driver said, not only the first) by tenant and week, with the change
-- against the previous week (issue 19).
with calls as (
    select tenant_id, cast(date_trunc('week', day) as date) as week, count(*) as calls
    from {{ ref('stg_call_sentiment') }} group by 1, 2
),
w as (
    select tenant_id, cast(date_trunc('week', day) as date) as week, category, bool_or(is_driver) as is_driver,
           count(distinct call_uid) as category_calls, sum(time_points) as hits
    from {{ ref('stg_call_categories') }}
    group by 1, 2, 3
)
select w.tenant_id, w.week, w.category, w.is_driver, w.category_calls, w.hits, calls.calls,
       w.category_calls * 1.0 / calls.calls as share,
       coalesce(p.category_calls, 0) as previous_category_calls,
       w.category_calls - coalesce(p.category_calls, 0) as change_vs_previous
from w
join calls on calls.tenant_id = w.tenant_id and calls.week = w.week
left join w p on p.tenant_id = w.tenant_id and p.category = w.category and p.week = cast(w.week - interval 7 day as date)
