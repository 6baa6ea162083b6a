"""Two annotators label in a real browser; their labels reach the dataset as human labels.

Debian's chromium, driven by Playwright, against the session's Label Studio server (127.0.0.1,
temporary data folder). `khc ls push` creates the project; two annotator accounts (not the
owner) take tasks from the label stream, mark spans with the mouse (label first, then drag),
answer evidence and the article questions and submit. One task has a prediction (annotator 1
accepts it and corrects some of it; annotator 2 removes a pre-filled span and adds one by
hand), one has none (both label from blank: the human-human pair). Then `khc ls pull`,
`khc build` and `khc agreement`, and assertions on what the browser made. On failure the
screenshots and console logs are in the folder the message names. Under CI=true a missing
browser is a failure, not a skip. KHC_DOCS_SCREENSHOTS=docs/img also copies the screenshots
docs/annotating.md shows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from datasets import load_dataset
from label_studio_sdk import LabelStudio

from builders.labelstudio.instructions import MAINTAINER_HEADING, annotator_part
from builders.project import load_project
from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, RISK_DISCLOSURES
from tests.conftest import REPO, copy_project, declare, khc
from tests.labelstudio.browser import INSTALL, WIDTH, Annotator, chromium_executable, docs_folder, save_failure
from tests.labelstudio.server import PASSWORD, sign_up

pytestmark = [pytest.mark.labelstudio, pytest.mark.browser]

EMAILS = ("browser.one@khc.test", "browser.two@khc.test")
# On the task with a prediction (khc-000001 in the corpus order)
PREFILLED = (
    "Attention deficit hyperactivity disorder (ADHD) is a neurological disorder "
    "that affects millions of people worldwide"
)
BY_HAND = "The study involved 22 adults with ADHD who received a single infusion of ketamine"
# On the task without one (khc-000002)
MECHANISM = "Ketamine blocks NMDA receptors, which are important for memory and focus regulation"
PROMISE = "Ketamine shows promise in improving focus and attention in ADHD"


@pytest.fixture(scope="module")
def playwright():
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "Playwright for Python is not installed"
    if not missing and not chromium_executable():
        missing = "no chromium on PATH"
    if missing:
        message = f"{missing}: {INSTALL}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test must run in CI: {message}")
        pytest.skip(message)
    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def project_root(tmp_path, server, monkeypatch):
    root = copy_project(tmp_path / "project", with_fixture_labels=False)
    shutil.copytree(REPO / "annotations" / "predictions", root / "annotations" / "predictions")
    monkeypatch.setenv("LABEL_STUDIO_URL", server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", server.token)
    monkeypatch.setenv("KHC_PSEUDONYM_MAP", str(tmp_path / "outside-the-repo" / "pseudonyms.json"))
    return root


def check_instructions(annotator: Annotator, guidelines: str) -> None:
    """The dialog at 1280 px: nothing wider than it, the label tables as tables, no maintainer notes."""
    layout = annotator.instructions_dialog()
    shown = annotator_part(guidelines)
    tables = len(re.findall(r"^\|[-| :]+\|\s*$", shown, re.M))  # one separator line per Markdown table
    assert layout["wide"] == [] and not layout["overflowing"], layout["wide"][:5]
    assert layout["width"] < WIDTH
    assert layout["tables"] == tables > 0
    assert "|---|" not in layout["text"] and "<!--" not in layout["text"]
    if MAINTAINER_HEADING in guidelines:
        assert MAINTAINER_HEADING.lstrip("# ") not in layout["text"]


def check_hotkeys_in_the_docs(annotator: Annotator) -> None:
    """docs/annotating.md's hotkey table is what Label Studio shows next to each label and choice."""
    docs = (REPO / "docs" / "annotating.md").read_text(encoding="utf-8")
    for family, keys in annotator.hotkeys().items():
        row = f"| {family} | " + " · ".join(f"`{value}` {key}" for value, key in keys) + " |"
        assert row in docs, f"docs/annotating.md should list the hotkeys Label Studio shows: {row}"


