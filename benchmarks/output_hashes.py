"""Content hashes of everything `khc build` and `khc agreement` write, against a committed reference.

    python benchmarks/output_hashes.py                  # compare with benchmarks/reference-hashes.json
    python benchmarks/output_hashes.py --write          # (re)write the reference, in its own commit
    python benchmarks/output_hashes.py --only committed # just the committed project (seconds)

A restructuring of the code must leave every output byte for byte the same. This script builds
three projects and hashes every file the build writes (sha256 of the bytes) plus the JSON and CSV
that `khc agreement --json --disagreements` writes:
  committed       this repository's own corpus and annotations;
  generated-500   benchmarks/generate.py --articles 500 --annotators 3 (seed 1);
  generated-2000  the same with 2,000 articles.
`manifest.json` is hashed without its `tools` entry (tool versions are not content); everything
else is hashed as it is. An issue that changes outputs on purpose regenerates the reference in its
own commit and says so in the CHANGELOG (../shared/design/decisions.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
REFERENCE = HERE / "reference-hashes.json"
sys.path.insert(0, str(HERE))
from generate import generate  # noqa: E402

PROJECTS = {"committed": None, "generated-500": 500, "generated-2000": 2000}


def file_hash(path: Path) -> str:
    if path.name == "manifest.json":
        document = json.loads(path.read_text(encoding="utf-8"))
        document.pop("tools", None)
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def khc(*args: str) -> None:
    exe = Path(sys.executable).with_name("khc")
    result = subprocess.run([str(exe), *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"khc {' '.join(args)} failed:\n{result.stderr[-3000:]}")


def hashes_of(root: Path, work: Path) -> dict[str, str]:
    """Build `root` into `work/out`, run agreement into `work`, and hash all of it."""
    out = work / "out"
    khc("--root", str(root), "build", "--out", str(out))
    khc(
        "--root",
        str(root),
        "agreement",
        "--json",
        str(work / "agreement-report.json"),
        "--disagreements",
        str(work / "disagreements.csv"),
    )
    found = {p.relative_to(out).as_posix(): file_hash(p) for p in sorted(out.rglob("*")) if p.is_file()}
    for name in ("agreement-report.json", "disagreements.csv"):
        found[f"khc-agreement/{name}"] = file_hash(work / name)
    return found


def project_root(name: str, n: int | None, cache: Path) -> Path:
    """The project to build: this repository, or a generated one (made once, kept in `cache`)."""
    if n is None:
        return REPO
    # keyed on what the generator copies and runs, so an edited datacard.md or generator never reuses
    # a project made from the old one
    inputs = ["benchmarks/generate.py", "khc.toml", "datacard.md", "annotations/guidelines.md"]
    inputs.append("annotations/labeling_config.xml")
    key = hashlib.sha256(b"".join((REPO / rel).read_bytes() for rel in inputs)).hexdigest()[:12]
    root = cache / f"k3-n{n}-{key}"
    if not (root / "khc.toml").exists():
        generate(n, 3, root, 1)
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write the reference instead of comparing")
    parser.add_argument("--only", choices=list(PROJECTS), action="append", help="only these projects")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "khc-output-hashes", help="generated projects"
    )
    args = parser.parse_args()
    chosen = args.only or list(PROJECTS)
    reference = json.loads(REFERENCE.read_text(encoding="utf-8")) if REFERENCE.exists() else {}
    found: dict[str, dict[str, str]] = {}
    for name in chosen:
        root = project_root(name, PROJECTS[name], args.cache)
        work = Path(tempfile.mkdtemp(prefix=f"khc-hashes-{name}-"))
        try:
            if root != REPO:  # a fresh copy: its first build assigns the splits, every time alike
                root = Path(shutil.copytree(root, work / "project"))
            found[name] = hashes_of(root, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"{name}: {len(found[name])} files hashed")
    if args.write:
        REFERENCE.write_text(json.dumps({**reference, **found}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {REFERENCE.relative_to(REPO)}")
        return 0
    differences = []
    for name, files in found.items():
        expected = reference.get(name, {})
        for rel in sorted(set(expected) | set(files)):
            if expected.get(rel) != files.get(rel):
                state = "missing" if rel not in files else "new" if rel not in expected else "differs"
                differences.append(f"{name}/{rel}: {state}")
    if differences:
        print("outputs differ from the reference:\n  " + "\n  ".join(differences))
        return 1
    print("every output is identical to the reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
