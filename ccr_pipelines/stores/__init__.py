"""Clients for the three stores (object store, control store, warehouse).

No Dagster import here: the ASR worker and the CLI use these directly; the
Dagster resources in ``ccr_pipelines.resources`` are thin wrappers.

The control store is a boundary: its tables are named only in this package. Services ask the query
modules (``ledger``, ``dsr_log``, ``subjects``, ``lineage_log``, ``roles``, ``incident_register``,
``audit_trail``, ``review_queue``, ``suspensions``, ``purge_log``, ``evidence``) for what they need
(``test_definitions.py`` checks it).
"""
