"""Alembic environment of the control store, configured in code (``migrations.config``): no
alembic.ini. Always online, on the connection the caller opened and locked (one transaction)."""

from alembic import context

from ccr_pipelines.stores.control_store import metadata
from ccr_pipelines.stores.migrations import include_object

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("the control store's migrations run through ControlStore (ccr db …), on a connection")

context.configure(connection=connection, target_metadata=metadata, include_object=include_object, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
