"""Budgeted concept coverage: the statements covering the most of what is new, within a budget.

The method of the systems that did best in the NIST update-summarisation tasks (Gillick and
Favre's concept ILP; Lin and Bilmes' budgeted submodular coverage):

* **concepts** of a sentence: pairs of consecutive content terms (stemmed, stop words
  dropped, so "reservation system" and "reservations systems" are one concept), the names it
  mentions (capitalised word runs) and its typed figures (a number with the word after it:
  "64,027 acres", "20 million");
* **weight** of a concept: the number of the story's *new* articles that carry it, times
  ``1 + FOCUS`` when it holds a term of the channel's topic, times ``1 + TITLE`` when a new
  headline holds it; a concept the channel was already told, or that the story's earlier
  coverage holds, weighs ``KNOWN`` times as much (0.3: little; 0 made the update protocol
  pick peripheral details, README "Summaries"); with ``SHARED_FROM`` or more new articles a
  concept only one carries weighs ``SINGLE`` (Gillick and Favre's document threshold);
* **objective**: the summed weight of the concepts covered (each counted once, so a sentence
  repeating a chosen one gains nothing: no redundancy) plus a small modular lead prior (a
  wire story's first sentences say what happened), within a budget of words.

Two solvers of the same objective: :func:`greedy` (Lin and Bilmes 2010: add the sentence with
the best gain / cost**r that still fits, then compare with the best single sentence; the
objective is monotone submodular, so with r = 1 this is within (1 - 1/e) / 2 of the optimum —
the digest uses r = 0.3, which favours fuller sentences and scored better) and :func:`exact`
(the integer program, solved by HiGHS through ``highspy``). Measured through the product path
on the 50 DUC 2006 topics (``scripts/evaluate_summaries.py``, README "Summaries"): greedy
ROUGE-2 recall 0.0435 at 100 words / 0.0614 at 250, exact 0.0413 / 0.0597 (the optimum of the
objective is not the optimum of ROUGE, and greedy's pick order puts the most covering sentence
first, which the first 100 words reward), and in ``benchmarks/bench_digest.py`` the greedy
solver takes about 2% of the exact one's time. So the digest uses :func:`greedy`;
:func:`exact` stays as an option (``digest.selection = "exact"``) and as the reference the
tests compare greedy with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
from scipy import sparse

from bot.analysis.textvec import STOP_WORDS, content_ids, term_id, tokens

FOCUS = 1.0  # a concept holding a topic term weighs (1 + FOCUS) times more
TITLE = 0.5  # a concept in a new article's headline weighs (1 + TITLE) times more
KNOWN = 0.3  # weight factor of a concept the channel or the earlier coverage already has
LEAD = 0.5  # modular lead prior, as a share of the mean weight of a sentence's concepts
COST_POWER = 0.3  # r of gain / cost**r in greedy
SINGLE = 0.1  # weight of a concept one new article carries, when several are new
SHARED_FROM = 3  # new articles from which singleton concepts weigh SINGLE
MASK = (1 << 62) - 1

_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -](?:[A-Z][a-z]+|[A-Z]\.|of|de|van|von|al))*(?<![ -])")
_FIGURE = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\s?\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:-|\s+)([A-Za-z%]+)"
)
_SEPARATORS = re.compile(r"[,\s]")
_MULT = np.uint64(0x9E3779B97F4A7C15)


def pair_ids(rows: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Ids of consecutive term pairs inside each row (rows given flat, as ``TermRows``); the
    same ids as :func:`pair_id`."""
    if rows.size < 2:
        return np.zeros(0, np.int64)
    a, b = rows[:-1].astype(np.uint64), rows[1:].astype(np.uint64)
    ends = np.cumsum(lens)[:-1] - 1  # last index of each row but the final one
    keep = np.ones(rows.size - 1, dtype=bool)
    keep[ends[(ends >= 0) & (ends < keep.size)]] = False
    with np.errstate(over="ignore"):
        ids = (a * _MULT) ^ b
    return (ids[keep] & np.uint64(MASK)).astype(np.int64)


def pair_id(a: int, b: int) -> int:
    """The concept id of the content-term pair (a, b)."""
    return (((a * int(_MULT)) & 0xFFFFFFFFFFFFFFFF) ^ b) & MASK


