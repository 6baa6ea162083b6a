"""Agreement with and without a prediction shown: anchoring on the model, measured.

`khc ls push` withholds the predictions of a seeded share of articles
(`[labelstudio.predictions] without_share`). Which annotations were made with a prediction in
view is decided from the data, per annotation (PREDICTION_SHOWN_RULE), not from the policy: a
person can open a task through another path than the label stream, and the policy can change.
Every figure of the report (people's alpha with intervals, pairs, model versus each person) is
given again for each group; a model's labels belong to both (it is compared, never a rater).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from builders.build.agreement import Answers, answers, kappas, model_versus_human
from builders.build.spans import SpanGroups
from builders.schema import ACCEPTED_UNCHANGED, ARTICLE_FAMILIES, HUMAN, RESULT_ORIGIN_CODES

SHOWN_ORIGINS = [RESULT_ORIGIN_CODES["prediction"], RESULT_ORIGIN_CODES["prediction-changed"]]
SHOWN, NOT_SHOWN = "prediction_shown", "no_prediction_shown"
PREDICTION_SHOWN_RULE = (
    "an annotation was made with a prediction shown when it has a parent_prediction or any of its results "
    "(a span's label, an article answer) has Label Studio's result origin prediction or prediction-changed; "
    "every other human annotation shows no sign of one (made from a blank task, or through the API, which "
    "writes no origin). Articles whose people saw different things add their human-human units to neither group."
)


def prediction_shown(units: pd.DataFrame, groups: SpanGroups) -> np.ndarray:
    """A boolean per units row: a human annotation made with a prediction shown (the rule above)."""
    shown = np.zeros(len(units), bool)
    if "parent_prediction" in units:  # a units table made by hand (tests) may lack provenance
        shown |= units["parent_prediction"].notna().to_numpy()
    for family in ARTICLE_FAMILIES:
        column = f"{family.name}_origin"
        if column in units:
            shown |= units[column].isin(SHOWN_ORIGINS).to_numpy()
    shown[groups.unit[np.isin(groups.result_origin, SHOWN_ORIGINS)]] = True
    return shown & (units["origin"] == HUMAN).to_numpy()


def by_prediction_shown(
    units: pd.DataFrame, spans: pd.DataFrame, groups: SpanGroups, overall: Answers | None = None
) -> dict[str, Answers]:
    """The people's answers (with kappas and model versus each person) of each group. A group that
    holds every human annotation is `overall` itself when given (the same figures, not computed twice)."""
    human = (units["origin"] == HUMAN).to_numpy()
    shown = prediction_shown(units, groups)
    out = {}
    for name, chosen in ((SHOWN, shown), (NOT_SHOWN, human & ~shown)):
        rows = ~human | chosen  # the group's people, and every model
        if overall is not None and chosen.sum() == human.sum():
            found = Answers(overall.annotators, overall.units, overall.pair_counts, overall.kappas, overall.versus)
        else:
            found = answers(units, spans, None, groups, rows)
            found.versus = model_versus_human(units, spans, groups, rows)
        found.kappas = found.kappas if found.kappas is not None else kappas(found)
        found.counts = {
            "human_annotations": int(chosen.sum()),
            "articles": int(units.loc[chosen, "article_id"].nunique()),
        }
        out[name] = found
    return out


def without_accepted_predictions(units: pd.DataFrame, spans: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The people's labels without the results they accepted unchanged from a prediction (None when
    there are none): what "independent" human agreement is computed on."""
    accepted_spans = spans["result_origin"] == ACCEPTED_UNCHANGED
    answers_origin = {f.name: units[f"{f.name}_origin"] == ACCEPTED_UNCHANGED for f in ARTICLE_FAMILIES}
    if not accepted_spans.any() and not any(o.any() for o in answers_origin.values()):
        return None
    units = units.copy()
    for name, accepted in answers_origin.items():
        units.loc[accepted.fillna(False).to_numpy(bool), name] = None
    return units, spans[~accepted_spans].reset_index(drop=True)
