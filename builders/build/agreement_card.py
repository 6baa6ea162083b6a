"""The card's agreement section, from the agreement report (agreement.json): every figure is read
from the report, none typed. Krippendorff's alpha per label among people with its bootstrap
interval, also without the results accepted unchanged from a prediction; span F1 among people
pooled over their pairs; and the same again for annotations made with and without a prediction
shown, with the model against the people (a model is never a rater among people)."""

from __future__ import annotations

from builders.build.span_agreement import pooled
from builders.markdown import md_table


def agreement_markdown(report: dict) -> str:
    independent = report.get("independent_krippendorff_alpha", {})
    rows = [
        [
            f"`{label}`",
            _alpha(fig),
            _interval(fig),
            fig["units"],
            _alpha(independent[label]) if label in independent else "—",
        ]
        for label, fig in report["krippendorff_alpha"].items()
    ]
    who = ", ".join(f"`{a}`" for a in report["annotators"]) or "none (no two people share a unit yet)"
    versus = len(report.get("model_vs_human", []))
    header = ["label", "Krippendorff's alpha", "95 % interval", "units", "without predictions accepted unchanged"]
    parts = [
        f"People compared: {who}. Models are never counted as raters; `agreement.json` compares each "
        f"model with each person apart ({versus} model–person pairs).",
        md_table(header, rows),
        f"Span F1 among people, pooled over their {len(report.get('pairs', []))} pairs on the articles both "
        f"annotated: {_f1(pooled([p['span_f1'] for p in report.get('pairs', [])]))}.",
    ]
    if "bootstrap" in report:
        b = report["bootstrap"]
        parts.append(
            f"Intervals: percentile bootstrap, {b['resamples']} resamples of the shared units with replacement "
            f"(seed {b['seed']}); none where fewer than {b['min_units']} units are shared."
        )
    if "by_prediction_shown" in report:
        parts.append(_by_prediction(report["by_prediction_shown"], report["prediction_shown_rule"]))
    return "\n\n".join(parts)


def _by_prediction(groups: dict[str, dict], rule: str) -> str:
    names = list(groups)
    rows = [
        ["human annotations (articles)", *(f"{g['human_annotations']} ({g['articles']})" for g in groups.values())],
        ["span F1 among people", *(_f1(pooled([p["span_f1"] for p in g["pairs"]])) for g in groups.values())],
    ]
    for label in next(iter(groups.values()))["krippendorff_alpha"]:
        rows.append(
            [f"`{label}` alpha among people", *(_with_units(g["krippendorff_alpha"][label]) for g in groups.values())]
        )
    rows.append(
        [
            "span F1, model vs people",
            *(_f1(pooled([v["span_f1"] for v in g["model_vs_human"]])) for g in groups.values()),
        ]
    )
    table = md_table(["", *(n.replace("_", " ") for n in names)], rows)
    return f"**With and without a prediction shown.** {rule[0].upper()}{rule[1:]}\n\n{table}"


def _f1(fig: dict) -> str:
    exact, overlap = fig["exact"], fig["overlap"]
    if exact["value"] is None:
        return "not available (no two annotators share an article)"
    return f"{exact['value']:.3f} exact, {overlap['value']:.3f} by overlap (IoU ≥ 0.5), {exact['units']} spans"


def _alpha(fig: dict) -> str:
    return f"{fig['value']:.3f}" if fig["value"] is not None else f"not available: {fig['not_available']}"


def _with_units(fig: dict) -> str:
    if fig["value"] is None:
        return f"not available ({fig['units']} units)"
    found = fig.get("interval")
    return (
        f"{fig['value']:.3f} [{found['low']:.3f}, {found['high']:.3f}] ({fig['units']} units)"
        if found
        else (f"{fig['value']:.3f} ({fig['units']} units)")
    )


def _interval(fig: dict) -> str:
    if fig["value"] is None:
        return "—"
    found = fig.get("interval")
    return f"{found['low']:.3f} – {found['high']:.3f}" if found else f"none: {fig.get('interval_not_available')}"
