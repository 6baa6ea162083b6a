"""Label changes between two predictions files: `python -m builders.labelstudio.pilotdiff OLD.json NEW.json`.

Both files are `annotations/predictions/<model_version>.json` as `khc preannotate` writes them
(model labels, `origin = model`). Articles are compared by `article_id`; claim spans are paired
by the build's own rule (`builders.build.spans.match_spans`: character IoU >= 0.5), so a span
whose boundaries moved a little is a changed span, not one removed and one added. The report,
in Markdown, counts per family the spans added, removed and re-bounded, the claim_type and
evidence changes of paired spans and the article-level answers that changed, then lists them
article by article. The CHANGELOG's label changes between pilot versions are this output.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from builders.build.spans import MATCH_IOU, match_spans
from builders.errors import KhcError, Problem, fail
from builders.schema import ARTICLE_FAMILIES, CLAIM_TYPE, EVIDENCE

QUOTE_CHARS = 72  # quotes are cut to this length in the report: enough to find the span


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str
    claim_type: str | None
    evidence: str | None


@dataclass
class Article:
    text_sha256: str | None
    spans: list[Span] = field(default_factory=list)
    answers: dict[str, tuple[str, ...] | None] = field(default_factory=dict)


@dataclass
class ArticleDiff:
    article_id: str
    added: list[Span] = field(default_factory=list)
    removed: list[Span] = field(default_factory=list)
    rebounded: list[tuple[Span, Span]] = field(default_factory=list)  # paired, offsets differ
    claim_type: list[tuple[Span, Span]] = field(default_factory=list)
    evidence: list[tuple[Span, Span]] = field(default_factory=list)
    answers: dict[str, tuple[tuple[str, ...] | None, tuple[str, ...] | None]] = field(default_factory=dict)


def _article(task: object, shown: str, number: int) -> tuple[str, str, Article]:
    """(article_id, model_version, labels) of one task; every shape problem names the task."""
    where = f"task {number}"
    data = task.get("data") if isinstance(task, dict) else None
    article_id = data.get("article_id") if isinstance(data, dict) else None
    if not isinstance(article_id, str):
        fail("the task has no data.article_id", file=shown, record=where, fix="regenerate it with `khc preannotate`")
    predictions = task.get("predictions") or []
    if len(predictions) != 1 or not isinstance(predictions[0], dict):
        fail(
            f"{len(predictions)} predictions; a predictions file holds one per task",
            file=shown,
            record=f"{where} (article {article_id})",
            fix="compare files of one model version each, as `khc preannotate` writes them",
        )
    article = Article(data.get("text_sha256"))
    regions: dict[object, dict] = {}
    for item in predictions[0].get("result") or []:
        name, value = item.get("from_name"), item.get("value") or {}
        if name == CLAIM_TYPE.name:
            regions.setdefault(item.get("id"), {}).update(
                start=value.get("start"), end=value.get("end"), text=value.get("text"), claim_type=value["labels"][0]
            )
        elif name == EVIDENCE.name:
            regions.setdefault(item.get("id"), {})["evidence"] = value["choices"][0]
        elif name in {f.name for f in ARTICLE_FAMILIES}:
            article.answers[name] = tuple(sorted(value.get("choices") or []))
    for region, found in regions.items():
        if not isinstance(found.get("start"), int) or not isinstance(found.get("end"), int):
            fail(
                f"region {region!r} has evidence but no claim span",
                file=shown,
                record=f"{where} (article {article_id})",
            )
        article.spans.append(
            Span(found["start"], found["end"], found["text"], found["claim_type"], found.get("evidence"))
        )
    article.spans.sort(key=lambda s: (s.start, s.end))
    return article_id, predictions[0].get("model_version"), article


def read_predictions(path: Path) -> tuple[str, dict[str, Article]]:
    """(model_version, labels by article) of a predictions file."""
    shown = str(path)
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(
            f"cannot read the predictions file: {exc}",
            file=shown,
            fix="check the path (annotations/predictions/*.json)",
        )
    if not isinstance(tasks, list):
        fail("not a list of tasks", file=shown, fix="pass a file written by `khc preannotate`")
    articles: dict[str, Article] = {}
    versions: set[str] = set()
    for number, task in enumerate(tasks):
        try:
            article_id, version, article = _article(task, shown, number)
        except (AttributeError, IndexError, KeyError, TypeError) as exc:
            fail(f"a result is not in Label Studio's shape ({exc!r})", file=shown, record=f"task {number}")
        if article_id in articles:
            fail(f"article {article_id} appears twice", file=shown, record=f"task {number}")
        articles[article_id] = article
        versions.add(str(version))
    if len(versions) > 1:
        fail(f"several model versions {sorted(versions)}", file=shown, fix="compare one model version per file")
    return (versions.pop() if versions else "?"), articles


def compare_article(article_id: str, old: Article, new: Article) -> ArticleDiff:
    diff = ArticleDiff(article_id)
    spans = [(s.start, s.end, "old") for s in old.spans] + [(s.start, s.end, "new") for s in new.spans]
    every = old.spans + new.spans
    for cluster in match_spans([s[0] for s in spans], [s[1] for s in spans], [s[2] for s in spans]):
        members = {spans[i][2]: every[i] for i in cluster}
        before, after = members.get("old"), members.get("new")
        if before is None:
            diff.added.append(after)
        elif after is None:
            diff.removed.append(before)
        else:
            if (before.start, before.end) != (after.start, after.end):
                diff.rebounded.append((before, after))
            if before.claim_type != after.claim_type:
                diff.claim_type.append((before, after))
            if before.evidence != after.evidence:
                diff.evidence.append((before, after))
    for family in ARTICLE_FAMILIES:
        was, now = old.answers.get(family.name), new.answers.get(family.name)
        if was != now:
            diff.answers[family.name] = (was, now)
    return diff


def compare(old: dict[str, Article], new: dict[str, Article], *, shown: tuple[str, str]) -> list[ArticleDiff]:
    """One diff per article in either file; offsets are only comparable on the same text."""
    problems = [
        Problem(
            "the two files label different texts of this article, so their offsets cannot be compared",
            f"{shown[0]} and {shown[1]}",
            article_id,
            "compare predictions made against the same corpus text (text_sha256)",
        )
        for article_id in sorted(old.keys() & new.keys())
        if old[article_id].text_sha256 != new[article_id].text_sha256
    ]
    if problems:
        raise KhcError(problems)
    empty = Article(None)
    return [compare_article(a, old.get(a, empty), new.get(a, empty)) for a in sorted(old.keys() | new.keys())]


def _cut(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "…"


def _quote(span: Span) -> str:
    return f"“{_cut(span.text)}”"


def _labels(span: Span) -> str:
    return f"`{span.claim_type}`/`{span.evidence}`"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _answer(value: tuple[str, ...] | None) -> str:
    return "unanswered" if value is None else ", ".join(f"`{v}`" for v in value) or "none ticked"


def _moves(pairs: list[tuple[Span, Span]], attr: str) -> str:
    counted = Counter((getattr(a, attr), getattr(b, attr)) for a, b in pairs)
    return ", ".join(f"{a} → {b} {n}" for (a, b), n in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))


def _boundaries(old: Span, new: Span) -> str:
    """What the new span gained or lost at each end (paired spans overlap, on the same text)."""
    parts = []
    if new.start < old.start:
        parts.append(f"starts earlier, with “{_cut(new.text[: old.start - new.start])}”")
    elif new.start > old.start:
        parts.append(f"starts later, without “{_cut(old.text[: new.start - old.start])}”")
    if new.end > old.end:
        parts.append(f"ends later, with “{_cut(new.text[len(new.text) - (new.end - old.end) :])}”")
    elif new.end < old.end:
        parts.append(f"ends earlier, without “{_cut(old.text[len(old.text) - (old.end - new.end) :])}”")
    return "boundaries " + " and ".join(parts)


def _changed_spans(diff: ArticleDiff) -> list[str]:
    """One entry per paired span that changed, in text order, with all its changes."""
    changes: dict[tuple[int, int], tuple[Span, list[str]]] = {}
    for old, new in diff.claim_type:
        changes.setdefault((new.start, new.end), (new, []))[1].append(
            f"`claim_type` {old.claim_type} → {new.claim_type}"
        )
    for old, new in diff.evidence:
        changes.setdefault((new.start, new.end), (new, []))[1].append(f"`evidence` {old.evidence} → {new.evidence}")
    for old, new in diff.rebounded:
        changes.setdefault((new.start, new.end), (new, []))[1].append(_boundaries(old, new))
    return [f"changed {_quote(span)}: {'; '.join(what)}" for _, (span, what) in sorted(changes.items())]


def _answer_change(family: str, was: tuple[str, ...] | None, now: tuple[str, ...] | None) -> str:
    if was is not None and now is not None and family == "risk_disclosures":
        gained, lost = sorted(set(now) - set(was)), sorted(set(was) - set(now))
        parts = [f"ticked {', '.join(f'`{v}`' for v in gained)}"] if gained else []
        parts += [f"unticked {', '.join(f'`{v}`' for v in lost)}"] if lost else []
        return "; ".join(parts)
    return f"{_answer(was)} → {_answer(now)}"


def render(diffs: list[ArticleDiff], old: tuple[str, dict[str, Article]], new: tuple[str, dict[str, Article]]) -> str:
    """The report in Markdown: a summary per family, then every change by article."""
    (old_version, old_articles), (new_version, new_articles) = old, new
    total = {k: sum(len(getattr(d, k)) for d in diffs) for k in ("added", "removed", "rebounded")}
    n_old, n_new = (sum(len(a.spans) for a in arts.values()) for arts in (old_articles, new_articles))
    lines = [
        f"Label changes from `{old_version}` to `{new_version}`: {len(old_articles)} → {len(new_articles)} articles, "
        f"{n_old} → {n_new} claim spans (spans paired by character IoU ≥ {MATCH_IOU}, the build's matching rule).",
        "",
        "| family | changes |",
        "|---|---|",
        f"| claim spans | {total['added']} added, {total['removed']} removed, "
        f"{total['rebounded']} paired with moved boundaries |",
    ]
    for name, attr in ((CLAIM_TYPE.name, "claim_type"), (EVIDENCE.name, "evidence")):
        pairs = [p for d in diffs for p in getattr(d, attr)]
        lines.append(
            f"| `{name}` | {len(pairs)} paired spans changed" + (f": {_moves(pairs, attr)}" if pairs else "") + " |"
        )
    for family in ARTICLE_FAMILIES:
        changed = [d.article_id for d in diffs if family.name in d.answers]
        listed = f": {', '.join(changed)}" if changed else ""
        lines.append(f"| `{family.name}` | {_plural(len(changed), 'article')} changed{listed} |")
    for d in diffs:
        entries = [f"added {_labels(s)} {_quote(s)}" for s in d.added]
        entries += [f"removed {_labels(s)} {_quote(s)}" for s in d.removed]
        entries += _changed_spans(d)
        entries += [f"`{name}`: {_answer_change(name, *change)}" for name, change in d.answers.items()]
        if entries:
            lines += ["", f"{d.article_id}:", *(f"- {e}" for e in entries)]
    return "\n".join(lines) + "\n"


def diff_files(old_path: Path, new_path: Path) -> str:
    old, new = read_predictions(old_path), read_predictions(new_path)
    return render(compare(old[1], new[1], shown=(str(old_path), str(new_path))), old, new)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m builders.labelstudio.pilotdiff",
        description="Label changes between two predictions files (annotations/predictions/*.json), in Markdown.",
    )
    parser.add_argument("old", type=Path, help="the earlier predictions file")
    parser.add_argument("new", type=Path, help="the later predictions file")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(diff_files(args.old, args.new))
    except KhcError as exc:
        print(f"pilotdiff: error:\n{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
