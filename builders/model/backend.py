"""`khc model backend --model models/VERSION`: the baseline as a Label Studio ML backend.

`label-studio-ml` cannot share this environment (its 1.0.9 pins Flask 1.1.2 and Jinja2
3.0.3; the server needs Jinja2 3.1), so the protocol the server speaks
(`label_studio/ml/api_connector.py`) is served with the standard library: `GET /health`,
`POST /setup` (answers the model_version), `POST /predict` (one result per task, in the
order given) and `POST /webhook` (accepted, ignored: this model is not retrained from
Label Studio). It listens on 127.0.0.1 only. The server must allow a local backend
(`ML_BLOCK_LOCAL_IP=false`, `SSRF_PROTECTION_ENABLED=false`).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd

from builders.model.preannotate import result_of, task_score
from builders.model.predict import predict
from builders.model.train import Fitted


def predictions_for(fitted: Fitted, model_version: str, tasks: list[dict]) -> list[dict]:
    """One Label Studio prediction per task (same order), from the task's own text."""
    rows = []
    for number, task in enumerate(tasks):
        data = task.get("data") or {}
        article_id = str(data.get("article_id") or f"task-{task.get('id', number)}")
        rows.append((f"{number:06d}", article_id, str(data.get("text") or "")))
    frame = pd.DataFrame(rows, columns=["key", "article", "text"])
    found = predict(fitted, frame.rename(columns={"key": "article_id"})[["article_id", "text"]])
    out = []
    for key, article_id, _text in rows:
        result = result_of(article_id, found[key])
        out.append({"result": result, "score": task_score(result), "model_version": model_version})
    return out


class Backend(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fitted: Fitted, model_version: str, port: int):
        self.fitted, self.model_version = fitted, model_version
        self.lock = threading.Lock()  # scikit-learn pipelines are not documented as thread-safe
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Backend

    def _answer(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/health":
            version = self.server.model_version
            self._answer(200, {"status": "UP", "model_class": "khc-baseline", "model_version": version})
        else:
            self._answer(404, {"error": f"no {self.path}"})

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError as exc:
            self._answer(400, {"error": f"not JSON: {exc}"})
            return
        path = self.path.rstrip("/")
        if path == "/setup":
            self._answer(200, {"model_version": self.server.model_version})
        elif path == "/predict":
            tasks = request.get("tasks") or []
            with self.server.lock:
                results = predictions_for(self.server.fitted, self.server.model_version, tasks)
            self._answer(200, {"results": results, "model_version": self.server.model_version})
        elif path == "/webhook":
            self._answer(200, {})
        else:
            self._answer(404, {"error": f"no {self.path}"})

    def log_message(self, format: str, *args) -> None:  # requests carry article text: keep it off the log
        pass
