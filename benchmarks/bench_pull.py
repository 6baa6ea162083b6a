"""`khc ls pull` on a real local Label Studio: an incremental pull after a few changes vs a full pull.

    python benchmarks/bench_pull.py                  # N = 5,000 tasks, 50 changed annotations
    python benchmarks/bench_pull.py --tasks 500 --changed 10
    python benchmarks/bench_pull.py --readme         # write the table into benchmarks/README.md

The corpus and its labels are benchmarks/generate.py's (seeded; one annotation per task, with
its prediction). A Label Studio server is started on 127.0.0.1 with a fresh temporary data
folder (tests/labelstudio/server.py) and stopped at the end; the tasks are imported with their
annotations and predictions. Then, each timed around the `pull` call (connection included):
- the first pull, which is full;
- `--changed` annotations corrected through the API, then an incremental pull (a delta);
- a pull with nothing changed (writes nothing);
- `khc ls pull --full` of the same final state, for the full pull's time on the same project.
Bytes are the sizes of the snapshots written. Targets (issue 17): the incremental pull under 5 %
of a full pull's time and under 1 % of its bytes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
README = HERE / "README.md"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))
from generate import declare_project, generate  # noqa: E402

from builders.build.read import iter_tasks  # noqa: E402
from builders.labelstudio.connection import connect  # noqa: E402
from builders.labelstudio.delta import CLOCK_STEP, OVERLAP  # noqa: E402
from builders.labelstudio.labelconfig import labeling_config  # noqa: E402
from builders.labelstudio.pull import pull  # noqa: E402
from builders.progress import peak_rss_mib  # noqa: E402
from builders.project import load_project  # noqa: E402
from tests.labelstudio.server import start_server  # noqa: E402

IMPORT_BATCH = 250


def load_tasks(root: Path) -> list[dict]:
    (snapshot,) = (root / "annotations" / "exports").glob("project-*.json")
    return json.loads(snapshot.read_text(encoding="utf-8"))


def import_project(client, tasks: list[dict]) -> int:
    project = client.projects.create(title="pull benchmark", label_config=labeling_config())
    for start in range(0, len(tasks), IMPORT_BATCH):
        batch = [
            {
                "data": t["data"],
                "annotations": [{"result": a["result"], "was_cancelled": a["was_cancelled"]} for a in t["annotations"]],
                "predictions": [{"result": p["result"], "model_version": p["model_version"]} for p in t["predictions"]],
            }
            for t in tasks[start : start + IMPORT_BATCH]
        ]
        client.projects.import_tasks(project.id, request=batch)
        print(f"  imported {min(start + IMPORT_BATCH, len(tasks))}/{len(tasks)} tasks", file=sys.stderr)
    return project.id


def change_annotations(client, snapshot: Path, n: int, offset: int = 0) -> None:
    """Correct `n` annotations, spread over the project (as the full snapshot lists them): drop
    each one's last result. The snapshot is streamed twice (ids, then the chosen results), so the
    benchmark's own memory stays small beside the pulls'."""
    eligible = [a["id"] for t in iter_tasks(snapshot, snapshot.name) for a in t["annotations"] if _changeable(a)]
    step = max(1, len(eligible) // n)
    chosen = set(eligible[offset::step][:n])
    for task in iter_tasks(snapshot, snapshot.name):
        for annotation in task["annotations"]:
            if annotation["id"] in chosen:
                client.annotations.update(id=annotation["id"], result=annotation["result"][:-1])


def _changeable(annotation: dict) -> bool:
    return bool(annotation["result"]) and not annotation["was_cancelled"]


def timed_pull(root: Path, url: str, token: str, project_id: int, **options) -> dict:
    """One pull in a fresh process (spawned, so it inherits none of this one's memory): its time
    around the `pull` call (connection included) and the process's peak memory."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_timed_pull, (root, url, token, project_id, options))


def _timed_pull(root: Path, url: str, token: str, project_id: int, options: dict) -> dict:
    started = time.perf_counter()
    result = pull(load_project(root), connect(url, token, timeout=600), project_id, **options)
    seconds = time.perf_counter() - started
    size = result.path.stat().st_size if result.path else 0
    return {
        "seconds": seconds,
        "bytes": size,
        "tasks": result.tasks,
        "listed": result.listed,
        "coverage": result.coverage,
        "path": result.path,
        "peak_mib": own_peak_mib(),
    }


def own_peak_mib() -> float:
    """This process's own peak resident memory: Linux's VmHWM, not getrusage's ru_maxrss, which a
    spawned process starts from its parent's (kept across the fork and exec)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return peak_rss_mib()
    (kib,) = [int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")]
    return kib / 1024


def run(n_tasks: int, n_changed: int, work: Path) -> dict:
    from label_studio_sdk import LabelStudio

    os.environ["KHC_PSEUDONYM_MAP"] = str(work / "pseudonyms" / "map.json")  # never the user's own map
    root = work / f"pull-n{n_tasks}"
    generate(n_tasks, 1, root, 1)
    tasks = load_tasks(root)
    for path in (root / "annotations" / "exports").iterdir():
        path.unlink()
    data = work / "label-studio-data"
    data.mkdir(parents=True, exist_ok=True)
    figures: dict = {"tasks": n_tasks, "changed": n_changed}
    with start_server(data) as server:
        client = LabelStudio(base_url=server.url, api_key=server.token, timeout=600)
        project_id = import_project(client, tasks)
        del tasks  # the whole export, parsed: not held beside the server and the pulls
        declare_project(root, project_id, "bench-model-v1")
        time.sleep((OVERLAP + CLOCK_STEP).total_seconds() + 4)  # as in use: the labels were made before the pull
        figures["first (full)"] = timed_pull(root, server.url, server.token, project_id)
        change_annotations(client, figures["first (full)"]["path"], n_changed)
        figures["incremental"] = timed_pull(root, server.url, server.token, project_id)
        time.sleep(OVERLAP.total_seconds() + 1)
        change_annotations(client, figures["first (full)"]["path"], n_changed, offset=1)
        figures["incremental, again"] = timed_pull(root, server.url, server.token, project_id)
        figures["nothing changed"] = timed_pull(root, server.url, server.token, project_id)
        time.sleep(1)  # snapshot names carry the second
        figures["--full"] = timed_pull(root, server.url, server.token, project_id, full=True)
    return figures


def table(figures: dict) -> list[str]:
    full = figures["--full"]
    lines = [
        f"N = {figures['tasks']:,} tasks (one annotation and one prediction each), {figures['changed']} annotations "
        f"changed between the pulls, on {datetime.now(UTC):%Y-%m-%d}, by `python benchmarks/bench_pull.py --readme`.",
        "",
        "| pull | snapshot | tasks listed | tasks written | time (s) | bytes written | time vs full | bytes vs full "
        "| peak memory (MiB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("first (full)", "incremental", "incremental, again", "nothing changed", "--full"):
        row = figures[name]
        kind = row["coverage"] if row["bytes"] else "none written"
        lines.append(
            f"| {name} | {kind} | {row['listed'] if row['coverage'] == 'delta' else ''} | {row['tasks']:,} | "
            f"{row['seconds']:.2f} | {row['bytes']:,} | "
            f"{100 * row['seconds'] / full['seconds']:.1f} % | {100 * row['bytes'] / full['bytes']:.2f} % | "
            f"{row['peak_mib']:,.0f} |"
        )
    verdicts = []
    for name in ("incremental", "incremental, again"):
        row = figures[name]
        met = row["seconds"] < 0.05 * full["seconds"] and row["bytes"] < 0.01 * full["bytes"]
        verdicts.append(f"{name}: {'met' if met else 'not met'}")
    lines += [
        "",
        "Target (an incremental pull under 5 % of a full pull's time and 1 % of its bytes): "
        + "; ".join(verdicts)
        + ". Tasks listed: the tasks Label Studio lists as updated since the last pull's high-water mark, or "
        f"since {(OVERLAP + CLOCK_STEP).total_seconds():g} seconds before the server's clock when that mark was "
        "read if that is earlier (a save in flight then); tasks seen again unchanged are not exported. The first "
        "pull begins some seconds after the import, so the first incremental pull lists only the changed tasks; "
        "the second begins just after the first one's changes and lists some of them again. Each pull runs in a "
        "fresh process: its time is around the `pull` call, its peak memory the process's (a full pull streams "
        "the export from disk task by task).",
    ]
    return lines


def write_readme(lines: list[str]) -> None:
    begin, end = "<!-- pull:begin -->", "<!-- pull:end -->"
    text = README.read_text(encoding="utf-8")
    block = begin + "\n" + "\n".join(lines) + "\n" + end
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n# Pull benchmark (`bench_pull.py`)\n\n" + block + "\n"
    README.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--changed", type=int, default=50)
    parser.add_argument("--work", type=Path, default=Path(tempfile.mkdtemp(prefix="khc-bench-pull-")))
    parser.add_argument("--readme", action="store_true", help="write the table into benchmarks/README.md")
    args = parser.parse_args()
    lines = table(run(args.tasks, args.changed, args.work))
    print("\n".join(lines))
    if args.readme:
        write_readme(lines)
        print(f"wrote {README}")


if __name__ == "__main__":
    main()
