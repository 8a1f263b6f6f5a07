"""deploy/: what can be checked without a Docker engine or a systemd to install into.

The compose file parses; every `mediaparser` command and option it and the systemd units name
exists in the command line (click parses them); every MEDIAPARSER_* variable they or their
example environment files use is a real setting, listed in the README's table; the settings
they give load (Settings.load, with the folders moved into the test's own); the units parse as
INI with the expected sections and pass `systemd-analyze verify` where it is installed. Starting
the containers and the units is not tested here (README, "Running on several machines").
"""
from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from mediaparser.cli import main as cli
from mediaparser.config import ENV_PREFIX, Settings
import yaml

from tests.support.compose_env import interpolate, read_env_file

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
SETTING_VARS = {ENV_PREFIX + name.upper() for name in Settings.ENV_NAMES}
PATH_SETTINGS = ("MEDIAPARSER_HOME", "MEDIAPARSER_IMPORT_ROOTS", "MEDIAPARSER_OUTPUT")


def parse_command(argv: list[str]) -> tuple[str, dict]:
    """Parse a `mediaparser …` command line with the real CLI; (command path, its parameters).

    An unknown command or option, or a bad value, raises click's UsageError."""
    assert argv and Path(argv[0]).name == "mediaparser", argv
    cmd: click.Command = cli
    path, rest = [], list(argv[1:])
    while isinstance(cmd, click.Group):
        assert rest, f"{argv}: a command is missing after {' '.join(path) or 'mediaparser'}"
        name = rest.pop(0)
        assert name in cmd.commands, f"{argv}: `mediaparser {' '.join(path + [name])}` is not a command"
        cmd = cmd.commands[name]
        path.append(name)
    ctx = cmd.make_context(" ".join(path), rest)
    return " ".join(path), ctx.params


