"""the transcript search index (issue 19)

Revision ID: 0015
Revises: 0014
``search_segments`` (``stores/control_store.index_metadata``: derived data, left out of backups and
rebuilt by ``services/search.rebuild``). SQLite: an external-content FTS5 table over its ``text``,
kept in step by triggers (a row deleted by any statement leaves the full-text index too),
tokenizer ``unicode61 remove_diacritics 2`` (case and accents folded). PostgreSQL: a ``tsv`` column
(the folded text's ``to_tsvector('simple', …)``, written by the indexer) and a GIN index. A store
whose role table is written gets ``search`` for the analyst and dpo roles, each change audited (P20).
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_ROWS = (("analyst", "search"), ("dpo", "search"))
_roles = sa.table("access_role_commands", sa.column("role", sa.String), sa.column("command", sa.String))
_audit = sa.table(
    "audit_log",
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("change", sa.JSON),
)


def _set(allow: bool) -> None:
    conn = op.get_bind()
    have = {(r, c) for r, c in conn.execute(sa.select(_roles.c.role, _roles.c.command))}
    if not have:
        return  # no first admin yet: bootstrap writes the defaults, these included
    now = datetime.now(UTC)
    for role, command in _ROWS:
        if ((role, command) in have) == allow:
            continue
        where = sa.and_(_roles.c.role == role, _roles.c.command == command)
        conn.execute(_roles.insert().values(role=role, command=command) if allow else _roles.delete().where(where))
        conn.execute(
            _audit.insert().values(
                at=now,
                actor=f"ccr db {'migrate' if allow else 'downgrade'} (revision {revision})",
                entity="access_role",
                entity_id=role,
                change={"command": command, "allowed": allow, "reason": f"schema revision {revision}"},
            )
        )


def upgrade() -> None:
    conn = op.get_bind()
    cols = (
        "tenant_id VARCHAR(40) NOT NULL, day VARCHAR(10) NOT NULL, call_id VARCHAR(64) NOT NULL, "
        "segment_index INTEGER NOT NULL, speaker VARCHAR(20), start_s {f}, end_s {f}, text TEXT NOT NULL"
    )
    if conn.dialect.name == "postgresql":
        op.execute(
            "CREATE TABLE search_segments (id BIGSERIAL PRIMARY KEY, "
            + cols.format(f="DOUBLE PRECISION")
            + ", tsv TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX ix_search_segments_tsv ON search_segments USING GIN (tsv)")
    else:
        op.execute(
            "CREATE TABLE search_segments (id INTEGER PRIMARY KEY AUTOINCREMENT, " + cols.format(f="FLOAT") + ")"
        )
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(text, content='search_segments', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER search_segments_ai AFTER INSERT ON search_segments BEGIN "
            "INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER search_segments_ad AFTER DELETE ON search_segments BEGIN "
            "INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text); END"
        )
        op.execute(
            "CREATE TRIGGER search_segments_au AFTER UPDATE ON search_segments BEGIN "
            "INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text); "
            "INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text); END"
        )
    op.execute("CREATE INDEX ix_search_segments_call ON search_segments (tenant_id, call_id)")
    # a day window's id range in O(days log n) (services/search._id_window): a tenant-day's rows are one insert
    op.execute("CREATE INDEX ix_search_segments_day ON search_segments (tenant_id, day, id)")
    _set(True)


def downgrade() -> None:
    _set(False)
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        for trig in ("search_segments_ai", "search_segments_ad", "search_segments_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trig}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.execute("DROP TABLE IF EXISTS search_segments")
