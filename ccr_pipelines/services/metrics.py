"""Call metrics from segment timestamps, vectorised in DuckDB (P1).

One SQL pass over a tenant-day's redacted segments (their exact VAD speech
regions, unnested) and its manifest (call durations): talk time per speaker,
talk ratio, non-talk time and longest gap, overlap and interruptions (stereo),
speech rate, turns, longest monologue. No Python loop per segment.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..core.catalog import CALL_MANIFEST, CALL_METRICS, REDACTED_SEGMENTS
from ..core.lineage import LineageContext, row_uri
from ..stores.control_store import ControlStore
from ..stores.warehouse import Warehouse, partition_key

MANIFEST_DATASET, REDACTED_DATASET = CALL_MANIFEST.name, REDACTED_SEGMENTS.name
METRICS_DATASET = CALL_METRICS.name  # the dataset this service writes (core/catalog.py)
METRICS_VERSION = "metrics-1"

METRICS_SQL = """
WITH regions AS (
    SELECT call_id, speaker, r[1] AS s, r[2] AS e
    FROM (SELECT call_id, speaker, unnest(speech_regions) AS r FROM segs)
    WHERE r[2] > r[1]
),
ordered AS (
    SELECT *,
        lag(speaker) OVER w AS prev_speaker,
        max(e) OVER (PARTITION BY call_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS max_prev_e
    FROM regions
    WINDOW w AS (PARTITION BY call_id ORDER BY s, e)
),
flow AS (
    SELECT call_id,
        sum(greatest(e - greatest(s, coalesce(max_prev_e, s)), 0)) AS speech_union_s,
        max(greatest(s - coalesce(max_prev_e, s), 0)) AS longest_gap_s,
        count(*) FILTER (WHERE prev_speaker IS NOT NULL AND prev_speaker <> speaker) AS turns,
        count(*) FILTER (WHERE prev_speaker IS NOT NULL AND prev_speaker <> speaker AND s < max_prev_e) AS interruptions,
        min(s) AS first_speech_s, max(e) AS last_speech_s
    FROM ordered GROUP BY call_id
),
islands AS (
    SELECT call_id, speaker, s, e,
        sum(CASE WHEN prev_speaker IS DISTINCT FROM speaker THEN 1 ELSE 0 END)
            OVER (PARTITION BY call_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS grp
    FROM ordered
),
monologues AS (
    SELECT call_id, arg_max(speaker, e - s) AS longest_monologue_speaker, max(e - s) AS longest_monologue_s
    FROM (SELECT call_id, grp, any_value(speaker) AS speaker, min(s) AS s, max(e) AS e FROM islands GROUP BY call_id, grp)
    GROUP BY call_id
),
talk AS (
    SELECT call_id,
        sum(e - s) FILTER (WHERE speaker = 'agent') AS agent_talk_s,
        sum(e - s) FILTER (WHERE speaker = 'customer') AS customer_talk_s,
        sum(e - s) FILTER (WHERE speaker NOT IN ('agent', 'customer')) AS unknown_talk_s
    FROM regions GROUP BY call_id
),
overlap AS (
    SELECT a.call_id, sum(least(a.e, b.e) - greatest(a.s, b.s)) AS overlap_s
    FROM regions a JOIN regions b
      ON a.call_id = b.call_id AND a.speaker = 'agent' AND b.speaker = 'customer' AND a.s < b.e AND b.s < a.e
    GROUP BY a.call_id
),
words AS (
    SELECT call_id,
        sum(len(string_split(trim(text), ' '))) FILTER (WHERE speaker = 'agent' AND trim(text) <> '') AS agent_words,
        sum(len(string_split(trim(text), ' '))) FILTER (WHERE speaker = 'customer' AND trim(text) <> '') AS customer_words,
        sum(len(string_split(trim(text), ' '))) FILTER (WHERE trim(text) <> '') AS words
    FROM segs GROUP BY call_id
)
SELECT m.tenant_id, m.call_id, m.day, m.agent_id, m.team, m.channels, m.duration_s,
    coalesce(t.agent_talk_s, 0) AS agent_talk_s,
    coalesce(t.customer_talk_s, 0) AS customer_talk_s,
    coalesce(t.unknown_talk_s, 0) AS unknown_talk_s,
    CASE WHEN coalesce(t.agent_talk_s, 0) + coalesce(t.customer_talk_s, 0) > 0
         THEN t.agent_talk_s / (coalesce(t.agent_talk_s, 0) + coalesce(t.customer_talk_s, 0)) END AS agent_talk_ratio,
    greatest(m.duration_s - coalesce(f.speech_union_s, 0), 0) AS non_talk_s,
    greatest(coalesce(f.longest_gap_s, 0), coalesce(f.first_speech_s, m.duration_s),
             m.duration_s - coalesce(f.last_speech_s, 0)) AS longest_gap_s,
    coalesce(o.overlap_s, 0) AS overlap_s,
    coalesce(f.interruptions, 0) AS interruptions,
    coalesce(f.turns, 0) AS turns,
    CASE WHEN t.agent_talk_s > 0 THEN 60 * coalesce(w.agent_words, 0) / t.agent_talk_s END AS agent_wpm,
    CASE WHEN t.customer_talk_s > 0 THEN 60 * coalesce(w.customer_words, 0) / t.customer_talk_s END AS customer_wpm,
    coalesce(mo.longest_monologue_s, 0) AS longest_monologue_s,
    mo.longest_monologue_speaker,
    CAST(coalesce(w.words, 0) AS BIGINT) AS words,
    '{version}' AS metrics_version
FROM manifest m
JOIN (SELECT DISTINCT call_id FROM segs) present USING (call_id)
LEFT JOIN talk t USING (call_id)
LEFT JOIN flow f USING (call_id)
LEFT JOIN overlap o USING (call_id)
LEFT JOIN words w USING (call_id)
LEFT JOIN monologues mo USING (call_id)
ORDER BY m.call_id
""".replace("{version}", METRICS_VERSION)


def compute_metrics(segments: pa.Table, manifest: pa.Table) -> pa.Table:
    """Pure: segments (call_id, speaker, text, speech_regions) + manifest -> one metrics row per call."""
    con = duckdb.connect()
    try:
        con.register("segs", segments)
        con.register(
            "manifest", manifest.select(["tenant_id", "call_id", "day", "agent_id", "team", "channels", "duration_s"])
        )
        return con.sql(METRICS_SQL).to_arrow_table()
    finally:
        con.close()


def metrics_partition(
    warehouse: Warehouse,
    tenant_id: str,
    day: str,
    *,
    control: ControlStore | None = None,
    lineage: LineageContext | None = None,
) -> dict:
    """Write the tenant-day's call metrics; with *control* and *lineage*, one lineage row per call (P13)."""
    segs = warehouse.read_partition(REDACTED_DATASET, tenant_id, day)
    manifest = warehouse.read_partition(MANIFEST_DATASET, tenant_id, day)
    if segs is None or manifest is None:
        return {"calls": 0}
    if "no_speech" in segs.column_names:  # the ASR no-speech gate: likely hallucinations are no talk
        segs = segs.filter(pc.invert(pc.fill_null(segs.column("no_speech"), False)))
    table = compute_metrics(segs, manifest)
    info = warehouse.write_partition(METRICS_DATASET, tenant_id, day, table)
    if control is not None and lineage is not None:
        out_uri = warehouse.store.uri(info.key)
        src_uri = warehouse.store.uri(partition_key(REDACTED_DATASET, tenant_id, day))
        control.record_lineage(
            [
                lineage.row(
                    tenant_id=tenant_id,
                    call_id=c,
                    kind="call_metrics",
                    uri=row_uri(out_uri, c),
                    source_uri=row_uri(src_uri, c),
                )
                for c in table.column("call_id").to_pylist()
            ]
        )
    return {"calls": table.num_rows, "partition_object": info.key}
