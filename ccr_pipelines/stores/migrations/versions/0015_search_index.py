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

from alembic import op

from ccr_pipelines.stores.migrations.ddl import set_role_commands

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_ROWS = (("analyst", "search"), ("dpo", "search"))


def _set(allow: bool) -> None:
    set_role_commands(op.get_bind(), _ROWS, allow=allow, revision=revision)


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
