"""Product descriptions: Markdown written by shops, rendered to HTML and sanitised."""

from __future__ import annotations

import html

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# CommonMark without raw HTML: what a shop types is text and formatting, never markup of its own.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "h3", "h4", "a", "code"}


def render_markdown(text: str) -> Markup:
    """Safe HTML for a description: Markdown rendered, then anything outside a small allow-list removed."""
    html = _MARKDOWN.render(text or "")
    # Headings are brought down a level or two so a description never outranks the product title.
    for level, replacement in (("h1", "h3"), ("h2", "h3"), ("h5", "h4"), ("h6", "h4")):
        html = html.replace(f"<{level}>", f"<{replacement}>").replace(f"</{level}>", f"</{replacement}>")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener ugc",
    )
    return Markup(cleaned)  # noqa: S704 - sanitised just above


def plain_text(text: str, limit: int = 300) -> str:
    """The description as plain text (meta tags, JSON-LD, search snippets)."""
    return text_of(_MARKDOWN.render(text or ""), limit)


def text_of(rendered: str, limit: int = 300) -> str:
    """HTML rendered from a description (``render_markdown``'s, or Markdown's own) as plain text, at
    most ``limit`` characters: a page that shows the description reads it once for all three."""
    stripped = html.unescape(nh3.clean(str(rendered), tags=set()))
    collapsed = " ".join(stripped.split())
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1].rstrip() + "…"
