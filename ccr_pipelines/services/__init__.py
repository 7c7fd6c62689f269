"""Pipeline steps that combine the pure rules (core/) with the stores (stores/).

No Dagster import: the Dagster assets in defs/ call these, and tests drive
them against real stores.
"""
