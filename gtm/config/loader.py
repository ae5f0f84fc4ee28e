"""YAML text → a tree of nodes that remember their line (octoDNS's ContextLoader, typed).

PyYAML keeps the last of two equal keys without a word and forgets where values came from; this
loader composes the node graph itself, so every value carries its 1-based line and duplicate
keys become reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from gtm.model.errors import Reason

_MERGE_TAG = "tag:yaml.org,2002:merge"
_FAST_LOADER: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)


@dataclass(frozen=True, slots=True, eq=False)
class Scalar:
    """A scalar as PyYAML's safe loader types it (str, int, float, bool, None, date...).

    `plain` is the source text of an unquoted scalar: YAML 1.1 reads ``NO`` as false and
    ``2001-12-14`` as a date, so readers that want a string use the text as written.
    """

    value: object
    line: int
    plain: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Seq:
    """A YAML sequence."""

    items: tuple[Node, ...]
    line: int


@dataclass(frozen=True, slots=True, eq=False)
class Map:
    """A YAML mapping with string keys (as written) in file order, and the line of each key."""

    items: Mapping[str, Node]
    key_lines: Mapping[str, int]
    line: int


Node = Scalar | Seq | Map


def load_yaml(text: str, file: str) -> tuple[Node | None, list[Reason]]:
    """Parse one YAML document. Returns the root (None for an empty or unreadable document)
    and the problems found: a syntax error, duplicate keys, unknown tags, recursive aliases.

    LibYAML's parser (about ten times faster) reads it when installed; a document it rejects
    is read again by the pure-Python parser, whose error messages are the documented ones.
    """
    if _FAST_LOADER is not None:
        try:
            return _compose(_FAST_LOADER(text), file)
        except yaml.YAMLError:
            pass  # read again below, for the exact message
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        return None, [_reader_reason(exc, text, file)]
    try:
        return _compose(loader, file)
    except yaml.MarkedYAMLError as exc:
        return None, [Reason(file, _error_line(exc), "", _syntax_message(exc))]
    except yaml.reader.ReaderError as exc:
        return None, [_reader_reason(exc, text, file)]


def _compose(
    loader: yaml.SafeLoader | yaml.CSafeLoader, file: str
) -> tuple[Node | None, list[Reason]]:
    """The document's root and the builder's reasons; YAML errors propagate."""
    try:
        root = loader.get_single_node()
        if root is None:
            return None, []
        builder = _Builder(loader, file)
        return builder.build(root, ""), builder.reasons
    finally:
        loader.dispose()


def _reader_reason(exc: yaml.reader.ReaderError, text: str, file: str) -> Reason:
    line = text.count("\n", 0, exc.position) + 1
    return Reason(
        file, line, "", f"YAML syntax error: character #x{exc.character:04x} is not allowed"
    )


def _error_line(exc: yaml.MarkedYAMLError) -> int:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark is not None else 1


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    parts = [p for p in (exc.context, exc.problem) if p]
    return "YAML syntax error: " + (", ".join(parts) if parts else "invalid document")


class _Builder:
    """Turns composed yaml nodes into `Node`s, collecting reasons as it goes."""

    def __init__(self, loader: yaml.SafeLoader | yaml.CSafeLoader, file: str) -> None:
        self._loader = loader
        self._file = file
        self._active: set[int] = set()  # nodes being built: an alias to one of them is a loop
        self.reasons: list[Reason] = []

    def _reason(self, line: int, path: str, message: str) -> None:
        self.reasons.append(Reason(self._file, line, path, message))

    def build(self, node: yaml.Node, path: str) -> Node:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, line, path)
        if id(node) in self._active:
            self._reason(line, path, "recursive YAML alias")
            return Scalar(None, line)
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items = (self.build(item, f"{path}[{i}]") for i, item in enumerate(node.value))
                return Seq(tuple(items), line)
            assert isinstance(node, yaml.MappingNode)
            return self._mapping(node, line, path)
        finally:
            self._active.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, line: int, path: str) -> Scalar:
        try:
            value = self._loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            self._reason(_error_line(exc), path, exc.problem or "invalid value")
            return Scalar(None, line)
        # An unquoted scalar has no style: None from PyYAML's parser, "" from LibYAML's.
        plain = node.value if not node.style and isinstance(node.value, str) else None
        return Scalar(value, line, plain)

    def _mapping(self, node: yaml.MappingNode, line: int, path: str) -> Map:
        items: dict[str, Node] = {}
        key_lines: dict[str, int] = {}
        merged: list[Map] = []
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                source = self.build(value_node, path)
                merged.extend(self._merge_sources(source, key_line, path))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._reason(key_line, path, "a mapping key must be a plain string")
                continue
            key = str(key_node.value)
            key_path = f"{path}.{key}" if path else key
            if key in items:
                first = key_lines[key]
                self._reason(key_line, key_path, f"duplicate key '{key}' (first at line {first})")
                continue
            items[key] = self.build(value_node, key_path)
            key_lines[key] = key_line
        for source in merged:  # explicit keys win over merged ones (YAML merge key rules)
            for key, value in source.items.items():
                if key not in items:
                    items[key] = value
                    key_lines[key] = source.key_lines[key]
        return Map(items, key_lines, line)

    def _merge_sources(self, value: Node, line: int, path: str) -> list[Map]:
        if isinstance(value, Map):
            return [value]
        if isinstance(value, Seq) and all(isinstance(v, Map) for v in value.items):
            return [v for v in value.items if isinstance(v, Map)]
        self._reason(line, path, "'<<' must merge a mapping or a list of mappings")
        return []
