{#- P16, restriction of processing: calls of a restricted data subject stay in the datasets but not in
    the marts. The "tenant/call_id" list is a Parquet file written from the control store before each
    build (services/marts.write_restricted_calls); its path, not the ids, is all dbt sees. -#}
{% macro not_restricted(uid_expr) %}
  {%- set path = var('ccr_restricted_calls', env_var('CCR_RESTRICTED_CALLS', '')) -%}
  {%- if path %}
where {{ uid_expr }} not in (select uid from read_parquet('{{ path | replace("'", "''") }}'))
  {%- endif %}
{% endmacro %}
