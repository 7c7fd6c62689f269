"""Clients for the three stores (object store, control store, warehouse).

No Dagster import here: the ASR worker and the CLI use these directly; the
Dagster resources in ``ccr_pipelines.resources`` are thin wrappers.
"""