def test_two_annotators_label_in_the_browser(server, project_root, playwright, tmp_path, capsys):
    root = project_root
    # outside pytest's rotating tmp folders, so that a failure's screenshots stay to be read
    artefacts = Path(os.environ.get("KHC_BROWSER_ARTEFACTS") or tempfile.mkdtemp(prefix="khc-browser-test-"))
    artefacts.mkdir(parents=True, exist_ok=True)
    policy = load_project(root).annotation.predictions
    code, out, err = khc("ls", "push", "--title", "browser", root=root, capsys=capsys)
    assert code == 0, err
    project_id = int(re.search(r"project (\d+)", out).group(1))

    admin = LabelStudio(base_url=server.url, api_key=server.token)
    settings = admin.projects.get(project_id)
    for key, value in load_project(root).annotation.project_fields().items():
        assert getattr(settings, key) == value, key
    tasks = sorted(admin.tasks.list(project=project_id, fields="all"), key=lambda t: t.id)
    article_of = {t.id: t.data["article_id"] for t in tasks}
    with_prediction = {t.id for t in tasks if t.total_predictions}
    assert with_prediction == {t.id for t in tasks if not policy.withheld(t.data["article_id"])}
    first, second = tasks[:2]  # the label stream serves tasks in order
    assert first.id in with_prediction and second.id not in with_prediction, (
        "the test needs khc-000001 shown, khc-000002 withheld"
    )

    for email in EMAILS:
        sign_up(server.url, email)
    people = [
        Annotator(playwright, server.url, e, PASSWORD, artefacts, f"annotator{i + 1}") for i, e in enumerate(EMAILS)
    ]
    guidelines = (root / "annotations" / "guidelines.md").read_text(encoding="utf-8")
    done: dict[int, set[int]] = {}  # task id → annotators who submitted it
    try:
        for number, person in enumerate(people, start=1):
            person.open_project(project_id)
            if number == 1:
                person.shot("next-task")
            person.start_label_stream()
            if number == 1:
                check_hotkeys_in_the_docs(person)
                check_instructions(person, guidelines)
                person.shot("instructions")
            person.close_instructions()
            for _ in range(2):  # the stream serves both tasks, in an order of its own
                prefilled = person.regions()
                (accept_and_correct if number == 1 else remove_and_add)(person) if prefilled else from_blank(
                    person, number
                )
                # annotator 2 submits with the hotkey docs/annotating.md gives, annotator 1 with the button
                done.setdefault(person.submit(by_key=number == 2), set()).add(number)
                person.wait_for_task()
        quick_view(admin, people[1], project_id, tasks, with_prediction)
    except Exception as exc:
        save_failure(people, artefacts)
        raise AssertionError(
            f"the browser workflow failed ({exc}); screenshots and console logs in {artefacts}"
        ) from exc
    finally:
        for person in people:
            person.close()
    assert done == {first.id: {1, 2}, second.id: {1, 2}}
    copy_docs_screenshots(artefacts)

    check_pull_build_agreement(root, project_id, article_of, first.id, second.id, capsys)
    if "KHC_BROWSER_ARTEFACTS" not in os.environ:
        shutil.rmtree(artefacts)


def quick_view(admin: LabelStudio, two: Annotator, project_id: int, tasks: list, with_prediction: set[int]) -> None:
    """The Data Manager's quick view pre-fills from the prediction even when the label stream does not."""
    admin.projects.update(project_id, show_collab_predictions=False)
    untouched = next(t for t in tasks[2:] if t.id in with_prediction)
    spans = {r["id"] for p in admin.predictions.list(task=untouched.id) for r in p.result if r["type"] == "labels"}
    two.open_from_data_manager(project_id, untouched.id, untouched.data["text"])
    two.wait_for_regions(len(spans))
    assert len(two.regions()) == len(spans)
    two.console.append(f"quick view of an untouched task: tabs {two.annotation_tabs()}")
    two.shot("quick-view-untouched")
    # a task others have submitted opens on a submitted annotation, with Update instead of Submit
    first = tasks[0]
    two.open_from_data_manager(project_id, first.id, first.data["text"])
    two.page.wait_for_function("document.querySelectorAll('.lsf-annotation-button').length >= 3")
    tabs = two.annotation_tabs()
    assert len(tabs) == 3 and sum(t.startswith("*") for t in tabs) == 1, tabs  # two people's and the prediction
    assert two.page.locator("button", has_text=re.compile(r"^\s*Update\s*$")).is_visible()
    two.shot("quick-view-submitted")


