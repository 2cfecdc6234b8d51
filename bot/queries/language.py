"""Topic and search queries: free text, ``AND``/``OR``/``NOT``, parentheses, "quoted phrases".

One parser serves search (translated to SQLite FTS5) and topics (evaluated in memory against a
story's terms). Bad syntax raises :class:`UserError` with a one-line reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import UserError

_TOKEN_RE = re.compile(r'\s*(?:(\()|(\))|"([^"]*)"|([^\s()"]+))')
_OPS = {"AND", "OR", "NOT"}
_WORD_RE = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Term:
    words: tuple[str, ...]  # one word, or a phrase

    @property
    def phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or


@dataclass(frozen=True, slots=True)
class Query:
    root: Node
    boolean: bool  # True when the user wrote operators; False for plain free text
    text: str

    def terms(self) -> list[Term]:
        out: list[Term] = []

        def walk(node: Node) -> None:
            if isinstance(node, Term):
                out.append(node)
            elif isinstance(node, Not):
                pass  # negated terms are not what a topic is "about"
            else:
                for child in node.children:
                    walk(child)

        walk(self.root)
        return out


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise UserError(f"cannot read the query near {text[pos : pos + 20]!r}")
        pos = m.end()
        if m.group(1):
            out.append(("(", "("))
        elif m.group(2):
            out.append((")", ")"))
        elif m.group(3) is not None:
            out.append(("phrase", m.group(3)))
        elif m.group(4):
            word = m.group(4)
            out.append(("op", word) if word in _OPS else ("word", word))
    return out


def parse_query(text: str) -> Query:
    """Parse ``text``; plain words without operators are an OR of terms (ranked by relevance).

    Only ``AND``/``OR``/``NOT``, parentheses (with an operator) and quotes are syntax. In free
    text (no operator) punctuation, parentheses included, separates words: ``Israel / Mossad``
    is two words, ``ADD/ADHD`` is ``add`` and ``adhd``, ``(OCD)?`` is ``ocd``."""
    tokens = _tokens(text)
    if not any(kind == "word" or kind == "phrase" for kind, _ in tokens):
        raise UserError("the query has no words to look for")
    boolean = any(kind == "op" for kind, _ in tokens)
    if boolean:  # a word of punctuation only ("-", "?") is no term
        tokens = [(k, v) for k, v in tokens if k != "word" or _WORD_RE.search(v)]
    else:  # free text: punctuation (parentheses too) separates words; only quotes are syntax
        tokens = [
            ("word", w) if kind == "word" else (kind, value)
            for kind, value in tokens
            if kind not in ("(", ")")
            for w in (_WORD_RE.findall(value) if kind == "word" else [value])
        ]
        tokens = [(k, v) for k, v in tokens if k != "phrase" or _WORD_RE.search(v)]
        if not tokens:
            raise UserError("the query has no words to look for")
    parser = _Parser(tokens, implicit_or=not boolean)
    root = parser.parse()
    return Query(root=root, boolean=boolean, text=text.strip())


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], *, implicit_or: bool) -> None:
        self.tokens = tokens
        self.pos = 0
        self.implicit_or = implicit_or

    def parse(self) -> Node:
        node = self._or()
        if self.pos != len(self.tokens):
            raise UserError(f"unexpected {self.tokens[self.pos][1]!r} in the query")
        return node

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _or(self) -> Node:
        children = [self._and()]
        while (tok := self._peek()) and tok == ("op", "OR"):
            self.pos += 1
            children.append(self._and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def _and(self) -> Node:
        children = [self._not()]
        while (tok := self._peek()) and tok[0] != ")" and tok != ("op", "OR"):
            if tok == ("op", "AND"):
                self.pos += 1
            children.append(self._not())
        if len(children) == 1:
            return children[0]
        return Or(tuple(children)) if self.implicit_or else And(tuple(children))

    def _not(self) -> Node:
        tok = self._peek()
        if tok == ("op", "NOT"):
            self.pos += 1
            return Not(self._not())
        return self._atom()

    def _atom(self) -> Node:
        tok = self._peek()
        if tok is None:
            raise UserError(
                "the query ends where a word was expected: put a word after AND, OR or NOT "
                '(e.g. ukraine AND putin), or quote an operator to search for it ("and")'
            )
        kind, value = tok
        self.pos += 1
        if kind == "(":
            node = self._or()
            if self._peek() != (")", ")"):
                raise UserError("a '(' in the query is not closed")
            self.pos += 1
            return node
        if kind in ("word", "phrase"):
            words = tuple(w.casefold() for w in _WORD_RE.findall(value))
            if not words:
                raise UserError(f"{value!r} has no letters or digits")
            return Term(words)
        raise UserError(f"unexpected {value!r} in the query")


def to_fts5(query: Query) -> str:
    """The query in FTS5 syntax: every word quoted, so user text can never inject syntax."""

    def render(node: Node) -> str:
        if isinstance(node, Term):
            return '"' + " ".join(node.words) + '"'
        if isinstance(node, Not):
            return f"NOT {render(node.child)}"
        joiner = " AND " if isinstance(node, And) else " OR "
        parts: list[str] = []
        for child in node.children:
            if isinstance(child, Not) and isinstance(node, And) and parts:
                parts[-1] = f"{parts[-1]} NOT {render(child.child)}"
                continue
            parts.append(render(child))
        return "(" + joiner.join(parts) + ")"

    root = query.root
    if isinstance(root, Not):
        raise UserError("a query cannot be only NOT ...")
    return render(root)
