"""Label Studio result items for this schema: the one place their shape is written.

A claim span is a `labels` result; its evidence is a `choices` result that shares the span's
`id` (that is how Label Studio links a per-region choice to its region). Article-level
answers are `choices` results without offsets.
"""

from __future__ import annotations

from builders.schema import CLAIM_TYPE, EVIDENCE, TEXT_OBJECT


def span_results(
    region: str, start: int, end: int, text: str, claim_type: str, evidence: str | None, *, origin: str | None = None
) -> list[dict]:
    value = {"start": start, "end": end, "text": text}
    extra = {"origin": origin} if origin else {}
    items = [
        {
            "id": region,
            "from_name": CLAIM_TYPE.name,
            "to_name": TEXT_OBJECT,
            "type": "labels",
            **extra,
            "value": {**value, "labels": [claim_type]},
        }
    ]
    if evidence:
        items.append(
            {
                "id": region,
                "from_name": EVIDENCE.name,
                "to_name": TEXT_OBJECT,
                "type": "choices",
                **extra,
                "value": {**value, "choices": [evidence]},
            }
        )
    return items


def choice_result(region: str, name: str, values: list[str]) -> dict:
    return {"id": region, "from_name": name, "to_name": TEXT_OBJECT, "type": "choices", "value": {"choices": values}}


def task_data(row, guideline_version: str, config_sha256: str) -> dict:
    """A task's `data` for one corpus article (`row` with article_id, text, text_sha256): what push
    sends and what every predictions file carries, so a prediction always names the text it labels."""
    return {
        "text": row.text,
        "article_id": row.article_id,
        "text_sha256": row.text_sha256,
        "guideline_version": guideline_version,
        "labeling_config_sha256": config_sha256,
    }
