"""Visemes, lip contacts, blinks and head motion: the pure array parts of the animator."""

from __future__ import annotations

import numpy as np
import pytest

from emoshift.face import regions as R
from emoshift.face.blink import (
    blink_displacement,
    blink_events,
    blink_schedule,
    closure_track,
    plan_video_blinks,
)
from emoshift.face.headmotion import prosody_pose, retime_indices, retime_pose
from emoshift.face.lipsync import MouthBasis, apply_lip_contacts, close_mouth, round_lip_line
from emoshift.face.visemes import (
    CLOSE,
    JAW,
    LABIO,
    ROUND,
    K,
    VisemeConfig,
    closure_centres,
    loudness_envelope,
    normalize_phones,
    viseme_tracks,
)
from emoshift.speech.align import Phone

FPS = 25.0


def _seq(labels: list[str], dur: float = 0.1, start: float = 0.2) -> list[dict]:
    out, t = [], start
    for lab in labels:
        out.append({"label": lab, "start": t, "end": t + dur})
        t += dur
    return out


def _at(phones: list[dict], k: int) -> int:
    return round(0.5 * (phones[k]["start"] + phones[k]["end"]) * FPS)


def test_normalize_accepts_dicts_phones_and_tuples() -> None:
    segs = normalize_phones(
        [
            {"label": "AH0", "start": 0.1, "end": 0.2},
            Phone("P", 0.2, 0.3),
            ("xx", 0.3, 0.4),
            ("M", 0.5, 0.5),
        ]
    )
    assert [s.label for s in segs] == [
        "AH",
        "P",
        "SIL",
    ]  # stress removed, unknown -> SIL, empty dropped


def test_bilabials_close_and_open_vowels_open() -> None:
    ph = _seq(["SIL", "AA", "B", "AA", "M", "AA", "P", "AA", "SIL"], dur=0.08)
    v = viseme_tracks(ph, 40, FPS)
    assert v.shape == (40, K) and v.dtype == np.float32
    assert v.min() >= 0.0 and v.max() <= 1.0
    for k in (2, 4, 6):
        f = _at(ph, k)
        assert v[f, CLOSE] >= 0.85, (ph[k], v[f])
        assert v[f, JAW] <= 0.3  # (the lips shut through CLOSE whatever the jaw)
    for k in (1, 3, 5, 7):  # short vowels between closures open about half way
        assert v[_at(ph, k), JAW] >= 0.35
        assert v[_at(ph, k), CLOSE] <= 0.3
    assert list(closure_centres(ph)) == pytest.approx(
        [0.5 * (p["start"] + p["end"]) for p in ph if p["label"] in "BMP"]
    )


def test_coarticulation_blends_without_snapping() -> None:
    # rounding is anticipated over the consonant before UW, not before IY
    before_uw = viseme_tracks(_seq(["SIL", "S", "UW", "SIL"], dur=0.12), 25, FPS)
    before_iy = viseme_tracks(_seq(["SIL", "S", "IY", "SIL"], dur=0.12), 25, FPS)
    f = _at(_seq(["SIL", "S", "UW", "SIL"], dur=0.12), 1)
    assert before_uw[f, ROUND] > before_iy[f, ROUND] + 0.2
    # shapes change gradually: no parameter jumps between the extremes from one frame to the next
    v = viseme_tracks(_seq(["SIL", "AA", "M", "IY", "UW", "F", "AA", "SIL"], dur=0.1), 30, FPS)
    assert np.abs(np.diff(v, axis=0)).max() < 0.85
    assert v[_at(_seq(["SIL", "AA", "M", "IY", "UW", "F", "AA", "SIL"], dur=0.1), 5), LABIO] > 0.7


def test_loudness_modulates_the_jaw() -> None:
    sr = 16000
    t = np.arange(int(1.0 * sr)) / sr
    audio = (0.5 * np.sin(2 * np.pi * 200 * t) * (t > 0.5)).astype(np.float32)  # silent, then loud
    loud = loudness_envelope(audio, sr, FPS, 25)
    assert loud[:10].max() < 0.1 and loud[15:].min() > 0.8
    ph = [{"label": "AA", "start": 0.0, "end": 1.0}]
    linear = viseme_tracks(ph, 25, FPS, loud, VisemeConfig(jaw_gamma=1.0))
    assert linear[20, JAW] > 2.0 * linear[5, JAW]  # floor 0.35 of the target in silence
    # the default response curve lifts the quiet opening, keeps the order and the pivot
    v = viseme_tracks(ph, 25, FPS, loud)
    assert v[20, JAW] > 1.8 * v[5, JAW] and v[5, JAW] > linear[5, JAW]
    piv = VisemeConfig().jaw_pivot
    assert v[20, JAW] == pytest.approx(piv * (linear[20, JAW] / piv) ** VisemeConfig().jaw_gamma)
    # without phones the jaw follows the loudness alone
    v0 = viseme_tracks(None, 25, FPS, loud)
    assert v0[20, JAW] > 0.5 and v0[5, JAW] < 0.1


