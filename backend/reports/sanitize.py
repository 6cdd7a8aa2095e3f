"""Staff-written text: plain fields trimmed, rich answers sanitised, and answers as chat text.

Why nh3: it binds ammonia (Rust), an allow-list sanitiser that parses with html5ever, the
same HTML5 algorithm browsers use, so malformed or nested tricks are read the way a browser
would read them before anything is kept. bleach, the usual alternative, is deprecated, and a
hand-written filter over regexes or `html.parser` is the classic source of XSS holes. The
allow-list below is small on purpose: what an answer to a citizen needs and nothing that runs.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import nh3

from backend.errors import DomainError

ALLOWED_TAGS = frozenset(
    {"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "a", "blockquote", "h3", "h4"}
)
_DROPPED_WITH_CONTENT = frozenset({"script", "style"})
_LINK_SCHEMES = frozenset({"http", "https", "mailto"})
_LOOKS_LIKE_HTML = re.compile(r"</?[A-Za-z!]")


def clean_text(raw: str | None, *, limit: int, what: str) -> str | None:
    """Trimmed text without NUL characters (PostgreSQL refuses them); None when blank.

    Too long → DomainError naming the field (`what`, Vietnamese) for the console.
    """
    text = (raw or "").replace("\x00", "").strip()
    if len(text) > limit:
        raise DomainError(f"{what} dài quá {limit} ký tự.")
    return text or None


def clean_answer(raw: str, *, limit: int) -> str | None:
    """A drafted answer as sanitised HTML, or None when nothing readable is left."""
    if len(raw) > limit:
        raise DomainError(f"Nội dung trả lời dài quá {limit} ký tự.")
    cleaned = clean_html(raw.replace("\x00", ""))
    return cleaned if to_plain_text(cleaned) else None


def clean_html(text: str) -> str:
    """Sanitised HTML. Text without any tag (a plain textarea) becomes paragraphs first."""
    if not _LOOKS_LIKE_HTML.search(text):
        text = _paragraphs(text)
    cleaned = nh3.clean(
        text,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={"a": {"href"}},
        url_schemes=set(_LINK_SCHEMES),
        url_relative="deny",
        link_rel="noopener",
        strip_comments=True,
    )
    return cleaned.strip()


def _paragraphs(text: str) -> str:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))]
    return "".join(
        "<p>" + html.escape(block).replace("\n", "<br>") + "</p>" for block in blocks if block
    )


def to_plain_text(markup: str) -> str:
    """Text for chat and SMS: blocks and <br> become newlines, list items "- ", entities decoded.

    A link keeps its address after its words, since a chat cannot show the anchor.
    """
    parser = _PlainText()
    parser.feed(markup)
    parser.close()
    lines = [re.sub(r"[ \t]{2,}", " ", line).strip() for line in "".join(parser.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_BLOCKS = frozenset({"p", "div", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol"})


class _PlainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._href: str | None = None
        self._link_text: list[str] = []
        self._skip = 0  # inside <script>/<style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self._skip += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self._newline()
            self.out.append("- ")
        elif tag in _BLOCKS:
            self._newline()
        elif tag == "a":
            self._href = dict(attrs).get("href")
            self._link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS or tag == "li":
            self._newline()
        elif tag == "a" and self._href:
            words = "".join(self._link_text).strip()
            if self._href.removeprefix("mailto:") not in words:
                self.out.append(f" ({self._href.removeprefix('mailto:')})")
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        text = re.sub(r"\s+", " ", data)
        if not text.strip() and (not self.out or self.out[-1].endswith("\n")):
            return  # whitespace between blocks is not text
        if self._href is not None:
            self._link_text.append(text)
        self.out.append(text)

    def _newline(self) -> None:
        if self.out and not self.out[-1].endswith("\n"):
            self.out.append("\n")
