{#- P16, restriction of processing: calls of a restricted data subject stay in the datasets but not in
    the marts. The list of "tenant/call_id" comes from the control store at run time (--vars). -#}
{% macro not_restricted(uid_expr) %}
  {%- set uids = var('restricted_call_uids', []) -%}
  {%- if uids | length > 0 %}
where {{ uid_expr }} not in ({% for u in uids %}'{{ u | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %})
  {%- endif %}
{% endmacro %}
