"""What a Compose/systemd environment file means: `${VAR}` substitution and KEY=VALUE files.

PyYAML reads deploy/compose.yaml itself; this adds Compose's `${VAR}`, `${VAR:-default}`,
`${VAR-default}`, `${VAR:?error}` and `$$`, and the KEY=VALUE lines that Compose's
--env-file and systemd's EnvironmentFile= both read.
"""
from __future__ import annotations

import re
from typing import Mapping


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
            raise ValueError(f"line {n}: expected KEY=VALUE, got {line!r}")
        out[key] = value
    return out
