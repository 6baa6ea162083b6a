"""Label schema v1, declared once.

Everything else is derived from the declarations in this module: the Label Studio
labeling config (`labelconfig.py`), the Hugging Face `Features` (`features.py`), the
label tables in `annotations/guidelines.md` and the card's label section. Tests fail
when any of them drifts from what is declared here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

SCHEMA_VERSION = "1"

Unit = Literal["span", "article"]
Kind = Literal["span_label", "region_choice", "multi_choice", "single_choice"]


@dataclass(frozen=True)
class Value:
    name: str
    meaning: str
    rank: int | None = None  # ordinal rank, for ordered families (evidence)
    colour: str | None = None  # the span highlight in Label Studio (claim types only)


@dataclass(frozen=True)
class Family:
    """One label family: a Label Studio control and one dataset column."""

    name: str  # column name in the dataset, `from_name` in Label Studio
    unit: Unit
    kind: Kind
    question: str  # shown to the annotator above the control
    values: tuple[Value, ...]
    ordinal: bool = False

    @cached_property
    def names(self) -> list[str]:
        return [v.name for v in self.values]

    @cached_property
    def name_set(self) -> frozenset[str]:
        return frozenset(self.names)

    @cached_property
    def codes(self) -> dict[str, int]:
        """Each value's ClassLabel code: its position in the declaration (never order of appearance)."""
        return {name: code for code, name in enumerate(self.names)}

    def meaning(self, name: str) -> str:
        return next(v.meaning for v in self.values if v.name == name)


# Okabe & Ito's palette (2008), designed to stay distinguishable with every common colour-vision
# deficiency; eight colours for the eight claim types, none two of them alike.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}

CLAIM_TYPE = Family(
    name="claim_type",
    unit="span",
    kind="span_label",
    question="Mark each claim span and pick what kind of claim it is.",
    values=(
        Value("efficacy", "a benefit or outcome of the treatment", colour=OKABE_ITO["bluish_green"]),
        Value("mechanism", "how the treatment acts in the body or brain", colour=OKABE_ITO["blue"]),
        Value("safety", "side effects, tolerability, addictiveness, safety assurances", colour=OKABE_ITO["vermillion"]),
        Value(
            "comparative",
            "the treatment against alternatives (speed, strength, side effects)",
            colour=OKABE_ITO["orange"],
        ),
        Value("procedure", "how it is given: dose, route, duration, setting, schedule", colour=OKABE_ITO["sky_blue"]),
        Value("regulatory", "approval, off-label status, legality, availability", colour=OKABE_ITO["reddish_purple"]),
        Value(
            "background", "facts about the condition itself: prevalence, symptoms, causes", colour=OKABE_ITO["black"]
        ),
        Value("recommendation", "advice or a call to action addressed to the reader", colour=OKABE_ITO["yellow"]),
    ),
)

EVIDENCE = Family(
    name="evidence",
    unit="span",
    kind="region_choice",
    question="Evidence the article itself gives for the selected claim (not whether it is true).",
    ordinal=True,
    values=(
        Value("none", "bare assertion", 0),
        Value("anecdote", "testimonial, personal story, 'patients report'", 1),
        Value("vague_appeal", "'research suggests', 'studies have shown', unnamed experts", 2),
        Value(
            "specific_unverifiable",
            "names a journal, a sample size or a figure, but not enough to find the source",
            3,
        ),
        Value(
            "verifiable_citation",
            "enough to locate the source: authors and year, DOI, link, or trial registry ID",
            4,
        ),
        Value("not_applicable", "the claim needs no evidence (e.g. advice to consult a doctor)"),
    ),
)

RISK_DISCLOSURES = Family(
    name="risk_disclosures",
    unit="article",
    kind="multi_choice",
    question="Which risk disclosures does the article make? Tick every one present.",
    values=(
        Value("side_effects", "names at least one adverse effect"),
        Value("contraindications", "says who should not receive the treatment"),
        Value("misuse_potential", "mentions abuse, addiction or dependence potential"),
        Value("regulatory_status", "says the use is unapproved, off-label or experimental"),
        Value(
            "medical_supervision",
            "says it must be given or monitored by qualified professionals",
        ),
        Value(
            "evidence_limitations",
            "says the evidence is preliminary, limited or needs more research",
        ),
        Value("long_term_unknowns", "says long-term effects or safety are unknown"),
    ),
)

_CRITERION_VALUES = (
    Value("satisfactory", "the article meets the criterion"),
    Value("not_satisfactory", "the article does not meet the criterion"),
    Value("not_applicable", "the criterion does not apply to this article"),
)

HARMS_EXPLAINED = Family(
    name="harms_explained",
    unit="article",
    kind="single_choice",
    question="Does the article adequately explain the harms of the treatment? (HealthNewsReview criterion 2)",
    values=_CRITERION_VALUES,
)

EVIDENCE_EXPLAINED = Family(
    name="evidence_explained",
    unit="article",
    kind="single_choice",
    question="Does the article grasp the quality of the evidence? (HealthNewsReview criterion 3)",
    values=_CRITERION_VALUES,
)

FAMILIES: tuple[Family, ...] = (
    CLAIM_TYPE,
    EVIDENCE,
    RISK_DISCLOSURES,
    HARMS_EXPLAINED,
    EVIDENCE_EXPLAINED,
)
FAMILY_BY_NAME = {f.name: f for f in FAMILIES}
SPAN_FAMILIES = tuple(f for f in FAMILIES if f.unit == "span")
ARTICLE_FAMILIES = tuple(f for f in FAMILIES if f.unit == "article")

ORIGINS = ("human", "model")
HUMAN, MODEL = (ORIGINS.index(o) for o in ORIGINS)  # the `origin` ClassLabel codes
# How an aggregated label was decided; see builders/build/aggregate.py for the rules.
AGGREGATION_RULES = ("ground_truth", "human_majority", "model")
# Label Studio's per-result `origin` (written by its front end only: a result made through the
# API has none and reads as `unknown`): was a label drawn by a person, accepted unchanged from a
# prediction, or a prediction the person changed?
RESULT_ORIGINS = ("manual", "prediction", "prediction-changed", "unknown")
RESULT_ORIGIN_CODES = {name: code for code, name in enumerate(RESULT_ORIGINS)}
ACCEPTED_UNCHANGED = RESULT_ORIGIN_CODES["prediction"]
NO_LABEL = -1  # the code of "no value" in the build's integer label columns (null in the dataset)

# The Label Studio object every control labels: the article text, `$text` in task data.
TEXT_OBJECT = "text"


def evidence_rank(name: str) -> int | None:
    for v in EVIDENCE.values:
        if v.name == name:
            return v.rank
    raise KeyError(name)


# Rank of each evidence code (None: not ordinal, i.e. not_applicable), for ordinal agreement.
EVIDENCE_RANKS: tuple[int | None, ...] = tuple(v.rank for v in EVIDENCE.values)