def readme_settings() -> set[str]:
    """The variables of the README's settings table (its rows start with | `MEDIAPARSER_…`)."""
    names: set[str] = set()
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| `MEDIAPARSER_"):
            names.update(re.findall(r"`(MEDIAPARSER_[A-Z_]+)`", line.split("|")[1]))
    return names


def check_variables(text: str, where: str) -> set[str]:
    used = set(re.findall(r"\bMEDIAPARSER_[A-Z0-9_]+\b", text))
    assert used, f"{where} names no setting"
    unknown = used - SETTING_VARS
    assert not unknown, f"{where} uses variables that are not settings (config.py): {sorted(unknown)}"
    undocumented = used - readme_settings()
    assert not undocumented, f"{where} uses settings missing from the README's table: {sorted(undocumented)}"
    return used


def load_settings(env: dict[str, str], tmp_path: Path) -> Settings:
    """Settings from a deploy file's variables, with its folders moved under tmp_path (they are
    the container's or the server's, not this machine's)."""
    env = dict(env)
    for name in PATH_SETTINGS:
        if env.get(name):
            moved = [str(tmp_path / p.lstrip("/")) for p in env[name].split(":")]
            for p in moved:
                Path(p).mkdir(parents=True, exist_ok=True)
            env[name] = ":".join(moved)
    return Settings.load(environ=env)


# ------------------------------------------------------------------ compose --

@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_names_only_real_commands_options_and_settings(compose, tmp_path):
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    check_variables(text, "compose.yaml")
    check_variables((DEPLOY / "compose.env.example").read_text(encoding="utf-8"), "compose.env.example")
    services = compose["services"]
    assert {"web", "worker", "postgres", "redis"} <= set(services)

    commands = {}
    for name, svc in services.items():
        argv = svc.get("command")
        if argv and argv[0] == "mediaparser":
            commands[name] = parse_command(argv)
        test = (svc.get("healthcheck") or {}).get("test")
        if test and test[0] == "CMD" and test[1] == "mediaparser":
            commands[name + " healthcheck"] = parse_command(test[1:])
    assert commands["web"][0] == "serve"
    assert commands["worker"][0] == "worker"
    assert commands["worker healthcheck"][0] == "health", "the worker's healthcheck asks the worker's health port"


def test_compose_services_share_database_queue_and_folders(compose, tmp_path):
    env_file = read_env_file((DEPLOY / "compose.env.example").read_text(encoding="utf-8"))
    services = compose["services"]
    named_volumes = set(compose["volumes"])
    loaded = {}
    for name in ("web", "worker"):
        svc = services[name]
        env = {k: interpolate(v, env_file) for k, v in svc["environment"].items()}
        assert env["MEDIAPARSER_DATABASE_URL"].startswith("postgresql+psycopg://") \
            and "@postgres:" in env["MEDIAPARSER_DATABASE_URL"], "the database is the postgres service"
        assert env["MEDIAPARSER_QUEUE_URL"].startswith("redis://redis:"), "the queue is the redis service"
        mounts = {}
        for volume in svc["volumes"]:
            source, target = interpolate(volume, env_file).split(":")[:2]
            mounts[target] = source
            if not source.startswith("/"):
                assert source in named_volumes, f"{name}: volume {source} is not declared"
        assert mounts[env["MEDIAPARSER_HOME"]] == "instance", f"{name}: the instance folder is the shared volume"
        assert env["MEDIAPARSER_IMPORT_ROOTS"] in mounts, f"{name}: the media folder is mounted"
        assert volume_is_read_only(svc, env["MEDIAPARSER_IMPORT_ROOTS"], env_file), "originals are mounted read-only"
        assert env["MEDIAPARSER_OUTPUT"] in mounts, f"{name}: the archive folder is mounted"
        loaded[name] = load_settings(env, tmp_path / name)
    web, worker = loaded["web"], loaded["worker"]
    assert web.host == "0.0.0.0" and web.password, "the web listens beyond the container, behind its password"
    assert web.database_url == worker.database_url and web.queue_url == worker.queue_url
    assert worker.worker_health_port > 0, "each worker answers its healthcheck"
    assert worker.worker_concurrency >= 1 and worker.workers >= 1
    replicas = int(interpolate(services["worker"]["deploy"]["replicas"], env_file))
    assert replicas >= 2, "several workers by default"
    for svc in ("web", "worker"):
        deps = services[svc]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy" and deps["redis"]["condition"] == "service_healthy"
    for name, value in services["postgres"]["environment"].items():
        interpolate(value, env_file)  # every variable it needs is in the example (a missing `:?` one raises)


def volume_is_read_only(svc: dict, target: str, env_file: dict) -> bool:
    for volume in svc["volumes"]:
        parts = interpolate(volume, env_file).split(":")
        if parts[1] == target:
            return len(parts) > 2 and "ro" in parts[2].split(",")
    return False


def test_dockerfile_copies_what_the_repository_has():
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    copies = [line.split()[1:-1] for line in text.splitlines() if line.startswith("COPY ")]
    assert copies
    for sources in copies:
        for src in sources:
            assert (ROOT / src).exists(), f"the Dockerfile copies {src}, which the build context lacks"
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd, "the image has a default command"
    import json

    parse_command(json.loads(cmd.group(1)))
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    for sources in copies:
        for src in sources:
            assert f"!{src}" in ignore or f"!{src}/**" in ignore, f"{src} is excluded from the build context"


# ------------------------------------------------------------------ systemd --

def read_unit(path: Path) -> configparser.ConfigParser:
    # Units may repeat a key (Environment=…); strict=False keeps reading, and no interpolation: % is systemd's.
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",),
                                     comment_prefixes=("#", ";"), empty_lines_in_values=False)
    unit.optionxform = str  # keys are case-sensitive
    unit.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return unit


@pytest.mark.parametrize("unit_name, command", [
    ("mediaparser-web.service", "serve"),
    ("mediaparser-worker@.service", "worker"),
])
def test_systemd_unit_parses_and_runs_a_real_command(unit_name, command, tmp_path):
    unit = read_unit(UNITS / unit_name)
    assert {"Unit", "Service", "Install"} <= set(unit.sections())
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"].replace("%i", "8101"))
    assert argv[0].startswith("/") and Path(argv[0]).name == "mediaparser", "ExecStart needs a full path"
    name, params = parse_command(argv)
    assert name == command
    if command == "worker":
        assert params["health_port"] == 8101, "the instance name is the worker's health port"
        assert service["KillSignal"] == "SIGTERM", "the worker's graceful stop"
    env_file = service["EnvironmentFile"].lstrip("-")
    assert env_file == "/etc/mediaparser/mediaparser.env"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_environment_file_example_holds_real_settings(tmp_path):
    text = (UNITS / "mediaparser.env.example").read_text(encoding="utf-8")
    used = check_variables(text, "mediaparser.env.example")
    assert {"MEDIAPARSER_DATABASE_URL", "MEDIAPARSER_QUEUE_URL", "MEDIAPARSER_HOME"} <= used
    settings = load_settings(read_env_file(text), tmp_path)
    assert settings.database_url.startswith("postgresql") and settings.queue_is_redis


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_units(tmp_path):
    # verify insists that ExecStart's program exists: point it at a stand-in in a copy of the units.
    program = tmp_path / "bin" / "mediaparser"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    for unit in UNITS.glob("*.service"):
        text = unit.read_text(encoding="utf-8")
        (tmp_path / unit.name).write_text(re.sub(r"(?m)^(Exec\w+=)\S*/mediaparser\b", rf"\g<1>{program}", text))
    for name in ("mediaparser-web.service", "mediaparser-worker@8101.service"):
        out = subprocess.run(["systemd-analyze", "verify", str(tmp_path / name)], capture_output=True,
                             text=True, cwd=tmp_path, timeout=60)
        complaints = [line for line in (out.stdout + out.stderr).splitlines()
                      if name.split("@")[0] in line or "Unknown" in line or "ignoring" in line]
        assert out.returncode == 0 and not complaints, out.stdout + out.stderr
