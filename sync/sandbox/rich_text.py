"""Comments written as HTML, as Zendesk keeps them (docs/sandbox-conformance.md, "Rich text").

A comment created with ``html_body`` keeps that HTML as its ``html_body``; its ``body`` and ``plain_body`` are the
text of it, with paragraphs, line breaks, list items and table rows on lines of their own.  An uploaded file whose
URL the HTML shows in an ``<img src>`` is an **inline** attachment (``inline: true``), which the comments list
leaves out unless asked with ``include_inline_images=true``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

__all__ = ["html_to_text", "mark_inline_images"]

_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "ul", "ol", "hr"}
)
_HIDDEN = frozenset({"script", "style", "head", "title", "template"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The plain text Zendesk derives from an ``html_body``: block elements on their own lines."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources.extend(value for name, value in attrs if name == "src" and value)


def mark_inline_images(html: str | None, attachments: list[dict[str, Any]], base: str) -> None:
    """Mark inline the attachments that ``html`` shows as images (by their ``content_url``'s token)."""
    if not html:
        return
    parser = _Images()
    parser.feed(html)
    parser.close()
    shown = " ".join(parser.sources)
    for a in attachments:
        if f"/attachments/token/{a['url_token']}/" in shown:
            a["inline"] = True
