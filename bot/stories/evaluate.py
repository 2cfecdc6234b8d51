"""Clustering evaluation (BCubed) and a plain single-pass TF-IDF baseline.

BCubed (Bagga & Baldwin 1998; Amigó et al. 2009) averages, over items, the precision and recall
of the item's predicted cluster against its gold class. Items with several gold labels: two
items are a gold pair when their label sets *intersect* (an article counts as correct in any
of its labels).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bot.stories.cluster import ClusterParams, Doc, StoryClusterer
from bot.text.dates import parse_datetime


@dataclass(frozen=True, slots=True)
class BCubed:
    precision: float
    recall: float
    f1: float
    n_items: int
    n_pred_clusters: int
    n_gold_clusters: int

    def __str__(self) -> str:
        return (
            f"BCubed P={self.precision:.4f} R={self.recall:.4f} F1={self.f1:.4f} "
            f"items={self.n_items} clusters={self.n_pred_clusters} gold={self.n_gold_clusters}"
        )


def _label_set(value: str | Iterable[str]) -> frozenset[str]:
    return frozenset([value]) if isinstance(value, str) else frozenset(value)


def bcubed(pred: Mapping[str, Any], gold: Mapping[str, str | Iterable[str]]) -> BCubed:
    """BCubed precision/recall/F1 over the items present in both ``pred`` and ``gold``.

    ``pred`` maps item -> cluster id; ``gold`` maps item -> label or set of labels.
    """
    items = sorted(set(pred) & set(gold))
    if not items:
        return BCubed(0.0, 0.0, 0.0, 0, 0, 0)
    labels = [_label_set(gold[i]) for i in items]
    clusters = [pred[i] for i in items]
    n = len(items)
    gold_names = sorted({lab for s in labels for lab in s})
    if all(len(s) == 1 for s in labels):
        # contingency counts: O(n)
        g = [next(iter(s)) for s in labels]
        both = Counter(zip(clusters, g, strict=True))
        csize = Counter(clusters)
        gsize = Counter(g)
        p = sum(both[(c, lab)] / csize[c] for c, lab in zip(clusters, g, strict=True)) / n
        r = sum(both[(c, lab)] / gsize[lab] for c, lab in zip(clusters, g, strict=True)) / n
    else:
        col = {lab: j for j, lab in enumerate(gold_names)}
        member = np.zeros((n, len(gold_names)), dtype=np.float32)
        for i, s in enumerate(labels):
            member[i, [col[lab] for lab in s]] = 1.0
        same_gold = (member @ member.T) > 0
        by_cluster: dict[Any, list[int]] = defaultdict(list)
        for i, c in enumerate(clusters):
            by_cluster[c].append(i)
        gold_sizes = same_gold.sum(axis=1)
        p_sum = r_sum = 0.0
        for idx in by_cluster.values():
            sub = same_gold[np.ix_(idx, idx)].sum(axis=1)
            p_sum += float((sub / len(idx)).sum())
            r_sum += float((sub / gold_sizes[idx]).sum())
        p, r = p_sum / n, r_sum / n
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return BCubed(p, r, f1, n, len(set(clusters)), len(gold_names))


# -- data loading ------------------------------------------------------------------------------
def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def gold_labels(rows: Iterable[Mapping[str, Any]], *, multi: bool = True) -> dict[str, Any]:
    """id -> label (or the ``labels`` set when ``multi`` and present)."""
    out: dict[str, Any] = {}
    for row in rows:
        if multi and row.get("labels"):
            out[str(row["id"])] = frozenset(row["labels"])
        else:
            out[str(row["id"])] = row["label"]
    return out


def docs_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[Doc]:
    """Rows ``{"id","title","text","published"}`` -> docs (stable order as given)."""
    docs = []
    for row in rows:
        when = parse_datetime(str(row.get("published") or "")) or datetime(1970, 1, 1, tzinfo=UTC)
        docs.append(Doc(str(row["id"]), str(row.get("title") or ""), str(row["text"]), when))
    return docs


def run_clusterer(
    docs: Iterable[Doc], params: ClusterParams
) -> tuple[dict[str, int], StoryClusterer]:
    """Stream ``docs`` in order through a fresh clusterer; id -> final story key."""
    engine = StoryClusterer(params)
    assigned: dict[str, int] = {}
    for doc in docs:
        assigned[doc.key] = engine.add(doc).story_key
    return {k: engine.resolve(v) for k, v in assigned.items()}, engine


# -- baseline ----------------------------------------------------------------------------------
def baseline_single_pass(docs: list[Doc], threshold: float) -> dict[str, int]:
    """Plain single-pass TF-IDF cosine: word TF-IDF (scikit-learn, stop words, sublinear tf,
    IDF fitted on the whole stream — which favours the baseline), each doc joins the most
    similar centroid (brute force over all clusters) if cosine >= threshold, no time, no merge."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    x = vec.fit_transform([f"{d.title}\n{d.text}" for d in docs]).astype(np.float32).tocsr()
    sums = np.zeros((len(docs), x.shape[1]), dtype=np.float32)
    cents = np.zeros_like(sums)
    n_clusters = 0
    out: dict[str, int] = {}
    for i, d in enumerate(docs):
        q = x[i].toarray().ravel()
        best, best_sim = -1, -1.0
        if n_clusters:
            sims = cents[:n_clusters] @ q
            best = int(np.argmax(sims))
            best_sim = float(sims[best])
        if best < 0 or best_sim < threshold:
            best = n_clusters
            n_clusters += 1
        sums[best] += q
        cents[best] = sums[best] / (np.linalg.norm(sums[best]) or 1.0)
        out[d.key] = best
    return out
