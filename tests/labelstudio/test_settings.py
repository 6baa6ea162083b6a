"""Project settings and the prediction policy in khc.toml ([labelstudio.project], [labelstudio.predictions])."""

from __future__ import annotations

import pytest

from builders.errors import KhcError
from builders.project import AnnotationProjectSettings, PredictionPolicy, load_project
from tests.conftest import REPO, copy_project


def with_settings(tmp_path, extra: str):
    root = copy_project(tmp_path / "project", with_fixture_labels=False)
    marker = root / "khc.toml"
    text = marker.read_text(encoding="utf-8")
    if "\n[labelstudio" in text:  # the committed Label Studio sections give way to the test's
        text = text[: text.index("\n[labelstudio")]
    marker.write_text(text + "\n" + extra, encoding="utf-8")
    return root


def test_the_committed_settings_are_the_documented_defaults():
    settings = load_project(REPO).annotation
    assert settings == AnnotationProjectSettings()
    assert settings.project_fields() == {
        "maximum_annotations": 2,
        "overlap_cohort_percentage": 100,
        "show_overlap_first": True,
        "show_instruction": True,
        "show_collab_predictions": True,
        "enable_empty_annotation": False,
    }


def test_settings_are_overridden_in_khc_toml(tmp_path):
    root = with_settings(
        tmp_path,
        "[labelstudio.project]\nmaximum_annotations = 3\nshow_collab_predictions = false\n"
        '[labelstudio.predictions]\nwithout_share = 1\nseed = "other"\n',
    )
    settings = load_project(root).annotation
    assert settings.maximum_annotations == 3 and settings.show_collab_predictions is False
    assert settings.show_overlap_first is True and settings.enable_empty_annotation is False  # the defaults
    assert settings.predictions == PredictionPolicy(without_share=1.0, seed="other")
    assert settings.predictions.withheld("khc-000001")


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ("[labelstudio.project]\nmaximum_annotation = 2\n", "unknown settings ['maximum_annotation']"),
        ("[labelstudio.project]\nshow_instruction = 1\n", "show_instruction must be true or false"),
        ("[labelstudio.project]\nmaximum_annotations = true\n", "maximum_annotations must be a whole number"),
        ("[labelstudio.project]\nmaximum_annotations = 0\n", "maximum_annotations must be at least 1"),
        ("[labelstudio.predictions]\nwithout_share = 1.5\n", "without_share must be between 0 and 1"),
        ("[labelstudio.predictions]\nshare = 0.5\n", "unknown settings ['share']"),
    ],
)
def test_a_bad_setting_names_the_file_and_what_to_do(tmp_path, extra, says):
    root = with_settings(tmp_path, extra)
    with pytest.raises(KhcError) as caught:
        load_project(root)
    (problem,) = caught.value.problems
    assert says in problem.what and problem.file.endswith("khc.toml") and problem.fix


def test_the_policy_is_stable_per_article_and_near_its_share():
    ids = [f"khc-{n:06d}" for n in range(1, 2001)]
    policy = PredictionPolicy(without_share=0.2)
    withheld = [a for a in ids if policy.withheld(a)]
    assert abs(len(withheld) / len(ids) - 0.2) < 0.03
    # an article keeps its group as the corpus grows: the choice reads only its own id
    assert [a for a in ids[:100] if policy.withheld(a)] == [a for a in withheld if a in set(ids[:100])]
    assert not any(PredictionPolicy(without_share=0).withheld(a) for a in ids)
    assert all(PredictionPolicy(without_share=1).withheld(a) for a in ids)
