"""The evaluation as text: the card's "Baseline" section (Markdown) and the CLI's summary.

Every figure comes from the evaluation report (evaluate.py); a figure that is None is
written "n/a", never 0 or NaN, and the report's notes say why.
"""

from __future__ import annotations

from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, RISK_DISCLOSURES


def fig(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _order(names: list[str], name: str) -> tuple[int, str]:
    """Schema order (a JSON file read back has its keys sorted)."""
    return (names.index(name) if name in names else len(names), name)


def _rows(evaluation: dict) -> list[tuple[str, str, str, str, str]]:
    """(what, metric, baseline model, majority baseline, units)."""
    rows = []
    detection = evaluation.get("detection")
    if detection:
        rows.append(
            (
                "claim span detection (IoU ≥ 0.5)",
                "F1",
                fig(detection["model"]["f1"]),
                fig(detection["baseline"]["f1"]),
                f"{detection['units']} claims",
            )
        )
    for family in (CLAIM_TYPE, EVIDENCE, HARMS_EXPLAINED, EVIDENCE_EXPLAINED):
        found = evaluation.get(family.name)
        if found:
            rows.append(
                (
                    f"`{family.name}`",
                    "macro F1",
                    fig(found["model"]["macro_f1"]),
                    fig(found["baseline"]["macro_f1"]),
                    f"{found['units']} {found['unit']}",
                )
            )
    items = evaluation.get(RISK_DISCLOSURES.name) or {}
    for item, found in sorted(items.items(), key=lambda kv: _order(RISK_DISCLOSURES.names, kv[0])):
        rows.append(
            (
                f"`{RISK_DISCLOSURES.name}`: `{item}`",
                "F1 (present)",
                fig(found["model"]["f1"]),
                fig(found["baseline"]["f1"]),
                f"{found['units']} articles, {found['present']} present",
            )
        )
    return rows


def baseline_section(evaluation: dict, model_version: str | None = None) -> str:
    """The card's "Baseline" section, from an evaluation report."""
    reference = evaluation["reference"]["description"]
    lines = [
        "## Baseline",
        "",
        f"A small baseline{f' (`{model_version}`)' if model_version else ''} trained by `khc model train`: "
        "BlingFire sentences and clauses as claim candidates, word TF-IDF plus cue counts, logistic regression "
        "(scikit-learn, balanced class weights), no downloaded weights; the detection threshold is tuned on "
        "articles held out inside each training fold, never on the fold being scored. Test-split articles "
        "are never used.",
        "",
        f"**Reference: {reference}.**",
        "",
        f"Cross-validation: {evaluation['scheme']}, {evaluation['folds']} folds over "
        f"{evaluation['articles']} labelled train and validation articles; no article is on both sides. "
        "The majority baseline answers what most training-fold units have.",
        "",
    ]
    rows = _rows(evaluation)
    if rows:
        lines += ["| label | metric | baseline model | majority baseline | units |", "|---|---|---:|---:|---|"]
        lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows]
        lines.append("")
    verdict = detection_verdict(evaluation)
    if verdict:
        lines += [verdict, ""]
    for family in (CLAIM_TYPE, EVIDENCE):
        found = evaluation.get(family.name)
        if found:
            classes = sorted(found["model"]["per_class"].items(), key=lambda kv: _order(family.names, kv[0]))
            per_class = ", ".join(f"`{name}` {fig(v['f1'])} ({v['support']})" for name, v in classes)
            lines += [f"F1 per `{family.name}` class (reference claims): {per_class}.", ""]
    notes = evaluation.get("notes") or []
    if notes:
        lines += ["What the figures cannot say:", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def detection_verdict(evaluation: dict) -> str | None:
    """Detection beside the second baseline, marking every sentence a claim, said plainly."""
    detection = evaluation.get("detection") or {}
    every = detection.get("every_sentence")
    if not every:
        return None
    model, base = detection["model"]["f1"], every["f1"]
    text = (
        f"Marking every sentence a claim gives detection F1 {fig(base)} (precision {fig(every['precision'])}, "
        f"recall {fig(every['recall'])}); the model's is {fig(model)}"
    )
    if model is None or base is None:
        return text + "."
    if model > base:
        return text + ": the model beats marking every sentence."
    return text + ": at this size the model does not beat marking every sentence."


def summary(evaluation: dict) -> list[str]:
    """Lines for the terminal."""
    lines = [
        f"cross-validation: {evaluation['scheme']}, {evaluation['folds']} folds, {evaluation['articles']} articles",
        f"reference: {evaluation['reference']['description']}",
    ]
    lines += [f"  {a} {b}: model {c}, majority {d} ({e})" for a, b, c, d, e in _rows(evaluation)]
    verdict = detection_verdict(evaluation)
    lines += [f"  {verdict}"] if verdict else []
    lines += [f"note: {n}" for n in evaluation.get("notes") or []]
    return lines
