"""The built card against Hugging Face's dataset card template (the one huggingface_hub ships):
every template section is there, at the template's level and in its order, none is empty, and
no placeholder is left (the template's "[More Information Needed]", an unfilled `{{ }}`, an
invented ORG/ repo or a vX.Y.Z revision). Built from the committed project, without and with a
Hub repo id in khc.toml."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import DatasetCard

from builders.build.card_sections import citation_bibtex
from tests.conftest import REPO, copy_project, khc

TEMPLATE = Path(huggingface_hub.__file__).parent / "templates" / "datasetcard_template.md"
PLACEHOLDERS = ("[More Information Needed]", "ORG/", "vX.Y.Z", "TODO", "[optional]")
UNFILLED = re.compile(r"\{\{\s*[a-z_]+[^}]*\}\}")  # a template's {{ name }} (BibTeX's {{Name}} is no placeholder)
# The template's fields (bullets) that are not marked optional, with the section they sit in.
FIELDS = {"Dataset Description": ["Curated by", "Language(s) (NLP)", "License"], "Dataset Sources": ["Repository"]}
HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$")


def sections(markdown: str) -> list[tuple[int, str, str]]:
    """(level, title, own text up to the next heading) of every heading outside fenced code and
    the YAML front matter; HTML comments are not text."""
    body = markdown.split("\n---\n", 1)[1] if markdown.startswith("---\n") else markdown
    body = re.sub(r"<!--.*?-->", "", body, flags=re.S)
    found: list[tuple[int, str, list[str]]] = []
    fenced = False
    for line in body.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2), []))
        elif found:
            found[-1][2].append(line)
    return [(level, title, "\n".join(text).strip()) for level, title, text in found]


def template_headings(pretty_name: str) -> list[tuple[int, str]]:
    text = TEMPLATE.read_text(encoding="utf-8")
    text = re.sub(r"\{\{ pretty_name[^}]*\}\}", pretty_name, text)
    return [(level, title.replace(" [optional]", "")) for level, title, _ in sections(text)]


def problems(card: str, pretty_name: str) -> list[str]:
    """What the card lacks against the template; [] when it has everything, filled."""
    found = sections(card)
    found_heads = [(level, title) for level, title, _ in found]
    wanted = template_headings(pretty_name)
    missing = [f"missing section {'#' * level} {title}" for level, title in wanted if (level, title) not in found_heads]
    present = [h for h in wanted if h in found_heads]
    positions = [found_heads.index(h) for h in present]
    order = [] if positions == sorted(positions) else ["the template's sections are out of order"]
    empty = []
    for i, (level, title, text) in enumerate(found):
        children = [
            t
            for lv, _, t in found[i + 1 : next((j for j in range(i + 1, len(found)) if found[j][0] <= level), None)]
            if lv > level
        ]
        if not text and not any(children):
            empty.append(f"empty section {'#' * level} {title}")
    prose = card.split("\n---\n", 1)[-1]
    left = [f"placeholder {p!r} in the card" for p in PLACEHOLDERS if p in prose]
    left += [f"unfilled placeholder {m} in the card" for m in UNFILLED.findall(prose)]
    fields = [
        f"field '{name}' missing or empty in {section}"
        for section, names in FIELDS.items()
        for name in names
        if not re.search(rf"^- \*\*{re.escape(name)}:\*\* \S", next((t for _, s, t in found if s == section), ""), re.M)
    ]
    return missing + order + empty + left + fields


@pytest.fixture(scope="module", params=["no repo id", "repo id"])
def built_card(request, tmp_path_factory) -> tuple[str, str | None]:
    root = copy_project(tmp_path_factory.mktemp("template") / "p", with_fixture_labels=False)
    shutil.copytree(REPO / "annotations" / "predictions", root / "annotations" / "predictions")
    repo_id = "someone/ketamine-health-claims" if request.param == "repo id" else None
    if repo_id:
        settings = root / "khc.toml"
        settings.write_text(settings.read_text().replace("[dataset]\n", f'[dataset]\nrepo_id = "{repo_id}"\n', 1))
    assert khc("build", root=root)[0] == 0
    return (root / "dist" / "README.md").read_text(encoding="utf-8"), repo_id


def test_the_built_card_has_every_template_section_filled(built_card):
    card, _ = built_card
    pretty_name = DatasetCard(card).data.pretty_name
    assert problems(card, pretty_name) == []


def test_the_card_names_its_repo_or_says_it_has_none(built_card):
    card, repo_id = built_card
    repository = next(line for line in card.splitlines() if line.startswith("- **Repository:**"))
    if repo_id:
        assert f"https://huggingface.co/datasets/{repo_id}" in repository
    else:
        assert "none yet" in repository and "repo_id" in repository and "huggingface.co/datasets" not in card


def test_the_licence_section_is_license_md(built_card, tmp_path):
    card, _ = built_card
    licence = next(text for _, title, text in sections(card) if title == "Licence")
    from builders.release.metadata import LICENSE_TEXT

    assert licence == LICENSE_TEXT.split("\n", 2)[2].strip() and "MIT" in licence


def test_the_check_fails_on_a_missing_an_empty_section_and_a_placeholder(built_card):
    card, _ = built_card
    pretty_name = DatasetCard(card).data.pretty_name
    glossary = next(text for _, title, text in sections(card) if title == "Glossary")
    assert problems(card.replace(glossary, ""), pretty_name) == ["empty section ## Glossary"]
    assert problems(card.replace("## Dataset Card Contact", "## Contact"), pretty_name) == [
        "missing section ## Dataset Card Contact"
    ]
    assert problems(card.replace(glossary, "[More Information Needed]"), pretty_name) == [
        "placeholder '[More Information Needed]' in the card"
    ]
    assert problems(card.replace(glossary, "{{ glossary }}"), pretty_name) == [
        "unfilled placeholder {{ glossary }} in the card"
    ]
    assert problems(card.replace("- **Curated by:** ", "- **Curated by:**"), pretty_name) == [
        "field 'Curated by' missing or empty in Dataset Description"
    ]


def test_an_unreleased_citation_says_it_is_not_citable_and_a_release_has_its_date():
    names = ("Ketamine Health Claims", "ketamine-health-claims")
    assert "not a citable release" in citation_bibtex(names, "0.0.0-dev", None, None)
    release = citation_bibtex(names, "0.1.0", "2026-12-02", "https://huggingface.co/datasets/someone/khc")
    assert "year = {2026}" in release and "version = {0.1.0}" in release and "not a citable" not in release
