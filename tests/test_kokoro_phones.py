"""Kokoro's rewritten graph (float convolutions, durations output) and the phone timings taken
from its duration predictor instead of a forced alignment."""

from __future__ import annotations

import difflib
import itertools

import numpy as np
import pytest

from emoshift.emotion import parse_emotion
from emoshift.speech.align import ARPABET, Phone, align_phones
from emoshift.speech.kokoro_phones import (
    IPA_TO_ARPABET,
    MODIFIERS,
    fill_silences,
    map_phones,
    phones_from_symbols,
    render_lag,
    shift_phones,
    snap_to_pauses,
    token_times,
)
from emoshift.speech.voice import VoiceProfile

TEXT = "Well, I honestly cannot believe the train leaves at nine, and we arrive in the evening."
MALE = VoiceProfile(f0_median=120.0, f0_iqr_st=3.0, sex="male", syllable_rate=4.3)


def test_symbol_table_maps_onto_arpabet_only():
    assert set(IPA_TO_ARPABET.values()) <= set(ARPABET)
    from emoshift.speech.tts_kokoro import phonemize

    # every segment symbol espeak gives for a sample of English has a phone
    ph = phonemize("The quick brown fox jumps over the lazy dog; she measured church judges.")
    unknown = {c for c in ph if c.isalpha() and c not in IPA_TO_ARPABET and c not in MODIFIERS}
    assert not unknown


def test_phones_from_symbols_merges_marks_gaps_and_punctuation():
    syms = ["", "h", "ə", "l", "ˈ", "O", ",", " ", "ð", "ˈ", "ɛ", "ɹ", " ", "m", "I", "."]
    frames = [4, 2, 2, 2, 1, 5, 3, 6, 2, 1, 3, 2, 1, 3, 4, 5]
    edges = token_times(np.array(frames), 0.025)
    assert edges[0] == 0.0 and edges[-1] == pytest.approx(sum(frames) * 0.025)
    ph = phones_from_symbols(syms, edges[:-1], edges[1:])
    assert [p.label for p in ph] == [
        "SIL",
        "HH",
        "AH",
        "L",
        "OW",
        "SIL",
        "DH",
        "EH",
        "R",
        "M",
        "AY",
        "SIL",
    ]
    ow = ph[4]  # the stress mark's frame goes to the vowel after it
    assert ow.start == pytest.approx(edges[4]) and ow.end == pytest.approx(edges[6])
    # the comma and the long word gap after it are one pause
    assert ph[5].start == pytest.approx(edges[6]) and ph[5].end == pytest.approx(edges[8])
    r = ph[8]  # a short word gap is coarticulated into the phone before it
    assert r.end == pytest.approx(edges[13])
    assert all(a.end == pytest.approx(b.start) for a, b in itertools.pairwise(ph))


def test_snap_to_pauses_clips_phones_to_silent_runs():
    ph = [Phone("N", 0.0, 1.0), Phone("AE", 1.0, 1.2), Phone("SIL", 1.2, 1.3), Phone("D", 1.3, 1.5)]
    out = snap_to_pauses(ph, [(0.6, 1.05), (1.25, 1.35)])
    assert [(p.label, p.start, p.end) for p in out] == [
        ("N", 0.0, 0.6),
        ("SIL", 0.6, 1.05),
        ("AE", 1.05, 1.2),
        ("SIL", 1.2, 1.35),
        ("D", 1.35, 1.5),
    ]


def test_fill_silences_covers_the_whole_audio():
    ph = [
        Phone("SIL", 0.0, 0.1),
        Phone("AA", 0.1, 0.3),
        Phone("SIL", 0.5, 0.6),
        Phone("M", 0.6, 0.7),
    ]
    out = fill_silences(ph, 1.0)
    assert [(p.label, p.start, p.end) for p in out] == [
        ("SIL", 0.0, 0.1),
        ("AA", 0.1, 0.3),
        ("SIL", 0.3, 0.6),
        ("M", 0.6, 0.7),
        ("SIL", 0.7, 1.0),
    ]


