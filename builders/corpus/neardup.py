"""Near-duplicate articles: MinHash signatures and LSH from `datasketch`, decided by exact Jaccard.

Texts are compared on a normalised form (`normalise`: NFKC, case folded, every quote and dash
style made one, zero-width characters and soft hyphens dropped, all whitespace one space), as
sets of word 5-grams (`shingles`). MinHash (datasketch, `NUM_PERM` permutations, its default
affine32 scheme, CRC-32 of the shingle as the input hash) finds candidates; a pair is a
near-duplicate when the *exact* Jaccard similarity of the two shingle sets is at least
`JACCARD_THRESHOLD`. The candidate threshold sits below it, so the estimate's noise does not
hide a real pair. `khc ingest` compares one new signature with all stored ones at once (the
share of equal values, which is what `MinHash.jaccard` computes); the build's all-pairs check
uses `MinHashLSH`, and its pairs also group twins into one fold (`builders.corpus.folds`).

Signatures depend only on the text: they are cached by `text_sha256` in
`.khc-cache/neardup-v1.npz` (git-ignored, rebuilt when missing or damaged; only time depends on it).
"""

from __future__ import annotations

import os
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

JACCARD_THRESHOLD = 0.5  # exact Jaccard of the word-5-gram sets at or above which two texts are twins
CANDIDATE_THRESHOLD = 0.3  # MinHash estimate (and LSH threshold) for a pair to be checked exactly
NUM_PERM = 64
SEED = 1
SHINGLE_WORDS = 5
CACHE_FILE = Path(".khc-cache") / "neardup-v1.npz"

_ONE_STYLE = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc\u0060\u00b4", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
    }
)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    """The text as compared: NFKC, case folded, one quote and dash style, whitespace collapsed."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(text.translate(_ONE_STYLE).split())


def shingles(text: str) -> list[bytes]:
    """Word 5-grams of the normalised text, UTF-8 (a text of 5 words or fewer: one shingle).

    Quotes and dashes are not word characters, so their style cannot change a shingle."""
    words = _WORD.findall(_INVISIBLE.sub("", unicodedata.normalize("NFKC", text).casefold()))
    n, k = len(words), SHINGLE_WORDS
    if n <= k:
        return [" ".join(words).encode()] if words else []
    joined = " ".join(words)
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=n)
    ends = np.cumsum(lengths) + np.arange(n)  # where each word ends in `joined`
    starts, stops = (ends - lengths)[: n - k + 1].tolist(), ends[k - 1 :].tolist()
    if joined.isascii():  # positions in the string are positions in its UTF-8 bytes
        data = joined.encode()
        return [data[a:b] for a, b in zip(starts, stops, strict=True)]
    return [joined[a:b].encode() for a, b in zip(starts, stops, strict=True)]


def jaccard(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def similarity(text_a: str, text_b: str) -> float:
    """Exact Jaccard similarity of two texts' shingle sets."""
    return jaccard(set(shingles(text_a)), set(shingles(text_b)))


def signatures(texts: Sequence[str]) -> np.ndarray:
    """MinHash signatures (one uint32 row per text) of the texts' shingle sets."""
    from datasketch import MinHash

    sets = (shingles(t) for t in texts)
    rows = [m.hashvalues for m in MinHash.generator(sets, num_perm=NUM_PERM, seed=SEED, hashfunc=zlib.crc32)]
    return np.stack(rows) if rows else np.zeros((0, NUM_PERM), dtype=np.uint32)


def minhash(row: np.ndarray, permutations=None):
    """A datasketch MinHash holding a stored signature."""
    from datasketch import MinHash

    return MinHash(seed=SEED, hashvalues=row, permutations=permutations, scheme="affine32", hashfunc=zlib.crc32)