def accept_and_correct(one: Annotator) -> None:
    """Annotator 1 on the pre-filled task: keep the prediction, change one span's evidence, tick one more disclosure."""
    assert PREFILLED in one.regions()
    one.shot("prediction")
    one.select_span(PREFILLED)
    old = one.ticked(EVIDENCE.question)
    one.choose(EVIDENCE.question, next(v for v in ("vague_appeal", "none") if v not in old))
    one.shot("evidence")
    one.choose(RISK_DISCLOSURES.question, "side_effects")


def remove_and_add(two: Annotator) -> None:
    """Annotator 2 on the pre-filled task: delete a pre-filled span, mark another by hand."""
    two.select_span(PREFILLED)
    two.delete_selected_span()
    assert PREFILLED not in two.regions()
    two.label_span("background", BY_HAND)
    two.select_span(BY_HAND)
    two.choose(EVIDENCE.question, "specific_unverifiable")


def from_blank(person: Annotator, number: int) -> None:
    """Both annotators on the task without a prediction; they differ on one evidence and one criterion."""
    assert person.page.locator('[data-testid="bottombar-submit-button"]').is_disabled()  # no empty annotation
    person.label_span("mechanism", MECHANISM)
    if number == 1:
        person.shot("span")
    person.select_span(MECHANISM)
    person.choose(EVIDENCE.question, "none")
    person.label_span("efficacy", PROMISE)
    if number == 1:  # a span without its evidence: Submit refuses, and selects the span
        person.refused_submit()
    person.select_span(PROMISE)
    person.choose(EVIDENCE.question, "none" if number == 1 else "vague_appeal")
    person.choose(RISK_DISCLOSURES.question, "misuse_potential")
    person.choose(HARMS_EXPLAINED.question, "not_satisfactory")
    person.choose(EVIDENCE_EXPLAINED.question, "not_satisfactory" if number == 1 else "satisfactory")


# name → the part of annotator 1's 1280×900 screenshot docs/annotating.md shows (left, top, right, bottom)
DOC_SHOTS = {
    "next-task": (0, 0, 1280, 540),
    "instructions": (300, 40, 980, 640),
    "prediction": (0, 48, 960, 640),
    "span": (0, 48, 960, 640),
    "evidence": (0, 48, 960, 640),
}


def copy_docs_screenshots(artefacts: Path) -> None:
    """Annotator 1's screenshots for docs/annotating.md, cropped and in a small palette."""
    folder = docs_folder()
    if folder is None:
        return
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for shot in artefacts.glob("annotator1-*.png"):
        name = re.sub(r"^annotator1-\d+-", "", shot.stem)
        if name in DOC_SHOTS:
            with Image.open(shot) as image:
                part = image.convert("RGB").crop(DOC_SHOTS[name])
                part.quantize(colors=64, dither=Image.Dither.NONE).save(folder / f"{name}.png", optimize=True)


