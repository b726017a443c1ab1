"""HTML mail -> readable plain text (paragraphs, line breaks, lists, link targets), with the standard library's
tokenizer only: scripts, styles and head content are dropped, entities decoded.  Imports only the standard library."""
from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = {"p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol", "blockquote", "h1", "h2",
          "h3", "h4", "h5", "h6", "pre", "address", "center", "form", "fieldset", "dl", "dt", "dd", "hr"}
_SKIP = {"script", "style", "head", "title", "template", "noscript", "svg", "object", "iframe"}
_VOID = {"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base", "source"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.pre = 0
        self.quote = 0
        self.href: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip += 1
            return
        if tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag in _BLOCK:
            self.out.append("\n\n" if tag in ("p", "h1", "h2", "h3", "table", "blockquote") else "\n")
            if tag == "pre":
                self.pre += 1
            if tag == "blockquote":
                self.quote += 1
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(self.skip - 1, 0)
            return
        if tag in _BLOCK:
            self.out.append("\n")
            if tag == "pre":
                self.pre = max(self.pre - 1, 0)
            if tag == "blockquote":
                self.quote = max(self.quote - 1, 0)
        elif tag == "a" and self.href:
            href = self.href.pop()
            if href and href.startswith(("http://", "https://")) and not self._ends_with(href):
                self.out.append(f" <{href}>")

    def _ends_with(self, href: str) -> bool:
        return "".join(self.out[-3:]).rstrip().endswith(href)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        if self.quote:
            # Quoted history keeps its "> " marker, so the quote stripper treats HTML and plain mail alike.
            data = data.replace("\n", "\n> ")
            if not self.out or self.out[-1].endswith("\n"):
                data = "> " + data.lstrip()
        self.out.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # the tokenizer is lenient, but a reader must never fail on a mail
        return re.sub(r"<[^>]*>", " ", html)
    text = "".join(parser.out).replace("\xa0", " ")
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
