-- Automated scores waiting for a human (P15).
select tenant_id, day, count(*) as unreviewed_calls, min(score) as lowest_score
from {{ ref('stg_call_scores') }}
where needs_review and review_status = 'unreviewed'
group by 1, 2
