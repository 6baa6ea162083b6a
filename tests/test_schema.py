"""The schema is declared once; the Label Studio config, Features and guideline tables follow it."""

from __future__ import annotations

from datasets import ClassLabel
from label_studio_sdk.label_interface import LabelInterface

from builders import derived
from builders.features import FEATURES
from builders.labelstudio.labelconfig import labeling_config
from builders.project import load_project
from builders.schema import ARTICLE_FAMILIES, CLAIM_TYPE, EVIDENCE, FAMILIES, RISK_DISCLOSURES
from tests.conftest import REPO, khc


def test_generated_config_parses_with_the_sdk_and_matches_the_schema():
    interface = LabelInterface(labeling_config())
    controls = {c.name: c for c in interface.controls}
    assert set(controls) == {f.name for f in FAMILIES}
    for family in FAMILIES:
        assert list(controls[family.name].labels) == family.names, family.name
    assert type(controls[CLAIM_TYPE.name]).__name__ == "LabelsTag"
    assert controls[EVIDENCE.name].attr.get("perRegion") == "true"
    assert controls[RISK_DISCLOSURES.name].attr.get("choice") == "multiple"
    for family in ARTICLE_FAMILIES:
        assert controls[family.name].to_name == ["text"]
        assert "perRegion" not in controls[family.name].attr


def test_every_value_has_a_hint_for_the_annotator():
    interface = LabelInterface(labeling_config())
    for family in FAMILIES:
        xml = labeling_config()
        for value in family.values:
            assert f'value="{value.name}" hint="' in xml
    assert interface.get_control(EVIDENCE.name) is not None


def test_features_use_the_schema_names_in_every_config():
    for config, features in FEATURES.items():
        for family in FAMILIES:
            if family.name not in features:
                continue
            feature = features[family.name]
            label = getattr(feature, "feature", feature)
            assert isinstance(label, ClassLabel), (config, family.name)
            assert label.names == family.names, (config, family.name)
    spans = FEATURES["annotations"]["spans"].feature
    assert spans[CLAIM_TYPE.name].names == CLAIM_TYPE.names
    assert spans[EVIDENCE.name].names == EVIDENCE.names


def test_committed_derived_files_match_the_schema():
    assert derived.check(load_project(REPO)) == []
    assert (REPO / "annotations" / "labeling_config.xml").read_text(encoding="utf-8") == labeling_config()


def test_a_drifted_guideline_table_is_caught_and_rewritten(project_dir, capsys):
    guidelines = project_dir / "annotations" / "guidelines.md"
    text = guidelines.read_text(encoding="utf-8")
    guidelines.write_text(text.replace("| `anecdote` | 1 |", "| `anecdotal` | 1 |"), encoding="utf-8")
    problems = derived.check(load_project(project_dir))
    assert len(problems) == 1 and "label table differs" in problems[0].what
    code, _, err = khc("build", root=project_dir, capsys=capsys)
    assert code == 1 and "khc schema --write" in err
    assert khc("schema", "--write", root=project_dir, capsys=capsys)[0] == 0
    assert guidelines.read_text(encoding="utf-8") == text


def test_a_drifted_labeling_config_file_is_caught(project_dir):
    config = project_dir / "annotations" / "labeling_config.xml"
    config.write_text(labeling_config().replace('"efficacy"', '"benefit"'), encoding="utf-8")
    problems = derived.check(load_project(project_dir))
    assert [p.file for p in problems] == ["annotations/labeling_config.xml"]


def test_ls_config_prints_the_generated_config(capsys):
    code, out, _ = khc("ls", "config", capsys=capsys)
    assert code == 0 and out == labeling_config()
