"""Budgeted concept coverage: concepts, weights, and the greedy and exact solvers."""

from __future__ import annotations

import numpy as np
import pytest

from bot.analysis.coverage import (
    FOCUS,
    KNOWN,
    Problem,
    Unit,
    build_problem,
    concepts_of,
    exact,
    figures,
    greedy,
    names,
    pair_id,
    pair_ids,
    redundant_sets,
)
from bot.analysis.textvec import content_ids, term_id, tokens

EMPTY = np.zeros(0, np.int64)


def unit(text: str, article: int, position: int = 0, candidate: bool = True) -> Unit:
    return Unit(text, content_ids(text), article, position, candidate)


def problem(units: list[Unit], **kw: object) -> Problem:
    args: dict[str, object] = dict(known_pairs=EMPTY, known_vocab=EMPTY, focus_terms=frozenset(),
                                   title_terms=[], budget=100, max_items=5)  # fmt: skip
    args.update(kw)
    built, _ = build_problem(units, **args)  # type: ignore[arg-type]
    return built


def test_concepts_are_term_pairs_names_and_typed_figures() -> None:
    text = "The Census Bureau counted 64,027 acres of the Cayuga reservation."
    assert "Census Bureau" in names(text) and "Cayuga" in names(text)
    assert figures(text) == ["64027 acres"]
    assert figures("It cost 150, 000 dollars") == figures("It cost 150,000 dollars")
    found = concepts_of(text, content_ids(text))
    terms = content_ids(text)
    assert pair_id(terms[0], terms[1]) in found
    # the vectorised pair ids are the same ids, and never pair the end of one row with the next
    rows = np.asarray(terms + terms, dtype=np.int64)
    ids = pair_ids(rows, np.array([len(terms), len(terms)]))
    assert ids.size == 2 * (len(terms) - 1)
    assert set(ids.tolist()) == {c for c in found if c in set(ids.tolist())}


def test_a_concept_weighs_the_number_of_new_articles_carrying_it() -> None:
    units = [
        unit("Rebels seized the northern airport on Monday.", 1),
        unit("Rebels seized the northern airport, witnesses said.", 2),
        unit("A storm closed schools in the capital.", 3),
    ]
    p = problem(units)
    pair = p.members[0]
    assert p.weights[pair].max() == 2.0  # "rebel seize", "northern airport": two articles
    assert p.weights[p.members[2]].max() < 1.0  # only one of three articles: a detail


def test_concepts_the_channel_was_told_weigh_little() -> None:
    told = "Rebels seized the northern airport on Monday."
    rows = np.asarray(content_ids(told), dtype=np.int64)
    known = pair_ids(rows, np.array([rows.size]))
    units = [unit("Rebels seized the northern airport on Monday.", 1),
             unit("Rebels seized the northern airport on Monday.", 2),
             unit("Aid convoys reached the flooded southern towns.", 1)]  # fmt: skip
    vocab = np.unique(np.fromiter(map(term_id, tokens(told)), np.int64))
    p = problem(units, known_pairs=known, known_vocab=vocab, budget=8, max_items=1)
    fresh = problem(units, budget=8, max_items=1)
    assert KNOWN < 0.5
    assert p.weights[p.members[0]] == pytest.approx(KNOWN * fresh.weights[fresh.members[0]])
    assert p.weights[p.members[2]] == pytest.approx(fresh.weights[fresh.members[2]])
    assert greedy(p) == [2] and exact(p) == [2]


def test_query_focus_multiplies_the_weight_of_topic_concepts() -> None:
    units = [unit("Aid convoys reached the flooded towns.", 1),
             unit("Rebels seized the northern airport.", 1)]  # fmt: skip
    plain = problem(units)
    focused = problem(units, focus_terms=frozenset(content_ids("airport")))
    assert focused.weights[focused.members[1]].max() == pytest.approx(
        (1 + FOCUS) * plain.weights[plain.members[1]].max()
    )
    assert focused.weights[focused.members[0]].max() == plain.weights[plain.members[0]].max()


