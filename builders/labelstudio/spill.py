"""Spill files: what a pull or a compaction would otherwise hold whole, kept on disk by key.

Label Studio lists a project's predictions in one answer (`GET /api/predictions/?project=ID`,
not paged), as large as the export's own results. The SDK's `predictions.list` reads that answer
whole and builds every prediction before the pull writes its first task; here the answer is read
as it arrives (ijson), each prediction built as the SDK builds it (`construct_type` into its
`Prediction` model, then `model_dump(mode="json")`, so the snapshot's bytes are the same) and
written as one JSON line to a hidden `.partial` file of the snapshot folder, remembering only
where each task's lines are. Writing a task then reads back that task's predictions alone. The
file is removed at the end, or by the next pull if this one is killed (`finish_interrupted`).
`khc snapshots compact` spills every copy of every task the same way (builders/labelstudio/compact.py).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import ijson
from label_studio_sdk.core.api_error import ApiError
from label_studio_sdk.core.unchecked_base_model import construct_type
from label_studio_sdk.types.prediction import Prediction

from builders.errors import KhcError
from builders.labelstudio.connection import Connection
from builders.project import Project


class Spill:
    """Items by key (a task id), read back from a spill file one key's worth at a time (as
    `dict.get`); the file is open for reading and writing, the offsets kept in memory."""

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.where: dict[object, list[tuple[int, int]]] = {}  # key → (offset, length) of its lines

    def add(self, key: object, item: object) -> None:
        line = json.dumps(item, ensure_ascii=False).encode("utf-8")
        self.handle.seek(0, 2)
        self.where.setdefault(key, []).append((self.handle.tell(), len(line)))
        self.handle.write(line + b"\n")

    def get(self, key: object, default: list | None = None) -> list:
        places = self.where.get(key) if isinstance(key, Hashable) else None
        if not places:
            return [] if default is None else default
        found = []
        for offset, length in places:
            self.handle.seek(offset)
            found.append(json.loads(self.handle.read(length)))
        return found


@contextmanager
def partial_file(project: Project, name: str) -> Iterator[Path]:
    """The path of a hidden `.NAME.partial` file of the snapshot folder, removed at the end (and
    the folder, if it was made for it and is empty), or by the next pull or compaction if this
    process is killed (`finish_interrupted`)."""
    folder = project.exports_dir
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".{name}.partial"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        if made and not any(folder.iterdir()):  # nothing written: leave no folder either
            folder.rmdir()


@contextmanager
def spill_file(project: Project, name: str) -> Iterator[Spill]:
    """An empty spill, in a `partial_file`."""
    with partial_file(project, f"{name}.jsonl") as path, path.open("w+b") as handle:
        yield Spill(handle)


@contextmanager
def spilled_predictions(conn: Connection, project: Project, project_id: int) -> Iterator[Spill]:
    """Every prediction of the project by task, spilled to disk as they arrive (see the module's docstring)."""
    what = "listed predictions"
    with spill_file(project, f"project-{project_id}-predictions") as spill:

        def fetch() -> None:
            wrapper = conn.client._client_wrapper  # the SDK's own streaming call, as its exports use
            params = {"project": project_id}
            with wrapper.httpx_client.stream("api/predictions/", method="GET", params=params) as response:
                if not 200 <= response.status_code < 300:
                    response.read()
                    raise ApiError(status_code=response.status_code, headers=dict(response.headers), body=response.text)
                try:
                    for raw in _items(response.iter_bytes()):
                        model = construct_type(type_=Prediction, object_=raw) if isinstance(raw, dict) else None
                        if not isinstance(getattr(model, "task", None), int):
                            raise ValueError("not a prediction")
                        spill.add(model.task, model.model_dump(mode="json"))
                except ValueError:  # not a list of predictions, or not JSON
                    raise KhcError(conn.unexpected(what)) from None

        conn.call(what, fetch)
        yield spill


def _items(chunks: Iterator[bytes]) -> Iterator[object]:
    """The items of a JSON list arriving in chunks; anything else is not Label Studio's answer."""
    stream = _Chunks(chunks)
    if stream.peek() != b"[":
        raise ValueError("not a JSON list")
    try:
        yield from ijson.items(stream, "item", use_float=True)
    except ijson.JSONError as exc:
        raise ValueError(f"not JSON: {exc}") from None


class _Chunks:
    """A file-like `read` over an iterator of byte chunks, for ijson."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks, self.rest = iter(chunks), b""

    def peek(self) -> bytes:
        while not self.rest.strip():
            chunk = next(self.chunks, None)
            if chunk is None:
                return b""
            self.rest += chunk
        self.rest = self.rest.lstrip()
        return self.rest[:1]

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self.rest) < size) and (chunk := next(self.chunks, None)) is not None:
            self.rest += chunk
        size = len(self.rest) if size < 0 else size
        out, self.rest = self.rest[:size], self.rest[size:]
        return out
