"""Docs stay true to the code."""

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_licence_table_matches_code():
    spec = importlib.util.spec_from_file_location("gen", REPO / "scripts" / "gen_licences_doc.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (REPO / "docs" / "licences.md").read_text() == mod.render(), (
        "docs/licences.md is stale: run scripts/gen_licences_doc.py"
    )


def test_readme_names_the_two_commands():
    text = (REPO / "README.md").read_text()
    assert "make demo" in text and "make test" in text