def random_problem(seed: int) -> Problem:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(4, 12)), int(rng.integers(5, 30))
    members = [np.unique(rng.integers(0, m, size=int(rng.integers(1, 6)))) for _ in range(n)]
    red = np.zeros((n, n), dtype=bool)
    a, b = int(rng.integers(0, n)), int(rng.integers(0, n))
    if a != b:
        red[a, b] = red[b, a] = True
    return Problem(members, rng.random(m) * 3, rng.integers(5, 30, size=n).astype(float),
                   rng.random(n) * 0.2, int(rng.integers(20, 60)), 4, red)  # fmt: skip


@pytest.mark.parametrize("seed", range(30))
def test_greedy_stays_within_the_budget_and_close_to_the_exact_optimum(seed: int) -> None:
    p = random_problem(seed)
    g, x = greedy(p), exact(p)
    for chosen in (g, x):
        assert p.costs[chosen].sum() <= p.budget and len(chosen) <= p.max_items
        assert not any(p.redundant[i, j] for i in chosen for j in chosen)  # type: ignore[index]
    assert p.value(x) >= p.value(g) - 1e-9
    # Lin and Bilmes: with r = 1, only the budget and the singleton check, greedy is within
    # (1 - 1/e) / 2 of the optimum
    p.redundant, p.max_items = None, len(p.members)
    g, x = greedy(p, power=1.0), exact(p)
    assert p.value(g) >= 0.5 * (1 - np.exp(-1)) * p.value(x) - 1e-9


def test_no_candidates_no_selection() -> None:
    p = Problem([], np.zeros(0), np.zeros(0), np.zeros(0), 100, 3)
    assert greedy(p) == [] and exact(p) == []


def test_tfidf_of_term_rows_is_bit_identical_to_sklearns_transformer() -> None:
    """The digest's TF-IDF (no per-call validation) gives exactly what
    ``TfidfTransformer(sublinear_tf=True)`` gives, so selection is unchanged."""
    import random

    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfTransformer

    from bot.analysis.textvec import TermRows, tfidf_ids

    rng = random.Random(3)
    for _ in range(300):
        rows = [
            [rng.randint(0, 60) for _ in range(rng.randint(0, 30))]
            for _ in range(rng.randint(1, 40))
        ]
        terms = TermRows.from_rows(rows)
        if not terms.ids.size:
            continue
        uniq, cols = np.unique(terms.ids, return_inverse=True)
        indptr = np.concatenate([[0], np.cumsum(terms.lens)])
        counts = sparse.csr_matrix(
            (np.ones(terms.ids.size), cols, indptr), shape=(len(rows), uniq.size)
        )
        counts.sum_duplicates()
        want = sparse.csr_matrix(TfidfTransformer(sublinear_tf=True).fit_transform(counts))
        got = tfidf_ids(terms)
        assert np.array_equal(got.indptr, want.indptr)
        assert np.array_equal(got.indices, want.indices)
        assert np.array_equal(got.data, want.data)


def test_redundant_pairs_and_values_match_their_definitions() -> None:
    """Redundant pairs are those whose term-set cosine exceeds the threshold; a set of
    sentences is worth the weights of the distinct concepts it covers plus its priors."""
    import random

    rng = random.Random(1)
    for _ in range(500):
        terms = [
            [rng.randint(0, 15) for _ in range(rng.randint(0, 8))]
            for _ in range(rng.randint(0, 12))
        ]
        sets = [set(t) for t in terms]
        want = np.array(
            [
                [
                    i != j and bool(a) and bool(b) and len(a & b) / np.sqrt(len(a) * len(b)) > 0.5
                    for j, b in enumerate(sets)
                ]
                for i, a in enumerate(sets)
            ],
            dtype=bool,
        ).reshape(len(sets), len(sets))
        assert np.array_equal(redundant_sets(terms, 0.5), want)
        m = 20
        members = [
            np.array(rng.sample(range(m), rng.randint(0, m)), dtype=np.int64) for _ in range(5)
        ]
        weights, priors = (
            np.array([rng.random() for _ in range(m)]),
            np.array([rng.random() for _ in range(5)]),
        )
        problem = Problem(members, weights, np.ones(5), priors, 10, 3)
        chosen = rng.sample(range(5), rng.randint(1, 5))
        covered = np.unique(np.concatenate([members[i] for i in chosen]))
        assert problem.value(chosen) == float(weights[covered].sum() + priors[chosen].sum())
