"""A project's predictions for a full pull, streamed to a spill file instead of held in memory.

Label Studio lists a project's predictions in one answer (`GET /api/predictions/?project=ID`,
not paged), as large as the export's own results. The SDK's `predictions.list` reads that answer
whole and builds every prediction before the pull writes its first task; here the answer is read
as it arrives (ijson), each prediction built as the SDK builds it (`construct_type` into its
`Prediction` model, then `model_dump(mode="json")`, so the snapshot's bytes are the same) and
written as one JSON line to a hidden `.partial` file of the snapshot folder, remembering only
where each task's lines are. Writing a task then reads back that task's predictions alone. The
file is removed at the end, or by the next pull if this one is killed (`finish_interrupted`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import ijson
from label_studio_sdk.core.api_error import ApiError
from label_studio_sdk.core.unchecked_base_model import construct_type
from label_studio_sdk.types.prediction import Prediction

from builders.errors import KhcError
from builders.labelstudio.connection import Connection
from builders.project import Project


class Spill:
    """Predictions by task, read back from the spill file a task at a time (as `dict.get`)."""

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.where: dict[int, list[tuple[int, int]]] = {}  # task id → (offset, length) of its lines

    def add(self, prediction: dict) -> None:
        line = json.dumps(prediction, ensure_ascii=False).encode("utf-8")
        self.handle.seek(0, 2)
        self.where.setdefault(prediction["task"], []).append((self.handle.tell(), len(line)))
        self.handle.write(line + b"\n")

    def get(self, task: object, default: list | None = None) -> list[dict]:
        places = self.where.get(task) if isinstance(task, int) else None
        if not places:
            return [] if default is None else default
        found = []
        for offset, length in places:
            self.handle.seek(offset)
            found.append(json.loads(self.handle.read(length)))
        return found


@contextmanager
def spilled_predictions(conn: Connection, project: Project, project_id: int) -> Iterator[Spill]:
    """Every prediction of the project, spilled to disk as they arrive (see the module's docstring)."""
    folder = project.exports_dir
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".project-{project_id}-predictions.jsonl.partial"
    what = "listed predictions"
    try:
        with path.open("w+b") as handle:
            spill = Spill(handle)

            def fetch() -> None:
                wrapper = conn.client._client_wrapper  # the SDK's own streaming call, as its exports use
                params = {"project": project_id}
                with wrapper.httpx_client.stream("api/predictions/", method="GET", params=params) as response:
                    if not 200 <= response.status_code < 300:
                        response.read()
                        raise ApiError(status_code=response.status_code, headers=dict(response.headers),
                                       body=response.text)  # fmt: skip
                    try:
                        for raw in _items(response.iter_bytes()):
                            model = construct_type(type_=Prediction, object_=raw) if isinstance(raw, dict) else None
                            if not isinstance(getattr(model, "task", None), int):
                                raise ValueError("not a prediction")
                            spill.add(model.model_dump(mode="json"))
                    except ValueError:  # not a list of predictions, or not JSON
                        raise KhcError(conn.unexpected(what)) from None

            conn.call(what, fetch)
            yield spill
    finally:
        path.unlink(missing_ok=True)
        if made and not any(folder.iterdir()):  # nothing written: leave no folder either
            folder.rmdir()


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
