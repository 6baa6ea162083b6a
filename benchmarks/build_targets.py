"""The pure parts of bench_build.py: which generated projects can be reused, khc's stage lines
(a table of them, and what khc was doing when a memory cap stopped it), the rows of the targets'
verdicts (issues 17 and 18), and replacing a marked block of the README.

Targets, on this 2-core machine:
- issue 17: at N = 100,000 (K = 3) `khc build` completes with peak memory (all its processes)
  ≤ 2 GB, here 2 × 10⁹ bytes (1,907 MiB), and wall time ≤ 11× its wall time at N = 10,000; at
  N = 10,000 its time ≤ 1.25× the strongest floor;
- issue 18: at N = 10,000 khc ≤ 1.5× the strongest floor with peak memory ≤ 1.6 GB (1,526 MiB);
  at N = 2,000 ≤ 2×.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

STAGE_LINE = re.compile(r"^khc: (?P<what>.*) \[(?P<at>[0-9.]+) s, peak (?P<peak>[0-9]+) MiB\]$")
GB_MIB = 10**9 / 2**20  # 2 GB in the issue: 2 × 10⁹ bytes, the stricter reading
ISSUE_17_PEAK_MIB = 2 * GB_MIB
ISSUE_18_PEAK_MIB = 1.6 * GB_MIB


@dataclass
class Outcome:
    """khc's figures at one N: wall seconds and peak MiB; `ratio` to the strongest floor (None
    when the floors did not run); `stopped`: why it did not complete (a memory cap), else None."""

    wall: float | None
    peak: float
    ratio: float | None = None
    stopped: str | None = None


def project_name(n: int, annotators: int, deltas: int = 0) -> str:
    return f"n{n}-k{annotators}" + (f"-d{deltas}" if deltas else "")


def is_complete(project: Path, n: int, deltas: int = 0) -> bool:
    """Whether benchmarks/generate.py finished writing `project` for N = `n` articles and
    `deltas` delta snapshots: it writes the snapshot index last, so a generator killed midway
    leaves none, or one naming a file that is missing; the corpus holds n lines."""
    exports = project / "annotations" / "exports"
    try:
        index = json.loads((exports / "snapshots.json").read_text(encoding="utf-8"))
        with (project / "corpus" / "articles.jsonl").open("rb") as corpus:
            lines = sum(1 for _ in corpus)
    except (OSError, ValueError):
        return False
    if not isinstance(index, dict) or not all((exports / name).is_file() for name in index):
        return False
    coverages = [entry.get("coverage") if isinstance(entry, dict) else None for entry in index.values()]
    return lines == n and coverages.count("full") == 1 and coverages.count("delta") == deltas


def stage_table(stderr: str, wall: float) -> list[str]:
    """Markdown rows: each of khc's stage lines, the seconds until the next one, and the main
    process's peak memory when it was printed."""
    marks = [m.groupdict() for m in map(STAGE_LINE.match, stderr.splitlines()) if m]
    rows = ["| stage (khc's own line) | seconds | peak MiB of the main process at its start |", "|---|---:|---:|"]
    for i, mark in enumerate(marks):
        until = float(marks[i + 1]["at"]) if i + 1 < len(marks) else wall
        rows.append(f"| {mark['what']} | {until - float(mark['at']):.1f} | {int(mark['peak']):,} |")
    if marks:
        rows.insert(2, f"| start-up (imports, settings) | {float(marks[0]['at']):.1f} | |")
    return rows


def replace_between(text: str, name: str, lines: list[str]) -> str:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    head, rest = text.split(begin, 1)
    _old, tail = rest.split(end, 1)
    return head + begin + "\n" + "\n".join(lines) + "\n" + end + tail


def last_stage(stderr: str) -> str | None:
    """The last of khc's stage lines in its stderr (what it was doing), without its figures."""
    marks = [m["what"] for m in map(STAGE_LINE.match, stderr.splitlines()) if m]
    return marks[-1] if marks else None


def stopped_text(peak_mib: float, stderr: str) -> str:
    stage = last_stage(stderr)
    return f"stopped at {peak_mib:,.0f} MiB during " + (f"stage “{stage}”" if stage else "start-up (no stage line yet)")


def _verdict(value: float | None, limit: float, stopped: str | None = None) -> str:
    if stopped:
        return f"not met ({stopped})"
    if value is None:
        return "not measured"
    return "met" if value <= limit else "not met"


def target_rows(outcomes: dict[int, Outcome]) -> list[str]:
    """Markdown rows: each target of issues 17 and 18, the figure measured, and the verdict."""
    rows = ["| issue | target | measured | verdict |", "|---|---|---:|---|"]
    big, ten, two = outcomes.get(100_000), outcomes.get(10_000), outcomes.get(2_000)

    def row(issue: int, target: str, value: float | None, shown: str, limit: float, stopped: str | None) -> str:
        """`shown`: the template of the measured figure, e.g. "{:.2f}×" ("—" when there is none)."""
        measured = shown.format(value) if value is not None else "—"
        return f"| {issue} | {target} | {measured} | {_verdict(value, limit, stopped)} |"

    def ratio_row(issue: int, n: int, outcome: Outcome | None, limit: float) -> str:
        ratio = outcome.ratio if outcome else None
        target = f"N = {n:,}: khc ≤ {limit:g}× the strongest floor (time)"
        return row(issue, target, ratio, "{:.2f}×", limit, _stopped(outcome))

    def peak_row(issue: int, n: int, outcome: Outcome | None, limit: float, label: str) -> str:
        peak = outcome.peak if outcome else None
        target = f"N = {n:,}: peak memory (all processes) ≤ {label} ({limit:,.0f} MiB)"
        return row(issue, target, peak, "{:,.0f} MiB", limit, _stopped(outcome))

    rows.append(peak_row(17, 100_000, big, ISSUE_17_PEAK_MIB, "2 GB"))
    times = big.wall / ten.wall if big and ten and big.wall is not None and ten.wall else None
    stopped = _stopped(big) or _stopped(ten)
    rows.append(row(17, "N = 100,000: wall ≤ 11× the wall at N = 10,000", times, "{:.1f}×", 11, stopped))
    rows.append(ratio_row(17, 10_000, ten, 1.25))
    rows.append(ratio_row(18, 10_000, ten, 1.5))
    rows.append(peak_row(18, 10_000, ten, ISSUE_18_PEAK_MIB, "1.6 GB"))
    rows.append(ratio_row(18, 2_000, two, 2.0))
    return rows


def _stopped(outcome: Outcome | None) -> str | None:
    return outcome.stopped if outcome else None
