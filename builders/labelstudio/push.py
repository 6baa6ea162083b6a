"""`khc ls push`: the corpus and its pre-annotations into a Label Studio project.

Creates the project with the labeling config generated from the schema, the annotator-facing
guidelines as HTML instructions and the project settings of `khc.toml` (`[labelstudio.project]`),
or checks that an existing project's config is the same (refusing with a diff if not) and
brings its instructions and settings up to date, with a note for every setting it changes.
Imports one task per article the project does not hold yet, with `article_id`, `text_sha256`
and the guideline version in the task data, and every pre-annotation as a Label Studio
prediction with its `model_version`, except for the articles the prediction policy
(`[labelstudio.predictions]`) keeps free of predictions. Running it twice imports nothing twice.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from builders.build.read import discover, iter_tasks
from builders.corpus.records import load_corpus, sha256_text
from builders.errors import KhcError, Problem, partly_done
from builders.labelstudio.instructions import instructions_html
from builders.labelstudio.labelconfig import labeling_config, labeling_config_sha256
from builders.labelstudio.results import task_data
from builders.project import Project

if TYPE_CHECKING:  # label-studio-sdk (~2 s to import) only where a server is talked to: `khc preannotate`
    from builders.labelstudio.connection import Connection  # imports this module for pre_annotations


@dataclass
class PushResult:
    project_id: int
    created: bool
    imported_tasks: int = 0
    imported_predictions: int = 0
    already_there: int = 0
    without_predictions: int = 0  # tasks of this push the policy keeps free of predictions
    notes: list[str] = field(default_factory=list)


def _normalised(config: str) -> list[str]:
    return [line.strip() for line in config.strip().splitlines() if line.strip()]


def instructions(project: Project) -> str:
    """The annotator-facing part of the guidelines, as HTML for the Instructions dialog."""
    return instructions_html(project.guidelines_file.read_text(encoding="utf-8"))


def update_settings(project: Project, conn: Connection, remote) -> list[str]:
    """Set the project's settings to those of khc.toml; a note for each one that changes."""
    wanted = project.annotation.project_fields()
    changed = {k: v for k, v in wanted.items() if getattr(remote, k, None) != v}
    if not changed:
        return []
    conn.call("updated the project settings", lambda: conn.client.projects.update(remote.id, **changed))
    return [
        f"project {remote.id}: set {k} = {v!r} (was {getattr(remote, k, None)!r}; khc.toml [labelstudio.project])"
        for k, v in changed.items()
    ]


def pre_annotations(project: Project) -> dict[str, list[dict]]:
    """Predictions from annotations/predictions/*.json, by article_id: only those of the model
    version khc.toml declares (one model version per Label Studio project; older versions are
    history, never shown to annotators)."""
    found: dict[str, list[dict]] = {}
    declared = project.labelstudio.model_versions
    for path in discover(project)[1]:
        for task in iter_tasks(path, project.rel(path)):
            for prediction in task.get("predictions") or []:
                if declared and prediction.get("model_version") not in declared:
                    continue
                found.setdefault(task["data"]["article_id"], []).append(
                    {
                        "model_version": prediction["model_version"],
                        "result": prediction["result"],
                        "score": prediction.get("score"),
                    }
                )
    if len(declared) > 1:  # one model version per article: the first declared version that has one
        rank = {v: i for i, v in enumerate(declared)}
        for article_id, predictions in found.items():
            best = min(rank[p["model_version"]] for p in predictions)
            found[article_id] = [p for p in predictions if rank[p["model_version"]] == best]
    return found


@dataclass
class Remote:
    """What push found on the server before writing anything: the project (None: to create),
    its tasks by article (task id, text sha256) and the model versions of each task's predictions."""

    project: object | None
    tasks: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    predicted: dict[int, set] = field(default_factory=dict)


def find_remote(conn: Connection, project_id: int | None, title: str) -> object | None:
    ls = conn.client
    if project_id is not None:
        return conn.call(
            f"looked up project {project_id}",
            lambda: ls.projects.get(project_id),
            not_found=f"there is no project {project_id} on Label Studio at {conn.url}",
        )
    matches = [p for p in conn.call("listed projects", lambda: list(ls.projects.list())) if p.title == title]
    return matches[0] if matches else None


