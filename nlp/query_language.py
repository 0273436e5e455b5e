"""The query language of tag rules (tags.yaml) and brand queries (brands.yaml `query:`).

    "Acme Mobile" AND (outage OR "no signal" OR down) NOT kind:reviews
    bill* NEAR/3 (double OR twice) sentiment:negative

Words and quoted phrases match whole words of the title and text, case- and accent-insensitive
(like brand matching: "cafe" finds "Café"); `deliver*` matches words that start with "deliver";
juxtaposed terms are ANDed. NEAR/n binds tightest, then NOT, then AND, then OR; parentheses group.
Operators are written in capitals (`and` and `or` are words). `field:value` compares one field of
the mention (see FIELDS). `parse` refuses a bad query with the character position and what was
expected; `matches` evaluates one over one mention in time about linear in the text's length.

Hostile input stays bounded: a query is at most MAX_QUERY_CHARS long and MAX_DEPTH deep, NEAR looks at
most MAX_NEAR words apart, and a text is read up to MAX_TEXT_CHARS (as the NLP pipeline reads it).
"""

from __future__ import annotations

import bisect
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from connectors.kinds import KINDS

MAX_QUERY_CHARS = 2000
MAX_DEPTH = 20
MAX_NEAR = 50
MAX_TEXT_CHARS = 100_000  # nlp.pipeline.MAX_TEXT_CHARS, without importing spaCy
MIN_PREFIX = 2

# Fields a filter can name, and the values the closed ones allow.
FIELDS = ("source", "kind", "site", "author", "lang", "subreddit", "title", "moment", "sentiment")
CHOICES = {
    "kind": tuple(KINDS),
    "moment": ("zmot", "lzmot", "umot", "none"),
    "sentiment": ("negative", "neutral", "positive", "unscored"),
}
_WORD = re.compile(r"\w+")
_BARE = re.compile(r'[^\s()"]+')


class QueryError(ValueError):
    """A query that cannot be read: where (1-based character position) and what was expected there."""

    def __init__(self, position: int, expected: str, got: str) -> None:
        super().__init__(f"at character {position}: expected {expected} (got {got})")
        self.position = position
        self.expected = expected


# --- the syntax tree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """A word or phrase in the title and text (`title: True`: the title only); the last word may be a prefix."""

    words: tuple[str, ...]
    prefix: bool = False
    title: bool = False


@dataclass(frozen=True)
class FieldIs:
    """`field:value` on a field of the mention other than the text."""

    field: str
    value: str
    prefix: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class Near:
    """Two word groups at most `distance` words apart, in either order."""

    left: Node
    right: Node
    distance: int


Node = Words | FieldIs | And | Or | Not | Near


def rule_hash(node: Node) -> str:
    """What a rule means, not how it is spaced: stored with each tag so a changed rule's tags can be told apart."""
    return hashlib.sha256(repr(node).encode("utf-8")).hexdigest()[:16]


def uses_fields(node: Node) -> bool:
    """Whether the query looks at anything but the words (a brand query may not: it sees the text only)."""
    if isinstance(node, FieldIs) or (isinstance(node, Words) and node.title):
        return True
    if isinstance(node, (And, Or)):
        return any(uses_fields(i) for i in node.items)
    if isinstance(node, Not):
        return uses_fields(node.item)
    if isinstance(node, Near):
        return uses_fields(node.left) or uses_fields(node.right)
    return False


# --- reading a query -----------------------------------------------------------------------------


def fold(text: str) -> str:
    """Case and accents gone, invisible format characters (zero-width spaces, joiners) dropped."""
    text = unicodedata.normalize("NFKD", text).casefold()
    if text.isascii():
        return text
    return "".join(c for c in text if not unicodedata.combining(c) and unicodedata.category(c) != "Cf")


