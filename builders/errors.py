"""Errors a user or annotator can cause, each naming the file, the record and what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    what: str
    file: str | None = None
    record: str | None = None  # e.g. "task 12 (article khc-000003), annotation 40"
    fix: str | None = None

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.file, self.record) if p)
        text = f"{where}: {self.what}" if where else self.what
        if self.fix:
            text += f"\n    what to do: {self.fix}"
        return text


class KhcError(Exception):
    """One or more problems with the input; nothing was written."""

    def __init__(self, problems: Problem | list[Problem]):
        self.problems = problems if isinstance(problems, list) else [problems]
        super().__init__(str(self))

    def __str__(self) -> str:
        shown = self.problems[:20]
        lines = [str(p) for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"... and {len(self.problems) - len(shown)} more problems of the same kinds")
        return "\n".join(lines)


def fail(what: str, *, file: str | None = None, record: str | None = None, fix: str | None = None):
    raise KhcError(Problem(what, file, record, fix))
