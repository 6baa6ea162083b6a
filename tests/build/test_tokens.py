"""The claim_tokens config (builders/build/tokens.py): tokens and offsets match the text, and
every claim span comes back from the BIO tags, except the cases the rules count."""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from builders.build.tokens import (
    RULE_COUNTS,
    TOKEN_PATTERN,
    claim_tokens_frame,
    spans_from_tags,
    tag_article,
    tokenize,
)
from builders.features import BIO_TAGS, FEATURES
from builders.layout import SPLITS
from builders.schema import CLAIM_TYPE
from tests.conftest import REPO, copy_project, khc


@pytest.fixture(scope="module", params=["fixture", "committed"])
def built(request, tmp_path_factory):
    root = copy_project(tmp_path_factory.mktemp("tokens") / "p", with_fixture_labels=request.param == "fixture")
    if request.param == "committed":
        shutil.copytree(REPO / "annotations" / "predictions", root / "annotations" / "predictions")
    assert khc("build", root=root)[0] == 0
    return root / "dist"


def read(dist, config, split):
    path = dist / config / f"{split}-00000-of-00001.parquet"
    return pq.read_table(path).to_pylist() if path.exists() else []


def test_bio_tags_follow_the_schema():
    assert BIO_TAGS[0] == "O"
    assert BIO_TAGS[1:] == [f"{p}-{n}" for n in CLAIM_TYPE.names for p in ("B", "I")]
    assert FEATURES["claim_tokens"]["tags"].feature.names == BIO_TAGS


def test_tokens_are_the_text_at_their_offsets():
    text = "Ketamine isn't FDA-approved (yet); 40–60 min. long-term"
    tokens, starts, ends = tokenize(text)
    assert [text[s:e] for s, e in zip(starts, ends, strict=True)] == tokens
    assert "isn't" in tokens and "FDA-approved" in tokens and "long-term" in tokens and "(" in tokens
    assert all(not t.isspace() for t in tokens)


# The rules that change or drop a typed claim's span; null types are left out by design.
RESHAPING = [k for k in RULE_COUNTS if k != "claim_tokens_null_type"]


def test_every_claim_comes_back_from_tags_and_offsets(built):
    counts = json.loads((built / "build_report.json").read_text())["counts"]
    rebuilt_total = claims_total = 0
    for split in SPLITS:
        rows = read(built, "claim_tokens", split)
        articles = {r["article_id"]: r for r in read(built, "articles", split)}
        claims = read(built, "claims", split)
        assert {r["article_id"] for r in rows} == {a for a, r in articles.items() if r["labeled"]}
        for row in rows:
            text = articles[row["article_id"]]["text"]
            assert [text[s:e] for s, e in zip(row["token_start"], row["token_end"], strict=True)] == row["tokens"]
            rebuilt = Counter(spans_from_tags(row["tags"], row["token_start"], row["token_end"]))
            expected = Counter(
                (c["start"], c["end"], c["claim_type"])
                for c in claims
                if c["article_id"] == row["article_id"] and c["claim_type"] is not None
            )
            rebuilt_total += sum(rebuilt.values())
            claims_total += sum(expected.values())
            if not any(counts[k] for k in RESHAPING):  # null types are out of `expected` already
                assert rebuilt == expected, row["article_id"]
            else:  # only as many claims differ as the rules counted
                assert sum((expected - rebuilt).values()) <= sum(counts[k] for k in RESHAPING)
    assert claims_total == sum(len(read(built, "claims", s)) for s in SPLITS) - counts["claim_tokens_null_type"]
    lost = counts["claim_tokens_overlap_dropped"] + counts["claim_tokens_no_token"]
    assert rebuilt_total == claims_total - lost


def test_load_dataset_gives_bio_tags(built):
    ds = load_dataset(str(built), "claim_tokens")
    names = ds["train"].features["tags"].feature.names
    assert names == BIO_TAGS
    row = ds["train"][0]
    assert len(row["tokens"]) == len(row["tags"]) == len(row["token_start"]) == len(row["token_end"])


def _tokens(text):
    return tokenize(text)[1:]


def test_a_span_inside_a_token_is_snapped_outward_and_counted():
    starts, ends = _tokens("ketamine therapy works")  # 0-8, 9-16, 17-22
    counts = Counter()
    tags = tag_article(starts, ends, [(2, 12, 0)], counts)
    assert spans_from_tags(tags, starts, ends) == [(0, 16, 0)]
    assert counts["claim_tokens_snapped"] == 1


