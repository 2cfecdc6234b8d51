"""Pure text analysis behind digests: sentences, summaries, novelty and conflicts.

Nothing here touches the database or a chat SDK; every function is deterministic.

Modules: :mod:`.sentences` (splitting, self-containment), :mod:`.summarize` (extractive
multi-source summary), :mod:`.novelty` (what new coverage adds), :mod:`.conflicts`
(disagreements between statements, built on :mod:`.slots`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Statement:
    """One sentence of one article, attributed to its outlet.

    ``position`` is the sentence index in its article (0 = the lead).
    """

    text: str
    article_id: int
    outlet: str
    published: datetime
    position: int
    dated: bool = True  # False: ``published`` is only when the article was first seen


@dataclass(frozen=True, slots=True)
class ArticleText:
    """The input of the summarisers: an article's clean text and where/when it appeared."""

    id: int
    title: str
    text: str
    outlet: str
    published: datetime
    dated: bool = True


def article_statements(article: ArticleText) -> list[Statement]:
    """Every sentence of ``article`` as a :class:`Statement` (headings dropped)."""
    from bot.analysis.sentences import split_sentences

    return [
        Statement(s, article.id, article.outlet, article.published, i, article.dated)
        for i, s in enumerate(split_sentences(article.text))
    ]


__all__ = ["ArticleText", "Statement", "article_statements"]
