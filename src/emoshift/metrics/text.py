"""Word error rate (WER) with normalisation, for judging transcripts (e.g. Whisper on
synthesised speech against the text it was meant to say)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass

from emoshift.errors import ConfigError

_PUNCT = re.compile(r"[^\w\s']|_")


_NUMBERS = [
    "zero",
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
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]
_BRITISH = re.compile(r"is(e|es|ed|ing|ation|ations)$")


def normalize_text(text: str) -> list[str]:
    """Lower-case, Unicode-normalise (NFKC, curly quotes to straight), drop punctuation except
    apostrophes inside words ("don't" stays one word, "'quoted'" loses its quotes), split on
    whitespace. Hyphens and slashes separate words ("well-known" -> "well", "known"). Like
    Whisper's English normaliser: 0..20 become words ("9" -> "nine"), "%" becomes "percent",
    British -ise/-isation is spelt -ize/-ization."""
    t = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("\u2018", "'")
    t = _PUNCT.sub(" ", t.replace("%", " percent "))
    out = []
    for w in t.split():
        w = w.strip("'")
        if w.isdigit() and int(w) <= 20:
            w = _NUMBERS[int(w)]
        elif len(w) > 6:
            w = _BRITISH.sub(r"iz\1", w)
        if w:
            out.append(w)
    return out


@dataclass(frozen=True)
class WerResult:
    """WER = (substitutions + deletions + insertions) / reference words (can exceed 1)."""

    wer: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int
    hypothesis_words: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def word_error_rate(reference: str, hypothesis: str) -> WerResult:
    """Levenshtein alignment of normalised words (:func:`normalize_text`).

    Among alignments of minimal cost, substitutions are preferred to deletion + insertion.
    An empty reference with an empty hypothesis gives WER 0; an empty reference with words
    in the hypothesis raises :class:`ConfigError` (WER undefined).
    """
    ref = normalize_text(reference)
    hyp = normalize_text(hypothesis)
    n, m = len(ref), len(hyp)
    if n == 0:
        if m == 0:
            return WerResult(0.0, 0, 0, 0, 0, 0)
        raise ConfigError("the reference text has no words; WER is undefined")
    # cost[i][j] = (edits, subs, dels, ins) for ref[:i] vs hyp[:j]
    prev = [(j, 0, 0, j) for j in range(m + 1)]
    for i in range(1, n + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, m + 1):
            d = prev[j - 1]
            if ref[i - 1] == hyp[j - 1]:
                diag = d
            else:
                diag = (d[0] + 1, d[1] + 1, d[2], d[3])
            up = prev[j]
            dele = (up[0] + 1, up[1], up[2] + 1, up[3])
            left = cur[j - 1]
            ins = (left[0] + 1, left[1], left[2], left[3] + 1)
            cur.append(min(diag, dele, ins, key=lambda c: (c[0], -c[1])))
        prev = cur
    e, s, dl, ins_ = prev[m]
    return WerResult(e / n, s, dl, ins_, n, m)


def wer(reference: str, hypothesis: str) -> float:
    """Just the WER number of :func:`word_error_rate`."""
    return word_error_rate(reference, hypothesis).wer