def check_remote(conn: Connection, remote, hashes: dict[str, str]) -> Remote:
    """Refuse a project whose config differs or whose tasks hold another text; read its tasks and
    predictions. Reads only."""
    ls, config = conn.client, labeling_config()
    if _normalised(remote.label_config or "") != _normalised(config):
        diff = difflib.unified_diff(
            _normalised(remote.label_config or ""),
            _normalised(config),
            "project config",
            "schema v1 config",
            lineterm="",
            n=1,
        )
        raise KhcError(
            Problem(
                f"project {remote.id} on {conn.url} has a labeling config that differs from schema v1:\n"
                + "\n".join(diff),
                fix="use a new project (--title), or set the project's config to `khc ls config` in Label Studio",
            )
        )
    found = Remote(remote)
    for task in conn.call("listed the project's tasks", lambda: list(ls.tasks.list(project=remote.id, fields="all"))):
        data = task.data or {}
        if isinstance(data.get("article_id"), str):
            text = data.get("text")
            found.tasks[data["article_id"]] = (task.id, sha256_text(text) if isinstance(text, str) else None)
    changed = sorted(a for a, (_tid, sha) in found.tasks.items() if a in hashes and sha != hashes[a])
    if changed:
        raise KhcError(
            Problem(
                f"articles {changed} in project {remote.id} were pushed with another text than the corpus holds now",
                fix="article texts are immutable: restore them from git, or ingest the new text as a new article",
            )
        )
    for p in conn.call("listed predictions", lambda: ls.predictions.list(project=remote.id)):
        found.predicted.setdefault(p.task, set()).add(p.model_version)
    return found


def push(project: Project, conn: Connection, *, project_id: int | None = None, title: str | None = None) -> PushResult:
    """Everything is read and checked (the corpus, the prediction files, the project's config and
    tasks) before the first write; an error after one names what was written."""
    corpus = load_corpus(project)
    policy = project.annotation.predictions
    every = pre_annotations(project)
    predictions = {a: p for a, p in every.items() if not policy.withheld(a)}
    hashes = dict(zip(corpus["article_id"], corpus["text_sha256"], strict=True))
    guideline_version, html = project.guideline_version(), instructions(project)
    title = title or project.pretty_name
    remote = find_remote(conn, project_id, title)
    found = check_remote(conn, remote, hashes) if remote is not None else Remote(None)
    new = [
        {
            "data": task_data(row, guideline_version, labeling_config_sha256()),
            "predictions": predictions.get(row.article_id, []),
        }
        for row in corpus.itertuples(index=False)
        if row.article_id not in found.tasks
    ]
    written: list[str] = []
    with partly_done(written, "run `khc ls push` again with the same project: it adds only what is missing"):
        result = write_remote(project, conn, found, title, html, written)
        add_predictions(conn, found, predictions, result, written)
        if new:
            what = f"imported {len(new)} tasks"
            conn.call(what, lambda: conn.client.projects.import_tasks(result.project_id, request=new))
            written.append(f"project {result.project_id}: {what}")
            result.imported_tasks = len(new)
            result.imported_predictions += sum(len(t["predictions"]) for t in new)
            result.without_predictions = sum(t["data"]["article_id"] in every.keys() - predictions.keys() for t in new)
    result.already_there = len(found.tasks)
    shown = sorted(a for a, (task_id, _sha) in found.tasks.items() if policy.withheld(a) and task_id in found.predicted)
    if shown:
        result.notes.append(
            f"project {result.project_id}: {len(shown)} tasks the prediction policy keeps free of predictions have "
            f"some (pushed before the policy): {', '.join(shown[:5])}{' ...' if len(shown) > 5 else ''}"
        )
    return result


def write_remote(project: Project, conn: Connection, found: Remote, title: str, html: str, written: list[str]):
    """Create the project, or bring an existing one's instructions and settings up to date."""
    ls = conn.client
    if found.project is None:
        remote = conn.call(
            "created the project",
            lambda: ls.projects.create(
                title=title,
                label_config=labeling_config(),
                expert_instruction=html,
                description=f"{project.name}: claim spans and risk disclosures",
                **project.annotation.project_fields(),
            ),
        )
        written.append(f"project {remote.id} {title!r}: created on {conn.url}")
        return PushResult(project_id=remote.id, created=True)
    remote = found.project
    result = PushResult(project_id=remote.id, created=False)
    conn.call("updated the instructions", lambda: ls.projects.update(remote.id, expert_instruction=html))
    written.append(f"project {remote.id}: the instructions")
    result.notes += update_settings(project, conn, remote)
    written.extend(result.notes)
    return result


def add_predictions(conn: Connection, found: Remote, predictions: dict, result: PushResult, written: list) -> None:
    """Add each missing prediction of the declared model version to the tasks already there; the
    line in `written` counts them as they are added, so an error half-way names those before it."""
    line = len(written)
    for article_id, (task_id, _sha) in sorted(found.tasks.items()):
        for prediction in predictions.get(article_id, []):
            if prediction["model_version"] not in found.predicted.get(task_id, set()):
                conn.call(
                    f"added a prediction to task {task_id}",
                    lambda t=task_id, p=prediction: conn.client.predictions.create(
                        task=t, result=p["result"], model_version=p["model_version"], score=p["score"]
                    ),
                )
                result.imported_predictions += 1
                count = result.imported_predictions
                written[line:] = [f"project {result.project_id}: {count} predictions on existing tasks"]
