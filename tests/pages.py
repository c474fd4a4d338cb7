"""Read station pages the way a person would: their text, links, images and forms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

HIDDEN = {"head", "script", "style", "template"}
VOID = {"img", "input", "br", "hr", "meta", "link", "source", "wbr", "area", "col", "embed"}


@dataclass
class Page:
    text: str
    links: list[tuple[str, str]]  # (text, href)
    images: list[tuple[str, str]]  # (src, alt)
    forms: list[dict] = field(default_factory=list)  # action, method, fields, buttons
    tags: list[str] = field(default_factory=list)  # every element, in order

    def link(self, text: str) -> str:
        """The href of the link whose text is ``text``."""
        found = [href for label, href in self.links if label == text]
        assert found, f"no link {text!r} in {[label for label, _ in self.links]}"
        return found[0]

    def form_with(self, button: str) -> dict:
        found = [f for f in self.forms if button in f["buttons"]]
        assert found, f"no form with a {button!r} button"
        return found[0]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.images: list[tuple[str, str]] = []
        self.forms: list[dict] = []
        self.tags: list[str] = []
        self._hidden = 0
        self._link: tuple[str, list[str]] | None = None
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if tag in HIDDEN:
            self._hidden += 1
        elif tag == "a" and "href" in attributes:
            self._link = (attributes["href"], [])
        elif tag == "img":
            self.images.append((attributes.get("src", ""), attributes.get("alt", "")))
        elif tag == "form":
            self.forms.append({"action": attributes.get("action", ""),
                               "method": attributes.get("method", "get").lower(),
                               "fields": {}, "buttons": []})  # fmt: skip
        elif tag == "input" and self.forms and "name" in attributes:
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value", "")
        elif tag == "button":
            self._button = []
        if tag in ("p", "div", "li", "tr", "h1", "h2", "h3", "section", "dt", "dd", "td", "th"):
            self.chunks.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "a" and self._link is not None:
            href, words = self._link
            self.links.append((squash("".join(words)), href))
            self._link = None
        elif tag == "button" and self._button is not None:
            if self.forms:
                self.forms[-1]["buttons"].append(squash("".join(self._button)))
            self._button = None
        if tag in ("p", "div", "li", "tr", "h1", "h2", "h3", "section", "dt", "dd", "td", "th"):
            self.chunks.append(" ")

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.chunks.append(data)
        if self._link is not None:
            self._link[1].append(data)
        if self._button is not None:
            self._button.append(data)


def read(html: str | bytes) -> Page:
    if isinstance(html, bytes):
        html = html.decode("utf-8")
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return Page(squash("".join(reader.chunks)), reader.links, reader.images, reader.forms,
                reader.tags)  # fmt: skip


def squash(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()
