"""Settings a person edits in the web UI, and where each is kept.

- The output folder and the default time zone are ordinary settings of
  `config.Settings`; the UI writes them to the instance `config.json` (the
  file an operator already edits, same keys), keeping every other key. An
  environment variable wins over that file, so a setting fixed by one is
  shown read-only with the variable's name.
- Every output folder from the web — this page or one typed on the export
  page — passes the output rule (output_rule.py, via Settings.check_output);
  one fixed by MEDIAPARSER_OUTPUT cannot be changed by any route
  (web_export_output).
- The archive layout template has no place in `config.json` yet (config.py
  refuses unknown keys), so it lives in the `app_settings` table, shared by
  every process that uses the database.

The default time zone starts as this computer's own (config.system_zone);
`timezone_info` says where the current one came from, and whether the import
page should still ask "Where were most of these taken?" — once, until a person
answers (their choice is kept in config.json like any other, and when and
which zone they chose in `app_settings`, so the pages can say "set by you on
7 Dec 2026").

The web process uses new values at once; a running worker reads its
settings when it starts (the page says so).
"""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from mediaparser.config import ENV_PREFIX, Settings
from mediaparser.store.db import db, write_transaction
from mediaparser.store.models import AppSetting, utcnow
from mediaparser.media import layout
from mediaparser.media.atomic import atomic_write
from mediaparser.media.isotime import iso_utc

LAYOUT_KEY = "archive_layout"
TZ_CHOICE_KEY = "timezone_choice"  # {"zone": name, "at": ISO UTC}: a person chose the default time zone
FILE_KEYS = ("output", "timezone")


class SettingsError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


_ZONES: list[str] | None = None


