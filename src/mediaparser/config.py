"""The one Settings object: defaults, then the instance config file, then env.

Every knob a server operator can turn lives here, with its environment
variable, so `mediaparser`, the web app and the worker agree on one view of
the configuration. Bad values fail at start-up with a message that names the
variable and says what is expected, instead of surfacing later as a crash deep
inside a job.

Precedence (later wins): built-in defaults, `config.json` in the instance
folder (keys are the variable names without the `MEDIAPARSER_` prefix, lower
case, e.g. `{"output": "/srv/archive"}`), environment variables, and finally
an explicit mapping passed to `Settings.load(overrides=...)` (tests, CLI flags).
"""
from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mediaparser import output_rule

ENV_PREFIX = "MEDIAPARSER_"
ETC = Path("/etc")  # where the computer's own time zone is read from (tests point it elsewhere)
# Names the system may use for UTC; shown as "UTC", the name the time zone lists use.
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu",
                        "Etc/GMT", "GMT", "Etc/GMT0", "GMT0", "Etc/Greenwich", "Greenwich"})


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message says which."""


@dataclass(frozen=True)
class Settings:
    home: Path = Path("instance")
    database_url: str = ""  # default: sqlite file in home
    queue_url: str = ""  # default: SqliteHuey file in home; redis://... for Redis
    workers: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    import_roots: tuple[Path, ...] = ()
    output: Path | None = None
    timezone: str = "UTC"
    # Where `timezone` came from: "override", "env", "config" (config.json), "system:<what said so>"
    # (TZ, /etc/localtime, /etc/timezone) or "default" (nothing named a zone: UTC).
    timezone_origin: str = "default"
    host: str = "127.0.0.1"
    port: int = 5000
    password: str | None = None
    # Job engine knobs (documented in the README; tests shorten them).
    lease_seconds: float = 60.0  # a RUNNING job whose heartbeat is older is stale
    max_attempts: int = 3  # claims of one job before it is declared FAILED
    reap_interval: float = 10.0  # how often a worker looks for stale jobs
    retry_delay: float = 30.0  # seconds before a job that raised runs again (within max_attempts)
    file_timeout: float = 120.0  # per-file time limit for analysis
    chunk_size: int = 250  # files of an import per chunk task (runtime/chunks.py)
    preview_max_bytes: int = 256 * 1024**2  # larger pictures get no screen-size preview (usecases/previews.py)
    preview_timeout: float = 20.0  # seconds one preview may take to make
    secret_key: str | None = None
    # ExifTool's second opinion on files our readers cannot date (media/exiftool.py):
    # "off", "auto" (when it is on PATH) or the program's path.
    exiftool: str = "off"
    # `mediaparser worker` (runtime/worker.py, runtime/health.py): tasks (jobs, chunks) one worker
    # runs at once, and where it answers health questions about itself (port 0: it does not).
    worker_concurrency: int = 2
    worker_health_port: int = 0
    worker_health_host: str = "127.0.0.1"

    ENV_NAMES = (
        "home", "database_url", "queue_url", "workers", "import_roots", "output",
        "timezone", "host", "port", "password", "lease_seconds", "max_attempts",
        "reap_interval", "retry_delay", "file_timeout", "secret_key", "preview_max_bytes", "preview_timeout",
        "exiftool", "worker_concurrency", "worker_health_port", "worker_health_host", "chunk_size",
    )

    # -- derived paths -------------------------------------------------------
    @property
    def database_path(self) -> Path | None:
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url[len("sqlite:///"):])
        return None

    @property
    def queue_is_redis(self) -> bool:
        return self.queue_url.startswith(("redis://", "rediss://", "unix://"))

    @property
    def queue_path(self) -> Path | None:
        if self.queue_url.startswith("sqlite:///"):
            return Path(self.queue_url[len("sqlite:///"):])
        return None

    @property
    def thumbnail_dir(self) -> Path:
        return self.home / "thumbnails"

    @property
    def upload_dir(self) -> Path:
        return self.home / "uploads"

    def check_output(self, path: str | os.PathLike | None, *, probe_write: bool = True) -> output_rule.OutputCheck:
        """May the archive be written to `path`? The output rule (output_rule.py) for this instance."""
        return output_rule.check(path, import_roots=self.import_roots, upload_dir=self.upload_dir,
                                 thumbnail_dir=self.thumbnail_dir, home=self.home, probe_write=probe_write)

    def output_problem(self, path: str | os.PathLike | None = None) -> str | None:
        """Why `path` (default: the configured output) may not hold the archive; None when it may.
        Only where it lies — it does not probe whether MediaParser can write there."""
        chk = self.check_output(self.output if path is None else path, probe_write=False)
        return None if chk.ok else chk.message

    def path_in_import_roots(self, path: str | os.PathLike) -> Path | None:
        """Return the resolved path when it lies inside a configured import root."""
        real = Path(os.path.realpath(path))
        for root in self.import_roots + (self.upload_dir.resolve(),):
            root_real = Path(os.path.realpath(root))
            if real == root_real or root_real in real.parents:
                return real
        return None

    # -- loading -------------------------------------------------------------
    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        raw: dict[str, Any] = {}
        overrides = dict(overrides or {})
        home = overrides.get("home") or env.get(ENV_PREFIX + "HOME") or "instance"
        home_path = Path(home).expanduser().resolve()
        config_file = home_path / "config.json"
        if config_file.exists():
            try:
                file_values = json.loads(config_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{config_file}: cannot read instance config: {exc}") from exc
            if not isinstance(file_values, dict):
                raise ConfigError(f"{config_file}: must hold a JSON object")
            for key, value in file_values.items():
                if key not in cls.ENV_NAMES:
                    raise ConfigError(f"{config_file}: unknown setting {key!r}")
                raw[key] = value
        for name in cls.ENV_NAMES:
            var = ENV_PREFIX + name.upper()
            if var in env and env[var] != "":
                raw[name] = env[var]
        if raw.get("timezone"):
            raw["timezone_origin"] = "env" if env.get(ENV_PREFIX + "TIMEZONE") else "config"
        raw.update(overrides)
        if overrides.get("timezone"):
            raw["timezone_origin"] = "override"
        if not raw.get("timezone"):
            found = system_zone(env)
            if found is not None:
                raw["timezone"], raw["timezone_origin"] = found[0], f"system:{found[1]}"
        raw["home"] = home_path
        settings = cls._from_raw(raw)
        # The output rule (output_rule.py) at start-up, wherever the value came from.
        problem = settings.output_problem()
        if problem:
            if "output" in overrides:
                origin = f"the output folder {settings.output}"
            elif env.get(ENV_PREFIX + "OUTPUT"):
                origin = f"{ENV_PREFIX}OUTPUT={settings.output}"
            elif raw.get("output"):
                origin = f"{ENV_PREFIX}OUTPUT (\"output\" in {config_file}) {settings.output}"
            else:
                origin = f"{ENV_PREFIX}OUTPUT is not set, and its default {settings.output}"
            raise ConfigError(f"{origin} cannot hold the archive: {problem}")
        return settings

    @classmethod
    def _from_raw(cls, raw: Mapping[str, Any]) -> "Settings":
        values: dict[str, Any] = {}
        home: Path = raw["home"]
        values["home"] = home
        values["database_url"] = str(raw.get("database_url") or f"sqlite:///{home / 'mediaparser.db'}")
        if not values["database_url"].startswith(("sqlite:///", "postgresql")):
            raise ConfigError(
                "MEDIAPARSER_DATABASE_URL must be sqlite:///PATH or postgresql+psycopg://..., "
                f"got {values['database_url']!r}")
        values["queue_url"] = str(raw.get("queue_url") or f"sqlite:///{home / 'queue.db'}")
        if not values["queue_url"].startswith(("sqlite:///", "redis://", "rediss://", "unix://")):
            raise ConfigError(
                "MEDIAPARSER_QUEUE_URL must be sqlite:///PATH (embedded) or redis://HOST:PORT/DB, "
                f"got {values['queue_url']!r}")
        if values["queue_url"].startswith("sqlite:///") and values["queue_url"] == values["database_url"]:
            raise ConfigError("MEDIAPARSER_QUEUE_URL must not point at the application database file")
        values["workers"] = _int(raw, "workers", minimum=1, default=cls.__dataclass_fields__["workers"].default_factory())  # type: ignore[misc]
        values["port"] = _int(raw, "port", minimum=1, maximum=65535, default=5000)
        values["max_attempts"] = _int(raw, "max_attempts", minimum=1, default=3)
        values["lease_seconds"] = _float(raw, "lease_seconds", minimum=1.0, default=60.0)
        values["reap_interval"] = _float(raw, "reap_interval", minimum=0.2, default=10.0)
        values["retry_delay"] = _float(raw, "retry_delay", minimum=0.0, default=30.0)
        values["file_timeout"] = _float(raw, "file_timeout", minimum=1.0, default=120.0)
        values["chunk_size"] = _int(raw, "chunk_size", minimum=1, default=250)
        values["preview_max_bytes"] = _int(raw, "preview_max_bytes", minimum=1, default=256 * 1024**2)
        values["preview_timeout"] = _float(raw, "preview_timeout", minimum=0.5, default=20.0)
        values["host"] = str(raw.get("host") or "127.0.0.1")
        values["worker_concurrency"] = _int(raw, "worker_concurrency", minimum=1, maximum=256, default=2)
        values["worker_health_port"] = _int(raw, "worker_health_port", minimum=0, maximum=65535, default=0)
        values["worker_health_host"] = str(raw.get("worker_health_host") or "127.0.0.1")
        values["password"] = _password(raw.get("password"))
        values["secret_key"] = str(raw["secret_key"]) if raw.get("secret_key") else None
        exiftool = str(raw.get("exiftool") or "off").strip()
        if exiftool.lower() not in ("off", "auto") and not (os.path.isfile(exiftool) and os.access(exiftool, os.X_OK)):
            raise ConfigError(f"MEDIAPARSER_EXIFTOOL must be off, auto or the path of the exiftool program, got {exiftool!r}")
        values["exiftool"] = exiftool.lower() if exiftool.lower() in ("off", "auto") else exiftool
        tz = str(raw.get("timezone") or "UTC")
        values["timezone_origin"] = str(raw.get("timezone_origin") or "default")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"MEDIAPARSER_TIMEZONE: {tz!r} is not an IANA time zone name (e.g. Europe/Berlin)") from exc
        values["timezone"] = tz
        roots = raw.get("import_roots") or ()
        if isinstance(roots, str):
            roots = [r for r in roots.split(":") if r]
        root_paths = []
        for r in roots:
            p = Path(r).expanduser()
            if not p.is_absolute():
                raise ConfigError(f"MEDIAPARSER_IMPORT_ROOTS: {r!r} must be an absolute path")
            if not p.is_dir():
                raise ConfigError(f"MEDIAPARSER_IMPORT_ROOTS: {r!r} is not an existing folder")
            root_paths.append(p.resolve())
        values["import_roots"] = tuple(root_paths)
        out = raw.get("output")
        values["output"] = Path(out).expanduser().resolve() if out else home / "archive"
        return cls(**values)

    def with_overrides(self, **changes: Any) -> "Settings":
        return replace(self, **changes)

    def public_dict(self) -> dict[str, Any]:
        """Settings safe to show in the UI or `status --json` (no secrets)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("password", "secret_key"):
                continue
            v = getattr(self, f.name)
            if isinstance(v, Path):
                v = str(v)
            elif isinstance(v, tuple):
                v = [str(x) for x in v]
            out[f.name] = v
        out["password_set"] = bool(self.password)
        return out


