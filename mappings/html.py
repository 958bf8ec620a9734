"""The HTML of a Zendesk comment, made safe for the console (docs/design.md §8, "Messages as staff wrote them").

A comment's ``html_body`` is whatever staff's rich editor, an email client or an API caller produced, so it is
sanitized with an **allow-list** (nh3, the binding of the Ammonia sanitizer, which parses like a browser — html5ever —
before filtering, so malformed and nested markup cannot smuggle anything through):

* kept: paragraphs, line breaks, emphasis, lists, code and preformatted text, blockquotes, tables, headings,
  horizontal rules; links whose URL is absolute ``http``, ``https`` or ``mailto``; images **only** of the
  message's own inline attachments, whose ``src`` becomes ``attachment:<AttachmentRef.id>``;
* dropped with their content: ``script``, ``style``, ``template``, ``iframe``, ``object``, ``noscript``…;
* dropped, content kept: every other tag (``form``, ``div``, ``span``, ``font``…), every other attribute
  (event handlers, ``style``, ``class``, ``id``…), comments;
* never kept: a URL on a Zendesk host (the help desk's own, ``*.zendesk.com``, Zendesk's attachment and asset
  hosts), which would reveal the help desk and may carry an attachment token — a link to one keeps its text only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import nh3

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "ATTACHMENT_SCHEME",
    "LINK_SCHEMES",
    "attachment_token",
    "is_zendesk_host",
    "sanitize_comment_html",
]

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "br", "hr",
        "b", "strong", "i", "em", "u", "s", "strike", "del", "ins", "sub", "sup", "mark", "small",
        "ul", "ol", "li", "dl", "dt", "dd",
        "code", "pre", "kbd", "samp", "blockquote", "q",
        "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "col",
        "h1", "h2", "h3", "h4", "h5", "h6",
        "a", "img",
    }
)  # fmt: skip

ALLOWED_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan", "scope"}),
    "ol": frozenset({"start"}),
}

#: The URL schemes a link may have.
LINK_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})

#: The scheme of an inline image's ``src`` in ``Message.html``: ``attachment:<AttachmentRef.id>``.
ATTACHMENT_SCHEME = "attachment"

# Dropped together with everything inside them.
_CLEAN_CONTENT = frozenset(
    {"script", "style", "template", "iframe", "object", "embed", "noscript", "svg", "math", "textarea", "select",
     "title", "frame", "frameset", "noembed", "noframes", "xmp", "plaintext", "applet"}
)  # fmt: skip
_ZENDESK_DOMAINS = ("zendesk.com", "zdusercontent.com", "zdassets.com", "zopim.com", "zendesk-staging.com")
_TOKEN = re.compile(r"/attachments/token/([A-Za-z0-9_-]+)")
_IMG_WITHOUT_SRC = re.compile(r"""<img\b(?![^>]*\ssrc=)(?:[^>"']|"[^"]*"|'[^']*')*>""")


def is_zendesk_host(host: str, zendesk_host: str | None = None) -> bool:
    """Whether ``host`` (``name[:port]``) is the help desk's own or any of Zendesk's."""
    name = host.lower().rsplit("@", 1)[-1]
    if zendesk_host and name == zendesk_host.lower():
        return True
    name = name.split(":", 1)[0]
    return any(name == d or name.endswith("." + d) for d in _ZENDESK_DOMAINS)


_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,}(?::\d+)?")


def _names_zendesk(text: str, zendesk_host: str | None) -> bool:
    if zendesk_host and zendesk_host.lower() in text.lower():
        return True
    return any(is_zendesk_host(m.group(0), zendesk_host) for m in _HOSTNAME.finditer(text))


def attachment_token(url: str) -> str | None:
    """The token of a Zendesk attachment URL (``…/attachments/token/<token>/?name=…``), else ``None``."""
    match = _TOKEN.search(url)
    return match.group(1) if match else None


def sanitize_comment_html(
    html: str,
    *,
    inline_images: Mapping[str, str] | None = None,
    zendesk_host: str | None = None,
) -> str:
    """``html`` reduced to the allow-list above.

    ``inline_images`` maps each inline attachment of **this** comment — by its Zendesk URL
    (``content_url``/``mapped_content_url``) or by that URL's token — to its console ``AttachmentRef.id``; an
    ``<img>`` whose ``src`` is none of them is removed.  ``zendesk_host`` is the help desk's ``host[:port]``.
    """
    images = dict(inline_images or {})

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            token = attachment_token(value)
            found = images.get(value) or (images.get(token) if token else None)
            return f"{ATTACHMENT_SCHEME}:{found}" if found else None
        if tag == "a" and attribute == "href":
            parts = urlsplit(value.strip())
            if parts.scheme.lower() not in LINK_SCHEMES:
                return None  # relative: a page of the help desk itself
            if parts.scheme.lower() != "mailto" and (not parts.netloc or is_zendesk_host(parts.netloc, zendesk_host)):
                return None
            if parts.scheme.lower() == "mailto" and is_zendesk_host(parts.path.rsplit("@", 1)[-1], zendesk_host):
                return None
            return value
        if _names_zendesk(value, zendesk_host):
            return None  # a title or alt text quoting the help desk's address
        return value

    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_CLEAN_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=keep,
        url_schemes=set(LINK_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return _IMG_WITHOUT_SRC.sub("", cleaned).strip()
