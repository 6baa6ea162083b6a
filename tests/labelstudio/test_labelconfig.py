"""What the labeling config shows annotators: distinct safe colours, required answers, evidence beside the text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from builders.labelstudio.labelconfig import labeling_config
from builders.schema import CLAIM_TYPE, EVIDENCE, EVIDENCE_EXPLAINED, HARMS_EXPLAINED, OKABE_ITO, RISK_DISCLOSURES


def test_every_claim_type_has_its_own_colour_from_the_palette():
    colours = [v.colour for v in CLAIM_TYPE.values]
    assert len(set(colours)) == len(colours) == len(CLAIM_TYPE.names)
    assert set(colours) <= set(OKABE_ITO.values())
    labels = {e.get("value"): e.get("background") for e in ET.fromstring(labeling_config()).iter("Label")}
    assert labels == {v.name: v.colour for v in CLAIM_TYPE.values}


def test_evidence_and_both_criteria_are_required_the_checklist_is_not():
    choices = {e.get("name"): e.get("required") for e in ET.fromstring(labeling_config()).iter("Choices")}
    assert choices == {
        EVIDENCE.name: "true",
        HARMS_EXPLAINED.name: "true",
        EVIDENCE_EXPLAINED.name: "true",
        RISK_DISCLOSURES.name: None,  # ticking nothing says the article discloses nothing
    }


def test_the_questions_sit_beside_the_article():
    root = ET.fromstring(labeling_config())
    (row,) = [v for v in root.iter("View") if "display: flex" in (v.get("style") or "")]
    article, questions = list(row)
    assert [e.tag for e in article] == ["Text"]
    assert {e.get("name") for e in questions.iter() if e.get("name")} == {
        CLAIM_TYPE.name,
        EVIDENCE.name,
        RISK_DISCLOSURES.name,
        HARMS_EXPLAINED.name,
        EVIDENCE_EXPLAINED.name,
    }