def _face() -> np.ndarray:
    """A plausible normalised face: mesh points spread on a grid, lips and lids placed."""
    rng = np.random.default_rng(0)
    q = np.zeros((R.N_POINTS, 3))
    q[:, 0] = rng.uniform(-1.0, 1.0, R.N_POINTS)
    q[:, 1] = rng.uniform(-0.8, 1.6, R.N_POINTS)
    xs = np.linspace(-0.35, 0.35, 11)
    q[list(R.LIPS_OUTER_UPPER), 0] = xs
    q[list(R.LIPS_OUTER_UPPER), 1] = 0.95
    q[list(R.LIPS_INNER_UPPER), 0] = xs * 0.9
    q[list(R.LIPS_INNER_UPPER), 1] = 1.02
    q[list(R.LIPS_INNER_LOWER), 0] = xs * 0.9
    q[list(R.LIPS_INNER_LOWER), 1] = 1.10  # parted lips
    q[list(R.LIPS_OUTER_LOWER), 0] = xs
    q[list(R.LIPS_OUTER_LOWER), 1] = 1.2
    for up, lo, cx in (
        (R.RIGHT_EYE_UPPER, R.RIGHT_EYE_LOWER, -0.5),
        (R.LEFT_EYE_UPPER, R.LEFT_EYE_LOWER, 0.5),
    ):
        ex = np.linspace(cx - 0.15, cx + 0.15, 9)
        q[list(up), 0], q[list(up), 1] = ex, -0.04
        q[list(lo), 0], q[list(lo), 1] = ex, 0.04
    return q


def test_lip_contacts_close_a_parted_mouth() -> None:
    q = _face()
    gap0 = q[list(R.LIPS_INNER_LOWER[1:-1]), 1] - q[list(R.LIPS_INNER_UPPER[1:-1]), 1]
    closed = apply_lip_contacts(q.copy(), close=1.0, labio=0.0)
    gap = closed[list(R.LIPS_INNER_LOWER[1:-1]), 1] - closed[list(R.LIPS_INNER_UPPER[1:-1]), 1]
    assert gap0.min() > 0.05 and np.abs(gap).max() < 1e-9
    half = apply_lip_contacts(q.copy(), close=0.5, labio=0.0)
    g2 = half[list(R.LIPS_INNER_LOWER[1:-1]), 1] - half[list(R.LIPS_INNER_UPPER[1:-1]), 1]
    assert np.allclose(g2, 0.5 * gap0)
    shut = close_mouth(q)
    assert np.allclose(
        shut[list(R.LIPS_INNER_LOWER[1:-1]), 1], shut[list(R.LIPS_INNER_UPPER[1:-1]), 1]
    )


def test_jaw_field_drops_the_lower_lip_only() -> None:
    q = close_mouth(_face())
    d = MouthBasis.of(q).displacement(np.array([1.0, 0, 0, 0, 0]))
    lower = d[list(R.LIPS_INNER_LOWER[1:-1]), 1]
    upper = d[list(R.LIPS_INNER_UPPER[1:-1]), 1]
    assert lower.min() > 0.1 and upper.max() <= 0.0


def test_blinks_natural_rate_and_duration() -> None:
    for seed in range(5):
        blinks = blink_schedule(60.0, seed)
        assert 8 <= len(blinks) <= 30, len(blinks)
        assert all(0.1 <= b.duration <= 0.4 for b in blinks)
        c = closure_track(blinks, int(60 * FPS), FPS)
        assert c.max() == pytest.approx(1.0, abs=1e-3)
        events = blink_events(1.0 - c, FPS, rel_threshold=0.5)
        assert len(events) == len(blinks)
    assert blink_schedule(10.0, 3) == blink_schedule(10.0, 3)  # seeded
    d = blink_displacement(_face(), 1.0)
    q = _face()
    up = np.array(R.RIGHT_EYE_UPPER[1:-1])
    lo = np.array(R.RIGHT_EYE_LOWER[1:-1])
    gap = (q[lo, 1] + d[lo, 1]) - (q[up, 1] + d[up, 1])
    assert gap.max() < 0.005 and gap.min() > -0.03  # the lids meet (overlapping a little)


