"""Topic/search query language: free text, boolean operators, phrases; safe FTS5 output."""

from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.queries.language import And, Or, Term, parse_query, to_fts5


def test_free_text_is_an_or_of_terms_ranked_by_relevance() -> None:
    q = parse_query("trump putin ukraine talks")
    assert not q.boolean
    assert to_fts5(q) == '("trump" OR "putin" OR "ukraine" OR "talks")'


def test_boolean_operators_and_parentheses() -> None:
    q = parse_query("ukraine AND (trump OR putin)")
    assert q.boolean
    assert q.root == And((Term(("ukraine",)), Or((Term(("trump",)), Term(("putin",))))))
    assert to_fts5(q) == '("ukraine" AND ("trump" OR "putin"))'


def test_quoted_phrase_and_not() -> None:
    q = parse_query('"peace talks" NOT gaza')
    assert to_fts5(q) == '("peace talks" NOT "gaza")'
    assert [t.words for t in q.terms()] == [("peace", "talks")]


def test_user_text_cannot_inject_fts5_syntax() -> None:
    q = parse_query("NEAR(a b) col:x* ^start")
    rendered = to_fts5(q)
    assert "NEAR(" not in rendered and "*" not in rendered and ":" not in rendered


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no words"),
        ("ukraine AND", "ends where a word was expected"),
        ("(trump OR putin", "not closed"),
        ("NOT gaza", "only NOT"),
    ],
)
def test_bad_queries_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        to_fts5(parse_query(text))


def test_punctuation_in_free_text_is_read_as_words() -> None:
    q = parse_query('Israel / Mossad "The Cyprus Affair"')
    assert not q.boolean
    assert [t.words for t in q.terms()] == [("israel",), ("mossad",), ("the", "cyprus", "affair")]
    assert [t.words for t in parse_query("ADD/ADHD diagnosis -- treatment").terms()] == [
        ("add",),
        ("adhd",),
        ("diagnosis",),
        ("treatment",),
    ]


def test_free_text_of_punctuation_only_is_refused() -> None:
    with pytest.raises(UserError, match="no words"):
        parse_query("-- / !")


def test_a_boolean_query_still_reads_a_dotted_word_as_its_words_in_a_row() -> None:
    q = parse_query("U.S. AND trade")
    assert q.root == And((Term(("u", "s")), Term(("trade",))))


def test_parentheses_without_an_operator_are_punctuation_of_free_text() -> None:
    q = parse_query("What are signs of obsessive-compulsive disorder (OCD)?")
    assert not q.boolean
    assert q.terms()[-1].words == ("ocd",)


def test_a_punctuation_word_in_a_boolean_query_is_no_term() -> None:
    q = parse_query("ukraine AND - talks")
    assert q.root == And((Term(("ukraine",)), Term(("talks",))))
