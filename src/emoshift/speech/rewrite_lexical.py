"""The default ETG backend ("lexical"): rewrites text in an emotion without a language model.

How a rewrite is built (one *candidate*; several are generated with a seeded RNG and the best
is kept by :class:`~emoshift.speech.rewrite.CandidateScorer`):

1. Light clean-up of the source: leading interjections, emoji and emoticons of the source's own
   emotion are removed (they would contradict the target).
2. The text is split into sentences (abbreviations, decimals and quotes respected); each
   sentence keeps its words, numbers, contractions and capitalisation.
3. Emotion devices are placed where a person would put them, chosen at random (seeded) from
   the curated phrase lists below, at a strength that follows ``EmotionSpec.intensity``:
   - an interjection or opening frame at the start of the first sentence ("Oh no, the train
     leaves at nine." / "Wow! The train..." / "I'm worried that the train..."), with the
     original's first letter lower-cased only when it is a common word (never "I" or names);
   - an emotion-bearing adverb before a gradable adjective ("so much better",
     "painfully hard", "surprisingly big");
   - emotion-bearing word choice ("I'd like" -> "I'd love", "bad" -> "awful");
   - an evaluative clause after a declarative clause (", and it breaks my heart") or an
     evaluative sentence after it ("It makes me furious!"), never glued onto a question;
   - punctuation: "!" for happiness, anger and surprise, "..." for sadness, "?!" for
     surprised questions.
   More intensity = more devices and stronger words (glad -> happy -> thrilled).
4. ``neutral`` strips colouring instead: interjections, intensifiers, exclamation marks,
   emoji, shouting capitals, emotional adjectives -> plain equivalents (:func:`neutralize`).

Word lists: the phrase and word lists in this module are curated by hand (small, documented
next to each list). :func:`lexicon_emotion_scores` additionally reads the NRC Emotion Lexicon
shipped in ``nrclex`` (``nrclex/data/nrc_en.json``; research / non-commercial licence) as a
recogniser-independent emotion score for reranking (``rerank="lexicon"``). The VADER lexicon
(``vaderSentiment``) only supplies the list of common English words used to decide whether a
sentence-initial word may be lower-cased.
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from emoshift.assets import package_file
from emoshift.emotion import ALL_EMOTIONS, Emotion, EmotionSpec
from emoshift.speech.rewrite import (
    RERANK_LICENCE_KEYS,
    REWRITERS,
    CandidateScorer,
    RerankMode,
    RewriteResult,
    result_from_ranking,
)

E = Emotion

# --- curated phrase lists ----------------------------------------------------------------------
# Strength ladders: level 0 (mild), 1 (medium), 2 (strong). ``{adv}`` takes an adverb of the
# candidate's level and ``{adj}`` a feeling adjective ("I feel {adj}") of the same level.
FEEL_ADJ: dict[Emotion, tuple[tuple[str, ...], ...]] = {
    E.HAPPINESS: (("glad", "pleased"), ("happy", "delighted"), ("thrilled", "overjoyed")),
    E.SADNESS: (("sad", "disappointed"), ("sad", "heartbroken"), ("heartbroken", "devastated")),
    E.ANGER: (("annoyed", "irritated"), ("angry", "mad"), ("furious", "livid")),
    E.FEAR: (("nervous", "uneasy"), ("scared", "frightened"), ("terrified", "petrified")),
    E.DISGUST: (("grossed out", "put off"), ("disgusted", "repulsed"), ("sickened", "revolted")),
    E.SURPRISE: (("surprised",), ("amazed", "astonished"), ("stunned", "shocked")),
    E.CONTEMPT: (("unimpressed",), ("unimpressed", "scornful"), ("contemptuous", "scornful")),
}
"""How the speaker feels ("I'm {adv}{adj} about it")."""

EVAL_ADJ: dict[Emotion, tuple[tuple[str, ...], ...]] = {
    E.HAPPINESS: (("nice", "lovely"), ("wonderful", "great"), ("fantastic", "amazing")),
    E.SADNESS: (("sad", "a shame"), ("so sad", "heartbreaking"), ("heartbreaking", "tragic")),
    E.ANGER: (
        ("annoying", "irritating"),
        ("infuriating", "maddening"),
        ("outrageous", "infuriating"),
    ),
    E.FEAR: (("worrying", "unsettling"), ("scary", "frightening"), ("terrifying", "horrifying")),
    E.DISGUST: (("gross", "distasteful"), ("disgusting", "revolting"), ("disgusting", "sickening")),
    E.SURPRISE: (
        ("surprising", "unexpected"),
        ("astonishing", "unbelievable"),
        ("unbelievable", "mind-blowing"),
    ),
    E.CONTEMPT: (("silly", "laughable"), ("laughable", "pathetic"), ("pathetic", "pitiful")),
}
"""How the speaker judges the content ("it's {adv}{adj}")."""

ADVERBS: tuple[tuple[str, ...], ...] = (("", "quite "), ("really ", "so "), ("so ", "absolutely "))
"""Degree adverbs placed before {adj}, by level."""
VERB_ADVERBS: tuple[tuple[str, ...], ...] = (("",), ("really ",), ("really ", "truly "))
"""Degree adverbs placed before a verb ({vadv}: "it really annoys me"), by level."""


@dataclass(frozen=True)
class Phrase:
    """One device. ``text`` may contain {adv}, {adj} (feeling) and {eval} (judgement).

    ``form``: ``pre`` (opens the first sentence, followed by a comma: the original continues
    in lower case), ``frame`` (opens a declarative first sentence with "that": "I'm worried
    that ..."), ``pre_s`` (a sentence of its own before the text), ``post_c`` (a clause glued
    to the end of a declarative sentence, before its final mark), ``post_s`` (a sentence of
    its own after the text), ``post_q`` (a sentence that fits after a question).
    ``level``: the lowest intensity level (0, 1, 2) at which it may be used.
    """

    text: str
    form: str
    level: int = 0


def _p(form: str, level: int, *texts: str) -> list[Phrase]:
    return [Phrase(t, form, level) for t in texts]


# Curated by hand for this project: common English interjections, frames and evaluative
# phrases for each emotion, at three strengths. Each fits any content ("it" / "this" refer
# to the whole statement), so none changes what was said.
PHRASES: dict[Emotion, list[Phrase]] = {
    E.HAPPINESS: [
        *_p("pre", 0, "Happily, ", "Oh, nice, "),
        *_p("pre", 1, "Oh, how lovely, ", "Good news: "),
        *_p("pre_s", 1, "Oh, this is great!", "Good news!"),
        *_p("pre_s", 2, "Yay!", "Woo-hoo!", "Oh, happy day!"),
        *_p("post_c", 0, ", which is {adv}{eval}", ", and I'm {adv}{adj} about it"),
        *_p("post_c", 1, ", and I {vadv}love it", ", which makes me {adv}{adj}"),
        *_p("post_c", 2, ", and I couldn't be happier", ", and it fills me with joy"),
        *_p("post_s", 0, "That makes me smile.", "I'm {adv}{adj} about it."),
        *_p("post_s", 1, "I love it!", "How wonderful!", "It makes me so happy!"),
        *_p("post_s", 2, "I'm so happy!", "What a joy!", "I love it so much!"),
        *_p("post_q", 0, "That would be {eval}.", "I'd love that!"),
        *_p("post_q", 1, "How exciting!", "I'd be {adv}{adj}!"),
    ],
    E.SADNESS: [
        *_p("pre", 0, "Unfortunately, ", "Sadly, "),
        *_p("pre", 1, "Sadly, ", "I'm sorry to say it, but "),
        *_p("pre", 2, "It hurts to say it, but ", "So sadly, "),
        *_p("pre_s", 1, "Sigh..."),
        *_p("frame", 1, "It makes me sad that ", "I'm sad that "),
        *_p("frame", 2, "It breaks my heart that ", "I'm heartbroken that "),
        *_p("post_c", 0, ", which is {adv}{eval}", ", and I feel {adv}{adj} about it"),
        *_p("post_c", 1, ", and that makes me {adv}{adj}", ", and it makes me so sad"),
        *_p("post_c", 2, ", and it breaks my heart", ", and I feel so sad about it"),
        *_p("post_s", 0, "It's a shame.", "I wish it were different."),
        *_p("post_s", 1, "It makes me {adv}{adj}.", "It's so sad.", "I feel so sad."),
        *_p("post_s", 2, "I'm heartbroken.", "It makes me so sad.", "I'm so sad about it."),
        *_p("post_q", 0, "It makes me sad to even ask.", "I fear I know the answer..."),
        *_p("post_q", 1, "It makes me so sad.", "I feel so {adj}."),
    ],
    E.ANGER: [
        *_p("pre", 0, "Honestly, ", "Frankly, "),
        *_p("pre", 1, "Seriously, ", "Oh, come on, "),
        *_p("pre", 2, "Oh, for crying out loud, ", "Damn it, "),
        *_p("pre_s", 2, "Unacceptable!", "What the hell?!"),
        *_p("frame", 1, "It makes me angry that ", "I'm annoyed that "),
        *_p("frame", 2, "I'm furious that ", "It drives me mad that "),
        *_p("post_c", 0, ", which is {adv}{eval}", ", and it {vadv}annoys me"),
        *_p("post_c", 1, ", and I'm {adv}{adj} about it", ", and frankly it drives me crazy"),
        *_p("post_c", 2, ", and it makes my blood boil", ", and I'm so sick of it"),
        *_p("post_s", 0, "It {vadv}annoys me.", "It's {adv}{eval}."),
        *_p("post_s", 1, "This makes me {adv}{adj}!", "I'm so sick of it!", "This is ridiculous!"),
        *_p("post_s", 2, "It's outrageous!", "I hate this!", "I'm {adv}{adj}!"),
        *_p("post_q", 0, "It annoys me.", "This is {adv}{eval}."),
        *_p("post_q", 1, "I'm so sick of this!", "It makes me {adv}{adj}!"),
    ],
    E.FEAR: [
        *_p("pre", 0, "Nervously, ", "Uh-oh, "),
        *_p("pre", 1, "Oh no, ", "I'm scared, but "),
        *_p("pre", 2, "Oh God, ", "I'm so scared, but "),
        *_p("pre_s", 2, "Oh no!", "I'm so scared!"),
        *_p("frame", 0, "I'm worried that ", "I'm afraid that "),
        *_p("frame", 1, "I'm scared that ", "It frightens me that "),
        *_p("frame", 2, "I'm terrified that ", "It terrifies me that "),
        *_p("post_c", 0, ", and I'm {adv}{adj} about it", ", which is {adv}{eval}"),
        *_p("post_c", 1, ", and it {vadv}scares me", ", and I'm {adv}{adj} of what comes next"),
        *_p("post_c", 2, ", and it terrifies me", ", and I'm so scared"),
        *_p("post_s", 0, "I have a bad feeling about this.", "I'm {adv}{adj}."),
        *_p("post_s", 1, "It frightens me.", "It's so scary.", "I'm afraid of what might happen."),
        *_p("post_s", 2, "I'm terrified.", "I'm so scared.", "It's terrifying!"),
        *_p("post_q", 0, "I'm {adv}{adj} to find out.", "I have a bad feeling about this."),
        *_p("post_q", 1, "I'm so scared.", "What if something goes wrong?"),
    ],
    E.DISGUST: [
        *_p("pre", 0, "Ugh, ", "Eww, "),
        *_p("pre", 1, "Ew, gross, ", "Yuck, "),
        *_p("pre", 2, "Ugh, gross, ", "Eww, disgusting, "),
        *_p("pre_s", 1, "Gross!", "Yuck!"),
        *_p("pre_s", 2, "Eww!", "How disgusting!"),
        *_p("frame", 1, "It disgusts me that ", "I find it disgusting that "),
        *_p("frame", 2, "It makes me sick that ", "It's revolting that "),
        *_p("post_c", 0, ", which is {adv}{eval}", ", and I'm {adv}{adj} by it"),
        *_p("post_c", 1, ", and it makes me sick", ", and it's {adv}{eval}"),
        *_p("post_c", 2, ", and it makes me want to throw up", ", and it's {adv}{eval}"),
        *_p("post_s", 0, "It's {adv}{eval}.", "Gross."),
        *_p("post_s", 1, "It makes me sick.", "That's so gross.", "It's {adv}{eval}!"),
        *_p("post_s", 2, "Ew, gross.", "How disgusting!", "It's disgusting."),
        *_p("post_q", 0, "Gross.", "That's {adv}{eval}."),
        *_p("post_q", 1, "How {eval}!", "Ew, gross."),
    ],
    E.SURPRISE: [
        *_p("pre", 0, "Surprisingly, ", "Believe it or not, "),
        *_p("pre", 1, "Wow, ", "Whoa, "),
        *_p("pre", 2, "Oh my gosh, ", "Wow, "),
        *_p("pre_s", 1, "Guess what?", "Wow!"),
        *_p("pre_s", 2, "No way!", "Wait, what?", "Wow, really?"),
        *_p("frame", 1, "I can't believe that ", "I'm amazed that "),
        *_p("frame", 2, "I'm shocked that ", "I still can't believe that "),
        *_p("post_c", 0, ", which {vadv}surprised me", ", of all things"),
        *_p("post_c", 1, ", and I never saw that coming", ", which is {adv}{eval}"),
        *_p("post_c", 2, ", can you believe it", ", and I'm {adv}{adj}"),
        *_p("post_s", 0, "Who would have thought?", "I had no idea."),
        *_p("post_s", 1, "I can't believe it!", "What a surprise!", "Seriously?"),
        *_p("post_s", 2, "Can you believe it?!", "Really?!", "I'm absolutely {adj}!"),
        *_p("post_q", 0, "I had no idea!", "Really?"),
        *_p("post_q", 1, "I can't believe it!", "Who would have thought?"),
    ],
}

PHRASES[E.CONTEMPT] = [
    *_p("pre", 0, "Well, "),
    *_p("pre", 1, "Oh please, ", "Pfft, "),
    *_p("pre", 2, "Oh please, spare me, ", "Pfft, as if "),
    *_p("pre_s", 2, "Give me a break.", "Oh, how quaint."),
    *_p("post_c", 0, ", which is {adv}{eval}", ", as if anyone cares"),
    *_p("post_c", 1, ", and frankly, who cares", ", which is {adv}{eval}"),
    *_p("post_s", 0, "Whatever.", "How original."),
    *_p("post_s", 1, "Who cares?", "How {eval}.", "Big deal."),
    *_p("post_s", 2, "Pathetic.", "It's beneath me.", "Spare me."),
    *_p("post_q", 0, "Whatever.", "As if it matters."),
    *_p("post_q", 1, "Who cares?", "Spare me."),
]
"""Contempt (not in the 7 evaluated classes): scorn and dismissal, matching the recogniser's
contempt markers."""

# Emotion-bearing degree adverbs, placed before a gradable adjective ("surprisingly big").
EMO_ADVERBS: dict[Emotion, tuple[tuple[str, ...], ...]] = {
    E.HAPPINESS: (("really",), ("wonderfully", "so"), ("wonderfully", "amazingly")),
    E.SADNESS: (("sadly",), ("painfully", "so"), ("painfully", "heartbreakingly")),
    E.ANGER: (("really",), ("ridiculously", "so damn"), ("ridiculously", "infuriatingly")),
    E.FEAR: (("worryingly",), ("alarmingly", "frighteningly"), ("terrifyingly", "frighteningly")),
    E.DISGUST: (
        ("unpleasantly",),
        ("disgustingly", "sickeningly"),
        ("disgustingly", "revoltingly"),
    ),
    E.SURPRISE: (
        ("surprisingly",),
        ("surprisingly", "unbelievably"),
        ("unbelievably", "astonishingly"),
    ),
    E.CONTEMPT: (("laughably",), ("laughably", "pathetically"), ("pathetically", "ridiculously")),
}

# Descriptive adjectives that take a plain degree adverb ("really close") but read wrong
# after an emotion-bearing one ("heartbreakingly new car", "alarmingly able"): left alone.
DESCRIPTIVE_ADJ = frozenset(
    [
        "able",
        "certain",
        "common",
        "different",
        "early",
        "late",
        "likely",
        "unlikely",
        "new",
        "old",
        "young",
        "normal",
        "open",
        "possible",
        "ready",
        "real",
        "similar",
        "sure",
        "true",
        "close",
        "clear",
        "full",
        "empty",
        "light",
        "interesting",
        "useful",
        "careful",
        "important",
    ]
)

# Words after an adjective that show it is predicative ("is so good today"), where "so" fits;
# any other word after it is taken as the noun it modifies, where "so" does not ("a so good
# film" -> "a really good film").
_PREDICATIVE_NEXT = frozenset(
    [
        "and",
        "or",
        "but",
        "to",
        "that",
        "for",
        "in",
        "on",
        "at",
        "of",
        "with",
        "enough",
        "as",
        "than",
        "when",
        "because",
        "if",
        "about",
        "today",
        "now",
        "again",
        "too",
        "here",
        "there",
        "this",
        "these",
        "those",
        "then",
        "yet",
        "still",
    ]
)

# Common gradable adjectives and comparatives (curated): where a degree adverb may go.
GRADABLE = frozenset(
    [
        "good",
        "better",
        "bad",
        "worse",
        "big",
        "bigger",
        "small",
        "smaller",
        "large",
        "long",
        "short",
        "high",
        "low",
        "hard",
        "easy",
        "difficult",
        "simple",
        "important",
        "new",
        "old",
        "young",
        "late",
        "early",
        "fast",
        "slow",
        "quick",
        "strong",
        "weak",
        "close",
        "far",
        "hot",
        "cold",
        "warm",
        "cool",
        "nice",
        "fine",
        "great",
        "true",
        "real",
        "clear",
        "full",
        "empty",
        "free",
        "busy",
        "heavy",
        "light",
        "dark",
        "bright",
        "loud",
        "quiet",
        "deep",
        "rich",
        "poor",
        "expensive",
        "cheap",
        "serious",
        "funny",
        "weird",
        "strange",
        "different",
        "similar",
        "common",
        "rare",
        "interesting",
        "boring",
        "happy",
        "sad",
        "tired",
        "sick",
        "angry",
        "afraid",
        "scared",
        "sure",
        "certain",
        "ready",
        "able",
        "safe",
        "dangerous",
        "tight",
        "loose",
        "crazy",
        "wild",
        "quiet",
        "calm",
        "rough",
        "smooth",
        "fresh",
        "clean",
        "dirty",
        "open",
        "wide",
        "narrow",
        "lucky",
        "unlucky",
        "obvious",
        "possible",
        "likely",
        "unlikely",
        "hungry",
        "thirsty",
        "lonely",
        "proud",
        "careful",
        "useful",
        "useless",
        "beautiful",
        "ugly",
        "cute",
        "pretty",
        "smart",
        "stupid",
        "dumb",
        "sick",
        "legendary",
        "popular",
        "famous",
        "huge",
        "tiny",
        "tough",
        "fair",
        "unfair",
        "honest",
        "normal",
        "special",
        "expensive",
        "valuable",
        "powerful",
        "helpful",
        "harmful",
        "awkward",
    ]
)

POSITIVE_ADJ = frozenset(
    [
        "good",
        "better",
        "great",
        "nice",
        "fine",
        "lucky",
        "beautiful",
        "cute",
        "pretty",
        "smart",
        "happy",
        "proud",
        "safe",
        "fresh",
        "clean",
        "fair",
        "honest",
        "special",
        "valuable",
        "powerful",
        "helpful",
        "popular",
        "famous",
        "legendary",
        "free",
        "rich",
        "calm",
        "cool",
        "bright",
        "strong",
    ]
)
NEGATIVE_ADJ = frozenset(
    [
        "bad",
        "worse",
        "sad",
        "tired",
        "sick",
        "angry",
        "afraid",
        "scared",
        "dangerous",
        "dirty",
        "ugly",
        "stupid",
        "dumb",
        "poor",
        "unlucky",
        "useless",
        "harmful",
        "awkward",
        "unfair",
        "lonely",
        "weak",
        "rough",
        "hungry",
        "thirsty",
        "boring",
        "serious",
    ]
)

# Emotion-bearing word choice (curated): (pattern, replacement) per emotion, case-preserving.
SUBSTITUTIONS: dict[Emotion, list[tuple[str, str]]] = {
    E.HAPPINESS: [
        (r"\b(I|we|you|they|I'd|we'd|you'd|they'd|would|'d) like\b", r"\1 love"),
        (r"\bgood\b", "wonderful"),
        (r"\bnice\b", "lovely"),
        (r"\binteresting\b", "fascinating"),
        (r"\bfine\b", "great"),
    ],
    E.SADNESS: [
        (r"\bbad\b", "awful"),
        (r"\bhard\b", "painfully hard"),
        (r"\balone\b", "all alone"),
        (r"\blost\b", "sadly lost"),
    ],
    E.ANGER: [
        (r"\bbad\b", "terrible"),
        (r"\bstupid\b", "idiotic"),
        (r"\bproblem\b", "damn problem"),
        (r"\bagain\b", "yet again"),
    ],
    E.FEAR: [
        (r"\bbad\b", "frightening"),
        (r"\bproblem\b", "frightening problem"),
        (r"\bunknown\b", "frighteningly unknown"),
    ],
    E.DISGUST: [
        (r"\bbad\b", "disgusting"),
        (r"\bdirty\b", "filthy"),
        (r"\bweird\b", "creepy"),
    ],
    E.SURPRISE: [
        (r"\bbig\b", "surprisingly big"),
        (r"\bnew\b", "brand-new"),
    ],
    E.CONTEMPT: [(r"\bimportant\b", "supposedly important")],
}

# Punctuation of an emotional declarative sentence, by level (applied to the last sentence at
# level 1, to every sentence at level 2).
END_MARK: dict[Emotion, tuple[str, str, str]] = {
    E.HAPPINESS: (".", "!", "!"),
    E.SADNESS: (".", ".", "..."),
    E.ANGER: (".", "!", "!"),
    E.FEAR: (".", ".", "!"),
    E.DISGUST: (".", ".", "!"),
    E.SURPRISE: (".", "!", "!"),
    E.CONTEMPT: (".", ".", "."),
}

# --- neutralisation word lists (curated) -------------------------------------------------------
INTERJECTIONS = (
    'wow', 'whoa', 'woah', 'oh my god', 'oh my gosh', 'oh my', 'oh no', 'oh dear', 'oh god', 'oh',
    'ah', 'aah', 'aw', 'aww', 'ugh', 'argh', 'yay', 'woo-hoo', 'woohoo', 'hooray', 'yuck', 'ew',
    'eww', 'ewww', 'gross', 'omg', 'lol', 'lmao', 'haha', 'hahaha', 'hehe', 'damn it', 'damn',
    'dammit', 'geez', 'jeez', 'gosh', 'yikes', 'sigh', 'alas', 'ouch', 'hmm', 'meh', 'phew',
    'no way', 'holy shit', 'holy crap', 'shit', 'fuck', 'wtf', 'god', 'yes', 'boo', 'bruh', 'heh',
    'meh', 'lmfao', 'rofl', 'oof', 'welp', 'seriously', 'honestly', 'frankly', 'literally', 'nah',
    'yep', 'yeah', 'hmm', 'hmmm', 'ahaha', 'wut', 'ha',
)  # fmt: skip
"""Interjections stripped at the start of a sentence by :func:`neutralize` ("yes" only when
followed by more text)."""

INTENSIFIERS = (
    'very', 'really', 'so', 'extremely', 'incredibly', 'absolutely', 'totally', 'utterly', 'super',
    'terribly', 'awfully', 'insanely', 'ridiculously', 'freaking', 'fucking', 'bloody', 'damn',
    'damned', 'truly', 'seriously', 'deeply', 'painfully', 'unbelievably', 'amazingly',
    'wonderfully', 'disgustingly', 'frighteningly', 'terrifyingly', 'sadly', 'surprisingly',
    'astonishingly', 'infuriatingly', 'heartbreakingly', 'sickeningly', 'revoltingly',
    'alarmingly', 'worryingly', 'unpleasantly', 'such', 'pretty',
)  # fmt: skip

PLAIN: dict[str, str] = {
    'awesome': 'good', 'amazing': 'good', 'wonderful': 'good', 'fantastic': 'good',
    'incredible': 'good', 'brilliant': 'good', 'terrific': 'good', 'excellent': 'good',
    'marvelous': 'good', 'marvellous': 'good', 'superb': 'good', 'lovely': 'nice',
    'fabulous': 'good', 'perfect': 'good', 'delightful': 'pleasant', 'glorious': 'good',
    'thrilled': 'pleased', 'ecstatic': 'pleased', 'overjoyed': 'pleased', 'delighted': 'pleased',
    'elated': 'pleased', 'excited': 'interested', 'love': 'like', 'loved': 'liked',
    'loves': 'likes', 'adore': 'like', 'adored': 'liked', 'hilarious': 'funny',
    'legendary': 'well-known', 'epic': 'big', 'stunning': 'notable', 'terrible': 'bad',
    'awful': 'bad', 'horrible': 'bad', 'dreadful': 'bad', 'atrocious': 'bad', 'horrendous': 'bad',
    'hate': 'dislike', 'hated': 'disliked', 'hates': 'dislikes', 'furious': 'upset',
    'livid': 'upset', 'enraged': 'upset', 'outraged': 'upset', 'infuriating': 'frustrating',
    'outrageous': 'unacceptable', 'pissed': 'upset', 'heartbroken': 'disappointed',
    'devastated': 'disappointed', 'miserable': 'unhappy', 'tragic': 'unfortunate',
    'heartbreaking': 'unfortunate', 'depressing': 'discouraging', 'terrified': 'wary',
    'petrified': 'wary', 'scared': 'wary', 'frightened': 'wary', 'afraid': 'wary',
    'terrifying': 'concerning', 'horrifying': 'concerning', 'scary': 'concerning',
    'frightening': 'concerning', 'disgusting': 'unpleasant', 'gross': 'unpleasant',
    'revolting': 'unpleasant', 'sickening': 'unpleasant', 'vile': 'unpleasant',
    'nasty': 'unpleasant', 'disgusted': 'displeased', 'repulsed': 'displeased',
    'sickened': 'displeased', 'shocked': 'surprised', 'stunned': 'surprised',
    'astonished': 'surprised', 'astonishing': 'unexpected', 'unbelievable': 'unexpected',
    'mind-blowing': 'unexpected', 'insane': 'unusual', 'crazy': 'unusual', 'sick': 'unwell',
    'stupid': 'unwise', 'idiotic': 'unwise', 'dumb': 'unwise', 'ass': 'person', 'fucking': '',
    'freaking': '', 'ugly': 'unappealing', 'lucky': 'fortunate', 'great': 'good',
    'greatest': 'best', 'sucked': 'was poor', 'sucks': 'is poor', 'garbage': 'poor',
    'trash': 'poor', 'crap': 'poor', 'filthy': 'dirty', 'moron': 'person', 'idiot': 'person',
    'crybabies': 'critics', 'psyched': 'ready', 'miracle': 'surprise',
}  # fmt: skip
"""Emotional word -> plain equivalent, used by :func:`neutralize` at full strength."""

_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d]+"
    r"|(?<!\w)(?:[:;=xX8][-'^o]?[)(\]\[dDpP/\\|3*oO0@$]+|<3+|\^_*\^|T_T|:'\()(?!\w)"
)
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "my",
        "your",
        "his",
        "her",
        "its",
        "our",
        "their",
        "me",
        "him",
        "us",
        "them",
        "it",
        "he",
        "she",
        "we",
        "they",
        "you",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "if",
        "then",
        "than",
        "so",
        "but",
        "and",
        "or",
        "nor",
        "for",
        "yet",
        "not",
        "no",
        "yes",
        "in",
        "on",
        "at",
        "by",
        "to",
        "from",
        "of",
        "with",
        "without",
        "about",
        "above",
        "below",
        "over",
        "under",
        "into",
        "onto",
        "after",
        "before",
        "during",
        "since",
        "until",
        "while",
        "as",
        "like",
        "just",
        "only",
        "also",
        "even",
        "still",
        "again",
        "ever",
        "never",
        "always",
        "often",
        "sometimes",
        "maybe",
        "perhaps",
        "probably",
        "all",
        "any",
        "some",
        "every",
        "each",
        "both",
        "either",
        "neither",
        "many",
        "much",
        "more",
        "most",
        "few",
        "less",
        "least",
        "other",
        "another",
        "such",
        "same",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "first",
        "second",
        "last",
        "next",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "having",
        "can",
        "could",
        "will",
        "would",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "let",
        "lets",
        "let's",
        "i'd",
        "i'll",
        "i've",
        "i'm",
        "it's",
        "that's",
        "there's",
        "here's",
        "what's",
        "who's",
        "don't",
        "doesn't",
        "didn't",
        "can't",
        "won't",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "couldn't",
        "wouldn't",
        "shouldn't",
        "haven't",
        "hasn't",
        "hadn't",
        "you're",
        "we're",
        "they're",
        "he's",
        "she's",
        "you've",
        "we've",
        "they've",
        "you'll",
        "we'll",
        "they'll",
        "because",
        "though",
        "although",
        "unless",
        "whether",
        "really",
        "very",
        "too",
        "well",
        "now",
        "today",
        "tomorrow",
        "yesterday",
        "once",
        "twice",
        "however",
        "therefore",
        "anyway",
        "bringing",
        "going",
        "getting",
        "making",
        "taking",
        "looking",
        "saying",
        "being",
        "having",
        "doing",
    ]
)
_ABBREV = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "jr",
        "sr",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "u.s",
        "u.k",
        "a.m",
        "p.m",
        "no",
        "fig",
        "approx",
        "inc",
        "ltd",
        "co",
    ]
)


@functools.cache
def _nrc() -> dict[str, tuple[str, ...]]:
    """NRC Emotion Lexicon: word -> its emotions (anger, anticipation, disgust, fear, joy,
    negative, positive, sadness, surprise, trust)."""
    path = package_file("NRCLex", "nrclex/data/nrc_en.json")
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return {k.lower(): tuple(v) for k, v in data.items()}


@functools.cache
def _common_words() -> frozenset[str]:
    """Lower-case English words that are not names: function words, NRC and VADER entries."""
    words = set(_FUNCTION_WORDS) | set(_nrc())
    try:
        path = package_file("vaderSentiment", "vaderSentiment/vader_lexicon.txt")
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                w = line.split("\t", 1)[0]
                if w.isalpha():
                    words.add(w.lower())
    except Exception:  # the VADER list only widens the set; the NRC one suffices
        pass
    words |= GRADABLE
    return frozenset(words)


# --- text utilities ----------------------------------------------------------------------------
_SENT_END = re.compile(r"([.!?…]+)([\"')\]]*)(\s+)")


def split_sentences(text: str) -> list[str]:
    """Split on sentence-final marks followed by space and an upper-case letter, a digit or a
    quote; abbreviations ("Dr.", "U.S."), decimals ("3.5") and initials are not split."""
    text = text.strip()
    out: list[str] = []
    start = 0
    for m in _SENT_END.finditer(text):
        nxt = text[m.end() : m.end() + 1]
        if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in "\"'([" or m.group(1) != "."):
            continue
        prev = text[start : m.start()].split()
        last = prev[-1].lower().rstrip(".") if prev else ""
        if m.group(1) == "." and (last in _ABBREV or (len(last) == 1 and last.isalpha())):
            continue
        out.append(text[start : m.end(2)].strip())
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


_TAIL = re.compile(r"([.!?…]*)([\"'”’)]*)\s*$")


def _split_end(sentence: str) -> tuple[str, str, str]:
    """(body, final marks, closing quotes/brackets) of one sentence."""
    m = _TAIL.search(sentence)
    assert m is not None
    return sentence[: m.start()].rstrip(), m.group(1), m.group(2)


def _is_question(sentence: str) -> bool:
    return "?" in _split_end(sentence)[1]


def _first_word(s: str) -> str:
    m = re.match(r"\s*([A-Za-z][A-Za-z'’-]*)", s)
    return m.group(1) if m else ""


def _can_lower(sentence: str) -> bool:
    """May the first letter of ``sentence`` be lower-cased after "Oh, "? True for common words
    (not "I", not acronyms, not names), and for text that already starts in lower case."""
    w = _first_word(sentence)
    if not w:
        return sentence[:1].isdigit() or sentence[:1] == "["
    if w[0].islower():
        return True
    if w in ("I", "I'm", "I'd", "I'll", "I've", "I’m") or (len(w) > 1 and w.isupper()):
        return False
    return w.lower() in _common_words()


def _lower_first(sentence: str) -> str:
    w = _first_word(sentence)
    if not w or not w[0].isupper() or w in ("I", "I'm", "I'd", "I'll", "I've"):
        return sentence
    if len(w) > 1 and w.isupper():
        return sentence
    i = sentence.index(w[0])
    return sentence[:i] + w[0].lower() + sentence[i + 1 :]


def _upper_first(sentence: str) -> str:
    for i, ch in enumerate(sentence):
        if ch.isalpha():
            return sentence[:i] + ch.upper() + sentence[i + 1 :]
        if ch.isdigit():
            return sentence
    return sentence


def _case_like(src: str, word: str) -> str:
    if src.isupper() and len(src) > 1:
        return word.upper()
    if src[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _sub_preserving_case(pattern: str, repl: str, text: str, count: int = 0) -> tuple[str, int]:
    """re.subn, keeping the case of the matched word; capitalised words inside a sentence
    (names: "New Orleans") are left alone."""

    def fn(m: re.Match[str]) -> str:
        if m.group(0)[:1].isupper() and m.start() > 0 and m.group(0) not in ("I", "I'd"):
            return m.group(0)
        out = m.expand(repl)
        return _case_like(m.group(0), out) if "\\" not in repl else out

    return re.subn(pattern, fn, text, count=count, flags=re.IGNORECASE)


# --- neutral -----------------------------------------------------------------------------------
_INTERJ_RE = re.compile(
    r"^\s*(?:(?:"
    + "|".join(re.escape(w) for w in sorted(INTERJECTIONS, key=len, reverse=True))
    + r")(?:[\s,]+(?:"
    + "|".join(re.escape(w) for w in ("my god", "my gosh", "no", "god"))
    + r"))?"
    r"\s*(?:[,.!?…:;-]+|\s)\s*)+",
    re.IGNORECASE,
)
_INTENS_RE = re.compile(
    r"\b(?:" + "|".join(INTENSIFIERS) + r")\s+(?=(?:\w+ly\s+)?([A-Za-z'-]+))", re.IGNORECASE
)


def _strip_interjection(sentence: str) -> str:
    """Remove leading interjections ("Wow, ", "Oh no! ") from one sentence (a sentence that is
    nothing but the interjection is kept)."""
    m = _INTERJ_RE.match(sentence)
    if not m or m.end() >= len(sentence.rstrip()):
        return sentence
    rest = sentence[m.end() :]
    word = m.group(0).strip().lower().strip(",.!?…:;- ")
    if word == "yes":  # "Yes, we are open." carries content
        return sentence
    was_upper = sentence.lstrip()[:1].isupper()
    return _upper_first(rest) if was_upper else rest


def _only_emotion(sentence: str) -> bool:
    """A sentence that is just an interjection or an emotional exclamation ("SAD.", "Wow!")."""
    body = re.sub(r"[^A-Za-z' -]", "", sentence).strip().lower()
    if not body:
        return True
    if _INTERJ_RE.fullmatch(body + " ") or body in INTERJECTIONS:
        return True
    words = body.split()
    return len(words) <= 2 and all(
        w in PLAIN or w in INTENSIFIERS or w in _EMOTION_WORDS or w in INTERJECTIONS for w in words
    )


_EMOTION_WORDS = frozenset(
    w for levels in (*FEEL_ADJ.values(), *EVAL_ADJ.values()) for lv in levels for w in lv
) | frozenset(("sad", "happy", "angry", "scared", "sadness", "joy", "yay", "ugh"))


def neutralize(text: str, strength: float = 1.0) -> str:
    """Remove emotional colouring, keeping the content words.

    ``strength`` in [0, 1]: > 0 strips emoji/emoticons, leading interjections, bare
    interjection sentences and exclamation marks ("!" -> ".", "?!" -> "?", "..." -> "."); >= 0.4
    also removes intensifiers before adjectives and adverbs ("so very big" -> "big");
    >= 0.7 also maps emotional words to plain ones ("awesome" -> "good", "terrified" ->
    "concerned") and lower-cases shouted common words ("WIDE OPEN" -> "wide open").
    """
    if strength <= 0 or not text.strip():
        return text.strip()
    t = _EMOJI.sub(_emoji_gap, text)
    t = re.sub(r"\s+", " ", t).strip()
    sents = split_sentences(t)
    kept = [s for s in sents if not _only_emotion(s)] or sents
    out = []
    for s in kept:
        s = _strip_interjection(s)
        s = _strip_interjection(s)
        if strength >= 0.4:
            s = _INTENS_RE.sub(lambda m: "" if _intensifiable(m) else m.group(0), s)
        if strength >= 0.7:
            s = _plain_words(s)
        body, marks, close = _split_end(s)
        if "?" in marks:
            marks = "?"
        elif marks:
            marks = "."
        body = re.sub(r"!+", ".", body)
        body = re.sub(r"\.{2,}|…", ",", body)
        body = re.sub(r"\?{2,}", "?", body)
        if s[:1].isupper():
            body = _upper_first(body)
        out.append(body + marks + close)
    res = " ".join(x for x in out if x.strip())
    res = re.sub(r"\s+([,.;:?])", r"\1", res)
    res = re.sub(r",\s*([.?])", r"\1", res)
    res = re.sub(r"\s{2,}", " ", res).strip()
    return res


def _emoji_gap(m: re.Match[str]) -> str:
    """An emoji/emoticon between two sentences becomes a full stop, elsewhere a space."""
    before = m.string[: m.start()].rstrip()
    after = m.string[m.end() :].lstrip()
    if before and before[-1].isalnum() and after[:1].isupper():
        return ". "
    return " "


def _intensifiable(m: re.Match[str]) -> bool:
    """Is the intensifier in ``m`` modifying an adjective/adverb (so it may go)?"""
    word = m.group(0).strip().lower()
    nxt = m.group(1).lower()
    if word == "so":  # "so that", "so we left": keep; "so happy": strip
        return nxt in GRADABLE or nxt in PLAIN or nxt in _EMOTION_WORDS or nxt.endswith("ly")
    if word == "such":
        return False
    if word == "pretty":  # "pretty important" -> "important"; "a pretty face" stays
        return nxt in GRADABLE or nxt.endswith(("ful", "ous", "ant", "ent", "ive", "ly"))
    return True


_DETERMINERS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "its",
        "such",
    ]
)
EVAL_DROP = frozenset(
    [
        "awesome",
        "amazing",
        "wonderful",
        "fantastic",
        "incredible",
        "brilliant",
        "terrific",
        "excellent",
        "marvelous",
        "marvellous",
        "superb",
        "fabulous",
        "glorious",
        "lovely",
        "delightful",
        "terrible",
        "awful",
        "horrible",
        "dreadful",
        "atrocious",
        "horrendous",
        "disgusting",
        "revolting",
        "vile",
        "nasty",
        "sickening",
        "terrifying",
        "horrifying",
        "scary",
        "frightening",
        "heartbreaking",
        "tragic",
        "depressing",
        "outrageous",
        "infuriating",
        "stunning",
        "epic",
    ]
)
"""Evaluative adjectives dropped (not swapped) when attributive: "this amazing new phone" ->
"this new phone"; predicative ones are swapped through PLAIN ("it is amazing" -> "it is good")."""


def _plain_words(s: str) -> str:
    touched = {v.split()[0] for v in PLAIN.values() if v}  # words that may need "a"/"an" fixed

    def fn(m: re.Match[str]) -> str:
        w = m.group(0)
        low = w.lower()
        if (
            len(w) > 1
            and w.isupper()
            and low not in ("i", "ok")
            and (low in PLAIN or low in _common_words())
        ):
            w = low  # shouting -> normal case
        if low in EVAL_DROP:
            prev = m.string[: m.start()].split()[-1:] or [""]
            nxt = m.string[m.end() : m.end() + 2]
            if prev[0].lower() in _DETERMINERS and re.match(r" [A-Za-z]", nxt):
                following = re.match(r"\s*([A-Za-z][\w-]*)", m.string[m.end() :])
                if following:
                    touched.add(following.group(1).lower())
                return ""
        if low in PLAIN:
            return _case_like(w, PLAIN[low]) if PLAIN[low] else ""
        return w

    s = re.sub(r"[A-Za-z][A-Za-z'-]*", fn, s)
    s = re.sub(r"\s{2,}", " ", s)
    return _fix_articles(s, touched)


def _fix_articles(s: str, words: set[str]) -> str:
    """ "a unappealing" -> "an unappealing", "an poor" -> "a poor", only before ``words`` (the
    words just swapped in; "an hour" elsewhere is left alone)."""

    def fn(m: re.Match[str]) -> str:
        art, word = m.group(1), m.group(2)
        if word.lower() not in words:
            return m.group(0)
        vowel = word[0].lower() in "aeio" or (
            word[0].lower() == "u" and not word.lower().startswith(("uni", "use", "usu"))
        )
        want = "an" if vowel else "a"
        if art.lower() == want:
            return m.group(0)
        return (want.capitalize() if art[0].isupper() else want) + " " + word

    return re.sub(r"\b([Aa]n?) ([A-Za-z][\w-]*)", fn, s)


# --- emotional candidates ----------------------------------------------------------------------
def _level(intensity: float) -> int:
    """Strength level 0..2 of a target intensity."""
    return 0 if intensity < 0.4 else (1 if intensity < 0.75 else 2)


def _n_devices(intensity: float, rng: random.Random) -> int:
    """How many devices a candidate uses: ~1 at low intensity, 3-4 at the top."""
    base = 1 + 3 * intensity
    n = int(base) + (1 if rng.random() < base - int(base) else 0)
    return max(1, min(4, n))


def _fill(phrase: str, emo: Emotion, level: int, rng: random.Random) -> str:
    adv = rng.choice(ADVERBS[level])
    adj = rng.choice(FEEL_ADJ[emo][level])
    ev = rng.choice(EVAL_ADJ[emo][level])
    vadv = rng.choice(VERB_ADVERBS[level])
    out = phrase.replace("{vadv}", vadv)
    if "{adv}" in out:
        after = out.split("{adv}", 1)[1]
        word = after.replace("{adj}", adj).replace("{eval}", ev).split()[:1]
        # never "so a shame" / "so so sad" / "so absolutely"
        if word and word[0].strip(".,!?") in ("a", "so", "absolutely", "just", "such"):
            adv = ""
        out = out.replace("{adv}", adv)
    return out.replace("{adj}", adj).replace("{eval}", ev)


def _pick(
    emo: Emotion,
    forms: Sequence[str],
    level: int,
    rng: random.Random,
    used: set[str] | None = None,
) -> Phrase | None:
    """A phrase of one of ``forms`` at most ``level``, not in ``used`` (then added to it)."""
    used = set() if used is None else used
    pool = [
        p for p in PHRASES[emo] if p.form in forms and p.level <= level and _key(p.text) not in used
    ]
    if not pool:
        return None
    ph = _choose(pool, level, rng)
    used.add(_key(ph.text))
    return ph


def _key(phrase: str) -> str:
    """Identity of a phrase for "never twice in one rewrite": "How disgusting!" as an opening
    and "How disgusting!" as an evaluation are the same phrase."""
    return re.sub(r"[^a-z{} ]", "", phrase.lower()).strip()


def _choose(pool: list[Phrase], level: int, rng: random.Random) -> Phrase:
    top = [p for p in pool if p.level == level]
    # prefer phrases of the requested level (2:1), so intensity shows
    if top and rng.random() < 0.67:
        return rng.choice(top)
    return rng.choice(pool)


_SUBJECT_START = frozenset(
    [
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "it",
        "this",
        "that",
        "these",
        "those",
        "my",
        "our",
        "your",
        "his",
        "her",
        "their",
        "the",
        "a",
        "an",
        "there",
        "people",
        "everyone",
        "nobody",
        "someone",
        "somebody",
        "everybody",
    ]
)


def _clause_like(sentence: str) -> bool:
    """Does the sentence open with a subject (pronoun, determiner, name, number), so that
    "I'm worried that ..." can be put in front of it? Fragments ("in the heart of ...",
    "bringing in reforms") and questions are not."""
    if _is_question(sentence) or len(sentence.split()) < 4:
        return False
    w = _first_word(sentence)
    if not w:
        return sentence[:1].isdigit() or sentence.startswith("[NAME]")
    return w.lower().split("'")[0] in _SUBJECT_START or (
        w[0].isupper() and not _can_lower(sentence)
    )


def _add_opening(
    sents: list[str], emo: Emotion, level: int, rng: random.Random, used: set[str] | None = None
) -> bool:
    """Open the first sentence with an interjection or frame (not one in ``used``)."""
    used = set() if used is None else used
    first = sents[0]
    lowerable = _can_lower(first)
    declarative = not _is_question(first)
    forms = ["pre_s"]
    if lowerable:
        forms.append("pre")
    if lowerable and _clause_like(first):
        forms.append("frame")
    pool = [
        p
        for p in PHRASES[emo]
        if p.form in forms
        and p.level <= level
        and _key(p.text) not in used
        and (
            declarative
            or not (
                p.text.rstrip().endswith(("but", "that", "if", ":", "?"))
                or re.fullmatch(r"\w+ly, ", p.text)  # "Sadly, is it...?" reads wrong
            )
        )
    ]
    if not pool:
        return False
    top = [p for p in pool if p.level == level]
    ph = rng.choice(top) if top and rng.random() < 0.67 else rng.choice(pool)
    used.add(_key(ph.text))
    text = _fill(ph.text, emo, level, rng)
    if ph.form == "pre_s":
        sents[0] = _upper_first(first)
        sents.insert(0, text.strip())
    elif ph.form == "frame":
        body, marks, close = _split_end(first)
        body = re.sub(r"^(?:and|but|so)\s+", "", _lower_first(body), flags=re.IGNORECASE)
        sents[0] = text + body + (marks or ".") + close
    else:
        sents[0] = text + _lower_first(first)
    return True


def _add_adverb(sents: list[str], emo: Emotion, level: int, rng: random.Random) -> bool:
    spots = []
    for i, s in enumerate(sents):
        for m in re.finditer(r"(?<![\w'-])([A-Za-z]+)(?![\w'-])", s):
            w = m.group(1).lower()
            if w not in GRADABLE or not m.group(1)[0].islower() or not s[: m.start()].strip():
                continue  # names, and sentence-initial words ("Close your eyes") are skipped
            if s[m.end() : m.end() + 1] == " " and s[m.end() + 1 : m.end() + 2].isupper():
                continue  # "New Orleans", "Bright Future Ltd"
            before = s[: m.start()].split()[-1:] or [""]
            prev = before[0].lower().strip(",")
            nxt_word = s[m.end() :].split()[:1]
            if nxt_word and nxt_word[0].lower().strip(",.!?") in GRADABLE:
                continue  # "stupid hard", "real good": slang compounds
            if (
                prev in INTENSIFIERS
                or prev.endswith("ly")
                or prev in GRADABLE
                or prev in PLAIN
                or prev in ("much", "too", "more", "most", "less", "least", "pretty", "idiotic")
                or prev in ("year", "years", "month", "months", "day", "days", "feet", "inches")
                or prev[:1].isdigit()
            ):  # "4 year old": a measure, not a degree
                continue  # "so much better", "stupid hard": leave as is
            if w in DESCRIPTIVE_ADJ:
                continue
            if emo in (E.FEAR, E.DISGUST, E.SADNESS, E.ANGER) and w in POSITIVE_ADJ:
                continue  # "frighteningly lucky" reads wrong
            if emo is E.HAPPINESS and w in NEGATIVE_ADJ:
                continue
            spots.append((i, m.start(), m.group(1), prev))
    if not spots:
        return False
    i, pos, word, prev = rng.choice(spots)
    adv = rng.choice(EMO_ADVERBS[emo][level])
    if word.lower() in ("better", "worse", "bigger", "smaller"):
        adv = "so much" if emo in (E.HAPPINESS, E.SURPRISE) or adv == "so" else f"{adv.split()[-1]}"
        if (adv.endswith("ly") and adv != "so much") or prev in ("a", "an"):
            adv = "much"  # "a much better life", never "a so much better life"
    after = sents[i][pos + len(word) :].split()[:1]
    attributive = bool(after) and after[0].isalpha() and after[0].lower() not in _PREDICATIVE_NEXT
    if prev in ("a", "an") or attributive:  # "a really bright future", not "a so bright future"
        adv = adv[3:] if adv.startswith("so ") else ("really" if adv == "so" else adv)
    s = sents[i]
    ins = adv + " "
    if prev in ("a", "an") and adv:
        art_start = s[:pos].rstrip().rfind(" ") + 1
        art = "an" if adv[0] in "aeiou" else "a"
        s = (
            s[:art_start]
            + _case_like(s[art_start : art_start + len(prev)], art)
            + s[art_start + len(prev) :]
        )
        pos += len(art) - len(prev)
    sents[i] = s[:pos] + ins + s[pos:]
    return True


def _add_substitution(sents: list[str], emo: Emotion, rng: random.Random) -> bool:
    order = list(SUBSTITUTIONS[emo])
    rng.shuffle(order)
    for pattern, repl in order:
        for i, s in enumerate(sents):
            new, n = _sub_preserving_case(pattern, repl, s, count=1)
            if n and new != s:
                sents[i] = new
                return True
    return False


def _add_evaluation(
    sents: list[str], emo: Emotion, level: int, rng: random.Random, used: set[str] | None = None
) -> bool:
    """Add an evaluative clause or sentence after a sentence of the text. ``used`` collects
    the phrases used so far in this candidate (never twice) and the sentences added."""
    used = set() if used is None else used
    # where: the last sentence usually; in long texts sometimes an earlier declarative one
    idx = len(sents) - 1
    if len(sents) > 2 and rng.random() < 0.3:
        idx = rng.randrange(len(sents) - 1)
    s = sents[idx]
    if s in used:  # an evaluation added before: put another sentence after it, don't glue
        ph = _pick(emo, ["post_s"], level, rng, used)
        if ph is None:
            return False
        new = _upper_first(_fill(ph.text, emo, level, rng))
        sents.insert(idx + 1, new)
        used.add(new)
        return True
    if _is_question(s):
        ph = _pick(emo, ["post_q"], level, rng, used)
        if ph is None:
            return False
        new = _upper_first(_fill(ph.text, emo, level, rng))
        sents.insert(idx + 1, new)
        used.add(new)
        return True
    short = len(s.split()) <= 2
    quoted = s.rstrip()[-1:] in "\"'”’"  # never glue a clause inside a quotation
    forms = ["post_s"] if short or quoted else ["post_c", "post_s"]
    ph = _pick(emo, forms, level, rng, used)
    if ph is None:
        return False
    text = _fill(ph.text, emo, level, rng)
    if ph.form == "post_c":
        body, marks, close = _split_end(s)
        body = body.rstrip(",;:-")
        if text.rstrip().endswith("?") or "can you believe" in text:
            end = "?!" if level >= 2 else "?"
            text = text.rstrip("?")
        else:
            end = marks.replace("?", "") or "."
        sents[idx] = body + text + end + close
        used.add(sents[idx])
    else:
        body, marks, close = _split_end(s)
        if not marks:
            sents[idx] = body + "." + close
        new = _upper_first(text)
        sents.insert(idx + 1, new)
        used.add(new)
    return True


def _punctuate(sents: list[str], emo: Emotion, level: int, rng: random.Random) -> None:
    """Final marks per emotion: level 1 changes the last sentence, level 2 all of them."""
    mark = END_MARK[emo][level]
    targets = range(len(sents)) if level >= 2 else [len(sents) - 1]
    for i in targets:
        body, marks, close = _split_end(sents[i])
        if not body or close:
            continue  # a quotation keeps its own punctuation
        if "?" in marks:
            if emo in (E.SURPRISE, E.ANGER) and level >= 1:
                marks = "?!"
            sents[i] = body + marks + close
            continue
        if marks in ("", ".", "...") or (marks == "!" and mark != "."):
            if marks == "!" and mark == "...":
                continue
            sents[i] = body + (mark if marks != "..." or mark != "." else marks) + close


def _finish(sents: list[str], original: str) -> str:
    out = " ".join(s.strip() for s in sents if s.strip())
    out = re.sub(r"\s+([,.!?;:])", r"\1", out)
    out = re.sub(r",\s*,", ",", out)
    out = re.sub(r"([.!?]),", r"\1", out)
    out = re.sub(r"\s{2,}", " ", out).strip()
    if original[:1].isupper() or not original[:1].isalpha() or out[:1] != original[:1]:
        out = _upper_first(out)
    return out


_DEVICES = ("opening", "evaluation", "adverb", "substitution")


def emotional_candidate(
    text: str, target: EmotionSpec, rng: random.Random, boost: bool = False
) -> str:
    """One rewrite of ``text`` towards ``target`` (not neutral), devices drawn from ``rng``.

    ``boost``: use every device kind and two evaluations (at the same strength level), for
    texts whose content pulls against the target."""
    emos = list(target.weights)
    weights = list(target.weights.values())
    level = _level(target.intensity)
    n_dev = _n_devices(target.intensity, rng)
    sents = split_sentences(text) or [text]
    # an evaluation or an opening carries the emotion most clearly: always one of them
    devices = [rng.choice(("opening", "evaluation"))]
    rest = [d for d in _DEVICES if d not in devices]
    rng.shuffle(rest)
    devices += rest[: n_dev - 1]
    # the strongest renditions sometimes stack a second evaluation ("It's outrageous! I'm so
    # sick of it!"); long texts get one more per ~3 extra sentences
    if boost:
        devices = ["opening", "evaluation", "evaluation", "adverb", "substitution"]
    elif level >= 2 and rng.random() < 0.4:
        devices.append("evaluation")
    if level >= 1 and len(sents) > 3:
        devices += ["evaluation"] * min(2, (len(sents) - 1) // 3)
    order = {"substitution": 0, "adverb": 1, "evaluation": 2, "opening": 3}
    devices.sort(key=order.__getitem__)  # edit the words first, then add around them
    applied = 0
    used: set[str] = set()
    for d in devices:
        emo = rng.choices(emos, weights)[0]
        if emo is E.NEUTRAL:
            continue
        ok = {
            "opening": lambda e=emo: _add_opening(sents, e, level, rng, used),
            "evaluation": lambda e=emo: _add_evaluation(sents, e, level, rng, used),
            "adverb": lambda e=emo: _add_adverb(sents, e, level, rng),
            "substitution": lambda e=emo: _add_substitution(sents, e, rng),
        }[d]()
        applied += bool(ok)
    if applied == 0:
        _add_evaluation(sents, emos[0] if emos[0] is not E.NEUTRAL else E.HAPPINESS, level, rng)
    if level >= 1:
        main = max(target.weights, key=target.weights.__getitem__)
        if main is not E.NEUTRAL:
            _punctuate(sents, main, level, rng)
    return _finish(sents, text)


def generate_candidates(
    text: str, target: EmotionSpec, n: int, seed: int = 0, boost: bool = False
) -> list[str]:
    """``n`` candidate rewrites (possibly fewer after removing duplicates), deterministic for
    ``seed``. Neutral: the text neutralised at a few strengths up to ``target.intensity``.
    ``boost``: stronger candidates (see :func:`emotional_candidate`)."""
    src = re.sub(r"\s+", " ", text).strip()
    if target.label is E.NEUTRAL and not target.mixture:
        k = target.intensity
        levels = sorted({round(x, 2) for x in (k, min(k, 0.45), min(k, 0.75), k)} - {0.0})
        return list(dict.fromkeys(neutralize(src, s) for s in reversed(levels))) or [src]
    base = neutralize(src, 0.3) if target.intensity >= 0.3 else src
    if not base:
        base = src
    rng = random.Random(f"{seed}|{target}|{src}|{boost}")
    out: list[str] = []
    for _ in range(n * 3):
        c = emotional_candidate(base, target, random.Random(rng.random()), boost)
        if c not in out:
            out.append(c)
        if len(out) >= n:
            break
    return out


# --- lexicon-only emotion scores (recogniser-independent reranking) ---------------------------
_NRC_MAP = {
    "anger": E.ANGER,
    "disgust": E.DISGUST,
    "fear": E.FEAR,
    "joy": E.HAPPINESS,
    "sadness": E.SADNESS,
    "surprise": E.SURPRISE,
}


@functools.cache
def _cue_words() -> dict[str, tuple[Emotion, ...]]:
    """Curated cue words of every emotion (from the phrase lists above) plus NRC."""
    cues: dict[str, set[Emotion]] = {}
    for w, emos in _nrc().items():
        for e in emos:
            if e in _NRC_MAP:
                cues.setdefault(w, set()).add(_NRC_MAP[e])
    for emo, phrases in PHRASES.items():
        own: set[str] = set()
        for lv in (*FEEL_ADJ[emo], *EVAL_ADJ[emo], *EMO_ADVERBS[emo]):
            own |= {w for x in lv for w in x.split() if len(w) > 3}
        for ph in phrases:
            own |= {w.lower() for w in re.findall(r"[A-Za-z-]+", ph.text) if len(w) > 3}
        for w in own - _FUNCTION_WORDS - {"that", "this", "about", "makes", "what", "just", "feel"}:
            cues[w] = {emo}  # the curated meaning wins over NRC's
    return {w: tuple(sorted(v)) for w, v in cues.items()}


def lexicon_emotion_scores(texts: Sequence[str]) -> list[dict[Emotion, float]]:
    """Cue-word emotion distribution per text: {emotion: probability} over the 8 categories,
    summing to 1. Neutral gets a constant prior of 1; each cue word adds 1 (shared among its
    emotions); "!" adds 0.3 to happiness/anger/surprise, "?" 0.3 to surprise."""
    cues = _cue_words()
    out = []
    for t in texts:
        s = dict.fromkeys(ALL_EMOTIONS, 0.0)
        s[E.NEUTRAL] = 1.0
        for w in re.findall(r"[a-z][a-z'-]*", t.lower()):
            for e in cues.get(w, ()):
                s[e] += 1.0 / len(cues[w])
        bangs = t.count("!")
        for e in (E.HAPPINESS, E.ANGER, E.SURPRISE):
            s[e] += 0.3 * min(bangs, 2)
        s[E.SURPRISE] += 0.3 * min(t.count("?"), 2)
        tot = sum(s.values())
        out.append({e: v / tot for e, v in s.items()})
    return out


# --- the backend -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LexicalConfig:
    """Settings of the lexical rewriter.

    n_candidates: candidates generated per rewrite (1..64); the best is kept.
    rerank: how candidates are scored (see :class:`CandidateScorer`): "recognizer" (the
        project's text emotion recogniser; default), "lexicon" (cue words only) or "none"
        (the first candidate).
    sim_power: exponent of the meaning-kept factor in the score (higher = more conservative).
    escalate: when no candidate's most probable label is the target, generate
        ``n_candidates`` more with every device kind (same strength level) and rerank all.
    variety: candidates scoring within this fraction of the best (and judged the same way)
        are equally eligible; one is drawn with the seed (0 = always the top score).
    """

    n_candidates: int = 12
    rerank: RerankMode = "recognizer"
    sim_power: float = 1.0
    escalate: bool = True
    variety: float = 0.15

    def __post_init__(self) -> None:
        from emoshift.errors import ConfigError

        if not 1 <= int(self.n_candidates) <= 64:
            raise ConfigError(f"n_candidates must be in 1..64, got {self.n_candidates}")
        if not 0.0 <= self.variety < 1.0:
            raise ConfigError(f"variety must be in [0, 1), got {self.variety}")
        if self.rerank not in ("recognizer", "lexicon", "none"):
            raise ConfigError(f"rerank must be recognizer, lexicon or none, got {self.rerank!r}")


@REWRITERS.register(
    "lexical",
    summary="offline rule-based rewriter: interjections, intensifiers, evaluative clauses, "
    "reranked by the text emotion recogniser",
    default=True,
)
class LexicalRewriter:
    """Offline, no language model: emotion devices placed in the text, candidates reranked."""

    name = "lexical"
    licence_keys: tuple[str, ...] = RERANK_LICENCE_KEYS

    def __init__(
        self,
        config: LexicalConfig | None = None,
        *,
        n_candidates: int | None = None,
        rerank: RerankMode | None = None,
        sim_power: float | None = None,
        escalate: bool | None = None,
        variety: float | None = None,
    ) -> None:
        cfg = config or LexicalConfig()
        changes = {
            k: v
            for k, v in (
                ("n_candidates", n_candidates),
                ("rerank", rerank),
                ("sim_power", sim_power),
                ("escalate", escalate),
                ("variety", variety),
            )
            if v is not None
        }
        if changes:
            cfg = LexicalConfig(**{**cfg.__dict__, **changes})
        self.config = cfg
        self.scorer = CandidateScorer(cfg.rerank, cfg.sim_power)

    def _vary(
        self, src: str, target: EmotionSpec, seed: int, ranked: list[str], scores: list[dict]
    ) -> tuple[list[str], list[dict]]:
        """Pick among the near-best candidates (same verdict, total within ``variety`` of the
        best) with a seeded draw, so that many rewrites do not all open with the single
        strongest phrase. The pick is moved to the front."""
        if len(ranked) < 2 or self.config.variety <= 0:
            return ranked, scores
        best = scores[0]
        near = [
            i
            for i, sc in enumerate(scores)
            if sc.get("is_top") == best.get("is_top")
            and sc["total"] >= (1.0 - self.config.variety) * best["total"]
        ]
        pick = random.Random(f"{seed}|{target}|{src}|pick").choice(near)
        order = [pick] + [i for i in range(len(ranked)) if i != pick]
        return [ranked[i] for i in order], [scores[i] for i in order]

    def candidates(self, text: str, target: EmotionSpec, *, seed: int = 0) -> list[str]:
        """The unranked candidates (generation order), deterministic for ``seed``."""
        return generate_candidates(text, target, self.config.n_candidates, seed)

    def rewrite(self, text: str, target: EmotionSpec, *, seed: int = 0) -> RewriteResult:
        src = re.sub(r"\s+", " ", str(text)).strip()
        if not src:
            return RewriteResult(
                str(text), str(text), target, self.name, [], {"note": "empty text"}
            )
        if target.intensity <= 0.0:
            return RewriteResult(src, str(text), target, self.name, [src], {"note": "intensity 0"})
        cands = self.candidates(src, target, seed=seed)
        ranked, scores = self.scorer.rank(src, cands, target)
        if (
            scores
            and not scores[0].get("is_top", True)
            and target.label is not E.NEUTRAL
            and self.config.escalate
        ):
            # no candidate reads as the target: try stronger ones (same intensity level)
            more = generate_candidates(src, target, self.config.n_candidates, seed, boost=True)
            ranked, scores = self.scorer.rank(src, [*ranked, *more], target)
        ranked, scores = self._vary(src, target, seed, ranked, scores)
        return result_from_ranking(
            str(text), target, self.name, ranked, scores, rerank=self.config.rerank
        )
