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

from builders.build.read import discover, iter_tasks
from builders.corpus.records import load_corpus, sha256_text
from builders.errors import KhcError, Problem
from builders.labelstudio.connection import Connection
from builders.labelstudio.instructions import instructions_html
from builders.labelstudio.labelconfig import labeling_config, labeling_config_sha256
from builders.labelstudio.results import task_data
from builders.project import Project


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


def push(project: Project, conn: Connection, *, project_id: int | None = None, title: str | None = None) -> PushResult:
    ls = conn.client
    corpus = load_corpus(project)
    config = labeling_config()
    guideline_version = project.guideline_version()
    created = False
    if project_id is not None:
        remote = conn.call(
            f"looked up project {project_id}",
            lambda: ls.projects.get(project_id),
            not_found=f"there is no project {project_id} on Label Studio at {conn.url}",
        )
    else:
        title = title or project.pretty_name
        matches = [p for p in conn.call("listed projects", lambda: list(ls.projects.list())) if p.title == title]
        if matches:
            remote = matches[0]
        else:
            remote = conn.call(
                "created the project",
                lambda: ls.projects.create(
                    title=title,
                    label_config=config,
                    expert_instruction=instructions(project),
                    description=f"{project.name}: claim spans and risk disclosures",
                    **project.annotation.project_fields(),
                ),
            )
            created = True
    if _normalised(remote.label_config or "") != _normalised(config):
        diff = "\n".join(
            difflib.unified_diff(
                _normalised(remote.label_config or ""),
                _normalised(config),
                "project config",
                "schema v1 config",
                lineterm="",
                n=1,
            )
        )
        raise KhcError(
            Problem(
                f"project {remote.id} on {conn.url} has a labeling config that differs from schema v1:\n{diff}",
                fix="use a new project (--title), or set the project's config to `khc ls config` in Label Studio",
            )
        )
    result = PushResult(project_id=remote.id, created=created)
    if not created:
        conn.call(
            "updated the instructions", lambda: ls.projects.update(remote.id, expert_instruction=instructions(project))
        )
        result.notes += update_settings(project, conn, remote)

    existing: dict[str, tuple[int, str | None]] = {}
    tasks = conn.call("listed the project's tasks", lambda: list(ls.tasks.list(project=remote.id, fields="all")))
    for task in tasks:
        data = task.data or {}
        if isinstance(data.get("article_id"), str):
            text = data.get("text")
            existing[data["article_id"]] = (task.id, sha256_text(text) if isinstance(text, str) else None)
    hashes = dict(zip(corpus["article_id"], corpus["text_sha256"], strict=True))
    changed = sorted(a for a, (_tid, sha) in existing.items() if a in hashes and sha != hashes[a])
    if changed:
        raise KhcError(
            Problem(
                f"articles {changed} in project {remote.id} were pushed with another text than the corpus holds now",
                fix="article texts are immutable: restore them from git, or ingest the new text as a new article",
            )
        )

    policy = project.annotation.predictions
    every = pre_annotations(project)
    predictions = {a: p for a, p in every.items() if not policy.withheld(a)}
    have = {}
    for p in conn.call("listed predictions", lambda: ls.predictions.list(project=remote.id)):
        have.setdefault(p.task, set()).add(p.model_version)
    for article_id, (task_id, _sha) in sorted(existing.items()):
        for prediction in predictions.get(article_id, []):
            if prediction["model_version"] not in have.get(task_id, set()):
                conn.call(
                    f"added a prediction to task {task_id}",
                    lambda t=task_id, p=prediction: ls.predictions.create(
                        task=t, result=p["result"], model_version=p["model_version"], score=p["score"]
                    ),
                )
                result.imported_predictions += 1
    result.already_there = len(existing)

    new = []
    for row in corpus.itertuples(index=False):
        if row.article_id in existing:
            continue
        new.append(
            {
                "data": task_data(row, guideline_version, labeling_config_sha256()),
                "predictions": predictions.get(row.article_id, []),
            }
        )
    if new:
        conn.call(f"imported {len(new)} tasks", lambda: ls.projects.import_tasks(remote.id, request=new))
        result.imported_tasks = len(new)
        result.imported_predictions += sum(len(t["predictions"]) for t in new)
        result.without_predictions = sum(t["data"]["article_id"] in every.keys() - predictions.keys() for t in new)
    shown = sorted(a for a, (task_id, _sha) in existing.items() if policy.withheld(a) and task_id in have)
    if shown:
        result.notes.append(
            f"project {remote.id}: {len(shown)} tasks the prediction policy keeps free of predictions have some "
            f"(pushed before the policy): {', '.join(shown[:5])}{' ...' if len(shown) > 5 else ''}"
        )
    return result