@dataclass(frozen=True)
class _Token:
    kind: str  # word, phrase, open, close, and, or, not, near, end
    text: str
    start: int  # 0-based
    distance: int = 0


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(query):
        c = query[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(_Token("open" if c == "(" else "close", c, i))
            i += 1
        elif c == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError(i + 1, "a closing '\"' for the phrase opened here", "end of query")
            tokens.append(_Token("phrase", query[i + 1:end], i))
            i = end + 1
        else:
            word = _BARE.match(query, i).group()  # type: ignore[union-attr]
            tokens.append(_operator(word, i) or _Token("word", word, i))
            i += len(word)
    tokens.append(_Token("end", "", len(query)))
    return tokens


def _operator(word: str, start: int) -> _Token | None:
    if word in ("AND", "OR", "NOT"):
        return _Token(word.lower(), word, start)
    if word == "NEAR" or word.startswith("NEAR/"):
        number = word[5:]
        if not number.isdigit() or not 1 <= int(number) <= MAX_NEAR:
            raise QueryError(start + 1, f"NEAR/n with n a number of words from 1 to {MAX_NEAR}, like NEAR/3", repr(word))
        return _Token("near", word, start, int(number))
    return None


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "end of query"
    return repr(f'"{token.text}"' if token.kind == "phrase" else token.text)


class _Parser:
    """Recursive descent over the tokens; depth counts parentheses and NOTs."""

    def __init__(self, query: str) -> None:
        self.tokens = _lex(query)
        self.at = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, expected: str, token: _Token | None = None) -> QueryError:
        token = token or self.peek()
        return QueryError(token.start + 1, expected, _describe(token))

    def deeper(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"at most {MAX_DEPTH} nested parentheses or NOTs", token)

    def query(self) -> Node:
        if self.peek().kind == "end":
            raise self.fail("a word, a quoted phrase or a field filter")
        node = self.either()
        if self.peek().kind != "end":  # only a ')' stops `either` early
            raise self.fail("the end of the query (this ')' closes no '(')")
        return node

    def either(self) -> Node:
        items = [self.both()]
        while self.peek().kind == "or":
            self.take()
            items.append(self.both())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def both(self) -> Node:
        items = [self.negated()]
        while self.peek().kind not in ("or", "close", "end"):
            if self.peek().kind == "and":
                self.take()
            items.append(self.negated())
        return items[0] if len(items) == 1 else And(tuple(items))

    def negated(self) -> Node:
        if self.peek().kind != "not":
            return self.near()
        token = self.take()
        self.deeper(token)
        node = Not(self.negated())
        self.depth -= 1
        return node

    def near(self) -> Node:
        left = self.primary()
        while self.peek().kind == "near":
            op = self.take()
            right = self.primary()
            for side in (left, right):
                if not _positional(side):
                    raise self.fail("words, phrases or (word OR word) groups on both sides of NEAR, "
                                    "not AND, NOT or a field filter", op)
            left = Near(left, right, op.distance)
        return left

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "open":
            self.take()
            self.deeper(token)
            if self.peek().kind == "close":
                raise self.fail("a query inside the parentheses")
            node = self.either()
            if self.peek().kind != "close":
                raise self.fail(f"')' to close the '(' at character {token.start + 1}")
            self.take()
            self.depth -= 1
            return node
        if token.kind == "phrase":
            self.take()
            return _words(token.text, token.start + 1)
        if token.kind == "word":
            self.take()
            return self.word(token)
        raise self.fail("a word, a quoted phrase, a field filter or '('")

    def word(self, token: _Token) -> Node:
        name, colon, value = token.text.partition(":")
        if not colon or not name.isalpha():
            return _words(token.text, token.start)
        if name.lower() not in FIELDS:
            raise QueryError(token.start + 1, f"a field among {', '.join(f + ':' for f in FIELDS)} "
                             "(or put the word in quotes)", repr(name + ":"))
        start = token.start + len(name) + 1
        if not value:
            after = self.peek()
            if after.kind != "phrase" or after.start != start:
                raise QueryError(start + 1, f"a value right after '{name}:' (a word, a word ending in *, or a quoted phrase)",
                                 _describe(after))
            self.take()
            value, start = after.text, after.start + 1
        return _field(name.lower(), value, start)


def _positional(node: Node) -> bool:
    if isinstance(node, Words):
        return True
    if isinstance(node, Or):
        return all(_positional(i) for i in node.items)
    return isinstance(node, Near)


def _star(value: str, start: int) -> bool:
    """Whether the value ends in a wildcard; a '*' anywhere else is refused."""
    inner = value.find("*")
    if 0 <= inner < len(value) - 1:
        raise QueryError(start + inner + 1, "'*' only at the end of a word, like deliver*", repr(value))
    return value.endswith("*")


def _words(text: str, start: int, *, title: bool = False) -> Words:
    prefix = _star(text, start)
    words = tuple(_WORD.findall(fold(text.removesuffix("*"))))
    if not words:
        raise QueryError(start + 1, "a word with letters or digits (to exclude a word, write NOT word)", repr(text))
    if prefix and len(words[-1]) < MIN_PREFIX:
        raise QueryError(start + 1, f"at least {MIN_PREFIX} letters before '*'", repr(text))
    return Words(words, prefix, title)


def _field(name: str, value: str, start: int) -> Node:
    if name == "title":
        return _words(value, start, title=True)
    prefix = _star(value, start)
    folded = " ".join(fold(value.removesuffix("*")).split())
    if name == "subreddit":
        folded = folded.removeprefix("r/")
    elif name == "author":
        folded = folded.lstrip("@")
    if not folded:
        raise QueryError(start + 1, f"a value after '{name}:'", repr(value))
    if name in CHOICES and (prefix or folded not in CHOICES[name]):
        raise QueryError(start + 1, f"one of {', '.join(CHOICES[name])} after '{name}:'", repr(value))
    return FieldIs(name, folded, prefix)


def parse(query: str) -> Node:
    """The query's syntax tree; QueryError says where it went wrong and what was expected there."""
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(MAX_QUERY_CHARS + 1, f"a query of at most {MAX_QUERY_CHARS} characters", f"{len(query)} characters")
    return _Parser(query).query()


# --- evaluating a query over one mention ---------------------------------------------------------