def names(text: str) -> list[str]:
    """Capitalised word runs after the first word (the first is capitalised anyway), and a
    multi-word run at the start ("White House aide ...")."""
    out = []
    for m in _NAME.finditer(text):
        words = m.group(0).split(" ")
        while words and words[0].lower() in STOP_WORDS:
            words.pop(0)  # "The Census Bureau", "In Washington"
        if words and not (m.start() == 0 and len(words) == 1 and words[0] == m.group(0)):
            out.append(" ".join(words))
    return out


def figures(text: str) -> list[str]:
    """Typed figures: a number and the word after it, normalised ("150, 000" -> "150000")."""
    return [_SEPARATORS.sub("", n) + " " + w.lower() for n, w in _FIGURE.findall(text)]


@dataclass(frozen=True, slots=True)
class Concept:
    """A concept's content terms (for the topic and headline checks) and, for a name or a
    figure, its words (it is known when the known text has every one of them)."""

    terms: tuple[int, ...]
    words: tuple[int, ...] = ()


@lru_cache(maxsize=16384)
def concepts_of(text: str, terms: tuple[int, ...]) -> dict[int, Concept]:
    """The concepts of one sentence by id: its content-term pairs, names and typed figures
    (cached: a channel's digests and several channels read the same new sentences)."""
    out: dict[int, Concept] = {}
    for a, b in pairwise(terms):
        out[pair_id(a, b)] = Concept((a, b))
    for n in names(text):
        out[term_id("e:" + n.lower())] = Concept(content_ids(n), tuple(map(term_id, tokens(n))))
    for f in figures(text):
        out[term_id("n:" + f)] = Concept(content_ids(f), tuple(map(term_id, tokens(f))))
    return out


@lru_cache(maxsize=16384)
def _concept_ids(text: str, terms: tuple[int, ...]) -> np.ndarray:
    """The ids of :func:`concepts_of`, in its order, as an array (cached likewise)."""
    out = np.fromiter(concepts_of(text, terms), np.int64)
    out.flags.writeable = False
    return out


@dataclass(slots=True)
class Problem:
    """A budgeted coverage problem: sentences as concept-index lists, concept weights, costs."""

    members: list[np.ndarray]  # per sentence: indices into ``weights``
    weights: np.ndarray
    costs: np.ndarray
    priors: np.ndarray  # modular value of each sentence
    budget: int
    max_items: int
    redundant: np.ndarray | None = None  # bool matrix: the two sentences say the same thing

    def value(self, chosen: Sequence[int]) -> float:
        if not chosen:
            return 0.0
        picked = [self.members[i] for i in chosen]
        covered = np.sort(picked[0] if len(picked) == 1 else np.concatenate(picked))
        if covered.size > 1 and not (covered[1:] != covered[:-1]).all():
            covered = np.unique(covered)  # sorted and distinct, as np.unique gives
        return float(self.weights[covered].sum() + self.priors[list(chosen)].sum())


@dataclass(frozen=True, slots=True)
class Unit:
    """One sentence of a new article: text, content term ids, article, position, and whether
    it may be chosen (a candidate) or only counts as evidence for concept weights."""

    text: str
    terms: tuple[int, ...]
    article: int
    position: int
    candidate: bool


