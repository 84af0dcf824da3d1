"""Emotion -> prosody targets, and applying them to speech with WORLD (pyworld).

Targets come from two published rule sets (``../shared/DESIGN.md``):

* Murray & Arnott (1993), a categorical table (anger: slightly faster, pitch very much
  higher, range much wider, louder; sadness: slightly slower, slightly lower, narrower,
  quieter; ...), quantified here in :data:`CATEGORY_TARGETS` at full intensity;
* MaryTTS' dimensional rules (emotion-to-mary.xsl) on activation A, evaluation E, power P
  (each -100..100, from :attr:`EmotionSpec.vad` which already carries the intensity):
  pitch % = 0.3A + 0.1E - 0.1P; range (st) = 4 + 0.04A; rate % = 0.5A + 0.2E;
  volume = 50 + 0.33A; pauses % = 0.7A; pause duration % = -0.2A.

:func:`targets_for` mixes the two (75 % table, 25 % MaryTTS for level, range, rate and
loudness; pauses from MaryTTS) and scales the table part by intensity, so "slightly sad" moves
a little and "very very very sad" a lot. Voice-quality cues that the tables leave implicit
are added from the same literature: spectral tilt (vocal effort: brighter for anger and joy,
darker for sadness), breathiness (sadness, fear), a "smile" formant raise for happiness and an
F0 tremor for fear.

:func:`apply_prosody` is array in, array out: WORLD analysis (DIO + StoneMask, CheapTrick,
D4C), then F0 level / range / tremor, time-warp (rate, and pauses separately), spectral
envelope gain / tilt / formant warp, aperiodicity (breathiness), WORLD synthesis.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace

import numpy as np

from emoshift.emotion import Emotion, EmotionSpec

FRAME_PERIOD_MS = 5.0
F0_FLOOR = 55.0
F0_CEIL = 700.0


@dataclass(frozen=True)
class ProsodyTargets:
    """Changes relative to the input speech (all neutral at their defaults).

    Attributes:
        f0_shift_st: F0 level change in semitones (+12 = one octave up).
        f0_range: factor on log-F0 excursions around the median (1 = unchanged, 2 = twice
            as wide, 0 = monotone).
        rate: speaking-rate factor (> 1 faster) applied to speech frames.
        pause_factor: extra factor on the duration of pauses (> 1 longer pauses).
        energy_db: loudness change in dB.
        tilt_db: spectral tilt in dB per octave above 500 Hz (> 0 brighter / more effort),
            applied up to 4 kHz (3 octaves).
        breathiness: 0..1, raises aperiodicity (more breath noise).
        formant_shift: factor on formant frequencies (> 1 higher: smiling; < 1 lower).
        tremor_st: depth (semitones) of a ~5.5 Hz F0 tremor (fear).
        energy_range: factor on the loudness contour's excursions (dB) around its mean over
            speech (> 1: stronger accents and contrasts, as in anger; < 1: flatter).
    """

    f0_shift_st: float = 0.0
    f0_range: float = 1.0
    rate: float = 1.0
    pause_factor: float = 1.0
    energy_db: float = 0.0
    tilt_db: float = 0.0
    breathiness: float = 0.0
    formant_shift: float = 1.0
    tremor_st: float = 0.0
    energy_range: float = 1.0

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in asdict(self).items()}

    @property
    def is_identity(self) -> bool:
        return self == ProsodyTargets()


# Murray & Arnott (1993), quantified at intensity 1 (the strongest rendition). Words of the
# table -> numbers: "slightly" ~ 5-10 %, "much" ~ 20-60 %, "very much" the largest; pitch in
# semitones; energy in dB. Voice-quality columns from Scherer (1986) / Gobl & Ni Chasaide (2003).
# Anger, happiness, sadness and neutral were then tuned, within those directions, on Kokoro and
# Piper renditions judged by the project's speech emotion recogniser (trained on RAVDESS):
# anger needs a strongly raised spectral tilt (pressed, high-effort voice) more than pitch;
# happiness a very wide range and a high level (low male voices stayed "neutral" below
# +7 st: the recogniser hears absolute pitch); sadness a dark (steep tilt), breathy, soft,
# very narrow voice with long pauses (Banse & Scherer 1996; Juslin & Laukka 2003) -- there the
# acted RAVDESS sadness is slightly HIGHER in pitch ("tearful"), against the table's "slightly
# lower", and only slightly slower. Sadness and neutral were last revised on 21 Nov (sadness
# narrower / darker / breathier, neutral no longer darkened): plain prosody-SER hits on Kokoro
# went 0.71 -> 0.83 on the benchmark's 24 renditions and 0.58 -> 0.65 on 48 renditions of three
# Harvard sentences not used for tuning. See docs/speech.md.
CATEGORY_TARGETS: Mapping[Emotion, ProsodyTargets] = {
    Emotion.ANGER: ProsodyTargets(
        f0_shift_st=4.0,
        f0_range=1.6,
        rate=1.12,
        pause_factor=0.7,
        energy_db=6.0,
        tilt_db=7.0,
        breathiness=0.0,
        formant_shift=1.0,
        energy_range=1.0,
    ),
    Emotion.HAPPINESS: ProsodyTargets(
        f0_shift_st=8.0,
        f0_range=2.5,
        rate=1.08,
        pause_factor=0.85,
        energy_db=3.0,
        tilt_db=1.5,
        formant_shift=1.05,
        energy_range=1.3,
    ),
    Emotion.SADNESS: ProsodyTargets(
        f0_shift_st=3.0,
        f0_range=0.5,
        rate=0.95,
        pause_factor=1.6,
        energy_db=-8.0,
        tilt_db=-10.0,
        breathiness=0.7,
        formant_shift=0.97,
        energy_range=0.7,
    ),
    Emotion.FEAR: ProsodyTargets(
        f0_shift_st=5.0,
        f0_range=1.4,
        rate=1.25,
        pause_factor=0.8,
        energy_db=0.0,
        tilt_db=0.5,
        breathiness=0.3,
        tremor_st=0.6,
        energy_range=1.1,
    ),
    Emotion.DISGUST: ProsodyTargets(
        f0_shift_st=-3.0,
        f0_range=1.15,
        rate=0.78,
        pause_factor=1.3,
        energy_db=-2.0,
        tilt_db=-1.0,
        formant_shift=0.98,
    ),
    Emotion.SURPRISE: ProsodyTargets(
        f0_shift_st=5.0,
        f0_range=1.9,
        rate=1.12,
        pause_factor=0.9,
        energy_db=3.0,
        tilt_db=1.5,
        formant_shift=1.02,
    ),
    Emotion.CONTEMPT: ProsodyTargets(
        f0_shift_st=-1.5,
        f0_range=1.25,
        rate=0.88,
        pause_factor=1.2,
        energy_db=-1.0,
        tilt_db=0.0,
    ),
    # neutral removes emotional colouring: a slightly flatter, matter-of-fact reading. Not
    # darker and not much flatter: a TTS voice's neutral is already flat, and flattening and
    # darkening it further is what makes it sound sad (Banse & Scherer 1996: steep tilt and a
    # narrow range are sadness cues); on recorded speech (keep-words) it still calms the melody
    Emotion.NEUTRAL: ProsodyTargets(f0_range=0.92),
}

TABLE_WEIGHT = 0.75  # share of Murray & Arnott vs MaryTTS in level, range, rate, loudness


def mary_targets(vad: tuple[float, float, float]) -> ProsodyTargets:
    """MaryTTS' emotion-to-mary rules on (valence, arousal, dominance) in [-1, 1].

    pitch % -> semitones; range 4 + 0.04A st relative to MaryTTS' neutral 4 st -> a factor;
    rate %; volume 50 + 0.33A on a 0..100 scale (50 = neutral) -> dB (full scale ~ +-12 dB);
    pauses: number +0.7A % is not modelled (no pause insertion), duration -0.2A %.
    """
    e, a, p = (100.0 * v for v in vad)
    pitch_pct = 0.3 * a + 0.1 * e - 0.1 * p
    range_st = 4.0 + 0.04 * a
    rate_pct = 0.5 * a + 0.2 * e
    volume = 50.0 + 0.33 * a
    return ProsodyTargets(
        f0_shift_st=float(12.0 * np.log2(max(0.2, 1.0 + pitch_pct / 100.0))),
        f0_range=range_st / 4.0,
        rate=max(0.5, 1.0 + rate_pct / 100.0),
        pause_factor=max(0.3, 1.0 - 0.2 * a / 100.0),
        energy_db=24.0 * (volume - 50.0) / 100.0,
    )


def _mix(items: list[tuple[float, ProsodyTargets]]) -> ProsodyTargets:
    """Weighted mix: additive fields linearly, factors in the log domain."""
    log_fields = {"f0_range", "rate", "pause_factor", "formant_shift", "energy_range"}
    out: dict[str, float] = {}
    for name in asdict(ProsodyTargets()):
        if name in log_fields:
            out[name] = float(
                np.exp(sum(w * np.log(max(1e-3, getattr(t, name))) for w, t in items))
            )
        else:
            out[name] = float(sum(w * getattr(t, name) for w, t in items))
    return ProsodyTargets(**out)


def targets_for(spec: EmotionSpec) -> ProsodyTargets:
    """Prosody targets for an emotion spec (mixtures and intensity included).

    Intensity 0 gives the identity; the Murray & Arnott part scales linearly with intensity
    (in the log domain for factors), the MaryTTS part through :attr:`EmotionSpec.vad`.
    """
    k = spec.intensity
    ident = ProsodyTargets()
    table = _mix([(w * k, CATEGORY_TARGETS[e]) for e, w in spec.weights.items()] + [(1 - k, ident)])
    mary = mary_targets(spec.vad)
    blended = _mix([(TABLE_WEIGHT, table), (1 - TABLE_WEIGHT, mary)])
    # Voice-quality cues and pauses: the table only (MaryTTS has none of them).
    return replace(
        blended,
        tilt_db=table.tilt_db,
        breathiness=table.breathiness,
        formant_shift=table.formant_shift,
        tremor_st=table.tremor_st,
        energy_range=table.energy_range,
        pause_factor=float(np.sqrt(table.pause_factor * mary.pause_factor)),
    )


# --- analysis / synthesis --------------------------------------------------------------------
def _pyworld():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyworld imports the deprecated pkg_resources
        import pyworld

    return pyworld


@dataclass(frozen=True)
class WorldParams:
    """WORLD analysis: f0 (T,) Hz (0 = unvoiced), sp (T, F) power envelope, ap (T, F) in
    [0, 1], at ``FRAME_PERIOD_MS`` frames."""

    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray
    sr: int


WORLD_WORKERS = 2
"""Threads for WORLD analysis and synthesis (pyworld releases the GIL): utterances longer than
``_MIN_SPLIT_S`` are cut at quiet points into this many pieces."""
_MIN_SPLIT_S = 2.0


def _analyse_one(x: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pw = _pyworld()
    f0, t = pw.dio(x, sr, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_PERIOD_MS)
    f0 = pw.stonemask(x, f0, t, sr)
    fft = pw.get_cheaptrick_fft_size(sr, F0_FLOOR)
    sp = pw.cheaptrick(x, f0, t, sr, f0_floor=F0_FLOOR, fft_size=fft)
    ap = pw.d4c(x, f0, t, sr, fft_size=fft)
    return f0, sp, ap


def quiet_cuts(level: np.ndarray, n: int, search: float = 0.15) -> list[int]:
    """Indices cutting a (T,) ``level`` (e.g. frame energy in dB) into ``n`` pieces of about
    equal length, each at the quietest point within ``search`` x T of the even cut."""
    t = level.size
    cuts = []
    for k in range(1, n):
        c = k * t // n
        lo, hi = max(1, int(c - search * t)), min(t - 1, int(c + search * t) + 1)
        if hi <= lo:
            continue
        cuts.append(lo + int(np.argmin(level[lo:hi])))
    return sorted(set(cuts))


def analyse(audio: np.ndarray, sr: int, workers: int | None = None) -> WorldParams:
    """WORLD analysis of (N,) float audio. Long audio is cut at quiet 5 ms frames into
    ``workers`` (default :data:`WORLD_WORKERS`) pieces analysed in parallel threads; the
    frames are those of a whole-utterance analysis except within a few ms of the cuts."""
    x = np.ascontiguousarray(audio, np.float64)
    hop = sr * FRAME_PERIOD_MS / 1000.0
    n = max(1, WORLD_WORKERS if workers is None else int(workers))
    if n == 1 or x.size < _MIN_SPLIT_S * sr * n / 2 or hop != int(hop):
        # (pieces must hold whole frames: a rate like 22.05 kHz is analysed in one go)
        f0, sp, ap = _analyse_one(x, sr)
        return WorldParams(_clean_f0(f0), sp, ap, sr)
    hop = int(hop)
    m = x.size // hop
    level = np.log10(np.mean(x[: m * hop].reshape(m, hop) ** 2, axis=1) + 1e-12)
    bounds = [0, *(c * hop for c in quiet_cuts(level, n)), x.size]
    pieces = [np.ascontiguousarray(x[a:b]) for a, b in itertools.pairwise(bounds)]
    with ThreadPoolExecutor(len(pieces), thread_name_prefix="emoshift-world") as pool:
        parts = list(pool.map(lambda piece: _analyse_one(piece, sr), pieces))
    # a piece of L samples (L a multiple of hop) has L / hop + 1 frames: its last frame is the
    # next piece's first
    f0 = np.concatenate([p[0][:-1] for p in parts[:-1]] + [parts[-1][0]])
    sp = np.concatenate([p[1][:-1] for p in parts[:-1]] + [parts[-1][1]])
    ap = np.concatenate([p[2][:-1] for p in parts[:-1]] + [parts[-1][2]])
    return WorldParams(_clean_f0(f0), np.ascontiguousarray(sp), np.ascontiguousarray(ap), sr)


def _clean_f0(f0: np.ndarray) -> np.ndarray:
    """Drop voiced runs shorter than 3 frames and octave outliers (> 1 octave off the median)."""
    f0 = f0.copy()
    v = f0 > 0
    if v.sum() < 3:
        return f0
    med = np.median(f0[v])
    f0[v & (np.abs(np.log2(np.maximum(f0, 1e-3) / med)) > 1.0)] = 0.0
    v = f0 > 0
    edges = np.diff(np.concatenate([[0], v.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for s, e in zip(starts, ends):
        if e - s < 3:
            f0[s:e] = 0.0
    return f0


def f0_stats(f0: np.ndarray) -> tuple[float, float]:
    """(median Hz, inter-quartile range in semitones) of the voiced frames; (nan, nan) if none."""
    v = f0[f0 > 0]
    if v.size < 5:
        return float("nan"), float("nan")
    q1, q3 = np.percentile(v, [25, 75])
    return float(np.median(v)), float(12.0 * np.log2(q3 / q1))


def track_f0(audio: np.ndarray, sr: int) -> np.ndarray:
    """F0 track (T,) in Hz of (N,) audio, 0 where unvoiced (DIO + StoneMask, cleaned)."""
    pw = _pyworld()
    x = np.ascontiguousarray(audio, np.float64)
    f0, t = pw.dio(x, sr, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_PERIOD_MS)
    return _clean_f0(pw.stonemask(x, f0, t, sr))


def median_f0(audio: np.ndarray, sr: int) -> float:
    """Median F0 (Hz) of the voiced part of (N,) audio; nan if unvoiced."""
    return f0_stats(track_f0(audio, sr))[0]


def _pause_mask(sp: np.ndarray, f0: np.ndarray, min_frames: int = 30) -> np.ndarray:
    """Frames inside pauses: unvoiced, > 35 dB below the loudest frames, runs >= 150 ms."""
    energy = 10.0 * np.log10(np.sum(sp, axis=1) + 1e-12)
    quiet = (energy < np.percentile(energy, 95) - 35.0) & (f0 <= 0)
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    mask = np.zeros_like(quiet)
    for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if e - s >= min_frames:
            mask[s:e] = True
    return mask


def _frame_edges(n: int, rate: float, pause_factor: float, pauses: np.ndarray) -> np.ndarray:
    """(n + 1,) output time (frames) of each input frame edge of a time-warp where speech
    frames last 1/rate and pause frames pause_factor/rate."""
    dur = np.where(pauses, pause_factor, 1.0) / rate
    return np.concatenate([[0.0], np.cumsum(dur)])


def _time_map(n: int, rate: float, pause_factor: float, pauses: np.ndarray) -> np.ndarray:
    """Input frame position (float) for each output frame of that time-warp."""
    out_t = _frame_edges(n, rate, pause_factor, pauses)
    m = max(1, round(float(out_t[-1])))
    return np.interp(np.arange(m) + 0.5, out_t, np.arange(n + 1, dtype=np.float64)) - 0.5


def _pauses_for(params: WorldParams, targets: ProsodyTargets) -> np.ndarray:
    if targets.pause_factor == 1.0:
        return np.zeros(params.f0.size, bool)
    return _pause_mask(params.sp, params.f0)


def retiming(params: WorldParams, targets: ProsodyTargets) -> tuple[np.ndarray, np.ndarray]:
    """How :func:`modify` moves time: (input seconds (K,), output seconds (K,)), both
    increasing, piecewise linear between (``np.interp`` maps an input time to the output).
    The identity when ``targets`` keep the timing."""
    n = params.f0.size
    src = np.arange(n + 1, dtype=np.float64) * FRAME_PERIOD_MS / 1000.0
    if targets.rate == 1.0 and targets.pause_factor == 1.0:
        return src, src.copy()
    edges = _frame_edges(n, targets.rate, targets.pause_factor, _pauses_for(params, targets))
    return src, edges * FRAME_PERIOD_MS / 1000.0


def _warp_frames(arr: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Linear interpolation of frames (T, F) at fractional positions."""
    pos = np.clip(pos, 0, arr.shape[0] - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, arr.shape[0] - 1)
    w = (pos - i0)[:, None]
    return arr[i0] * (1 - w) + arr[i1] * w