@dataclass
class SignatureCache:
    """Signatures by text_sha256, read from (and added to) the project's cache file."""

    path: Path | None
    rows: dict[str, np.ndarray]

    @classmethod
    def load(cls, path: Path | None) -> SignatureCache:
        if path is not None and path.is_file():
            try:
                with np.load(path, allow_pickle=False) as data:
                    keys, rows = data["keys"], data["rows"]
                if rows.shape == (len(keys), NUM_PERM) and rows.dtype == np.uint32:
                    return cls(path, dict(zip((str(k) for k in keys), rows, strict=True)))
            except (OSError, ValueError, KeyError, EOFError):
                pass  # a damaged cache is rebuilt, never trusted
        return cls(path, {})

    def of(self, digests: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """Signatures for (digest, text) pairs; the missing ones are computed and saved."""
        missing = {d: t for d, t in zip(digests, texts, strict=True) if d not in self.rows}
        if missing:
            self.rows.update(zip(missing, signatures(list(missing.values())), strict=True))
            self._save()
        if not digests:
            return np.zeros((0, NUM_PERM), dtype=np.uint32)
        return np.stack([self.rows[d] for d in digests])

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")  # two writers never share one
            with tmp.open("wb") as handle:
                np.savez(handle, keys=np.array(list(self.rows)), rows=np.stack(list(self.rows.values())))
            tmp.replace(self.path)
        except OSError:
            pass  # a cache that cannot be written costs time, not correctness


def warm_cache(cache: Path, digests: Sequence[str], texts: Sequence[str]) -> int:
    """Compute and store the signatures the cache lacks; returns how many. The build runs this in
    its helper process while it reads the exports, so its own check finds the cache warm."""
    store = SignatureCache.load(cache)
    before = len(store.rows)
    store.of(digests, texts)
    return len(store.rows) - before


@dataclass(frozen=True)
class Twin:
    article_id: str
    similarity: float


def find_twins(text: str, digest: str, corpus: Sequence[dict], cache: Path | None = None) -> list[Twin]:
    """The corpus articles (dicts with article_id, text, text_sha256) that `text` nearly
    duplicates, most similar first."""
    if not corpus:
        return []
    store = SignatureCache.load(cache)
    stored = store.of([r["text_sha256"] for r in corpus], [r["text"] for r in corpus])
    mine = store.of([digest], [text])[0]
    estimate = (stored == mine).mean(axis=1)
    own = set(shingles(text))
    twins = []
    for i in np.flatnonzero(estimate >= CANDIDATE_THRESHOLD):
        found = jaccard(own, set(shingles(corpus[i]["text"])))
        if found >= JACCARD_THRESHOLD:
            twins.append(Twin(corpus[i]["article_id"], round(found, 3)))
    return sorted(twins, key=lambda t: (-t.similarity, t.article_id))


def twin_group(twins: Sequence[Twin], records: Sequence[dict]) -> list[str]:
    """The articles a new text with these `twins` would be grouped with: its twins and, through the
    recorded `near_duplicate_of` links of earlier ingests, their twins, transitively
    (`folds.twin_groups`); sorted."""
    from builders.corpus.folds import twin_groups

    first = twins[0].article_id
    links = [(r["article_id"], r["near_duplicate_of"]) for r in records if r.get("near_duplicate_of")]
    groups = twin_groups([*((first, t.article_id) for t in twins), *links])
    return [a for a, key in groups.items() if key == groups[first]]


def near_duplicate_pairs(ids: Sequence[str], texts: Sequence[str], digests: Sequence[str], cache: Path | None = None):
    """Every pair (id_a, id_b, similarity) of near-duplicates in a corpus, id_a < id_b, sorted."""
    from datasketch import MinHashLSH

    store = SignatureCache.load(cache)
    rows = store.of(list(digests), list(texts))
    lsh = MinHashLSH(threshold=CANDIDATE_THRESHOLD, num_perm=NUM_PERM)
    permutations = minhash(rows[0]).permutations if len(rows) else None
    sketches = [minhash(row, permutations) for row in rows]
    with lsh.insertion_session() as session:
        for i, sketch in enumerate(sketches):
            session.insert(i, sketch, check_duplication=False)
    pairs = []
    for i, sketch in enumerate(sketches):
        for j in lsh.query(sketch):
            if j <= i:
                continue
            found = similarity(texts[i], texts[j])
            if found >= JACCARD_THRESHOLD:
                a, b = sorted((ids[i], ids[j]))
                pairs.append((a, b, round(found, 3)))
    return sorted(pairs)


def corpus_pairs(corpus, cache: Path | None = None) -> list[tuple[str, str, float]]:
    """`near_duplicate_pairs` of the build's corpus frame (article_id, text, text_sha256)."""
    ids, texts, digests = (corpus[c].tolist() for c in ("article_id", "text", "text_sha256"))
    return near_duplicate_pairs(ids, texts, digests, cache)


def cross_split_near_duplicates(corpus, assignments: dict[str, str], cache: Path | None = None, pairs=None):
    """Pairs of near-duplicate articles in different splits: (id_a, split_a, id_b, split_b, similarity).

    `corpus` is the build's corpus frame (article_id, text, text_sha256); articles without a
    split are left out. `pairs`: the corpus's `corpus_pairs`, when already computed."""
    found = []
    for a, b, value in corpus_pairs(corpus, cache) if pairs is None else pairs:
        split_a, split_b = assignments.get(a), assignments.get(b)
        if split_a and split_b and split_a != split_b:
            found.append((a, split_a, b, split_b, value))
    return found


def refuse_cross_split_near_duplicates(corpus, assignments: dict[str, str], cache: Path | None = None, pairs=None):
    """The build's check: a KhcError naming both articles of every near-duplicate pair split apart."""
    from builders.errors import KhcError, Problem

    pairs = cross_split_near_duplicates(corpus, assignments, cache, pairs)
    if pairs:
        raise KhcError(
            [
                Problem(
                    f"{a} ({split_a}) and {b} ({split_b}) are near-duplicates (Jaccard similarity {value:.3f}, "
                    f"threshold {JACCARD_THRESHOLD}) in different splits: the text leaks from one split into the other",
                    "corpus/splits.csv",
                    f"{a}, {b}",
                    f"put {b} into {split_a} in corpus/splits.csv (or leave the copy out of the corpus)",
                )
                for a, split_a, b, split_b, value in pairs
            ]
        )