def build_problem(
    units: Sequence[Unit],
    *,
    known_pairs: np.ndarray,
    known_vocab: np.ndarray,
    focus_terms: frozenset[int],
    title_terms: Sequence[Sequence[int]],
    budget: int,
    max_items: int,
    lead: float = LEAD,
    redundant: np.ndarray | None = None,
) -> tuple[Problem, list[int]]:
    """The coverage problem of the candidate ``units`` (the others only weigh concepts), and
    the indices into ``units`` of its sentences.

    ``known_pairs`` (term-pair ids, :func:`pair_ids`) and ``known_vocab`` (sorted word ids)
    are what the channel and the earlier coverage hold; ``title_terms`` are the new
    headlines' content ids; ``redundant`` is over the candidates.
    """
    arrays = [_concept_ids(u.text, u.terms) for u in units]
    lens = np.fromiter(map(len, arrays), np.int64, len(units))
    flat = np.concatenate(arrays) if arrays else np.zeros(0, np.int64)
    unit_of = np.repeat(np.arange(len(units)), lens)
    cand = [i for i, u in enumerate(units) if u.candidate]
    is_cand = np.zeros(len(units), dtype=bool)
    is_cand[cand] = True
    concept_ids = np.unique(flat[is_cand[unit_of]])  # the candidates' concepts, sorted
    ids = concept_ids.tolist()
    articles, article_of = np.unique(
        np.fromiter((u.article for u in units), np.int64, len(units)), return_inverse=True
    )
    n_articles = int(articles.size)
    pos = np.minimum(np.searchsorted(concept_ids, flat), max(concept_ids.size - 1, 0))
    hit = concept_ids[pos] == flat if concept_ids.size else np.zeros(flat.size, dtype=bool)
    carried = np.unique(pos[hit] * max(n_articles, 1) + article_of[unit_of[hit]])
    df = np.bincount(carried // max(n_articles, 1), minlength=len(ids)).astype(np.float64)
    first = np.full(len(ids), flat.size, dtype=np.int64)  # each concept's first occurrence
    np.minimum.at(first, pos[hit], np.flatnonzero(hit))
    info: dict[int, Concept] = {}
    for c, at in zip(ids, unit_of[first].tolist(), strict=True):
        info[c] = concepts_of(units[at].text, units[at].terms)[c]
    # with several new articles, a concept only one of them carries is a detail (Gillick and
    # Favre count only the concepts several documents share)
    weights = np.where(df >= 2, df, SINGLE) if n_articles >= SHARED_FROM else df
    title_words = {t for row in title_terms for t in row}
    title_pairs = {pair_id(a, b) for row in title_terms for a, b in pairwise(row)}
    boost = np.ones(len(ids))
    known = np.zeros(len(ids), dtype=bool)
    if known_pairs.size and concept_ids.size:  # np.isin, without sorting the known pairs
        at = np.minimum(np.searchsorted(concept_ids, known_pairs), concept_ids.size - 1)
        known[at[concept_ids[at] == known_pairs]] = True
    worded: list[int] = []  # names and figures: known when the known text has all their words
    for k, c in enumerate(ids):
        concept = info[c]
        if focus_terms and focus_terms.intersection(concept.terms):
            boost[k] *= 1.0 + FOCUS
        if c in title_pairs or (concept.terms and title_words.issuperset(concept.terms)):
            boost[k] *= 1.0 + TITLE
        if concept.words:
            worded.append(k)
    if worded and known_vocab.size:
        words = np.fromiter((w for k in worded for w in info[ids[k]].words), np.int64)
        owner = np.repeat(np.asarray(worded), [len(info[ids[k]].words) for k in worded])
        pos = np.minimum(np.searchsorted(known_vocab, words), known_vocab.size - 1)
        missing = np.zeros(len(ids), dtype=bool)
        missing[owner[known_vocab[pos] != words]] = True
        known[np.asarray(worded)] |= ~missing[np.asarray(worded)]
    weights = weights * boost
    weights[known] *= KNOWN
    members = [np.searchsorted(concept_ids, arrays[i]) for i in cand]
    costs = np.array([max(1, len(units[i].text.split())) for i in cand], dtype=np.float64)
    priors = np.array(
        [
            lead * (float(weights[m].mean()) if m.size else 0.0) / np.sqrt(1.0 + units[i].position)
            for m, i in zip(members, cand, strict=True)
        ]
    )
    return Problem(members, weights, costs, priors, budget, max_items, redundant), cand


def redundant_sets(terms: Sequence[Sequence[int]], threshold: float) -> np.ndarray:
    """Which sentence pairs say the same thing: cosine of their content-term sets above
    ``threshold``."""
    sets = [sorted(set(t)) for t in terms]
    n = len(sets)
    lens = np.fromiter(map(len, sets), dtype=np.int64, count=n)
    ids = np.fromiter((x for row in sets for x in row), dtype=np.int64, count=int(lens.sum()))
    if not ids.size:
        return np.zeros((n, n), dtype=bool)
    uniq, cols = np.unique(ids, return_inverse=True)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    binary = sparse.csr_matrix((np.ones(ids.size), cols, indptr), shape=(n, uniq.size))
    shared = (binary @ binary.T).toarray()  # exact counts of shared terms
    with np.errstate(divide="ignore", invalid="ignore"):
        cosine = shared / np.sqrt((lens[:, None] * lens[None, :]).astype(np.float64))
    out = (shared > 0) & (cosine > threshold)
    np.fill_diagonal(out, False)
    return np.asarray(out)


def greedy(problem: Problem, *, power: float = COST_POWER) -> list[int]:
    """Lin-Bilmes budgeted greedy: best marginal gain / cost**power that fits, in pick order;
    the result is replaced by the best single sentence when that alone is worth more."""
    n = len(problem.members)
    if n == 0:
        return []
    covered = np.zeros(problem.weights.size, dtype=bool)
    chosen: list[int] = []
    spent = 0.0
    open_ = np.ones(n, dtype=bool)
    scale = problem.costs**power
    # each sentence's gain, recomputed only when a pick covers one of its concepts (the same
    # expression over the same arrays, so the same values as recomputing all of them)
    lens = np.fromiter(map(len, problem.members), np.int64, n)
    flat = np.concatenate(problem.members) if n else np.zeros(0, np.int64)
    owner = np.repeat(np.arange(n), lens)
    gains = np.empty(n)
    stale: Sequence[int] = range(n)
    while len(chosen) < problem.max_items:
        for i in stale:
            m = problem.members[i]
            gains[i] = problem.weights[m[~covered[m]]].sum() + problem.priors[i]
        gains[~open_] = -1.0
        fits = open_ & (spent + problem.costs <= problem.budget) & (gains > 0)
        if not fits.any():
            break
        ratio = np.where(fits, gains / scale, -np.inf)
        best = int(np.argmax(ratio))
        chosen.append(best)
        spent += problem.costs[best]
        fresh = np.zeros(problem.weights.size, dtype=bool)
        fresh[problem.members[best]] = ~covered[problem.members[best]]
        covered[problem.members[best]] = True
        open_[best] = False
        if problem.redundant is not None:
            open_ &= ~problem.redundant[best]
        touched = np.zeros(n, dtype=bool)
        touched[owner[fresh[flat]]] = True
        stale = np.flatnonzero(touched & open_).tolist()
    singles = [i for i in range(n) if problem.costs[i] <= problem.budget]
    if singles:
        top = max(singles, key=lambda i: (problem.value([i]), -i))
        if problem.value([top]) > problem.value(chosen):
            return [top]
    return chosen


def exact(problem: Problem, *, time_limit: float = 10.0) -> list[int]:
    """The optimum of the same objective: the integer program
    max sum w_c y_c + sum p_s x_s  s.t.  sum cost_s x_s <= budget,  sum x_s <= max_items,
    y_c <= sum_{s covers c} x_s,  x, y binary — solved by HiGHS. Chosen sentences are returned
    by decreasing value of their own."""
    import highspy

    n, m = len(problem.members), problem.weights.size
    if n == 0:
        return []
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", time_limit)
    x = h.addBinaries(n)
    y = h.addBinaries(m)
    h.addConstr(sum(float(problem.costs[i]) * x[i] for i in range(n)) <= float(problem.budget))
    h.addConstr(sum(x[i] for i in range(n)) <= float(problem.max_items))  # type: ignore[arg-type]
    holders: list[list[int]] = [[] for _ in range(m)]
    for i, mem in enumerate(problem.members):
        for c in mem.tolist():
            holders[c].append(i)
    if problem.redundant is not None:
        for i, j in zip(*np.nonzero(np.triu(problem.redundant, 1)), strict=True):
            h.addConstr(x[int(i)] + x[int(j)] <= 1)
    for c in range(m):
        if problem.weights[c] > 0:
            h.addConstr(y[c] - sum(x[i] for i in holders[c]) <= 0)
    h.maximize(
        sum(float(problem.weights[c]) * y[c] for c in range(m) if problem.weights[c] > 0)
        + sum(float(problem.priors[i]) * x[i] for i in range(n))
    )
    values = h.getSolution().col_value[:n]
    chosen = [i for i in range(n) if values[i] > 0.5]
    return sorted(chosen, key=lambda i: (-problem.value([i]), i))


Solver = Callable[[Problem], list[int]]
SOLVERS: dict[str, Solver] = {"greedy": greedy, "exact": exact}

__all__ = [
    "COST_POWER",
    "FOCUS",
    "KNOWN",
    "LEAD",
    "SOLVERS",
    "TITLE",
    "Concept",
    "Problem",
    "Unit",
    "build_problem",
    "concepts_of",
    "exact",
    "figures",
    "greedy",
    "names",
    "pair_id",
    "pair_ids",
    "redundant_sets",
]