def _formant_warp(sp: np.ndarray, factor: float) -> np.ndarray:
    """Stretch the envelope's frequency axis: formants move by ``factor``."""
    nbin = sp.shape[1]
    src = np.arange(nbin) / factor
    i0 = np.clip(np.floor(src).astype(int), 0, nbin - 1)
    i1 = np.clip(i0 + 1, 0, nbin - 1)
    w = np.clip(src - i0, 0.0, 1.0)
    return sp[:, i0] * (1 - w) + sp[:, i1] * w


def _scale_energy_contour(sp: np.ndarray, voiced: np.ndarray, factor: float) -> np.ndarray:
    """Scale the frame-loudness contour's excursions (dB, smoothed over 50 ms) around its mean
    over voiced frames by ``factor``; quiet frames (pauses) are left alone."""
    if voiced.sum() < 5:
        return sp
    e = 10.0 * np.log10(np.sum(sp, axis=1) + 1e-12)
    e_s = np.convolve(np.pad(e, 5, mode="edge"), np.ones(11) / 11.0, mode="valid")
    mean = float(np.mean(e_s[voiced]))
    active = e_s > mean - 25.0
    gain_db = np.where(active, np.clip((factor - 1.0) * (e_s - mean), -12.0, 12.0), 0.0)
    return sp * (10.0 ** (gain_db / 10.0))[:, None]


