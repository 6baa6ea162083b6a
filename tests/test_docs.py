"""The README's two commands are the ones that work, and CI runs the README's test command."""

from __future__ import annotations

import re

from tests.conftest import REPO


def readme_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", quick)


def test_ci_runs_exactly_the_readme_test_command():
    build, test = readme_commands()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci == test
    assert test.endswith("pytest") and build.endswith("khc build")
    # Both set up from the pinned constraints; the test one adds the test extra.
    assert build.replace("-e . && .venv/bin/khc build", "") == test.replace(
        "-e '.[test]' && .venv/bin/python -m pytest", ""
    )
