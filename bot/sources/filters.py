"""Per-feed item filters: a topic/boolean query (:mod:`bot.queries.language`) an item must match.

A feed added with a filter (``/news sources add <url> filter="ukraine AND (talks OR truce)"``,
or ``filter = "..."`` in a ``[[feeds]]`` table) stores only the items that match it; the
others are skipped by the poller before ingest, so they never reach stories or digests.

The language and its meaning are the topics': free text (``ukraine russia talks``) needs at
least half of its terms; a boolean query (``AND``/``OR``/``NOT``, parentheses, "phrases") is
evaluated as written, and may be only a negation (``NOT sport``). Words are matched in the
item's title and text (HTML reduced to text) with the search index's stemming and folding.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from bot.errors import UserError
from bot.models import RawArticle
from bot.queries.language import And, Node, Not, Or, Query, Term, parse_query
from bot.storage.textmatch import TextMatcher
from bot.text.html import html_to_text

MAX_FILTER_CHARS = 500


@functools.cache
def _shared_matcher() -> TextMatcher:
    return TextMatcher()


def _all_terms(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return _all_terms(node.child)
    return [t for child in node.children for t in _all_terms(child)]


@dataclass(frozen=True, slots=True)
class ItemFilter:
    query: Query

    @property
    def text(self) -> str:
        return self.query.text

    @classmethod
    def parse(cls, text: str) -> ItemFilter:
        """The filter ``text`` means; :class:`UserError` naming the filter when it is malformed."""
        text = " ".join(text.split())
        if len(text) > MAX_FILTER_CHARS:
            raise UserError(f"filter: longer than {MAX_FILTER_CHARS} characters")
        try:
            return cls(parse_query(text))
        except UserError as exc:
            raise UserError(f"filter {text!r}: {exc}") from None

    def matches(self, title: str, text: str) -> bool:
        terms = list(dict.fromkeys(_all_terms(self.query.root)))
        found = dict(
            zip(
                terms,
                _shared_matcher().matching([t.words for t in terms], title, text),
                strict=True,
            )
        )
        if not self.query.boolean:
            need = max(1, math.ceil(len(terms) / 2))
            return sum(found.values()) >= need
        return _evaluate(self.query.root, found)

    def matches_item(self, raw: RawArticle) -> bool:
        text = html_to_text(raw.text) if raw.is_html else raw.text
        return self.matches(raw.title or "", text or "")


def _evaluate(node: Node, found: dict[Term, bool]) -> bool:
    if isinstance(node, Term):
        return found[node]
    if isinstance(node, Not):
        return not _evaluate(node.child, found)
    if isinstance(node, And):
        return all(_evaluate(child, found) for child in node.children)
    assert isinstance(node, Or)
    return any(_evaluate(child, found) for child in node.children)