def modify(
    params: WorldParams,
    targets: ProsodyTargets,
    *,
    f0_ref: float | None = None,
    match_formants: bool = False,
) -> WorldParams:
    """Apply ``targets`` to WORLD parameters (pure). ``f0_ref``: move the median F0 to this
    value (Hz) before the emotional level shift (voice matching); ``match_formants``: also
    move the formants part of the way (ratio^0.15, within 0.9..1.12), as a voice moved from
    male to female pitch sounds more natural with a shorter vocal tract."""
    f0, sp, ap, sr = params.f0.copy(), params.sp.copy(), params.ap.copy(), params.sr
    voiced = f0 > 0
    formant = targets.formant_shift
    if voiced.sum() >= 5:
        lf = np.log2(np.where(voiced, f0, 1.0))
        med = float(np.median(lf[voiced]))
        base = np.log2(f0_ref) if f0_ref and np.isfinite(f0_ref) and f0_ref > 0 else med
        if match_formants:
            formant *= float(np.clip(2.0 ** (0.15 * (base - med)), 0.9, 1.12))
        # excursions measured from a smoothed contour would keep micro-prosody; from the median
        # is the classic range manipulation and is what listeners hear as "range"
        # excursions beyond +-7 st are mostly tracking errors (octave jumps, creak): bound them
        # before scaling so a wide range does not turn one error into a squeak or a growl
        dev = np.clip(lf - med, -0.6, 0.6)
        new = base + targets.f0_shift_st / 12.0 + targets.f0_range * dev
        if targets.tremor_st:
            t = np.arange(f0.size) * FRAME_PERIOD_MS / 1000.0
            new = new + targets.tremor_st / 12.0 * np.sin(2 * np.pi * 5.5 * t)
        f0 = np.where(voiced, np.clip(2.0**new, F0_FLOOR, 1000.0), 0.0)
    if targets.rate != 1.0 or targets.pause_factor != 1.0:
        pos = _time_map(f0.size, targets.rate, targets.pause_factor, _pauses_for(params, targets))
        near = np.clip(np.round(pos).astype(int), 0, f0.size - 1)
        f0_lin = _warp_frames(f0[:, None], pos)[:, 0]
        f0 = np.where(f0[near] > 0, np.maximum(f0_lin, f0[near] * 0.5), 0.0)
        sp = _warp_frames(sp, pos)
        ap = _warp_frames(ap, pos)
    if abs(formant - 1.0) > 1e-3:
        sp = _formant_warp(sp, formant)
    if targets.energy_range != 1.0:
        sp = _scale_energy_contour(sp, f0 > 0, targets.energy_range)
    nbin = sp.shape[1]
    freqs = np.linspace(0.0, sr / 2.0, nbin)
    gain_db = targets.energy_db + targets.tilt_db * np.clip(
        np.log2(np.maximum(freqs, 1.0) / 500.0), 0.0, 3.0
    )
    sp = sp * (10.0 ** (gain_db / 10.0))[None, :]
    if targets.breathiness > 0:
        b = float(np.clip(targets.breathiness, 0.0, 1.0))
        shape = np.clip((freqs - 1000.0) / 3000.0, 0.0, 1.0)[None, :]  # breath noise above 1 kHz
        ap = np.clip(ap + b * shape * (1.0 - ap) * 0.8, 0.0, 0.999)
    return WorldParams(
        np.ascontiguousarray(f0), np.ascontiguousarray(sp), np.ascontiguousarray(ap), sr
    )


