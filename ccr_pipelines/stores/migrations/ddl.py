"""DDL the revisions share: the append-only triggers (P13, P20, P22) on both engines.

Frozen like the revisions that call them: change nothing here, add a function instead."""

from __future__ import annotations

import sqlalchemy as sa


def create_append_only_function(conn) -> None:
    """PostgreSQL: the trigger function that refuses UPDATE and DELETE (revision 0003)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                """
            CREATE OR REPLACE FUNCTION ccr_append_only() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP;
            END $$ LANGUAGE plpgsql
            """
            )
        )


def append_only_trigger(conn, table: str) -> None:
    """Refuse every UPDATE and DELETE on *table*."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION ccr_append_only()"
            )
        )
    else:
        for op in ("UPDATE", "DELETE"):
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {op} refused'); END"
                )
            )


def purgeable_delete_trigger(conn, table: str) -> None:
    """P19: *table*'s DELETE lets through only rows a retention grant covers (tenant, older than
    ``before``); every other DELETE and every UPDATE is still refused (revision 0011)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                f"""
            CREATE OR REPLACE FUNCTION ccr_append_only_{table}() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM retention_grants g WHERE g.table_name = TG_TABLE_NAME
                   AND g.tenant_id = OLD.tenant_id AND OLD.at < g.before) THEN
                RETURN OLD;
              END IF;
              RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP;
            END $$ LANGUAGE plpgsql
            """
            )
        )
        conn.execute(sa.text(f"DROP TRIGGER {table}_append_only ON {table}"))
        conn.execute(
            sa.text(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION ccr_append_only_{table}()"
            )
        )
    else:
        conn.execute(sa.text(f"DROP TRIGGER {table}_no_delete"))
        conn.execute(
            sa.text(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                f"WHEN NOT EXISTS (SELECT 1 FROM retention_grants g WHERE g.table_name = '{table}' "
                f"AND g.tenant_id = old.tenant_id AND old.at < g.before) "
                f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: DELETE refused'); END"
            )
        )


def refuse_baseline_downgrade(revision: str) -> None:
    from ...core.errors import CcrError

    raise CcrError(
        f"revision {revision} belongs to the baseline (the schema before Alembic): it is not "
        f"downgraded; restore a backup instead (docs/operations.md)"
    )


_ROLES = sa.table("access_role_commands", sa.column("role", sa.String), sa.column("command", sa.String))
_AUDIT = sa.table(
    "audit_log",
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("change", sa.JSON),
)


def set_role_commands(conn, rows, *, allow: bool, revision: str) -> None:
    """A revision granting (or, downgraded, taking back) role commands: on a store whose role table is
    written (it has a first admin), each change audited (P20) as ``ccr access allow`` does; a store
    without one gets them from ``core/access.DEFAULT_ROLE_COMMANDS`` at bootstrap."""
    from datetime import UTC, datetime

    have = {(r, c) for r, c in conn.execute(sa.select(_ROLES.c.role, _ROLES.c.command))}
    if not have:
        return  # no first admin yet: bootstrap writes the defaults, these included
    now = datetime.now(UTC)
    for role, command in rows:
        if ((role, command) in have) == allow:
            continue
        where = sa.and_(_ROLES.c.role == role, _ROLES.c.command == command)
        conn.execute(_ROLES.insert().values(role=role, command=command) if allow else _ROLES.delete().where(where))
        conn.execute(
            _AUDIT.insert().values(
                at=now,
                actor=f"ccr db {'migrate' if allow else 'downgrade'} (revision {revision})",
                entity="access_role",
                entity_id=role,
                change={"command": command, "allowed": allow, "reason": f"schema revision {revision}"},
            )
        )
