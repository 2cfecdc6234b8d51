"""HTML fragments (feed ``content:encoded``, summaries, saved pages) to plain text.

Parsing is lexbor's (selectolax), an HTML5 parser that recovers from any malformed input the
way browsers do and decodes entities. The tree is then walked without recursion, so deep
nesting cannot exhaust the Python stack: block elements and ``<br>`` become line breaks,
table cells are separated by spaces, and elements that are not article text (scripts,
styles, navigation, asides, figures with their captions, forms, embedded media) are skipped.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.text.article_text import normalize_text

MAX_HTML_CHARS = 2_000_000
MAX_DEPTH = 256

SKIPPED_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "nav", "aside", "figure", "figcaption",
        "iframe", "svg", "math", "canvas", "video", "audio", "object", "embed", "form",
        "button", "select", "textarea", "head", "title", "meta", "link",
    }
)  # fmt: skip
BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "blockquote", "pre",
        "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "table",
        "thead", "tbody", "tfoot", "tr", "caption", "hr", "address", "details", "summary",
        "fieldset", "center", "body", "html",
    }
)  # fmt: skip
CELL_TAGS = frozenset({"td", "th"})

# Elements that never nest: void ones, and ones whose end tag is implied by the next sibling.
FLAT_TAGS = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb",
        "rt", "rp", "thead", "tbody", "tfoot", "colgroup", "html", "head", "body",
    }
)  # fmt: skip

_LINE_BREAK = "\n"
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]{0,40})\b[^<>]{0,2000}?(/?)>")
_INLINE_SPACE_RE = re.compile(r"\s+")
_LOOKS_LIKE_HTML_RE = re.compile(r"<[A-Za-z!/?]|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]{2,8});")


def _pieces(root: LexborNode) -> list[str]:
    """Text pieces in document order; ``_LINE_BREAK`` marks block boundaries."""
    out: list[str] = []
    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        tag = node.tag or ""
        if closing:
            out.append(_LINE_BREAK if tag in BLOCK_TAGS else " ")
            continue
        if tag == "-text":
            out.append(_INLINE_SPACE_RE.sub(" ", node.text_content or ""))
            continue
        if tag.startswith("-") or tag in SKIPPED_TAGS:
            continue  # comments, doctype, and elements that are not article text
        if tag == "br":
            out.append(_LINE_BREAK)
            continue
        if tag in BLOCK_TAGS or tag in CELL_TAGS:
            out.append(_LINE_BREAK if tag in BLOCK_TAGS else " ")
            stack.append((node, True))
        children = list(node.iter(include_text=True))
        stack.extend((child, False) for child in reversed(children))
    return out


def limit_depth(html: str, max_depth: int = MAX_DEPTH) -> str:
    """Drop the tags nested deeper than ``max_depth`` (their text stays).

    HTML5 tree building costs time proportional to the nesting depth for each block
    element, so a hostile ``<div>`` a hundred thousand levels deep would take minutes;
    real pages are a few dozen levels deep. The nesting is estimated from the tag sequence.
    """
    if html.count("<") <= max_depth:
        return html
    stack: list[str] = []
    open_count: dict[str, int] = {}

    def visit(match: re.Match[str]) -> str:
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if name in FLAT_TAGS or self_closing:
            return match.group(0)
        if not closing:
            if len(stack) >= max_depth:
                return " "
            stack.append(name)
            open_count[name] = open_count.get(name, 0) + 1
            return match.group(0)
        if not open_count.get(name):
            return " "
        while stack:
            top = stack.pop()
            open_count[top] -= 1
            if top == name:
                break
        return match.group(0)

    return _TAG_RE.sub(visit, html)


def html_to_text(html: str, max_chars: int = MAX_HTML_CHARS) -> str:
    """Readable text of an HTML fragment or page: one block a line, entities decoded.

    Input longer than ``max_chars`` is cut first and nesting deeper than ``MAX_DEPTH`` is
    flattened, so hostile input costs bounded time. Text
    without markup or entities is only whitespace-normalised.
    """
    if not html:
        return ""
    html = html[:max_chars]
    if not _LOOKS_LIKE_HTML_RE.search(html):
        return _join_lines(normalize_text(html).split("\n"))
    tree = LexborHTMLParser(limit_depth(html))
    root = tree.root
    if root is None:
        return ""
    text = "".join(_pieces(root))
    return _join_lines(normalize_text(text).split("\n"))


def _join_lines(lines: list[str]) -> str:
    return "\n".join(line for line in lines if line)
