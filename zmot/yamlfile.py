"""Read a hand-written YAML file strictly: the traps PyYAML leaves open become errors with a line and column.

PyYAML keeps the last of two equal keys without a word, expands aliases without a limit ("billion
laughs"), and quotes the offending line in its errors (which may hold a secret). Config files are
small and hand-written, so we refuse all of that and say where.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 10_000_000
MAX_VALUES = 2_000_000  # scalars, lists and mappings after aliases are expanded


class YamlFileError(ValueError):
    """The file cannot be read as one YAML mapping; the message names the file and the line."""


def read_yaml(path: Path) -> Any:
    """The file's single YAML document (None when empty), read with the safe loader."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise YamlFileError(f"{path}: {size:,} bytes; expected a config file under {MAX_BYTES:,} bytes")
    text = _decode(path, path.read_bytes())
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        line, column = _line_column(text, exc.position)
        raise YamlFileError(
            f"{path}: not valid YAML at line {line}, column {column}: control character #x{exc.character:04x}; "
            "expected printable text"
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(path, node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise YamlFileError(_syntax_message(path, exc)) from None
    except RecursionError:
        raise YamlFileError(f"{path}: not valid YAML: nested too deeply; expected a plain config") from None
    finally:
        loader.dispose()


def _decode(path: Path, raw: bytes) -> str:
    """UTF-8 (a BOM is fine), or UTF-16 when a BOM says so (what Windows PowerShell writes)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    if b"\x00" in raw:
        line, column = _line_column(raw.decode("utf-8", "replace"), raw.index(b"\x00"))
        raise YamlFileError(
            f"{path}: not UTF-8 text: NUL byte at line {line}, column {column}; expected UTF-8 (is it UTF-16 without a BOM?)"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = _line_column(raw[: exc.start].decode("utf-8", "replace"), exc.start)
        raise YamlFileError(
            f"{path}: not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}, column {column}; "
            "expected UTF-8 (save the file as UTF-8)"
        ) from None


def _line_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def _syntax_message(path: Path, exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem and position, without the quoted source line it would add."""
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = exc.problem or exc.context or "unreadable"
    if exc.context and exc.problem and exc.problem.startswith("but "):
        problem = f"{exc.context}, {exc.problem}"
    elif exc.context and exc.problem:
        start = exc.context_mark
        since = f" at line {start.line + 1}, column {start.column + 1}" if start and start != mark else ""
        problem += f" ({exc.context}{since})"
    hint = "; indent with spaces, YAML does not allow tabs" if "'\\t'" in problem else ""
    return f"{path}: not valid YAML{where}: {problem}{hint}"


def _check_nodes(path: Path, root: yaml.Node) -> None:
    """Refuse duplicate keys, and aliases that expand beyond what any real config holds."""
    sizes: dict[int, int] = {}

    def visit(node: yaml.Node, where: str) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = 1  # a node met again while inside itself (a recursive alias) counts once
        size = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if (key.tag, key.value) in seen:
                        first = seen[(key.tag, key.value)].start_mark.line + 1
                        raise YamlFileError(
                            f"{path}: {_join(where, key.value)}: key written twice in one mapping (lines {first} "
                            f"and {key.start_mark.line + 1}); expected each key once"
                        )
                    seen[(key.tag, key.value)] = key
                size += visit(key, where) + visit(value, _join(where, key.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                size += visit(item, f"{where}[{_item_name(item) or index}]")
        if size > MAX_VALUES:
            raise YamlFileError(
                f"{path}: {where or '(top level)'}: aliases expand to more than {MAX_VALUES:,} values; "
                "expected a plain config (a YAML 'billion laughs'?)"
            )
        sizes[id(node)] = size
        return size

    visit(root, "")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else str(key)


def _item_name(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "name" and isinstance(value, yaml.ScalarNode):
                return value.value or None
    return None
