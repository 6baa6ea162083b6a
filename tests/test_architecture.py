"""docs/architecture.md is the map of the package: every module it names exists and imports,
and every module of the package is on the map."""

from __future__ import annotations

import importlib
import pkgutil
import re

import builders
from tests.conftest import REPO

MAP = REPO / "docs" / "architecture.md"


def named_modules() -> set[str]:
    return set(re.findall(r"`(builders(?:\.[a-z_]+)+)", MAP.read_text(encoding="utf-8")))


def package_modules() -> set[str]:
    found = set()
    for info in pkgutil.walk_packages(builders.__path__, prefix="builders."):
        if not info.ispkg:
            found.add(info.name)
    return found


def test_every_module_on_the_map_imports():
    names = named_modules()
    assert len(names) > 20
    for name in sorted(names):
        base = name if name in package_modules() else name.rsplit(".", 1)[0]  # `module.attribute`
        module = importlib.import_module(base)
        if base != name:
            assert hasattr(module, name.rsplit(".", 1)[1]), f"{name} is named in docs/architecture.md"


def test_every_module_of_the_package_is_on_the_map():
    missing = sorted(m for m in package_modules() if m not in named_modules() and not m.endswith("__main__"))
    assert not missing, f"add these modules to docs/architecture.md: {missing}"
