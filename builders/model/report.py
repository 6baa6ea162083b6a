"""The evaluation as text: the card's "Baseline" section (Markdown) and the CLI's summary.

Every figure comes from the evaluation report (evaluate.py); a figure that is None is
written "n/a", never 0 or NaN, and the report's notes say why.
"""

from __future__ import annotations

from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, RISK_DISCLOSURES


def fig(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


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
    for item, found in (evaluation.get(RISK_DISCLOSURES.name) or {}).items():
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
        "pysbd sentences and clauses as claim candidates, word TF-IDF plus cue counts, logistic regression "
        "(scikit-learn), no downloaded weights. Test-split articles are never used.",
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
    for family in (CLAIM_TYPE, EVIDENCE):
        found = evaluation.get(family.name)
        if found:
            per_class = ", ".join(
                f"`{name}` {fig(v['f1'])} ({v['support']})" for name, v in found["model"]["per_class"].items()
            )
            lines += [f"F1 per `{family.name}` class (reference claims): {per_class}.", ""]
    notes = evaluation.get("notes") or []
    if notes:
        lines += ["What the figures cannot say:", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def summary(evaluation: dict) -> list[str]:
    """Lines for the terminal."""
    lines = [
        f"cross-validation: {evaluation['scheme']}, {evaluation['folds']} folds, {evaluation['articles']} articles",
        f"reference: {evaluation['reference']['description']}",
    ]
    lines += [f"  {a} {b}: model {c}, majority {d} ({e})" for a, b, c, d, e in _rows(evaluation)]
    lines += [f"note: {n}" for n in evaluation.get("notes") or []]
    return lines