def synthesize_world(params: WorldParams, workers: int | None = None) -> np.ndarray:
    """WORLD synthesis -> (N,) float32. Long utterances are cut at quiet unvoiced frames into
    ``workers`` (default :data:`WORLD_WORKERS`) pieces synthesised in parallel threads."""
    pw = _pyworld()
    t = params.f0.size
    n = max(1, WORLD_WORKERS if workers is None else int(workers))
    seconds = t * FRAME_PERIOD_MS / 1000.0
    hop = params.sr * FRAME_PERIOD_MS / 1000.0
    if n == 1 or seconds < _MIN_SPLIT_S * n / 2 or hop != int(hop):
        y = pw.synthesize(params.f0, params.sp, params.ap, params.sr, FRAME_PERIOD_MS)
        return np.asarray(y, np.float32)
    # cut only where the voice is off: voiced frames are priced out of the search
    level = np.log10(np.sum(params.sp, axis=1) + 1e-12) + 100.0 * (params.f0 > 0)
    cuts = quiet_cuts(level, n)
    bounds = [0, *cuts, t - 1]

    def one(ab: tuple[int, int]) -> np.ndarray:
        a, b = ab  # frames a..b inclusive: (b - a) frame periods of audio
        f0 = np.ascontiguousarray(params.f0[a : b + 1])
        sp = np.ascontiguousarray(params.sp[a : b + 1])
        ap = np.ascontiguousarray(params.ap[a : b + 1])
        y = pw.synthesize(f0, sp, ap, params.sr, FRAME_PERIOD_MS)
        return np.asarray(y, np.float32)

    with ThreadPoolExecutor(len(bounds) - 1, thread_name_prefix="emoshift-world") as pool:
        parts = list(pool.map(one, list(itertools.pairwise(bounds))))
    # WORLD renders one frame period per frame: a piece's last frame is the next one's first
    return np.concatenate([p[: -int(hop)] for p in parts[:-1]] + [parts[-1]])


