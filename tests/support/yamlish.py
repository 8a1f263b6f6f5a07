"""Read the small subset of YAML that deploy/compose.yaml is written in, without PyYAML.

PyYAML is not among our dependencies, and one test file is no reason to add it. This reads
block mappings and sequences by indentation, flow sequences of scalars (`["CMD", "x"]`),
quoted and plain scalars (all kept as strings), comments, anchors (`&name`), aliases
(`*name`) and the merge key (`<<: *name`). Anything else — tabs, flow mappings, block
scalars (`|`, `>`), a mapping key given twice, a line indented where nothing may start —
raises YamlishError with the line number, so a compose file that drifts outside the subset
fails its test loudly instead of being misread.

Also `interpolate`, Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`
and `$$`.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

_KEY = re.compile(r"^(?P<key>[A-Za-z0-9_.<-][A-Za-z0-9_.<-]*|\"[^\"]*\"|'[^']*'):(?: +(?P<rest>.*))?$")


class YamlishError(ValueError):
    pass


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'" and (i == 0 or line[i - 1] in " [,:-"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def loads(text: str) -> Any:
    lines: list[tuple[int, int, str]] = []  # (line number, indent, content)
    for n, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlishError(f"line {n}: a tab in the indentation")
        content = _strip_comment(raw)
        if content.strip():
            lines.append((n, len(content) - len(content.lstrip()), content.strip()))
    if not lines:
        return None
    anchors: dict[str, Any] = {}
    node, i = _block(lines, 0, lines[0][1], anchors)
    if i != len(lines):
        raise YamlishError(f"line {lines[i][0]}: unexpected indentation")
    return node


def _block(lines, i, indent, anchors):
    content = lines[i][2]
    if content == "-" or content.startswith("- "):
        return _sequence(lines, i, indent, anchors)
    return _mapping(lines, i, indent, anchors)


def _value(lines, i, indent, rest, anchors):
    """The value after `key:` or `- ` (rest of the line, or the indented block below it)."""
    anchor = None
    if rest.startswith("&"):
        anchor, _, rest = rest[1:].partition(" ")
        rest = rest.strip()
    if rest:
        value = _scalar(rest, anchors, lines[i - 1][0])
    elif i < len(lines) and lines[i][1] > indent:
        value, i = _block(lines, i, lines[i][1], anchors)
    else:
        value = None
    if anchor:
        anchors[anchor] = value
    return value, i


def _mapping(lines, i, indent, anchors):
    out: dict[str, Any] = {}
    explicit: set[str] = set()
    while i < len(lines) and lines[i][1] == indent:
        n, _, content = lines[i]
        m = _KEY.match(content)
        if not m:
            raise YamlishError(f"line {n}: expected `key: value`, got {content!r}")
        key = m.group("key").strip("\"'")
        value, i = _value(lines, i + 1, indent, (m.group("rest") or "").strip(), anchors)
        if key == "<<":
            if not isinstance(value, dict):
                raise YamlishError(f"line {n}: `<<` must merge a mapping")
            for k, v in value.items():
                if k not in explicit:
                    out[k] = v
            continue
        if key in explicit:
            raise YamlishError(f"line {n}: the key {key!r} is given twice")
        explicit.add(key)
        out[key] = value
    if i < len(lines) and lines[i][1] > indent:
        raise YamlishError(f"line {lines[i][0]}: unexpected indentation")
    return out, i


def _sequence(lines, i, indent, anchors):
    out: list[Any] = []
    while i < len(lines) and lines[i][1] == indent and (lines[i][2] == "-" or lines[i][2].startswith("- ")):
        n, _, content = lines[i]
        rest = content[1:].strip()
        if _KEY.match(rest):  # "- key: value" starts a mapping two columns in
            sub = [(n, indent + 2, rest)]
            j = i + 1
            while j < len(lines) and lines[j][1] > indent:
                sub.append(lines[j])
                j += 1
            value, k = _mapping(sub, 0, indent + 2, anchors)
            if k != len(sub):
                raise YamlishError(f"line {sub[k][0]}: unexpected indentation")
            out.append(value)
            i = j
        else:
            value, i = _value(lines, i + 1, indent, rest, anchors)
            out.append(value)
    return out, i


def _scalar(text: str, anchors, n: int) -> Any:
    if text.startswith("*"):
        try:
            return anchors[text[1:]]
        except KeyError:
            raise YamlishError(f"line {n}: unknown alias {text!r}") from None
    if text.startswith("["):
        if not text.endswith("]"):
            raise YamlishError(f"line {n}: a flow sequence must end on its line")
        inner = text[1:-1].strip()
        return [_scalar(p.strip(), anchors, n) for p in _split_flow(inner, n)] if inner else []
    if text[0] in "{|>!%@`":
        raise YamlishError(f"line {n}: {text[0]!r} is outside the subset this reader knows")
    if text[0] == '"':
        if not text.endswith('"') or len(text) < 2:
            raise YamlishError(f"line {n}: unterminated string")
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text[1:-1])
    if text[0] == "'":
        if not text.endswith("'") or len(text) < 2:
            raise YamlishError(f"line {n}: unterminated string")
        return text[1:-1].replace("''", "'")
    return text


def _split_flow(inner: str, n: int) -> list[str]:
    parts, cur, quote = [], "", None
    for ch in inner:
        if quote:
            cur += ch
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            cur += ch
        elif ch == ",":
            parts.append(cur)
            cur = ""
        elif ch in "[]{}":
            raise YamlishError(f"line {n}: nested flow collections are outside the subset")
        else:
            cur += ch
    if quote:
        raise YamlishError(f"line {n}: unterminated string")
    parts.append(cur)
    return parts


_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution; a `:?` or `?` variable that is missing raises KeyError."""

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("name") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        present = name in env
        empty = present and env[name] == ""
        if op in (":-", "-"):
            return env[name] if present and not (op == ":-" and empty) else arg
        if op in (":?", "?"):
            if not present or (op == ":?" and empty):
                raise KeyError(f"{name}: {arg}")
            return env[name]
        return env.get(name, "")

    return _VAR.sub(sub, value)


def read_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines (Compose's --env-file and systemd's EnvironmentFile= read these alike)."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise YamlishError(f"line {n}: expected KEY=VALUE, got {line!r}")
        out[key] = value
    return out
