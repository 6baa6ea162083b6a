"""An annotator in a real browser: Debian's chromium driven by Playwright, real mouse events.

Selectors come from Label Studio 1.23.2's front end (`web/libs/editor`): labels are
`.lsf-label`, the article is `.lsf-htx-richtext`, a span is `span.htx-highlight`, each
`<Choices>` block is the `.lsf-choices` right after its `<Header>` (an `h3`), and the bottom
bar's buttons carry `data-testid`s.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from builders.schema import CLAIM_TYPE, FAMILIES

INSTALL = (
    "install Debian's browser: apt-get update && apt-get install -y chromium (as root), "
    "and Playwright: pip install -c constraints.txt -e '.[test]'"
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTH, HEIGHT = 1280, 900  # the width the instructions must fit
TIMEOUT_MS = 30_000

# Screen points of the first and last character of a quote in the article, after scrolling
# it into view; null unless the quote occurs exactly once.
_QUOTE_POINTS = """([quote]) => {
  const root = document.querySelector('.lsf-htx-richtext');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = []; let text = '';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) { nodes.push([n, text.length]); text += n.data; }
  const at = text.indexOf(quote);
  if (at < 0 || text.indexOf(quote, at + 1) >= 0) return null;
  const locate = (offset) => {
    let i = nodes.length - 1; while (nodes[i][1] > offset) i--; return [nodes[i][0], offset - nodes[i][1]];
  };
  const rect = (offset) => {
    const [node, o] = locate(offset); const r = document.createRange();
    r.setStart(node, o); r.setEnd(node, o + 1); return r.getClientRects()[0];
  };
  locate(at)[0].parentElement.scrollIntoView({block: 'center'});
  const a = rect(at), b = rect(at + quote.length - 1);
  return {x1: a.left + 1, y1: a.top + a.height / 2, x2: b.right - 1, y2: b.top + b.height / 2};
}"""

# The text of each span on the article, joining the pieces of one region (same htx-highlight-ID class)
_REGIONS = """() => {
  const pieces = new Map();
  for (const e of document.querySelectorAll('.lsf-htx-richtext span.htx-highlight')) {
    const id = [...e.classList].find(c => c.startsWith('htx-highlight-')) || e;
    pieces.set(id, (pieces.get(id) || '') + e.textContent);
  }
  return [...pieces.values()].map(t => t.trim());
}"""

# Every element of the open Instructions dialog wider than the dialog, and its tables.
_DIALOG_LAYOUT = """() => {
  const dialog = document.querySelector('.lsf-modal-ls__content');
  const box = dialog.getBoundingClientRect();
  const wide = [...dialog.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > box.right + 1 || e.scrollWidth > box.width + 1)
    .map(e => e.tagName + ': ' + e.textContent.slice(0, 60));
  return {width: box.width, wide, tables: dialog.querySelectorAll('table').length,
          overflowing: dialog.scrollWidth > dialog.clientWidth + 1, text: dialog.innerText};
}"""


def chromium_executable() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _literal(text: str) -> str:
    """An XPath string literal for text without double quotes."""
    assert '"' not in text
    return f'"{text}"'


class Annotator:
    """One person's browser session (a fresh profile) logged in to Label Studio."""

    def __init__(self, playwright, url: str, email: str, password: str, artefacts: Path, name: str):
        self.url, self.name, self.artefacts = url, name, artefacts
        self.profile = tempfile.mkdtemp(prefix=f"khc-chromium-{name}-")
        self.context = playwright.chromium.launch_persistent_context(
            self.profile,
            executable_path=chromium_executable(),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": WIDTH, "height": HEIGHT},
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.shots = 0
        self.page.goto(f"{url}/user/login/")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(re.compile(r"/projects|/$"))

    def shot(self, what: str, path: Path | None = None, **options) -> Path:
        self.shots += 1
        path = path or self.artefacts / f"{self.name}-{self.shots:02d}-{what}.png"
        self.page.screenshot(path=path, **options)
        return path

    def save_console(self) -> None:
        (self.artefacts / f"{self.name}-console.log").write_text("\n".join(self.console) + "\n", encoding="utf-8")

    def close(self) -> None:
        self.save_console()
        self.context.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    # --- getting a task -------------------------------------------------------------------
    def open_project(self, project_id: int) -> None:
        self.page.goto(f"{self.url}/projects/{project_id}/data")
        self.page.get_by_role("button", name="Label All Tasks").wait_for()

    def start_label_stream(self) -> None:
        """Label All Tasks: the label stream, which serves the next task."""
        self.page.get_by_role("button", name="Label All Tasks").click()
        self.wait_for_task()

    def open_from_data_manager(self, project_id: int, task_id: int, text: str) -> None:
        """Click a task's row in the Data Manager: Label Studio's quick view of that task."""
        self.page.goto(f"{self.url}/projects/{project_id}/data")
        self.page.get_by_text(text[:40]).first.click()
        self.page.wait_for_url(re.compile(rf"task={task_id}"))
        self.wait_for_task()

    def annotation_tabs(self) -> list[str]:
        """The annotation (and prediction) tabs above the task, the selected one marked with '*'."""
        tabs = self.page.locator(".lsf-annotation-button")
        return [
            ("*" if "selected" in (tabs.nth(i).get_attribute("class") or "") else "") + tabs.nth(i).inner_text()
            for i in range(tabs.count())
        ]

    def wait_for_task(self) -> None:
        self.page.wait_for_selector(".lsf-htx-richtext .lsf-richtext__line")
        self.page.wait_for_timeout(500)  # regions are drawn after the text

    def instructions_dialog(self) -> dict:
        self.page.wait_for_selector(".lsf-modal-ls__content")
        return self.page.evaluate(_DIALOG_LAYOUT)

    def close_instructions(self) -> None:
        self.page.click('button[aria-label="Close modal"]')
        self.page.wait_for_selector(".lsf-modal-ls__content", state="detached")

    # --- spans ----------------------------------------------------------------------------
    def regions(self) -> list[str]:
        """The text of every span drawn on the article (a span may be drawn in several pieces)."""
        return self.page.evaluate(_REGIONS)

    def wait_for_regions(self, count: int) -> None:
        self.page.wait_for_function(f"({_REGIONS})().length >= {count}")

    def label_span(self, claim_type: str, quote: str) -> None:
        """Click the label, then drag over the quote with the mouse (label first, then drag)."""
        before = len(self.regions())
        label = self.page.locator(".lsf-label", has=self.page.locator(".lsf-label__text", has_text=claim_type))
        label = label.filter(has_text=re.compile(rf"^{claim_type}\s*\d*$"))
        self.unselect()  # a label clicked while a span is selected relabels that span
        if "lsf-label_selected" not in (label.get_attribute("class") or ""):  # a click on a chosen label unchooses it
            label.click()
        points = self.page.evaluate(_QUOTE_POINTS, [quote])
        assert points, f"{quote!r} is not shown exactly once in the article"
        mouse = self.page.mouse
        mouse.move(points["x1"], points["y1"])
        mouse.down()
        mouse.move((points["x1"] + points["x2"]) / 2, (points["y1"] + points["y2"]) / 2, steps=5)
        mouse.move(points["x2"], points["y2"], steps=5)
        mouse.up()
        self.page.wait_for_function(f"({_REGIONS})().length > {before}")

    def unselect(self) -> None:
        """Escape unselects the selected span, if any (its evidence question hides)."""
        evidence = self.page.locator(".lsf-choices").first
        if "lsf-choices_hidden" not in (evidence.get_attribute("class") or ""):
            self.page.keyboard.press("Escape")
            self.page.wait_for_selector(".lsf-choices.lsf-choices_hidden", state="attached")

    def select_span(self, quote: str) -> None:
        """Click a span so its per-region questions (evidence) show."""
        self.unselect()  # a click on the selected span would unselect it
        points = self.page.evaluate(_QUOTE_POINTS, [quote])
        assert points, f"{quote!r} is not shown exactly once in the article"
        self.page.mouse.click(points["x1"] + 4, points["y1"])
        self.page.locator(".lsf-choices:not(.lsf-choices_hidden)").first.wait_for()

    def delete_selected_span(self) -> None:
        before = len(self.regions())
        self.page.keyboard.press("Backspace")
        self.page.wait_for_function(f"({_REGIONS})().length < {before}")

    # --- questions ------------------------------------------------------------------------
    def _block(self, question: str):
        return self.page.locator(
            f"xpath=//h3[normalize-space()={_literal(question)}]/following-sibling::div[contains(@class,'lsf-choices')][1]"
        )

    def choose(self, question: str, value: str) -> None:
        """Tick (or pick) `value` under the question; checks that it ends up ticked."""
        item = self._block(question).locator(".lsf-choice__item").filter(has_text=re.compile(rf"^{value}\["))
        item.click()
        assert self.ticked(question) & {value}, f"{value} was not ticked under {question!r}"

    def ticked(self, question: str) -> set[str]:
        checked = self._block(question).locator(".ant-checkbox-wrapper-checked, .ant-radio-wrapper-checked")
        return {re.sub(r"\[.*$", "", t).strip() for t in checked.all_inner_texts()}

    def hotkeys(self) -> dict[str, list[tuple[str, str]]]:
        """(value, key) of every label and choice as shown, by schema family."""
        found = {CLAIM_TYPE.name: [tuple(t.split("\n")) for t in self.page.locator(".lsf-label").all_inner_texts()]}
        for family in (f for f in FAMILIES if f.kind != "span_label"):
            items = self._block(family.question).locator(".lsf-choice__item").all_text_contents()
            found[family.name] = [tuple(re.fullmatch(r"(.+)\[(.+)\]", t.strip()).groups()) for t in items]
        return found

    def refused_submit(self) -> None:
        """Submit with a required answer missing: Label Studio warns, and nothing is sent."""
        sent: list[str] = []
        self.page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
        self.page.click('[data-testid="bottombar-submit-button"]')
        warning = self.page.get_by_text(re.compile(r"required", re.I)).first
        warning.wait_for()
        self.shot("required")
        self.page.get_by_role("button", name="OK").first.click()
        warning.wait_for(state="hidden")
        assert not [u for u in sent if "/annotations" in u], sent

    def submit(self, *, by_key: bool = False) -> int:
        """Press Submit (or Ctrl+Enter); returns the id of the task the annotation was saved on."""
        with self.page.expect_response(
            lambda r: re.search(r"/api/tasks/\d+/annotations", r.url) and r.request.method == "POST"
        ) as answer:
            if by_key:
                self.page.keyboard.press("Control+Enter")
            else:
                self.page.click('[data-testid="bottombar-submit-button"]')
        assert answer.value.status == 201, f"Submit answered HTTP {answer.value.status}: {answer.value.text()[:300]}"
        return int(re.search(r"/api/tasks/(\d+)/annotations", answer.value.url).group(1))


def save_failure(annotators: list[Annotator], artefacts: Path) -> None:
    for annotator in annotators:
        try:
            annotator.shot("failure", full_page=True)
        except Exception as exc:  # the page may be gone; the console log still helps
            annotator.console.append(f"(no failure screenshot: {exc})")
        annotator.save_console()


def docs_folder() -> Path | None:
    """Where to copy the screenshots for docs/annotating.md, when asked (KHC_DOCS_SCREENSHOTS)."""
    folder = os.environ.get("KHC_DOCS_SCREENSHOTS")
    return Path(folder) if folder else None