def test_map_and_shift_follow_a_time_warp():
    ph = [Phone("AA", 0.1, 0.3), Phone("SIL", 0.3, 1.0)]
    src, dst = np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.5, 2.0])  # second half 3x longer
    out = map_phones(ph, src, dst)
    assert out[0] == Phone("AA", 0.1, 0.3) and out[1] == Phone("SIL", 0.3, 2.0)
    moved = shift_phones(out, -0.2, 0.0, 1.23456)
    assert moved[0] == Phone("AA", 0.0, 0.1) and moved[-1].end <= 1.23456
    assert 0.05 < render_lag(1.3) < render_lag(1.0) < render_lag(0.8) < 0.1


def test_optimised_graph_has_float_convs_and_durations():
    onnx = pytest.importorskip("onnx")
    from emoshift.speech.kokoro_graph import DURATION_OUTPUT, optimised_model
    from emoshift.speech.tts_kokoro import model_path

    m = onnx.load(str(optimised_model(model_path())), load_external_data=False)
    ops = {n.op_type for n in m.graph.node}
    assert "ConvInteger" not in ops and "Conv" in ops
    assert DURATION_OUTPUT in {o.name for o in m.graph.output}


def test_optimised_graph_sounds_like_the_int8_model():
    """Same quantised weights, float arithmetic: same length, nearly the same spectrum."""
    import onnxruntime as ort

    from emoshift.speech import tts_kokoro as tk

    toks = tk._token_chunks(tk.phonemize("We will meet at the station tomorrow."), tk.vocab())[0]
    feed = {
        "tokens": np.array([[0, *toks, 0]], np.int64),
        "style": tk.voices()["jm_kumo"][len(toks) - 1].reshape(1, 256),
        "speed": np.array([1.0], np.float32),
    }
    ref = ort.InferenceSession(str(tk.model_path()), providers=["CPUExecutionProvider"])
    a = ref.run(None, feed)[0].ravel()
    b, dur = tk.load_session().run(None, feed)
    b = b.ravel()
    assert b.size == a.size == int(dur.sum()) * 600

    def logspec(x: np.ndarray) -> np.ndarray:
        n = x.size // 512 * 512
        return np.log(np.abs(np.fft.rfft(x[:n].reshape(-1, 512), axis=1)).mean(axis=0) + 1e-6)

    assert np.corrcoef(logspec(a), logspec(b))[0, 1] > 0.98


@pytest.fixture(scope="module")
def kokoro():
    from emoshift.speech.synthesize import SYNTHESIZERS

    return SYNTHESIZERS.create("kokoro")


@pytest.mark.parametrize("emotion", ["neutral", "very sad"])
def test_duration_phones_agree_with_forced_alignment(kokoro, emotion):
    """Through the emotion's re-timing (WORLD pauses) and the isochrony cuts, the phones from
    Kokoro's durations still start where pocketsphinx finds them (median within 30 ms)."""
    out = kokoro.synthesize(TEXT, parse_emotion(emotion), MALE, max_seconds=5.0)
    assert out.info["phones_from"] == "tts durations" and out.info["seconds"]["phones"] < 0.05
    assert out.phones[0].start == 0.0 and out.phones[-1].end <= out.duration
    assert all(a.end == pytest.approx(b.start, abs=1e-3) for a, b in itertools.pairwise(out.phones))
    ref = align_phones(out.audio, out.sr, TEXT)
    a = [p for p in out.phones if p.label != "SIL"]
    b = [p for p in ref if p.label != "SIL"]
    sm = difflib.SequenceMatcher(a=[p.label for p in a], b=[p.label for p in b], autojunk=False)
    d = [
        abs(a[m.a + i].start - b[m.b + i].start)
        for m in sm.get_matching_blocks()
        for i in range(m.size)
    ]
    assert len(d) >= 0.8 * len(b)
    assert float(np.median(d)) < 0.03