@dataclass(frozen=True)
class MentionFields:
    """What a query can see of one mention: its words and the fields filters name."""

    text: str
    title: str | None = None
    source_kind: str | None = None
    source_id: str | None = None
    url: str | None = None
    site: str | None = None  # a review site's name (metadata.site)
    author: str | None = None
    language: str | None = None
    subreddit: str | None = None
    moment: str | None = None
    sentiment: str | None = None


_SEPARATOR = "\x00"  # between the title's words and the text's: no phrase spans both


@dataclass
class Document:
    """A mention read once: its words in order, where each occurs, and its folded fields."""

    words: list[str]
    title_words: int
    places: dict[str, list[int]]
    fields: dict[str, list[str]]
    _prefixes: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, mention: MentionFields) -> Document:
        title = _WORD.findall(fold(mention.title[:MAX_TEXT_CHARS])) if mention.title else []
        words = [*title, _SEPARATOR, *_WORD.findall(fold(mention.text[:MAX_TEXT_CHARS]))]
        places: dict[str, list[int]] = {}
        for index, word in enumerate(words):
            places.setdefault(word, []).append(index)
        hosts = [h for h in (_host(mention.url), fold(mention.site or "").strip()) if h]
        values = {"source": mention.source_id, "kind": mention.source_kind, "author": mention.author,
                  "lang": mention.language, "subreddit": mention.subreddit, "moment": mention.moment,
                  "sentiment": mention.sentiment}
        fields = {k: [" ".join(fold(v).split()).lstrip("@")] if v else [] for k, v in values.items()}
        fields["subreddit"] = [v.removeprefix("r/") for v in fields["subreddit"]]
        fields["site"] = hosts
        return cls(words, len(title), places, fields)

    def starts(self, word: str, prefix: bool) -> list[int]:
        """Where a word (or any word it starts) occurs, in order."""
        if not prefix:
            return self.places.get(word, [])
        if word not in self._prefixes:
            found = [p for w, at in self.places.items() if w.startswith(word) for p in at]
            self._prefixes[word] = sorted(found)
        return self._prefixes[word]


def _host(url: str | None) -> str:
    match = re.match(r"[a-z][a-z0-9+.-]*://([^/?#:@]+@)?([^/?#:]+)", (url or "").strip().lower())
    return match.group(2).removeprefix("www.") if match else ""


def matches(node: Node, doc: Document) -> bool:
    """Whether the mention read into `doc` satisfies the query."""
    if isinstance(node, (Words, Near)):
        return bool(_spans(node, doc))
    if isinstance(node, FieldIs):
        return any(_field_matches(node, value) for value in doc.fields.get(node.field, []))
    if isinstance(node, And):
        return all(matches(i, doc) for i in node.items)
    if isinstance(node, Or):
        return any(matches(i, doc) for i in node.items)
    return not matches(node.item, doc)


def _field_matches(node: FieldIs, value: str) -> bool:
    if node.field == "site":
        return value == node.value or value.endswith("." + node.value) or (node.prefix and value.startswith(node.value))
    return value.startswith(node.value) if node.prefix else value == node.value


def _spans(node: Node, doc: Document) -> list[tuple[int, int]]:
    """Where a word group occurs: (first word, last word) positions, sorted."""
    if isinstance(node, Words):
        return _phrase(node, doc)
    if isinstance(node, Or):
        return sorted({s for i in node.items for s in _spans(i, doc)})
    assert isinstance(node, Near)
    return _near(_spans(node.left, doc), _spans(node.right, doc), node.distance)


def _phrase(node: Words, doc: Document) -> list[tuple[int, int]]:
    last = len(node.words) - 1
    first = doc.starts(node.words[0], node.prefix and last == 0)
    found = []
    for start in first:
        if node.title and start >= doc.title_words:
            break
        end = start + last
        if end >= len(doc.words) or (node.title and end >= doc.title_words):
            continue
        if all(doc.words[start + i] == node.words[i] for i in range(1, last)) and (
                last == 0 or (doc.words[end].startswith(node.words[last]) if node.prefix else doc.words[end] == node.words[last])):
            found.append((start, end))
    return found


def _near(left: list[tuple[int, int]], right: list[tuple[int, int]], distance: int) -> list[tuple[int, int]]:
    """Each left span with its nearest right span, when they are at most `distance` words apart.

    The nearest right span after a left span's start is the first one by start; before it, the one
    reaching furthest right (a running maximum), so each left span costs one bisection, whatever the
    text: the result holds at most one span per left span.
    """
    if not left or not right:
        return []
    starts = [s for s, _ in right]
    furthest: list[int] = []  # index of the right span reaching furthest among right[:i + 1]
    for i, (_, end) in enumerate(right):
        furthest.append(i if not furthest or end > right[furthest[-1]][1] else furthest[-1])
    found = set()
    for a_start, a_end in left:
        i = bisect.bisect_left(starts, a_start)
        candidates = []
        if i < len(right):
            candidates.append((right[i][0] - a_end - 1, right[i]))
        if i:
            before = right[furthest[i - 1]]
            candidates.append((a_start - before[1] - 1, before))
        gap, (b_start, b_end) = min(candidates)
        if gap <= distance:
            found.add((min(a_start, b_start), max(a_end, b_end)))
    return sorted(found)
