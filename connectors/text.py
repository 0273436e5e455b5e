"""HTML to readable text, for feed entries and review bodies: drop scripts and styles, keep paragraphs;
and the one Unicode normalisation every connector applies to what it stores."""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

_BLOCK = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "pre", "section", "article", "hr"}
_SKIP = {"script", "style", "noscript", "template", "svg", "head"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 but tab/newline/CR, DEL, C1 (\x9b is an 8-bit CSI)
_INVISIBLE = re.compile(r"[\u00ad\u200b\u2060\ufeff]")  # soft hyphen, zero-width space, word joiner, BOM: invisible
# ZWJ/ZWNJ shape emoji sequences (family, flags, skin tones) and Persian or Indic words; next to ASCII they only obfuscate
_JOINER = re.compile(r"(?<![^\x00-\x7f])[\u200c\u200d]|[\u200c\u200d](?![^\x00-\x7f])")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# ANSI CSI and OSC (window title, hyperlink) sequences; an unterminated OSC is not a sequence, its text stays
_TERMINAL_ESCAPE = re.compile(r"(?:\x1b\[|\x9b)[0-?]{0,64}[ -/]{0,16}[@-~]|\x1b\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Readable text from HTML (or plain text): entities unescaped, whitespace collapsed, paragraphs kept."""
    if "<" not in markup and "&" not in markup:
        return clean_text(markup)
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.parts)  # entities already decoded, once: "&amp;lt;" stays the text "&lt;"
    except Exception:  # noqa: BLE001 - HTMLParser is lenient; this is the last resort for pathological markup
        text = html.unescape(re.sub(r"<[^>]*>", " ", markup))
    return clean_text(text)


def plain_unicode(text: str) -> str:
    r"""Text as the warehouse stores it, whatever a source sent: encodable (a lone surrogate, which JSON
    allows, becomes U+FFFD), NFC (so "e" + combining acute is the same word as "é"), line ends as "\n",
    terminal escape sequences gone, other control characters a space, and zero-width characters gone
    where they only hide a word ("Ac\u200bme" is "Acme"); joiners inside emoji and joining scripts stay."""
    text = _TERMINAL_ESCAPE.sub("", replace_surrogates(text)).replace("\r\n", "\n").replace("\r", "\n")
    text = _JOINER.sub("", _INVISIBLE.sub("", _CONTROL.sub(" ", text)))
    return unicodedata.normalize("NFC", text)


def decode_entities(text: str) -> str:
    """HTML character references in text that is not HTML (Reddit's markdown, which shows "&amp;" as "&"),
    decoded once: "&amp;lt;" becomes the text "&lt;", never "<". Only references ending in ";" count,
    so "AT&T" and "&notation" stay as typed."""
    if "&" not in text:
        return text
    return _ENTITY.sub(lambda m: html.unescape(m.group()), text)


def replace_surrogates(text: str) -> str:
    """A lone surrogate (JSON allows one; UTF-8 cannot encode it) becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def clean_url(url: str) -> str:
    """A link as a browser would read it (WHATWG): outer spaces and controls trimmed, tabs and newlines
    dropped, other controls percent-encoded, so a URL can never carry a terminal escape into a report."""
    url = re.sub(r"[\t\n\r]", "", replace_surrogates(url)).strip(_C0_AND_SPACE)
    return _CONTROL.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), url)


def clean_text(text: str) -> str:
    """plain_unicode, then runs of spaces collapsed and at most one blank line."""
    text = plain_unicode(text)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