def test_overlaps_keep_the_earlier_longer_claim_and_count_the_other():
    starts, ends = _tokens("a b c d e f")  # single-letter tokens at 0, 2, 4, 6, 8, 10
    counts = Counter()
    claims = [(0, 5, 0), (0, 3, 1), (4, 9, 2), (10, 11, None)]
    tags = tag_article(starts, ends, claims, counts)
    # (0, 5) takes a-c; (0, 3) lies inside it: dropped; (4, 9) keeps d-e only; the null type is left out.
    assert spans_from_tags(tags, starts, ends) == [(0, 5, 0), (6, 9, 2)]
    assert counts == Counter(claim_tokens_overlap_dropped=1, claim_tokens_overlap_trimmed=1, claim_tokens_null_type=1)


def test_adjacent_claims_of_one_type_stay_two_spans():
    starts, ends = _tokens("a b c d")
    tags = tag_article(starts, ends, [(0, 3, 4), (4, 7, 4)], Counter())
    assert [BIO_TAGS[t] for t in tags] == ["B-procedure", "I-procedure", "B-procedure", "I-procedure"]
    assert spans_from_tags(tags, starts, ends) == [(0, 3, 4), (4, 7, 4)]


def tags_claim_by_claim(starts, ends, claims, counts):
    """The module's rules written out one claim at a time: the reference for `claim_tokens_frame`."""
    tags = [0] * len(starts)
    taken_until = 0
    for start, end, claim_type in sorted(claims, key=lambda c: (c[0], -(c[1] - c[0]))):
        if claim_type is None:
            counts["claim_tokens_null_type"] += 1
            continue
        first = next((i for i, e in enumerate(ends) if e > start), len(ends))
        last = next((i for i, s in enumerate(starts) if s >= end), len(starts))
        if first >= last:
            counts["claim_tokens_no_token"] += 1
            continue
        if starts[first] < start or ends[last - 1] > end:
            counts["claim_tokens_snapped"] += 1
        if first < taken_until:
            if taken_until >= last:
                counts["claim_tokens_overlap_dropped"] += 1
                continue
            counts["claim_tokens_overlap_trimmed"] += 1
            first = taken_until
        tags[first:last] = [1 + 2 * claim_type] + [2 + 2 * claim_type] * (last - first - 1)
        taken_until = last
    return tags


def test_all_articles_tagged_at_once_follow_the_rules_claim_by_claim():
    # Random overlapping, nested, tied, snapped, whitespace-only and null-type claims over articles
    # tagged together (laid end to end), some unlabelled: each row as the rules give it alone.
    rng = random.Random(18)
    words = ["ketamine", "long-term", "don't", "(", "40", "–", "mg", ".", "  ", "\n", "dose's", "ß"]
    articles, claims = [], []
    for a in range(40):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 30)))
        articles.append({"article_id": f"a{a:03d}", "labeled": a % 7 != 3, "text": text})
        for _ in range(rng.randint(0, 12)):
            start = rng.randint(0, len(text))
            end = min(len(text), start + rng.randint(1, 25))
            kind = rng.choice([None, *range(len(CLAIM_TYPE.names))])
            claims.append({"article_id": f"a{a:03d}", "start": start, "end": end, "claim_type": kind})
    frame = pd.DataFrame(articles).sample(frac=1, random_state=1)  # any order in; rows by article_id out
    claim_frame = pd.DataFrame(claims).sort_values(["article_id", "start", "end"], kind="stable")
    claim_frame["claim_type"] = claim_frame["claim_type"].astype("Int8")
    counts = Counter()
    rows, columns = claim_tokens_frame(frame, claim_frame, counts)
    lists = columns.select(np.ones(len(rows), dtype=bool))
    expected_counts = Counter({k: 0 for k in RULE_COUNTS})
    labelled = sorted(a["article_id"] for a in articles if a["labeled"])
    assert rows["article_id"].tolist() == labelled
    for i, article_id in enumerate(labelled):
        text = next(a["text"] for a in articles if a["article_id"] == article_id)
        tokens, starts, ends = tokenize(text)
        mine = [
            (c["start"], c["end"], c["claim_type"])
            for c in claim_frame.astype(object).where(claim_frame.notna(), None).to_dict("records")
            if c["article_id"] == article_id
        ]
        assert lists["tokens"][i].as_py() == tokens == [m.group() for m in TOKEN_PATTERN.finditer(text)]
        assert lists["token_start"][i].as_py() == [m.start() for m in TOKEN_PATTERN.finditer(text)]
        assert lists["token_end"][i].as_py() == list(ends)
        assert lists["tags"][i].as_py() == tags_claim_by_claim(list(starts), list(ends), mine, expected_counts)
    assert counts == expected_counts and all(counts.values()), counts  # every rule was needed
    # A split's rows: compact, as `pa.array` of Python lists would build them (the card reports nbytes).
    some = np.arange(len(rows)) % 3 == 1
    for name, picked in columns.select(some).items():
        as_lists = pa.array([v for v, keep in zip(lists[name].to_pylist(), some, strict=True) if keep], picked.type)
        assert picked.equals(as_lists) and picked.nbytes == as_lists.nbytes, name
