"""Filter and order_by strings, tokenized and parsed by hand into a small AST.

The grammar is MLflow's (``[entity.]key op value`` comparisons) with OR, parentheses and
IN lists on every kind of key. Every syntax error names the character position (counted
from 0) and the text found there, because a filter is usually typed by a person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from heron.exceptions import HeronException, invalid

Value = str | int | float
Segment = tuple[str, str]  # (text, quote character or "" when bare)


@dataclass(frozen=True)
class Comparison:
    entity: str  # one of the canonical names: metric, param, tag, attribute, dataset
    key: str
    # "=", "!=", "<", "<=", ">", ">=", "[NOT ]LIKE", "[NOT ]ILIKE", "[NOT ]IN", "IS [NOT ]NULL"
    op: str
    value: object  # a Value, a tuple of them for IN, None for IS NULL


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Comparison | And | Or


@dataclass(frozen=True)
class OrderKey:
    entity: str
    key: str
    ascending: bool


RUN_ENTITIES: Mapping[str, str] = {
    **dict.fromkeys(("metric", "metrics"), "metric"),
    **dict.fromkeys(("param", "params", "parameter", "parameters"), "param"),
    **dict.fromkeys(("tag", "tags"), "tag"),
    **dict.fromkeys(("attribute", "attributes", "attr", "run"), "attribute"),
    **dict.fromkeys(("dataset", "datasets"), "dataset"),
}
EXPERIMENT_ENTITIES: Mapping[str, str] = {
    **dict.fromkeys(("attribute", "attributes", "attr"), "attribute"),
    **dict.fromkeys(("tag", "tags"), "tag"),
}
KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "ASC", "DESC"})

_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATOR = re.compile(r"<=|>=|<>|!=|=|<|>")
_FIRST_PART = re.compile(r"[A-Za-z_]\w*")
# Keys after the entity may hold "/", ":" and "-" unquoted ("metrics.val/loss"), since
# frameworks log such names and the grammar has no arithmetic they could be confused with.
_LATER_PART = re.compile(r"[\w/:-]+")
_IDENT_QUOTES = '"`'
_OPERATORS_HELP = "=, !=, <, <=, >, >=, LIKE, ILIKE, [NOT] IN, IS [NOT] NULL"


@dataclass(frozen=True)
class Token:
    kind: str  # "ident", "string", "number", "op", "punct" or "end"
    text: str  # the source text, for error messages
    pos: int
    value: Value | None = None  # the literal of a string or number
    parts: tuple[Segment, ...] = ()  # the dotted parts of an identifier

    @property
    def keyword(self) -> str | None:
        """The upper-cased keyword this token spells, if it is one; quoting makes it a name."""
        if len(self.parts) == 1 and not self.parts[0][1] and self.parts[0][0].upper() in KEYWORDS:
            return self.parts[0][0].upper()
        return None

    @property
    def is_name(self) -> bool:
        return self.kind == "ident" and self.keyword is None


def parse_filter(text: str | None, *, entities: Mapping[str, str] = RUN_ENTITIES) -> Node | None:
    """The AST of ``text``, or None for no filter; ``entities`` maps prefixes to entity kinds."""
    if text is None or not text.strip():
        return None
    parser = _Parser(text, "filter", entities)
    node = parser.expression()
    parser.expect_end("AND, OR or the end of the filter")
    return node


def parse_order_by(text: str, *, entities: Mapping[str, str] = RUN_ENTITIES) -> OrderKey:
    """One ``identifier [ASC|DESC]`` item of an order_by list; ascending unless told."""
    parser = _Parser(text, "order_by clause", entities)
    entity, key = parser.identifier()
    ascending = True
    if parser.accept_keyword("DESC"):
        ascending = False
    else:
        parser.accept_keyword("ASC")
    parser.expect_end("ASC, DESC or the end of the clause")
    return OrderKey(entity, key, ascending)


def tokenize(text: str, label: str = "filter") -> list[Token]:
    """Tokens of ``text`` ending with an "end" token; ``label`` names the text in errors."""
    tokens: list[Token] = []
    pos = 0
    while True:
        space = _SPACE.match(text, pos)
        if space:
            pos = space.end()
        if pos >= len(text):
            tokens.append(Token("end", "", len(text)))
            return tokens
        token = _next_token(text, pos, label)
        tokens.append(token)
        pos += len(token.text)


def _next_token(text: str, pos: int, label: str) -> Token:
    char = text[pos]
    if char == "'":
        body, end = _read_quoted(text, pos, label, "string")
        return Token("string", text[pos:end], pos, value=body)
    if char in "(),":
        return Token("punct", char, pos)
    number = _NUMBER.match(text, pos)
    if number:
        literal = number.group()
        is_float = any(c in literal for c in ".eE")
        value: float | int = float(literal) if is_float else int(literal)
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            value = float(value)  # no database binds an integer that wide
        return Token("number", literal, pos, value=value)
    operator = _OPERATOR.match(text, pos)
    if operator:
        return Token("op", operator.group(), pos)
    if char in _IDENT_QUOTES or _FIRST_PART.match(text, pos):
        return _read_identifier(text, pos, label)
    raise _syntax_error(text, label, f"unexpected character {char!r} at position {pos}")


def _read_identifier(text: str, start: int, label: str) -> Token:
    """``part(.part)*`` with no spaces; each part bare or quoted with " or `."""
    parts: list[Segment] = []
    pos = start
    while True:
        if pos < len(text) and text[pos] in _IDENT_QUOTES:
            body, pos = _read_quoted(text, pos, label, "quoted name")
            parts.append((body, text[pos - 1]))
        else:
            match = (_LATER_PART if parts else _FIRST_PART).match(text, pos)
            if not match:
                raise _syntax_error(
                    text, label, f"expected a key after {text[start:pos]!r} at position {pos}"
                )
            parts.append((match.group(), ""))
            pos = match.end()
        if pos >= len(text) or text[pos] != ".":
            return Token("ident", text[start:pos], start, parts=tuple(parts))
        pos += 1


