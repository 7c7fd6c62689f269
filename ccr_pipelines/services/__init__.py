"""Pipeline steps that combine the pure rules (core/) with the stores (stores/).

No Dagster import and no SQL: the Dagster assets in defs/ call these, they ask stores/ for what they
need, and tests drive them against real stores.
"""