def time_zones() -> list[str]:
    global _ZONES
    if _ZONES is None:
        names = {z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/"))}
        names.add("UTC")
        _ZONES = sorted(names)
    return _ZONES


def locked_by_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    return {k: ENV_PREFIX + k.upper() for k in FILE_KEYS if env.get(ENV_PREFIX + k.upper())}


def refreshed(settings: Settings, environ: Mapping[str, str] | None = None) -> Settings:
    """`settings` with the output folder and time zone as config.json holds them now.

    A worker runs for days while the settings page writes config.json: each job
    takes the values saved by then (the web process applies them at once).
    Values fixed by the environment stay; an unreadable or invalid file
    changes nothing (the settings page never writes one).
    """
    try:
        data = json.loads((settings.home / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return settings
    if not isinstance(data, dict):
        return settings
    locked = locked_by_env(environ)
    changes: dict[str, Any] = {}
    output, tz = data.get("output"), data.get("timezone")
    # A folder the output rule refuses (edited by hand since) changes nothing; the exporter checks
    # every job's folder again before it writes.
    if "output" not in locked and isinstance(output, str) and os.path.isabs(output) \
            and settings.output_problem(output) is None:
        changes["output"] = Path(output)
    if "timezone" not in locked and isinstance(tz, str) and tz in time_zones():
        changes["timezone"] = tz
        changes["timezone_origin"] = "config"
    changes = {k: v for k, v in changes.items() if getattr(settings, k) != v}
    return settings.with_overrides(**changes) if changes else settings


def get_layout() -> str:
    row = db.session.get(AppSetting, LAYOUT_KEY)
    db.session.commit()
    if row is None or not isinstance(row.value, str):
        return layout.DEFAULT_LAYOUT
    return row.value


def check_output(settings: Settings, path: str | None) -> dict[str, Any]:
    """Can the archive be written there? {"ok", "message", "path"} — never raises.

    The output rule itself (what is allowed, and answering about that folder
    only) lives in output_rule.py; this is its answer for the web pages."""
    return settings.check_output(path).as_dict()


class OutputRefused(SettingsError):
    """An export from the web may not go to the folder asked for; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__("output", message)
        self.status = status


def web_export_output(settings: Settings, requested: str | None) -> str | None:
    """The output folder an export asked for from the web may use: None for the configured one.

    An output fixed by the environment (MEDIAPARSER_OUTPUT) cannot be changed from the web by any
    route: a different folder is refused (403); the same folder is fine. Otherwise a typed folder
    must pass the output rule, like the settings page."""
    if requested is None or not requested.strip():
        return None
    locked = locked_by_env()
    if "output" in locked:
        chk = settings.check_output(requested, probe_write=False)
        if chk.path and os.path.isabs(chk.path) and settings.output is not None \
                and os.path.realpath(chk.path) == os.path.realpath(settings.output):
            return None
        raise OutputRefused(f"The output folder is set by the environment variable {locked['output']} "
                            f"({settings.output}); exports from the web page always go there.", 403)
    chk = settings.check_output(requested)
    if not chk.ok:
        raise OutputRefused(chk.message, 400)
    return chk.path


def _tz_choice() -> dict[str, Any] | None:
    row = db.session.get(AppSetting, TZ_CHOICE_KEY)
    db.session.commit()
    return row.value if row is not None and isinstance(row.value, dict) else None


def _day(iso: str | None) -> str:
    try:
        d = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return "an earlier day"
    return f"{d.day} {d:%b %Y}"


def timezone_info(settings: Settings) -> dict[str, Any]:
    """Where the default time zone came from, in words, and whether the import page should ask for it.

    {"origin": "person" | "env" | "config" | "system" | "start" | "default", "words": "...",
     "ask": bool}. The question is asked while nobody chose a zone and nothing an operator set
    (environment, config file) names one: the zone is then the computer's guess (or UTC).
    """
    origin = settings.timezone_origin
    choice = _tz_choice()
    if origin == "env":
        kind, words = "env", f"from the environment variable {ENV_PREFIX}TIMEZONE"
    elif origin == "config" and choice and choice.get("zone") == settings.timezone:
        kind, words = "person", f"set by you on {_day(choice.get('at'))}"
    elif origin == "config":
        kind, words = "config", f"from the config file {settings.home / 'config.json'}"
    elif origin.startswith("system:"):
        kind, words = "system", f"from this computer's system settings ({origin.split(':', 1)[1]})"
    elif origin == "override":
        kind, words = "start", "set when MediaParser was started"
    else:
        kind, words = "default", "the default, as nothing on this computer names a time zone"
    return {"origin": kind, "words": words, "ask": kind in ("system", "default") and choice is None}


def current(settings: Settings) -> dict[str, Any]:
    tpl = get_layout()
    return {
        "output": str(settings.output),
        "output_check": check_output(settings, str(settings.output)),
        "timezone": settings.timezone,
        "timezone_origin": timezone_info(settings),
        "import_roots": [str(r) for r in settings.import_roots],
        "layout": tpl,
        "layout_example": layout.example(tpl),
        "layout_default": layout.DEFAULT_LAYOUT,
        "layout_tokens": layout.TOKENS,
        "locked": locked_by_env(),
        "config_file": str(settings.home / "config.json"),
    }


def save(settings: Settings, changes: Mapping[str, Any]) -> Settings:
    """Validate and store `changes`; returns the web process's new Settings."""
    locked = locked_by_env()
    file_updates: dict[str, Any] = {}
    new_layout: str | None = None
    for key, value in changes.items():
        if key not in ("output", "timezone", "layout"):
            raise SettingsError(key, f"{key} cannot be changed here")
        if key in locked:
            raise SettingsError(key, f"{key} is set by the environment variable {locked[key]}; change it there")
        if not isinstance(value, str):
            raise SettingsError(key, f"{key} must be text")
    if "output" in changes:
        chk = settings.check_output(changes["output"])
        if not chk.ok:
            raise SettingsError("output", chk.message)
        try:
            Path(chk.path).mkdir(parents=True, exist_ok=True)
        except OSError:  # no reason given: it could tell which folders on the way exist
            raise SettingsError("output", "MediaParser could not create this folder; choose another one") from None
        file_updates["output"] = chk.path
    if "timezone" in changes:
        tz = changes["timezone"].strip()
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError("timezone", f"{tz!r} is not a time zone name from the list (e.g. Europe/Berlin)") from None
        file_updates["timezone"] = tz
    if "layout" in changes:
        try:
            new_layout = layout.check(changes["layout"]).template
        except layout.LayoutError as exc:
            raise SettingsError("layout", str(exc)) from None
    if file_updates:
        _write_config(settings.home / "config.json", file_updates)
    if new_layout is not None:
        _put(LAYOUT_KEY, new_layout)
    if "timezone" in file_updates:
        # A person answered: the import page stops asking, and the pages say who set it and when.
        _put(TZ_CHOICE_KEY, {"zone": file_updates["timezone"], "at": iso_utc(utcnow())})
    overrides: dict[str, Any] = {}
    if "output" in file_updates:
        overrides["output"] = Path(file_updates["output"])
    if "timezone" in file_updates:
        overrides["timezone"] = file_updates["timezone"]
        overrides["timezone_origin"] = "config"
    return settings.with_overrides(**overrides) if overrides else settings


def _put(key: str, value: Any) -> None:
    with write_transaction() as s:
        row = s.get(AppSetting, key)
        if row is None:
            s.add(AppSetting(key=key, value=value, updated_at=utcnow()))
        else:
            row.value, row.updated_at = value, utcnow()


def _write_config(path: Path, updates: Mapping[str, Any]) -> None:
    """Merge `updates` into config.json atomically (temporary file + rename)."""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsError("config", f"{path} cannot be read ({exc}); fix or remove it first") from None
        if not isinstance(data, dict):
            raise SettingsError("config", f"{path} does not hold a JSON object; fix or remove it first")
    data.update(updates)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    with atomic_write(path, text=True, prefix=".config-", suffix=".json", file_mode=mode) as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
