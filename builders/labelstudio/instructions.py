"""The project's instructions: the annotator-facing part of the guidelines as HTML.

Label Studio shows `expert_instruction` as HTML in its Instructions dialog. It cleans it with
bleach, but its allowed tags keep `<script>` and `<iframe>`, so the Markdown is rendered with
raw HTML disabled: anything HTML-like in the guidelines is shown as text, never run. Tables
are enabled (the label tables are Markdown tables).

Convention of `annotations/guidelines.md`: everything from the heading line
`## Notes for maintainers` to the end of the file is for maintainers and left out.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

MAINTAINER_HEADING = "## Notes for maintainers"
_MAINTAINER_LINE = re.compile(rf"^{re.escape(MAINTAINER_HEADING)}[ \t]*$", re.M)
# The `<!-- schema:... -->` markers that fence the generated tables; raw HTML is off, so
# they would otherwise be shown as text.
_COMMENT = re.compile(r"<!--.*?-->[ \t]*\n?", re.S)

# `style` attributes are removed by Label Studio's cleaner, a <style> element is kept: every
# rule is scoped to the wrapper so it touches nothing else on the page. Long words and code
# wrap so that nothing is wider than the dialog.
_STYLE = """<style>
.khc-instructions { max-width: 100%; overflow-wrap: anywhere; line-height: 1.5; }
.khc-instructions table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1em; }
.khc-instructions th, .khc-instructions td {
  border: 1px solid #c8c8c8; padding: 4px 8px; text-align: left; vertical-align: top;
}
.khc-instructions th { background: #f2f2f2; }
.khc-instructions code { white-space: normal; overflow-wrap: anywhere; background: #f4f4f4; padding: 0 2px; }
.khc-instructions pre { white-space: pre-wrap; }
.khc-instructions ul { list-style: disc; padding-left: 1.5em; }
.khc-instructions ol { list-style: decimal; padding-left: 1.5em; }
.khc-instructions p, .khc-instructions li { margin: 0.3em 0; }
.khc-instructions h1 { font-size: 1.4em; }
.khc-instructions h2 { font-size: 1.2em; margin-top: 1.2em; }
.khc-instructions h3 { font-size: 1.05em; margin-top: 1em; }
</style>"""


def annotator_part(markdown: str) -> str:
    """The guidelines without the maintainers' notes (from their heading to the end)."""
    match = _MAINTAINER_LINE.search(markdown)
    return markdown[: match.start()] if match else markdown


def render(markdown: str) -> str:
    """Markdown to HTML: CommonMark plus tables, raw HTML shown as text."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return md.render(_COMMENT.sub("", markdown))


def instructions_html(guidelines: str) -> str:
    """What `khc ls push` sets as the project's instructions."""
    return f'{_STYLE}\n<div class="khc-instructions">\n{render(annotator_part(guidelines))}</div>\n'
