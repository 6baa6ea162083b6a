"""Files in the repository that are generated from the schema, and the check that they are current.

- `annotations/labeling_config.xml`: the Label Studio config (`khc ls config`).
- the label tables in `annotations/guidelines.md`, between `<!-- schema:NAME -->` and
  `<!-- /schema:NAME -->` markers; the prose around them is written by people.
"""

from __future__ import annotations

import re

from builders.errors import Problem
from builders.labelstudio.labelconfig import labeling_config
from builders.markdown import md_table
from builders.project import Project
from builders.schema import FAMILIES, Family

FIX = "run `khc schema --write` and commit the result"


def guideline_table(family: Family) -> str:
    if family.ordinal:
        rows = [[f"`{v.name}`", "—" if v.rank is None else v.rank, v.meaning] for v in family.values]
        return md_table(["value", "rank", "meaning"], rows)
    return md_table(["value", "meaning"], [[f"`{v.name}`", v.meaning] for v in family.values])


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- schema:{name} -->\n)(.*?)(<!-- /schema:{name} -->)", re.S)


def render_guidelines(text: str) -> str:
    for family in FAMILIES:
        text = _block(family.name).sub(lambda m, f=family: m.group(1) + guideline_table(f) + "\n" + m.group(3), text)
    return text


def check(project: Project) -> list[Problem]:
    problems = []
    config_file = project.labeling_config_file
    if not config_file.exists() or config_file.read_text(encoding="utf-8") != labeling_config():
        problems.append(Problem("differs from the config generated from the schema", project.rel(config_file), fix=FIX))
    guidelines = project.guidelines_file
    if guidelines.exists():
        text = guidelines.read_text(encoding="utf-8")
        missing = [f.name for f in FAMILIES if not _block(f.name).search(text)]
        if missing:
            problems.append(
                Problem(
                    f"no generated label table for {missing}",
                    project.rel(guidelines),
                    fix=f"add '<!-- schema:NAME -->' / '<!-- /schema:NAME -->' marker lines, then {FIX}",
                )
            )
        elif render_guidelines(text) != text:
            problems.append(Problem("a label table differs from the schema", project.rel(guidelines), fix=FIX))
    return problems


def write(project: Project) -> list[str]:
    changed = []
    config_file = project.labeling_config_file
    config_file.parent.mkdir(parents=True, exist_ok=True)
    if not config_file.exists() or config_file.read_text(encoding="utf-8") != labeling_config():
        config_file.write_text(labeling_config(), encoding="utf-8")
        changed.append(project.rel(config_file))
    guidelines = project.guidelines_file
    text = guidelines.read_text(encoding="utf-8")
    if render_guidelines(text) != text:
        guidelines.write_text(render_guidelines(text), encoding="utf-8")
        changed.append(project.rel(guidelines))
    return changed
