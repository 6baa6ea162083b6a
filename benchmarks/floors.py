"""The jobs bench_build.py measures khc against, each run as its own process (`python -c`).

FLOOR is the best a simple program can do with the same input and the same output: decode the
corpus and every export (stdlib `json` or `msgspec`, the garbage collector on or off), pull out
the task, annotation and result fields into columns, and write **khc's own output tables** (read
from a khc build of the same project before the clock starts) with khc's writer options, two
files at a time as khc does. It validates, aggregates and computes nothing. It prints the
seconds it spent after loading khc's tables, which is the floor's time.

PEER is what a user would otherwise do: label-studio-sdk's converter to JSON-MIN, then pandas
and `datasets.Dataset.from_pandas(...).to_parquet`.
"""

from __future__ import annotations

FLOOR = r"""
import gc, json, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import pyarrow as pa, pyarrow.parquet as pq
decoder, collector, root, khc_out, out, options = sys.argv[1:7]
root, khc_out, out, options = Path(root), Path(khc_out), Path(out), json.loads(options)
if collector == "off":
    gc.disable()
if decoder == "msgspec":
    import msgspec
    decode = msgspec.json.decode
else:
    decode = json.loads
tables = {p.relative_to(khc_out): pq.read_table(p) for p in sorted(khc_out.rglob("*.parquet"))}
started = time.perf_counter()
with (root / "corpus" / "articles.jsonl").open("rb") as f:
    articles = [decode(line) for line in f]
columns = {c: [] for c in ("task", "annotation", "annotator", "from_name", "start", "end", "label")}
for path in sorted((root / "annotations" / "exports").glob("*.json")):
    if path.name == "snapshots.json":  # khc's index of the snapshots, not an export
        continue
    for task in decode(path.read_bytes()):
        for a in task["annotations"]:
            for r in a["result"]:
                v = r["value"]
                columns["task"].append(task["id"])
                columns["annotation"].append(a["id"])
                columns["annotator"].append(a["completed_by"])
                columns["from_name"].append(r["from_name"])
                columns["start"].append(v.get("start"))
                columns["end"].append(v.get("end"))
                columns["label"].append((v.get("labels") or v.get("choices") or [None])[0])
results = pa.table(columns)
del columns
def write(item):
    rel, table = item
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / rel, **options)
with ThreadPoolExecutor(max_workers=2) as pool:
    list(pool.map(write, tables.items()))
print(json.dumps({"seconds": time.perf_counter() - started, "results": results.num_rows}))
"""

# (job name, decoder, collector) of the floors, the last the strongest in the measurement.
FLOORS = (
    ("floor json, GC on", "json", "on"),
    ("floor json, GC off", "json", "off"),
    ("floor msgspec, GC off", "msgspec", "off"),
)

PEER = r"""
import json, sys
from pathlib import Path
import pandas as pd
from datasets import Dataset
from label_studio_sdk.converter import Converter
root, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
config = (root / "annotations" / "labeling_config.xml").read_text()
converter = Converter(config=config, project_dir=None, download_resources=False)
for path in sorted((root / "annotations" / "exports").glob("*.json")):
    if path.name != "snapshots.json":
        converter.convert_to_json_min(str(path), str(out), is_dir=False)
rows = json.loads((out / "result.json").read_text())
frame = pd.DataFrame(rows)
for column in frame.columns:  # nested label lists → JSON text, as a user would for Parquet
    if frame[column].map(lambda v: isinstance(v, (list, dict))).any():
        frame[column] = frame[column].map(json.dumps)
Dataset.from_pandas(frame).to_parquet(str(out / "peer.parquet"))
"""
