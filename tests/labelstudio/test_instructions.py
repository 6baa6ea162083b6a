"""The instructions annotators read: the annotator-facing guidelines as HTML, raw HTML off."""

from __future__ import annotations

import re

from builders.labelstudio.instructions import MAINTAINER_HEADING, annotator_part, instructions_html, render
from builders.schema import CLAIM_TYPE
from tests.conftest import REPO

GUIDELINES = REPO / "annotations" / "guidelines.md"


def test_maintainer_notes_are_left_out():
    text = "# Guidelines\n\nRule one.\n\n" + MAINTAINER_HEADING + "\n\nRun `khc schema --write`.\n\n## Later\n\nmore\n"
    shown = instructions_html(text)
    assert "Rule one." in shown
    assert "khc schema" not in shown and "Notes for maintainers" not in shown and "Later" not in shown
    assert annotator_part("# Only rules\n") == "# Only rules\n"  # no maintainers' section: everything


def test_a_heading_that_only_starts_alike_is_kept():
    text = f"# G\n\n{MAINTAINER_HEADING} and reviewers\n\nkept\n"
    assert annotator_part(text) == text


def test_raw_html_is_shown_as_text_never_run():
    html = render('Before <script>alert("x")</script> and <iframe src="https://example.org"></iframe>\n')
    assert "<script" not in html and "<iframe" not in html
    assert "&lt;script&gt;" in html and "&lt;iframe" in html


def test_the_guidelines_tables_render_as_tables_without_their_markers():
    markdown = GUIDELINES.read_text(encoding="utf-8")
    html = instructions_html(markdown)
    shown = annotator_part(markdown)
    tables = len(re.findall(r"^\|[-| :]+\|\s*$", shown, re.M))
    assert tables > 0 and html.count("<table>") == tables
    for value in CLAIM_TYPE.names:
        assert f"<td><code>{value}</code></td>" in html
    assert "schema:claim_type" not in html and "&lt;!--" not in html
    assert "|---|" not in html