def soft_limit(audio: np.ndarray, ceiling: float = 0.97) -> np.ndarray:
    """Keep peaks under ``ceiling`` with a tanh knee above 0.8 x ceiling (no hard clipping)."""
    knee = 0.8 * ceiling
    a = np.asarray(audio, np.float32)
    over = np.abs(a) > knee
    if not over.any():
        return a
    out = a.copy()
    s = np.sign(a[over])
    excess = (np.abs(a[over]) - knee) / (ceiling - knee)
    out[over] = s * (knee + (ceiling - knee) * np.tanh(excess))
    return out


def apply_prosody(
    audio: np.ndarray,
    sr: int,
    targets: ProsodyTargets,
    *,
    f0_ref: float | None = None,
    match_formants: bool = False,
) -> np.ndarray:
    """Re-synthesise (N,) float32 speech in [-1, 1] at ``sr`` with new prosody.

    ``f0_ref`` (Hz): the median F0 the output should have before the emotional shift
    (``targets.f0_shift_st``); None keeps the input's own median. ``match_formants``: see
    :func:`modify`. Returns (M,) float32 at ``sr``; M differs from N when ``rate`` or
    ``pause_factor`` change the timing. Loudness follows ``targets.energy_db`` relative to
    the input's active RMS; peaks are soft-limited.
    """
    return apply_prosody_timed(audio, sr, targets, f0_ref=f0_ref, match_formants=match_formants)[0]


