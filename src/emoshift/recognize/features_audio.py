"""Prosodic and spectral features of one utterance, for the speech emotion recogniser.

Every feature is chosen to carry emotion the way prosody does and to be insensitive to what
does not: the recording gain (no absolute level anywhere), the words (no MFCC means, no
utterance duration) and, where it can be done from one utterance, the speaker (F0 is in
semitones; ranges, slopes and dynamics are relative to the utterance itself). The vector is
eGeMAPS-like (Eyben et al. 2016) but computed with WORLD (pyworld) and numpy only:

- **pitch** (WORLD DIO with a 0.25 allowed range + StoneMask, semitones re 100 Hz, voiced frames): level (mean, median,
  10th/90th percentile), spread (std, 10-90 and 5-95 % ranges), contour (linear slope, mean
  absolute change, rising/falling share), and the speaker-relative level ``median - p05``.
- **energy** (frame RMS in dB relative to the utterance's 99th percentile, speech frames):
  mean, std, 10-90 % range, mean absolute change, share of loud frames, loudness peaks.
- **timing**: loudness-peak rate (syllable nuclei per second of speech), voiced fraction,
  pause fraction, mean voiced-segment length, voiced segments per second.
- **spectral shape** (voiced frames, log power spectrum): alpha ratio, Hammarberg index,
  spectral slopes 0-500 Hz and 500-1500 Hz, centroid, roll-off, flatness and flux (mean and
  std), and the share of energy in six broad bands relative to the total.
- **voice quality**: WORLD band aperiodicity (D4C) in five bands, H1-H2 and H1-A3
  (harmonic levels from the STFT at f0, 2 f0 and near 3 kHz), and MFCC 1-12 standard deviations
  (articulation dynamics; their means are left out because they mostly identify the words).

All of it is a pure function of (audio, sample rate): :func:`extract_features` returns a
(D,) float32 vector in the order of :data:`FEATURE_NAMES`. :func:`whisper_embedding` adds the
time-averaged Whisper-base encoder states (packaged CTranslate2 model), used by the optional
``whisper`` variant of the recogniser.
"""

from __future__ import annotations

import functools
import itertools
import os
from dataclasses import dataclass

import numpy as np

from emoshift.errors import NoSpeechError

SR = 16000
"""Sample rate every feature is computed at (Hz)."""

HOP = 160
"""Frame hop in samples (10 ms at 16 kHz)."""

WIN = 512
"""STFT / RMS window in samples (32 ms at 16 kHz)."""


@dataclass(frozen=True)
class SpeechCheck:
    """Thresholds that decide whether a clip holds enough speech to judge.

    silence_dbfs: a clip whose loudest 32 ms frame is below this RMS level (dBFS) is silent.
    trim_db: frames more than this far below the loudest frame (dB) are trimmed off the ends.
    min_speech_s: shortest trimmed speech accepted (seconds).
    min_voiced_frames: fewest voiced 10 ms frames accepted (pitch must be measurable).
    """

    silence_dbfs: float = -55.0
    trim_db: float = 35.0
    min_speech_s: float = 0.4
    min_voiced_frames: int = 10