MIN_PASSWORD_CHARS = 8


def _password(value: Any) -> str | None:
    """The login password, used exactly as set (nothing trimmed: the form sends what was typed).

    A password that is set must have at least MIN_PASSWORD_CHARS characters
    that are not whitespace, wherever the app listens: " " or eight spaces
    would let anyone in, and a short one on localhost today is the LAN
    password of tomorrow. Unset (or empty) means no login.
    """
    if value is None or value == "":
        return None
    password = str(value)
    if len("".join(password.split())) < MIN_PASSWORD_CHARS:
        raise ConfigError(f"{ENV_PREFIX}PASSWORD must have at least {MIN_PASSWORD_CHARS} characters "
                          "besides spaces (a phrase of a few words is easy to type and hard to guess)")
    return password


def _int(raw: Mapping[str, Any], name: str, *, minimum: int, default: int, maximum: int | None = None) -> int:
    value = raw.get(name, default)
    try:
        n = int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be a whole number, got {value!r}") from exc
    if n < minimum or (maximum is not None and n > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be {bound}, got {n}")
    return n


def _float(raw: Mapping[str, Any], name: str, *, minimum: float, default: float) -> float:
    value = raw.get(name, default)
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be a number, got {value!r}") from exc
    if x < minimum:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be at least {minimum}, got {x}")
    return x


def system_zone(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """This computer's own time zone as (IANA name, what said so), or None when nothing names one.

    Asked in order: the TZ variable (a name, or a path into a zoneinfo folder),
    the /etc/localtime link (its target ends in zoneinfo/<name>), and Debian's
    /etc/timezone. Only names Python's zoneinfo knows count; the UTC aliases
    (Etc/UTC, Zulu…) become "UTC".
    """
    env = os.environ if environ is None else environ

    def known(name: str) -> str | None:
        name = name.strip().lstrip(":")
        if "zoneinfo/" in name:
            name = name.rsplit("zoneinfo/", 1)[1]
        for prefix in ("posix/", "right/"):
            name = name.removeprefix(prefix)
        if not name or name.startswith("/"):
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return None
        return "UTC" if name in _UTC_NAMES else name

    if env.get("TZ"):
        name = known(env["TZ"])
        if name:
            return name, "TZ"
    try:
        name = known(os.readlink(ETC / "localtime"))
    except OSError:
        name = None
    if name:
        return name, str(ETC / "localtime")
    try:
        name = known((ETC / "timezone").read_text(encoding="utf-8").splitlines()[0])
    except (OSError, ValueError, IndexError):
        name = None
    if name:
        return name, str(ETC / "timezone")
    return None


def is_loopback(host: str) -> bool:
    """True when `host` (a name or an address, IPv6 maybe in brackets) is this machine only.

    The CLI and the web app both refuse to serve anything else without a
    password; they ask here so they cannot disagree about what "local" means.
    """
    h = host.strip("[]")
    if h == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False
