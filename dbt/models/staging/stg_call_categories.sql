-- Category and call-driver hits (issue 19): one row per call and category that matched.
select
    tenant_id, call_id, tenant_id || '/' || call_id as call_uid, cast(day as date) as day,
    category, is_driver, first_s, len(time_points) as time_points, categories_version
from {{ source('ccr', 'call_categories') }}
{{ not_restricted("tenant_id || '/' || call_id") }}
