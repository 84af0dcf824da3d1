"""Regenerate docs/licences.md from emoshift.licences (the single source of truth)."""

from __future__ import annotations

from pathlib import Path

from emoshift.licences import markdown_table

HEADER = """# Licences of models and data

emoshift's code is Apache-2.0. The models and data it uses come with their own terms; some
are **research / non-commercial only** (the NRC lexicon, the RAVDESS-trained speech emotion
weights, py-feat's AU model), espeak-ng is GPL-3.0-or-later (run as a separate program), and
Gemma has its own terms of use. Each run's `manifest.json` lists the entries that run used,
the text rewriter's included (its lexicons and reranking recogniser: until 22 Nov the rewrite
stage recorded none, so manifests of earlier runs lack nrc-emolex, vader, goemotions,
emoshift-ter and minilm-l6-v2). `emoshift evaluate` (evaluation.json) and `emoshift recognize`
(its JSON) list the entries they ran too.
This table is generated from `src/emoshift/licences.py` by `scripts/gen_licences_doc.py`.

"""


def render() -> str:
    return HEADER + markdown_table()


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "docs" / "licences.md"
    out.write_text(render(), encoding="utf-8")
    print(f"wrote {out}")
