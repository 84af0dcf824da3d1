"""The Emotion-Driven Animation pipeline: video in, emotional video out.

One method per stage (LivePortrait-style), each cached in the run folder::

    probe -> audio -> transcribe -> track -> speech (rewrite + synthesise, or keep-words
    conversion) -> stills (EFG on N sampled frames) -> animate (EFA: lip-sync, emotion,
    blinks, head motion, compositing, mux) -> output

Analysis stages that do not depend on the target emotion (audio, transcribe, track) are
``shareable``: a second run on the same video (another emotion, ``--emotion all``) reuses them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from emoshift.emotion import EmotionSpec, parse_emotion
from emoshift.errors import ConfigError
from emoshift.fileio import check_output_path, copy_atomic, sha256_file
from emoshift.pipeline.runfolder import RunFolder, StageResult, stable_hash

log = logging.getLogger(__name__)

AUDIO_SR = 16000
# run-folder numbers of the face stages: the speech branch (audio 01, transcribe, rewrite,
# speech: 02-04) and the face branch run at the same time, so the face stages' folders are
# numbered explicitly (a re-run must find them under the same names)
ORDER = {"track": 5, "stills": 6, "animate": 7}


@dataclass(frozen=True)
class ShiftConfig:
    """Everything that shapes a ``shift`` result (hashed into the stage cache keys).

    Attributes:
        emotion: target emotion and intensity.
        mode: "video" animates the original frames re-timed to the new speech (keeps background,
            lighting and the person's own motion); "still" animates one emotional still (the
            paper's single-image mode).
        keep_words: keep what was said; convert the original voice's prosody instead of
            rewriting and re-synthesising.
        speech_only: produce only the new speech (a .wav), no video.
        face_only: keep the original audio; change only the face.
        expression: apply the emotional face (False = the paper's animation-only baseline).
        n_stills: frames sampled for the emotional stills (the paper's N = 5).
        rewriter / tts: backend names (None = the offline defaults).
        seed: makes every random choice repeatable.
        max_duration: longest input accepted, seconds (None: $EMOSHIFT_MAX_DURATION or 600).
        multi_face: "largest" picks the largest face (with a warning); "error" fails.
        max_stretch: the new speech may last at most this many times the source clip
            (isochrony, as in dubbing: the rewrite that fits is chosen, long pauses are
            shortened, and words that still run over are sped up by at most 10 %); 0 = no
            limit. Not used with keep_words.
    """

    emotion: EmotionSpec
    mode: Literal["video", "still"] = "video"
    keep_words: bool = False
    speech_only: bool = False
    face_only: bool = False
    expression: bool = True
    n_stills: int = 5
    rewriter: str | None = None
    tts: str | None = None
    seed: int = 0
    max_duration: float | None = None
    multi_face: Literal["largest", "error"] = "largest"
    max_stretch: float = 1.3

    def __post_init__(self) -> None:
        if self.speech_only and self.face_only:
            raise ConfigError("--speech-only and --face-only exclude each other")
        if self.mode not in ("video", "still"):
            raise ConfigError(f"mode must be 'video' or 'still', got {self.mode!r}")
        if not 1 <= self.n_stills <= 50:
            raise ConfigError("n_stills must be in 1..50")
        from emoshift.speech.isochrony import check_max_stretch

        check_max_stretch(self.max_stretch)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["emotion"] = self.emotion.to_dict()
        return d


@dataclass
class ShiftResult:
    """What a run produced. Paths point into the run folder except ``output``."""

    output: Path
    run_dir: Path
    emotion: EmotionSpec
    transcript: str = ""
    rewritten: str = ""
    speech: Path | None = None
    stills: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    cached: dict[str, bool] = field(default_factory=dict)
    wall_seconds: float | None = None

    @property
    def manifest(self) -> Path:
        return self.run_dir / "manifest.json"

    def summary(self) -> str:
        lines = [
            f"output:     {self.output}",
            f"run folder: {self.run_dir}",
            f"emotion:    {self.emotion}",
        ]
        if self.transcript:
            lines.append(f"transcript: {self.transcript}")
        if self.rewritten and self.rewritten != self.transcript:
            lines.append(f"rewritten:  {self.rewritten}")
        parts = ", ".join(
            f"{k} {v:.2f}s" + (" (cached)" if self.cached.get(k) else "")
            for k, v in self.timings.items()
        )
        # stages overlap (the face branch runs beside the speech) and cached ones cost
        # nothing now: the run's own wall time is the figure, the stages are its breakdown
        wall = f"{self.wall_seconds:.2f}s wall" if self.wall_seconds is not None else "stages"
        lines.append(f"time:       {wall} ({parts})")
        return "\n".join(lines)


class EDAPipeline:
    """Build once, call for each video: models stay loaded between calls."""

    def __init__(self, config: ShiftConfig) -> None:
        self.config = config

    # -- stages -------------------------------------------------------------------------------
    def probe(self, video: Path) -> Any:
        from emoshift.media import probe

        need_video = not self.config.speech_only
        return probe(
            video, need_video=need_video, need_audio=True, max_duration=self.config.max_duration
        )

    def extract_audio(self, run: RunFolder, video: Path, video_hash: str) -> StageResult:
        from emoshift.media import read_audio, write_audio

        def body(folder: Path):
            audio = read_audio(video, sr=AUDIO_SR)
            write_audio(folder / "original.wav", audio, AUDIO_SR)
            return {"audio": "original.wav"}, {"seconds": len(audio) / AUDIO_SR}

        return run.stage("audio", {"video": video_hash, "sr": AUDIO_SR}, body, shareable=True)

    def track(self, run: RunFolder, video: Path, video_hash: str) -> StageResult:
        from emoshift.face.landmarks import track_video
        from emoshift.face.trackio import save_track
        from emoshift.media import iter_frames, probe

        def body(folder: Path):
            info = probe(video)
            track = track_video(
                iter_frames(video), info.fps or 25.0, multi_face=self.config.multi_face
            )
            save_track(track, folder / "track.npz")
            return {"track": "track.npz"}, {
                "frames": len(track.found),
                "found": int(track.found.sum()),
            }

        key = {"video": video_hash, "multi_face": self.config.multi_face}
        return run.stage(
            "track", key, body, models=["mediapipe-facemesh"], shareable=True, order=ORDER["track"]
        )

    def speech(self, run: RunFolder, audio_stage: StageResult) -> tuple[Any, StageResult]:
        """S2S: transcribe (shareable) -> rewrite -> speak, each a stage of ``run``
        (keep-words: transcribe -> convert the original voice). Returns the S2S result and
        the ``speech`` stage (files ``audio`` = speech.wav, ``phones`` = phones.json)."""
        from emoshift.media import read_audio
        from emoshift.speech.isochrony import budget_seconds
        from emoshift.speech.s2s import speech_to_speech

        cfg = self.config
        audio = read_audio(audio_stage.path("audio"), sr=AUDIO_SR)
        budget = budget_seconds(cfg.max_stretch, audio.size / AUDIO_SR)
        res = speech_to_speech(
            audio,
            AUDIO_SR,
            cfg.emotion,
            keep_words=cfg.keep_words,
            rewriter=cfg.rewriter,
            synthesizer=cfg.tts,
            seed=cfg.seed,
            run=run,
            max_seconds=budget,
        )
        return res, run.stages["speech"]

    def stills(self, run: RunFolder, video: Path, track_stage: StageResult) -> StageResult:
        from emoshift.face.animate import prepare_video
        from emoshift.face.expression import neutral_reference
        from emoshift.face.generate import generate_still
        from emoshift.face.sampling import sample_frames
        from emoshift.face.trackio import load_track
        from emoshift.media import read_frames
        from emoshift.media.image import write_image

        cfg = self.config

        def body(folder: Path):
            track = load_track(track_stage.path("track"))
            idx = sample_frames(track, cfg.n_stills, seed=cfg.seed)
            frames = read_frames(video, idx)
            # the animator's mouth donor (worked out once per clip): stills and video show
            # the same teeth
            donor = prepare_video(video, track).donor
            reference = neutral_reference(track.points)
            files = {}
            for k, (i, frame) in enumerate(zip(idx, frames)):
                still, _ = generate_still(
                    frame, track.points[i], cfg.emotion, donor=donor, reference=reference
                )
                name = f"still_{k}_frame{i}.png"
                write_image(folder / name, still)
                write_image(folder / f"source_{k}_frame{i}.png", frame)
                files[f"still_{k}"] = name
            return files, {"frames": [int(i) for i in idx]}

        key = {
            "track": run.key_of("track"),
            "emotion": cfg.emotion.to_dict(),
            "n": cfg.n_stills,
            "seed": cfg.seed,
        }
        return run.stage("stills", key, body, models=["mediapipe-facemesh"], order=ORDER["stills"])

    def animate(
        self,
        run: RunFolder,
        video: Path,
        track_stage: StageResult,
        speech_stage: StageResult | None,
        audio_stage: StageResult,
    ) -> StageResult:
        from emoshift.face.animate import AnimateConfig, animate_video

        cfg = self.config

        def body(folder: Path):
            speech_path = speech_stage.path("audio") if speech_stage else audio_stage.path("audio")
            phones = json.loads(speech_stage.path("phones").read_text()) if speech_stage else None
            acfg = AnimateConfig(
                mode=cfg.mode,
                expression=cfg.expression,
                lip_sync=speech_stage is not None,
                seed=cfg.seed,
            )
            animate_video(
                video,
                track_stage.path("track"),
                speech_path,
                phones,
                cfg.emotion,
                folder / "video.mp4",
                config=acfg,
            )
            return {"video": "video.mp4"}, {}

        key = {
            "track": run.key_of("track"),
            "speech": run.key_of("speech") if speech_stage else run.key_of("audio"),
            "config": cfg.to_dict(),
        }
        return run.stage(
            "animate", key, body, models=["mediapipe-facemesh"], order=ORDER["animate"]
        )

    def _face_branch(
        self, run: RunFolder, video: Path, video_hash: str
    ) -> tuple[StageResult, StageResult | None]:
        """Tracking, the animator's per-clip analysis (closed-mouth frame, mouth donor: the
        stills use the same donor, and the animate stage finds it ready), then the stills
        (folders 05 and 06 whatever order the threads finish in)."""
        from emoshift.face.animate import prepare_video
        from emoshift.face.trackio import load_track

        track = self.track(run, video, video_hash)
        prepare_video(video, load_track(track.path("track")))
        st = self.stills(run, video, track) if self.config.expression else None
        return track, st

    # -- whole run ----------------------------------------------------------------------------
    def __call__(
        self, video: str | Path, output: str | Path, run_dir: str | Path | None = None
    ) -> ShiftResult:
        cfg = self.config
        video = Path(video)
        output = check_output_path(output, [video])
        if cfg.speech_only and output.suffix.lower() not in (".wav", ".flac"):
            output = output.with_suffix(".wav")
        self.probe(video)
        video_hash = sha256_file(video)
        run_dir = Path(run_dir) if run_dir else default_run_dir(output, video_hash, cfg)
        run = RunFolder(run_dir, cfg.to_dict(), {"video": video})
        t0 = time.perf_counter()
        audio = self.extract_audio(run, video, video_hash)
        stills: list[Path] = []
        if cfg.speech_only:
            s2s, speech = self.speech(run, audio)
            copy_atomic(speech.path("audio"), output)
        else:
            # the face branch (tracking, stills) does not depend on the speech branch: run it in
            # a second thread while the speech is transcribed, rewritten and synthesised (the
            # TTS and the face mesh each leave part of the two cores idle)
            with ThreadPoolExecutor(1, thread_name_prefix="emoshift-face") as pool:
                face = pool.submit(self._face_branch, run, video, video_hash)
                s2s, speech = (None, None) if cfg.face_only else self.speech(run, audio)
                track, st = face.result()
            if st is not None:
                stills = [st.folder / f for f in st.files.values()]
            anim = self.animate(run, video, track, speech, audio)
            copy_atomic(anim.path("video"), output)
        wall = _record_output(run, output, t0)
        return ShiftResult(
            output=output,
            run_dir=run.root,
            emotion=cfg.emotion,
            transcript=s2s.transcript.text if s2s else "",
            rewritten=s2s.rewritten_text if s2s else "",
            speech=speech.path("audio") if speech else None,
            stills=stills,
            wall_seconds=wall,
            **_stage_times(run),
        )


def _record_output(run: RunFolder, output: Path, t0: float) -> float:
    """Note the delivered output and the run's wall time in the manifest."""
    run.extra["output"] = str(output)
    run.extra["wall_seconds"] = round(time.perf_counter() - t0, 3)
    run.write_manifest()
    return float(run.extra["wall_seconds"])


def _stage_times(run: RunFolder) -> dict[str, dict[str, Any]]:
    """``timings`` and ``cached`` per stage, for :class:`ShiftResult`."""
    return {
        "timings": {k: s.seconds for k, s in run.stages.items()},
        "cached": {k: s.cached for k, s in run.stages.items()},
    }


def default_run_dir(output: Path, video_hash: str, cfg: ShiftConfig) -> Path:
    """``<output folder>/.emoshift-runs/<output stem>-<hash of input+config>``."""
    digest = stable_hash({"video": video_hash, "config": cfg.to_dict()})[:10]
    return output.parent / ".emoshift-runs" / f"{output.stem}-{digest}"


def shift(
    video: str | Path,
    emotion: str | EmotionSpec,
    output: str | Path,
    *,
    intensity: float | None = None,
    run_dir: str | Path | None = None,
    **options: Any,
) -> ShiftResult:
    """Python API of ``emoshift shift``: change the emotion of a talking-person video.

    Args:
        video: input video with one talking face and speech.
        emotion: a name ("happy"), a prompt ("Make this text very very sad") or an EmotionSpec.
        output: the mp4 to write (a .wav with ``speech_only=True``).
        intensity: 0..1, overrides the prompt's.
        options: any :class:`ShiftConfig` field (mode, keep_words, seed, ...).
    """
    spec = parse_emotion(emotion, intensity)
    return EDAPipeline(ShiftConfig(emotion=spec, **options))(video, output, run_dir)


def shift_all(
    video: str | Path,
    out_dir: str | Path,
    emotions: Sequence[str] | None = None,
    **options: Any,
) -> list[ShiftResult]:
    """Render several emotions from one analysis pass (audio, transcript and tracking are
    computed once and shared through the stage cache)."""
    from emoshift.emotion import ALL_EMOTIONS

    names = list(emotions) if emotions else [e.value for e in ALL_EMOTIONS]
    out_dir = Path(out_dir)
    intensity = options.pop("intensity", None)
    base = ShiftConfig(emotion=parse_emotion(names[0], intensity), **options)
    results = []
    for name in names:
        cfg = replace(base, emotion=parse_emotion(name, intensity))
        results.append(
            EDAPipeline(cfg)(video, out_dir / f"{Path(video).stem}_{cfg.emotion.label.value}.mp4")
        )
    return results


@dataclass(frozen=True)
class SayConfig:
    """Settings of :func:`say`: the talking-avatar use (no source video)."""

    emotion: EmotionSpec
    tts: str | None = None
    fps: float = 25.0
    seed: int = 0
    rewrite: bool = False
    rewriter: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["emotion"] = self.emotion.to_dict()
        return d


def say(
    face_image: str | Path,
    text: str,
    emotion: str | EmotionSpec,
    output: str | Path,
    *,
    intensity: float | None = None,
    run_dir: str | Path | None = None,
    **options: Any,
) -> ShiftResult:
    """Python API of ``emoshift say``: a face image speaks ``text`` with ``emotion``.

    The still gets the emotional expression (EFG), the text is spoken with emotional prosody
    (ET2S; rewritten first only if ``rewrite=True``), and the still is animated with lip sync,
    blinks and gentle head motion (EFA, still mode).
    """
    from emoshift.face.animate import AnimateConfig, animate_still, still_config
    from emoshift.face.generate import generate_still
    from emoshift.face.landmarks import detect_landmarks
    from emoshift.face.mouth import select_donor
    from emoshift.media import write_audio
    from emoshift.media.image import read_image, write_image
    from emoshift.speech.synthesize import synthesize

    text = text.strip()
    if not text:
        raise ConfigError("--text is empty: give the words the face should say")
    cfg = SayConfig(emotion=parse_emotion(emotion, intensity), **options)
    face_image = Path(face_image)
    output = check_output_path(output, [face_image])
    image = read_image(face_image)
    image_hash = sha256_file(face_image)
    if run_dir is None:
        digest = stable_hash({"image": image_hash, "text": text, "config": cfg.to_dict()})[:10]
        run_dir = output.parent / ".emoshift-runs" / f"{output.stem}-{digest}"
    run = RunFolder(run_dir, {"text": text, **cfg.to_dict()}, {"image": face_image})
    t0 = time.perf_counter()
    acfg = AnimateConfig(mode="still", head_motion="prosody", seed=cfg.seed)

    def face_body(folder: Path):
        points = detect_landmarks(image)
        still, still_points = generate_still(image, points, cfg.emotion, config=still_config(acfg))
        write_image(folder / "still.png", still)
        np.save(folder / "points.npy", still_points)
        np.save(folder / "source_points.npy", points)
        return {
            "still": "still.png",
            "points": "points.npy",
            "source_points": "source_points.npy",
        }, {}

    face = run.stage(
        "still",
        {"image": image_hash, "emotion": cfg.emotion.to_dict()},
        face_body,
        models=["mediapipe-facemesh"],
    )

    def speech_body(folder: Path):
        words = text
        if cfg.rewrite:
            from emoshift.speech.rewrite import rewrite

            words = rewrite(text, cfg.emotion, backend=cfg.rewriter, seed=cfg.seed).text
        res = synthesize(words, cfg.emotion, backend=cfg.tts, seed=cfg.seed)
        write_audio(folder / "speech.wav", res.audio, res.sr)
        (folder / "text.txt").write_text(words + "\n", encoding="utf-8")
        phones = [{"label": p.label, "start": p.start, "end": p.end} for p in (res.phones or [])]
        (folder / "phones.json").write_text(json.dumps(phones), encoding="utf-8")
        return {"speech": "speech.wav", "text": "text.txt", "phones": "phones.json"}, {
            "text": words
        }

    speech = run.stage(
        "speech",
        {
            "text": text,
            "emotion": cfg.emotion.to_dict(),
            "tts": cfg.tts,
            "seed": cfg.seed,
            "rewrite": cfg.rewrite,
        },
        speech_body,
        models=["kokoro-82m", "espeak-ng", "pocketsphinx-en-us"],
    )

    def anim_body(folder: Path):
        from emoshift.media import read_audio

        still = read_image(face.path("still"))
        points = np.load(face.path("points"))
        # the photo's own mouth (teeth, if it shows them) textures the talking mouth
        donor = select_donor([image], np.load(face.path("source_points"))[None])
        audio = read_audio(speech.path("speech"), sr=AUDIO_SR)
        phones = json.loads(speech.path("phones").read_text())
        animate_still(
            still,
            points,
            audio,
            AUDIO_SR,
            phones,
            cfg.emotion,
            folder / "video.mp4",
            fps=cfg.fps,
            config=acfg,
            donor=donor,
        )
        return {"video": "video.mp4"}, {"donor": donor is not None}

    anim = run.stage(
        "animate",
        {"still": run.key_of("still"), "speech": run.key_of("speech"), "fps": cfg.fps},
        anim_body,
    )
    copy_atomic(anim.path("video"), output)
    wall = _record_output(run, output, t0)
    return ShiftResult(
        output=output,
        run_dir=run.root,
        emotion=cfg.emotion,
        transcript=text,
        rewritten=str(speech.data.get("text", text)),
        speech=speech.path("speech"),
        stills=[face.path("still")],
        wall_seconds=wall,
        **_stage_times(run),
    )


def warm_up(tts: str | None = None) -> dict[str, float]:
    """Load every model the pipeline uses (Whisper, the TTS, phone aligner, text recogniser and
    embeddings, face mesh, FER) so the first run is not the slow one. Returns seconds per model."""
    from emoshift.face.landmarks import FaceMeshTracker
    from emoshift.recognize.embeddings import embed
    from emoshift.recognize.face import load_face_recognizer
    from emoshift.recognize.text import load_text_recognizer
    from emoshift.speech.synthesize import get_synthesizer
    from emoshift.speech.transcribe import get_transcriber

    seconds: dict[str, float] = {}
    steps = {
        "whisper": lambda: get_transcriber(),
        "tts": lambda: get_synthesizer(tts).synthesize("Hello.", parse_emotion("neutral")),
        "text_recognizer": lambda: (
            embed(["warm up"]),
            load_text_recognizer().predict(["warm up"]),
        ),
        "face_mesh": lambda: FaceMeshTracker(static_image_mode=True).close(),
        "fer": lambda: load_face_recognizer(),
    }
    for name, step in steps.items():
        t0 = time.perf_counter()
        step()
        seconds[name] = round(time.perf_counter() - t0, 3)
    return seconds