def check_pull_build_agreement(root: Path, project_id: int, article_of: dict, shown: int, blank: int, capsys) -> None:
    declare(root, projects=[project_id])  # the dataset's Label Studio project
    code, _out, err = khc("ls", "pull", "--project-id", str(project_id), root=root, capsys=capsys)
    assert code == 0, err
    (snapshot,) = (root / "annotations" / "exports").glob(f"project-{project_id}-*.json")
    tasks = {t["id"]: t for t in json.loads(snapshot.read_text(encoding="utf-8"))}
    by_task = {tid: {a["completed_by"]: a for a in tasks[tid]["annotations"]} for tid in (shown, blank)}
    assert all(len(people) == 2 for people in by_task.values()), by_task
    names = sorted(by_task[shown])
    assert all(re.fullmatch(r"ann-\d{3}", n) for n in names) and sorted(by_task[blank]) == names
    prediction_ids = {p["id"] for p in tasks[shown]["predictions"]}
    assert len(prediction_ids) == 1 and tasks[blank]["predictions"] == []

    def origins(annotation: dict) -> dict[str, set[str]]:
        """Label Studio's result origins, by the span's text (its labels and evidence) or the question."""
        text = {r["id"]: r["value"]["text"] for r in annotation["result"] if r["from_name"] == CLAIM_TYPE.name}
        found: dict[str, set[str]] = {}
        for r in annotation["result"]:
            found.setdefault(text.get(r["id"], r["from_name"]), set()).add(r.get("origin", "none"))
        return found

    # pull met the two people in an order of its own: tell them apart by what they did
    accepted = next(a for a in by_task[shown].values() if BY_HAND not in origins(a))
    changed = next(a for a in by_task[shown].values() if a is not accepted)
    edited = {PREFILLED: {"prediction-changed"}, RISK_DISCLOSURES.name: {"prediction-changed"}}
    assert origins(accepted) == {k: edited.get(k, {"prediction"}) for k in origins(accepted)}
    assert len(origins(accepted)) > len(edited) + 2  # the untouched spans and both criteria
    assert PREFILLED not in origins(changed) and origins(changed)[BY_HAND] == {"manual"}
    assert origins(changed) == {k: {"manual"} if k == BY_HAND else {"prediction"} for k in origins(changed)}
    for annotation in by_task[shown].values():
        assert annotation["parent_prediction"] in prediction_ids
    for annotation in by_task[blank].values():
        assert origins(annotation) == {
            k: {"manual"}
            for k in (MECHANISM, PROMISE, RISK_DISCLOSURES.name, HARMS_EXPLAINED.name, EVIDENCE_EXPLAINED.name)
        }
        assert annotation["parent_prediction"] is None
        labels = {r["value"]["text"]: r["value"]["labels"] for r in annotation["result"] if r["type"] == "labels"}
        assert labels == {MECHANISM: ["mechanism"], PROMISE: ["efficacy"]}

    code, _out, err = khc("build", root=root, capsys=capsys)
    assert code == 0, err
    raw = load_dataset(str(root / "dist"), "annotations")
    origin = raw["train"].features["origin"].names
    rows = [r for split in raw for r in raw[split] if r["ls_project_id"] == project_id]
    people = {(r["annotator"], r["article_id"]) for r in rows if origin[r["origin"]] == "human"}
    assert people == {(n, article_of[t]) for t in (shown, blank) for n in names}  # the browser's four, as people
    assert all(r["annotator"].startswith("model/") for r in rows if origin[r["origin"]] == "model")
    # What the browser made reaches the dataset with its provenance: each span's result origin and
    # each annotation's parent_prediction are the snapshot's.
    span_origin = raw["train"].features["spans"].feature["result_origin"].names
    snapshot_annotations = {a["id"]: a for t in (shown, blank) for a in by_task[t].values()}
    for row in rows:
        if origin[row["origin"]] != "human":
            continue
        exported = snapshot_annotations[row["ls_annotation_id"]]
        assert row["parent_prediction"] == exported["parent_prediction"], (
            row["ls_annotation_id"],
            row["article_id"],
            {(t, k): (a["id"], a.get("parent_prediction")) for t in (shown, blank) for k, a in by_task[t].items()},
        )
        expected = {
            r["value"]["text"]: r.get("origin", "unknown")
            for r in exported["result"]
            if r["from_name"] == CLAIM_TYPE.name
        }
        assert {sp["text"]: span_origin[sp["result_origin"]] for sp in row["spans"]} == expected

    report = root / "agreement.json"
    code, _out, err = khc("agreement", "--json", str(report), root=root, capsys=capsys)
    assert code == 0, err
    text = report.read_text(encoding="utf-8")
    assert all(n in text for n in names)
    found = json.loads(text)
    assert not [a for a in found["annotators"] if a.startswith("model/")]  # a model is never a rater among people
    assert {a for pair in found["model_vs_human"] for a in pair["annotators"]} >= set(names)