def apply_prosody_timed(
    audio: np.ndarray,
    sr: int,
    targets: ProsodyTargets,
    *,
    f0_ref: float | None = None,
    match_formants: bool = False,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """:func:`apply_prosody`, also returning its time map (input seconds (K,), output seconds
    (K,)) as :func:`retiming` gives it, for moving phone times along with the audio."""
    audio = np.asarray(audio, np.float32)
    if audio.size < sr // 20 or (targets.is_identity and f0_ref is None):
        same = np.array([0.0, audio.size / sr])
        return audio.copy(), (same, same.copy())
    params = analyse(audio, sr)
    times = retiming(params, targets)
    y = synthesize_world(modify(params, targets, f0_ref=f0_ref, match_formants=match_formants))
    if targets.rate == 1.0 and targets.pause_factor == 1.0:  # same timing: same length
        y = np.pad(y[: audio.size], (0, max(0, audio.size - y.size)))
    # WORLD keeps the envelope's level; re-anchor loudness to the input's RMS + energy_db so
    # tilt and formant changes do not move the overall level by accident
    y = y * (active_rms(audio, sr) * 10.0 ** (targets.energy_db / 20.0) / active_rms(y, sr))
    return soft_limit(y), times


def active_rms(audio: np.ndarray, sr: int) -> float:
    """RMS of the active part of (N,) audio: 20 ms frames within 30 dB of the loudest."""
    x = np.asarray(audio, np.float64)
    n = max(1, int(0.02 * sr))
    m = x.size // n
    if m == 0:
        return float(np.sqrt(np.mean(x**2)) + 1e-9)
    e = np.mean(x[: m * n].reshape(m, n) ** 2, axis=1)
    keep = e >= e.max() * 1e-3
    return float(np.sqrt(np.mean(e[keep])) + 1e-9)