def _read_quoted(text: str, start: int, label: str, what: str) -> tuple[str, int]:
    """The body of a quoted run starting at ``start`` and the position after it.

    A doubled quote character inside stands for one, as in SQL.
    """
    quote = text[start]
    pieces: list[str] = []
    pos = start + 1
    while True:
        end = text.find(quote, pos)
        if end < 0:
            raise _syntax_error(
                text, label, f"unterminated {what} starting at position {start}: {text[start:]}"
            )
        pieces.append(text[pos:end])
        if text.startswith(quote * 2, end):
            pieces.append(quote)
            pos = end + 2
            continue
        return "".join(pieces), end + 1


def _syntax_error(text: str, label: str, detail: str) -> HeronException:
    return invalid(f"Invalid {label} '{text}': {detail}")


MAX_NESTING = 50  # deeper filters are not written by people; refusing them bounds recursion


class _Parser:
    """Recursive descent over the tokens: OR binds loosest, then AND, then parentheses."""

    def __init__(self, text: str, label: str, entities: Mapping[str, str]) -> None:
        self.text = text
        self.label = label
        self.entities = entities
        self.tokens = tokenize(text, label)
        self.index = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def accept_keyword(self, word: str) -> bool:
        if self.peek().kind == "ident" and self.peek().keyword == word:
            self.advance()
            return True
        return False

    def accept_punct(self, char: str) -> bool:
        if self.peek().kind == "punct" and self.peek().text == char:
            self.advance()
            return True
        return False

    def error(self, expected: str, hint: str = "") -> HeronException:
        token = self.peek()
        if token.kind == "end":
            where = f"at position {token.pos} (end of {self.label})"
        else:
            where = f"at position {token.pos}, found {token.text!r}"
        return _syntax_error(self.text, self.label, f"expected {expected} {where}{hint}")

    def expect_end(self, expected: str) -> None:
        if self.peek().kind != "end":
            raise self.error(expected)

    def expression(self) -> Node:
        items = [self.conjunction()]
        while self.accept_keyword("OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Node:
        items = [self.term()]
        while self.accept_keyword("AND"):
            items.append(self.term())
        return items[0] if len(items) == 1 else And(tuple(items))

    def term(self) -> Node:
        if self.accept_punct("("):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise self.error(f"at most {MAX_NESTING} levels of parentheses")
            node = self.expression()
            self.depth -= 1
            if not self.accept_punct(")"):
                raise self.error("AND, OR or ')'")
            return node
        if not self.peek().is_name:
            raise self.error("an identifier or '('")
        subject = self.peek().text
        entity, key = self.identifier()
        op, value = self.predicate(subject)
        return Comparison(entity, key, op, value)

    def identifier(self) -> tuple[str, str]:
        """(entity, key): the first part names the entity when there are several parts."""
        token = self.peek()
        if not token.is_name:
            raise self.error("an identifier")
        self.advance()
        if len(token.parts) == 1:
            return "attribute", token.parts[0][0]
        prefix = token.parts[0][0]
        entity = self.entities.get(prefix.lower())
        if entity is None:
            allowed = ", ".join(sorted(self.entities))
            raise _syntax_error(
                self.text,
                self.label,
                f"unknown entity {prefix!r} at position {token.pos}; use one of {allowed}",
            )
        return entity, ".".join(text for text, _quote in token.parts[1:])

    def predicate(self, subject: str) -> tuple[str, object]:
        token = self.peek()
        if token.kind == "op":
            self.advance()
            return ("!=" if token.text == "<>" else token.text), self.value()
        if self.accept_keyword("IS"):
            negated = self.accept_keyword("NOT")
            if not self.accept_keyword("NULL"):
                raise self.error("NULL")
            return ("IS NOT NULL" if negated else "IS NULL"), None
        prefix = "NOT " if self.accept_keyword("NOT") else ""
        for word in ("LIKE", "ILIKE"):
            if self.accept_keyword(word):
                return prefix + word, self.value()
        if self.accept_keyword("IN"):
            return prefix + "IN", self.value_list()
        if prefix:
            raise self.error("LIKE, ILIKE or IN after NOT")
        raise self.error(f"a comparison operator ({_OPERATORS_HELP}) after {subject!r}")

    def value(self) -> Value:
        token = self.peek()
        if token.kind in ("string", "number") and token.value is not None:
            self.advance()
            return token.value
        if token.kind == "ident" and len(token.parts) == 1 and token.parts[0][1] == '"':
            # MLflow (through sqlparse) also takes "text" as a string value; keep that working.
            self.advance()
            return token.parts[0][0]
        hint = "; quote strings with single quotes" if token.kind == "ident" else ""
        raise self.error("a value", hint)

    def value_list(self) -> tuple[Value, ...]:
        if not self.accept_punct("("):
            raise self.error("'(' to open the IN list")
        values = [self.value()]
        while self.accept_punct(","):
            values.append(self.value())
        if not self.accept_punct(")"):
            raise self.error("',' or ')' in the IN list")
        return tuple(values)