def test_retiming_is_continuous_and_pingpongs() -> None:
    idx = retime_indices(50, 140)
    assert len(idx) == 140 and idx[0] == 0 and idx.min() >= 0 and idx.max() == 49
    assert np.abs(np.diff(idx)).max() <= 1  # no jump cut
    assert (np.diff(idx) < 0).any()  # it turned round
    assert list(retime_indices(50, 30)) == list(range(30))
    pose = np.stack([np.linspace(0, 10, 50)] * 3, axis=1)
    assert retime_pose(pose, 140).shape == (140, 3)


def test_prosody_pose_is_gentle_and_smooth() -> None:
    rng = np.random.default_rng(1)
    loud = np.clip(np.repeat(rng.uniform(0, 1, 30), 5), 0, 1)
    pose = prosody_pose(loud, FPS, seed=2)
    assert pose.shape == (150, 3)
    std = pose.std(axis=0)
    assert np.all(std > 0.3) and np.all(std < 5.0)
    jerk = np.abs(np.diff(pose, n=3, axis=0)).max()
    assert jerk < 0.2  # degrees per frame^3: no jitter
    assert np.abs(pose[0]).max() < 1e-6


def test_round_lip_line_turns_a_v_into_a_smooth_curve() -> None:
    q = close_mouth(_face())
    d = np.zeros((R.N_POINTS, 2))
    for row in (R.LIPS_INNER_UPPER, R.LIPS_INNER_LOWER, R.LIPS_OUTER_UPPER, R.LIPS_OUTER_LOWER):
        u = np.linspace(-1.0, 1.0, len(row))
        d[list(row), 1] = -0.2 * np.abs(u)  # corners up 0.2 IOD, centre still: a "V"
    out = round_lip_line(q, d, strength=1.0)
    row = list(R.LIPS_INNER_UPPER)
    assert out[row[0], 1] == pytest.approx(-0.2) and out[row[-1], 1] == pytest.approx(-0.2)
    kink = np.abs(np.diff(d[row, 1], 2)).max()
    assert np.abs(np.diff(out[row, 1], 2)).max() < 0.3 * kink  # no sharp point at the centre
    assert out[row[5], 1] < -0.02  # the centre rises with the smile's curve
    half = round_lip_line(q, d)  # default: half way
    assert d[row[5], 1] > half[row[5], 1] > out[row[5], 1]


def _openness_with_blinks(n: int, blinks: list[tuple[int, int]]) -> np.ndarray:
    o = np.full(n, 0.3) + 0.005 * np.sin(np.arange(n))
    for s, e in blinks:
        o[s:e] = 0.05
        o[s - 1] = o[e] = 0.2  # half-shut lids either side
    return o


def test_video_blinks_thin_out_a_fast_blinker_and_hide_the_rest() -> None:
    fps = 30.0
    src = [(20, 24), (40, 44), (70, 74), (100, 104), (130, 134), (160, 164)]  # 1 per second
    o = _openness_with_blinks(180, src)
    plan = plan_video_blinks(o, np.arange(180), fps)
    rate = (len(plan.kept) + len(plan.added)) / (180 / fps) * 60
    assert 8 <= rate <= 24, (plan.kept, plan.added)
    assert plan.kept and all(b - a >= 3 for a, b in plan.kept)
    hidden = [s for s in src if s not in plan.kept]
    for s, e in hidden:  # every hidden blink frame gets open eyes from a frame away from blinks
        donors = plan.eye_donor[s - 1 : e + 1]
        assert (donors >= 0).all()
        assert (o[donors] > 0.25).all()
    for s, e in plan.kept:
        assert (plan.eye_donor[s:e] < 0).all()


def test_video_blinks_added_when_the_source_does_not_blink() -> None:
    fps = 25.0
    plan = plan_video_blinks(np.full(150, 0.3), np.arange(150), fps, seed=1)
    assert not plan.kept and plan.added and plan.suppressed == 0
    assert plan.closure.max() == pytest.approx(1.0, abs=1e-3)
    ev = blink_events(1.0 - plan.closure, fps, rel_threshold=0.5)
    assert len(ev) == len(plan.added)
    assert all(0.1 <= (e - s) / fps <= 0.4 for s, e in ev)
    # a source with one natural blink: it is replayed (its frames pasted) instead
    o = _openness_with_blinks(150, [(100, 104)])
    idx = np.arange(150)
    plan = plan_video_blinks(o, idx, fps, seed=1)
    rate = (len(plan.kept) + len(plan.added)) / (150 / fps) * 60
    assert 8 <= rate <= 30
    # a ping-pong turn slowing a blink to over 400 ms: hidden
    slow = np.repeat(np.arange(150), 3)[:300]
    o2 = _openness_with_blinks(150, [(60, 64)])
    plan = plan_video_blinks(o2, slow, fps)
    assert not plan.kept and plan.suppressed > 0