def prepare_audio(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 audio at :data:`SR` with the DC offset removed.

    audio: (N,) or (N, C) samples in [-1, 1] (channels are averaged); sr: its rate in Hz.
    Returns (M,) float32 at 16 kHz. Raises :class:`NoSpeechError` for empty or non-finite input.
    """
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1) if x.shape[1] <= 8 else x.mean(axis=0)
    if x.ndim != 1:
        raise NoSpeechError(f"audio must be 1-D mono samples (got shape {x.shape}); pass one clip")
    if x.size == 0:
        raise NoSpeechError("the audio is empty; give a clip with speech in it")
    if not np.all(np.isfinite(x)):
        raise NoSpeechError("the audio holds NaN or infinite samples; decode it again")
    if int(sr) <= 0:
        raise NoSpeechError(f"sample rate must be positive (got {sr})")
    if int(sr) != SR:
        import soxr

        x = soxr.resample(x, int(sr), SR, quality="HQ").astype(np.float32)
    return (x - x.mean()).astype(np.float32)


def _frames(x: np.ndarray) -> np.ndarray:
    """(T, WIN) frames centred every HOP samples (reflect padding), float32."""
    pad = np.pad(x, (WIN // 2, WIN // 2), mode="reflect" if x.size > WIN else "constant")
    n = 1 + (pad.size - WIN) // HOP
    idx = np.arange(WIN)[None, :] + HOP * np.arange(n)[:, None]
    return pad[idx]


def frame_rms_db(x: np.ndarray) -> np.ndarray:
    """RMS level of each 32 ms frame (10 ms hop) in dBFS, shape (T,), float32."""
    fr = _frames(x)
    rms = np.sqrt(np.mean(fr.astype(np.float64) ** 2, axis=1) + 1e-12)
    return (20.0 * np.log10(rms)).astype(np.float32)


def trim_speech(x: np.ndarray, check: SpeechCheck = SpeechCheck()) -> np.ndarray:
    """The span from the first to the last frame within ``check.trim_db`` of the loudest frame.

    x: (N,) float32 at 16 kHz. Returns a (M,) view. Raises :class:`NoSpeechError` when the clip
    is silent or the span is shorter than ``check.min_speech_s``.
    """
    db = frame_rms_db(x)
    peak = float(np.percentile(db, 99.5)) if db.size else -np.inf
    if peak < check.silence_dbfs:
        raise NoSpeechError(
            f"the audio is silent (loudest level {peak:.0f} dBFS < {check.silence_dbfs:.0f}); "
            "give a clip with audible speech"
        )
    active = np.flatnonzero(db > peak - check.trim_db)
    start = max(active[0] * HOP - WIN // 2, 0)
    stop = min(active[-1] * HOP + WIN // 2, x.size)
    if (stop - start) / SR < check.min_speech_s:
        raise NoSpeechError(
            f"too little speech to judge its emotion ({(stop - start) / SR:.2f} s < "
            f"{check.min_speech_s} s); give at least one spoken phrase"
        )
    return x[start:stop]


def _pitch(x: np.ndarray) -> np.ndarray:
    """WORLD F0 track (Hz, 0 = unvoiced), 10 ms frames, shape (T,), float64."""
    import pyworld

    xd = x.astype(np.float64)
    f0, t = pyworld.dio(
        xd, SR, f0_floor=60.0, f0_ceil=800.0, frame_period=1000.0 * HOP / SR, allowed_range=0.25
    )
    return pyworld.stonemask(xd, f0, t, SR)


def _runs(mask: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True in a boolean vector, shape (R,), int."""
    m = np.concatenate([[False], mask.astype(bool), [False]])
    d = np.diff(m.astype(np.int8))
    return np.flatnonzero(d == -1) - np.flatnonzero(d == 1)


def _clean_f0(f0: np.ndarray) -> np.ndarray:
    """Drop octave jumps and isolated voiced frames: frames more than 12 semitones from the
    utterance median (octave errors), and voiced runs shorter than 3 frames, become unvoiced."""
    f0 = f0.copy()
    v = f0 > 0
    if v.sum() < 3:
        return np.zeros_like(f0)
    st = 12.0 * np.log2(np.where(v, f0, 1.0) / 100.0)
    med = np.median(st[v])
    f0[v & (np.abs(st - med) > 12.0)] = 0.0
    v = f0 > 0
    m = np.concatenate([[False], v, [False]])
    d = np.diff(m.astype(np.int8))
    for s, e in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
        if e - s < 3:
            f0[s:e] = 0.0
    return f0


def _safe(v: float) -> float:
    return float(v) if np.isfinite(v) else 0.0


def _band(freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (freqs >= lo) & (freqs < hi)


_MEL_FB: dict[int, np.ndarray] = {}


def _mfcc_std(logmag_db: np.ndarray) -> np.ndarray:
    """Standard deviation over frames of MFCC 1-12 from a (T, F) dB magnitude spectrogram."""
    import scipy.fft

    if WIN not in _MEL_FB:
        import librosa

        _MEL_FB[WIN] = librosa.filters.mel(sr=SR, n_fft=WIN, n_mels=40, fmin=60, fmax=7600)
    power = 10.0 ** (logmag_db / 10.0)
    mel = np.log(power @ _MEL_FB[WIN].T + 1e-10)
    cep = scipy.fft.dct(mel, type=2, norm="ortho", axis=1)[:, 1:13]
    return cep.std(axis=0)


def _aperiodicity_bands(x: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """Mean WORLD D4C aperiodicity (dB) of voiced frames in 5 bands up to 8 kHz, shape (5,)."""
    import pyworld

    t = np.arange(f0.size) * HOP / SR
    ap = pyworld.d4c(x.astype(np.float64), f0, t, SR, fft_size=1024)
    v = f0 > 0
    ap_db = 20.0 * np.log10(np.clip(ap[v], 1e-4, 1.0))
    freqs = np.linspace(0, SR / 2, ap.shape[1])
    edges = (0, 1000, 2000, 4000, 6000, 8001)
    return np.array([ap_db[:, _band(freqs, lo, hi)].mean() for lo, hi in itertools.pairwise(edges)])


FEATURE_NAMES: tuple[str, ...] = (
    # pitch (semitones re 100 Hz)
    "f0_mean", "f0_median", "f0_p10", "f0_p90", "f0_std", "f0_range_10_90", "f0_range_5_95",
    "f0_rel_median_p05", "f0_slope", "f0_abs_delta", "f0_rise_share", "f0_delta_std",
    # energy (dB re utterance p99)
    "en_mean", "en_std", "en_range_10_90", "en_abs_delta", "en_loud_share", "en_peak_prominence",
    # timing
    "rate_peaks", "voiced_fraction", "pause_fraction", "voiced_seg_mean_s", "voiced_seg_rate",
    # spectral shape (voiced frames)
    "alpha_ratio", "hammarberg", "slope_0_500", "slope_500_1500", "centroid_log", "centroid_std",
    "rolloff_log", "flatness", "flux_mean", "flux_std",
    "band_0_300", "band_300_800", "band_800_1500", "band_1500_2500", "band_2500_4000",
    "band_4000_8000",
    # voice quality
    "ap_0_1k", "ap_1_2k", "ap_2_4k", "ap_4_6k", "ap_6_8k", "h1_h2", "h1_a3",
    *(f"mfcc{i}_std" for i in range(1, 13)),
)  # fmt: skip
"""Names of the entries of :func:`extract_features`' vector, in order."""


def extract_features(audio: np.ndarray, sr: int, check: SpeechCheck = SpeechCheck()) -> np.ndarray:
    """Feature vector of one utterance.

    audio: (N,) float32 mono in [-1, 1] (any level; (N, C) is averaged to mono); sr: Hz (any,
    resampled to 16 kHz). Returns (len(FEATURE_NAMES),) float32, finite.
    Raises :class:`NoSpeechError` for silence, too little speech, or no measurable pitch.
    """
    x = trim_speech(prepare_audio(audio, sr), check)
    f0 = _clean_f0(_pitch(x))
    db = frame_rms_db(x)
    n = min(f0.size, db.size)
    f0, db = f0[:n], db[:n]
    voiced = f0 > 0
    if voiced.sum() < check.min_voiced_frames:
        raise NoSpeechError(
            f"no measurable voice pitch ({int(voiced.sum())} voiced frames); "
            "the clip seems to hold noise or whisper, not voiced speech"
        )
    out: dict[str, float] = {}

    # --- pitch ---------------------------------------------------------------------------
    st = 12.0 * np.log2(f0[voiced] / 100.0)
    tv = np.flatnonzero(voiced) * HOP / SR
    p = np.percentile(st, [5, 10, 50, 90, 95])
    out.update(
        f0_mean=st.mean(), f0_median=p[2], f0_p10=p[1], f0_p90=p[3], f0_std=st.std(),
        f0_range_10_90=p[3] - p[1], f0_range_5_95=p[4] - p[0], f0_rel_median_p05=p[2] - p[0],
    )  # fmt: skip
    out["f0_slope"] = float(np.polyfit(tv, st, 1)[0]) if np.ptp(tv) > 0 else 0.0
    # frame-to-frame change inside voiced runs only (semitones per second)
    both = voiced[1:] & voiced[:-1]
    full_st = 12.0 * np.log2(np.where(voiced, f0, 100.0) / 100.0)
    dst = np.diff(full_st)[both] * (SR / HOP)
    out["f0_abs_delta"] = np.abs(dst).mean() if dst.size else 0.0
    out["f0_rise_share"] = (dst > 0).mean() if dst.size else 0.5
    out["f0_delta_std"] = dst.std() if dst.size else 0.0

    # --- energy --------------------------------------------------------------------------
    ref = np.percentile(db, 99)
    rel = np.maximum(db - ref, -60.0)
    speech = rel > -35.0
    rs = rel[speech]
    out["en_mean"] = rs.mean()
    out["en_std"] = rs.std()
    q = np.percentile(rs, [10, 90])
    out["en_range_10_90"] = q[1] - q[0]
    out["en_abs_delta"] = np.abs(np.diff(rel)).mean() * (SR / HOP)
    out["en_loud_share"] = (rel > -6.0).mean()
    # loudness peaks (syllable nuclei): local maxima of a 50 ms-smoothed level curve that rise
    # at least 3 dB above the lowest point on each side within 120 ms, in voiced frames
    k = np.hanning(7)
    sm = np.convolve(rel, k / k.sum(), mode="same")
    peaks = _peaks(sm, voiced, min_prom=3.0, half_window=12)
    dur = x.size / SR
    out["rate_peaks"] = len(peaks[0]) / dur
    out["en_peak_prominence"] = float(np.mean(peaks[1])) if len(peaks[0]) else 0.0

    # --- timing --------------------------------------------------------------------------
    out["voiced_fraction"] = voiced.mean()
    out["pause_fraction"] = (rel < -30.0).mean()
    runs = _runs(voiced)
    out["voiced_seg_mean_s"] = runs.mean() * HOP / SR if runs.size else 0.0
    out["voiced_seg_rate"] = runs.size / dur

    # --- spectral shape ----------------------------------------------------------------------
    fr = _frames(x)[:n] * np.hanning(WIN).astype(np.float32)
    mag = np.abs(np.fft.rfft(fr, axis=1)) + 1e-9
    freqs = np.fft.rfftfreq(WIN, 1.0 / SR)
    power = mag**2
    pv = power[voiced]
    ldb = 10.0 * np.log10(pv)
    lo, hi = pv[:, _band(freqs, 50, 1000)].sum(1), pv[:, _band(freqs, 1000, 5000)].sum(1)
    out["alpha_ratio"] = np.mean(10 * np.log10(hi / lo))
    out["hammarberg"] = np.mean(
        ldb[:, _band(freqs, 0, 2000)].max(1) - ldb[:, _band(freqs, 2000, 5000)].max(1)
    )
    for name, (a, b) in {"slope_0_500": (0, 500), "slope_500_1500": (500, 1500)}.items():
        sel = _band(freqs, a, b)
        fx = freqs[sel] - freqs[sel].mean()
        out[name] = np.mean((ldb[:, sel] - ldb[:, sel].mean(1, keepdims=True)) @ fx / (fx @ fx))
    tot = pv.sum(1)
    cen = (pv @ freqs) / tot
    out["centroid_log"] = np.mean(np.log(cen))
    out["centroid_std"] = np.std(np.log(cen))
    cum = np.cumsum(pv, axis=1) / tot[:, None]
    out["rolloff_log"] = np.mean(np.log(freqs[np.argmax(cum >= 0.85, axis=1)] + 50.0))
    out["flatness"] = np.mean(np.exp(np.mean(np.log(pv), 1)) / np.mean(pv, 1))
    nm = mag / mag.sum(1, keepdims=True)
    flux = np.sqrt(((nm[1:] - nm[:-1]) ** 2).sum(1))[speech[1:]]
    out["flux_mean"] = flux.mean() if flux.size else 0.0
    out["flux_std"] = flux.std() if flux.size else 0.0
    edges = (0, 300, 800, 1500, 2500, 4000, 8001)
    band_e = np.stack([pv[:, _band(freqs, a, b)].sum(1) for a, b in itertools.pairwise(edges)], 1)
    share = 10.0 * np.log10(band_e.sum(0) / band_e.sum())
    for (a, b), s in zip(itertools.pairwise(edges), share):
        out[f"band_{a}_{min(b, 8000)}"] = s

    # --- voice quality -----------------------------------------------------------------------
    ap = _aperiodicity_bands(x, f0)
    for name, v in zip(("ap_0_1k", "ap_1_2k", "ap_2_4k", "ap_4_6k", "ap_6_8k"), ap):
        out[name] = v
    df = freqs[1]
    f0v = f0[voiced]
    rows = np.arange(pv.shape[0])

    def harm(fc: np.ndarray) -> np.ndarray:
        # strongest bin within +-half f0 of the nominal frequency
        c = np.clip(np.round(fc / df).astype(int), 1, ldb.shape[1] - 2)
        return np.max(
            np.stack([ldb[rows, np.clip(c + o, 0, ldb.shape[1] - 1)] for o in (-1, 0, 1)]), 0
        )

    h1, h2 = harm(f0v), harm(2 * f0v)
    a3 = ldb[:, _band(freqs, 2500, 3500)].max(1)
    out["h1_h2"] = np.mean(h1 - h2)
    out["h1_a3"] = np.mean(h1 - a3)
    sp_db = 10.0 * np.log10(power[speech] + 1e-12)
    for i, v in enumerate(_mfcc_std(sp_db), start=1):
        out[f"mfcc{i}_std"] = v

    vec = np.array([_safe(out[k]) for k in FEATURE_NAMES], dtype=np.float32)
    return vec


def _peaks(
    curve: np.ndarray, allowed: np.ndarray, min_prom: float, half_window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and prominences (dB) of local maxima of ``curve`` at ``allowed`` frames whose
    prominence over the minimum within ``half_window`` frames on each side is >= ``min_prom``."""
    if curve.size < 3:
        return np.zeros(0, int), np.zeros(0)
    is_max = np.zeros(curve.size, bool)
    is_max[1:-1] = (curve[1:-1] >= curve[:-2]) & (curve[1:-1] > curve[2:])
    cand = np.flatnonzero(is_max & allowed)
    if cand.size == 0:
        return cand, np.zeros(0)
    pad = np.pad(curve, half_window, mode="edge")
    from numpy.lib.stride_tricks import sliding_window_view

    win = sliding_window_view(pad, 2 * half_window + 1)[cand]
    left = win[:, :half_window].min(1)
    right = win[:, half_window + 1 :].min(1)
    prom = curve[cand] - np.maximum(left, right)
    keep = prom >= min_prom
    return cand[keep], prom[keep]


# --- Whisper-base encoder embedding ------------------------------------------------------------
WHISPER_DIM = 512
"""Size of the Whisper-base encoder embedding."""

_WHISPER_MAX_FRAMES = 3000  # 30 s of 10 ms log-mel frames: Whisper's window


@functools.cache
def whisper_encoder() -> tuple[object, object]:
    """The packaged Whisper base model (CTranslate2, int8, 2 threads) and its log-mel front end."""
    from faster_whisper.feature_extractor import FeatureExtractor

    from emoshift.speech.transcribe import load_whisper

    # The transcriber's model (same weights, int8, same threads): loaded once for both jobs.
    threads = int(os.environ.get("EMOSHIFT_THREADS", "2"))
    return load_whisper("base", threads).model, FeatureExtractor(feature_size=80)


def whisper_embedding(audio: np.ndarray, sr: int, check: SpeechCheck = SpeechCheck()) -> np.ndarray:
    """Mean over time of Whisper-base encoder states of the trimmed utterance.

    audio: (N,) float32 mono, any rate. The log-mel input is NOT padded to 30 s (only the
    speech is encoded: ~10x faster, and the same way in training and use); audio longer than
    30 s is encoded in 30 s pieces whose means are averaged by length. Returns (512,) float32.
    Raises :class:`NoSpeechError` like :func:`extract_features`.
    """
    import ctranslate2

    x = trim_speech(prepare_audio(audio, sr), check)
    model, fe = whisper_encoder()
    mel = fe(x, padding=0)  # (80, T) float32
    sums, count = np.zeros(WHISPER_DIM, np.float64), 0
    for s in range(0, mel.shape[1], _WHISPER_MAX_FRAMES):
        piece = mel[:, s : s + _WHISPER_MAX_FRAMES]
        n = piece.shape[1] - piece.shape[1] % 2
        if n < 20:
            continue
        sv = ctranslate2.StorageView.from_array(np.ascontiguousarray(piece[None, :, :n]))
        enc = np.asarray(model.encode(sv, to_cpu=True))[0]  # type: ignore[attr-defined]
        sums += enc.sum(0)
        count += enc.shape[0]
    if count == 0:
        raise NoSpeechError("too little speech for the Whisper encoder; give a longer clip")
    return (sums / count).astype(np.float32)
