"""An optional second opinion from ExifTool for files our readers could not date.

Our own readers (metadata.py, video.py) cover the formats households have;
ExifTool knows hundreds of maker formats more. When it is installed and the
setting allows (`exiftool`: "auto" = use it when it is on PATH, "off", or the
path of the program), the analysis asks it about the files whose content gave
no date at all — only those, so the common case costs nothing. One ExifTool
process per worker process stays open (`-stay_open True -@ -`) and answers
file after file, so Perl starts once, not per file.

What it returns becomes ordinary candidates named `exiftool:<Group>:<Tag>`
(e.g. `exiftool:FLIR:DateTimeOriginal`), ranked below every reader of ours
(`timestamps.source_info`), so it can date a file nothing else dates, never
overrule our readers. File-system times, ICC profile dates and edit times
are ignored: they say nothing about the capture.

Pure: no Flask, no database. A missing, broken or slow ExifTool is no error:
the file is analysed as if it were not installed.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
from datetime import datetime, timedelta

from mediaparser.media.timestamps import Candidate, make_candidate

# Tags that record a capture (or the file's creation by the device); edit
# times (ModifyDate, MetadataDate…) and file-system times are not evidence.
CAPTURE_TAGS = frozenset({
    "DateTimeOriginal", "SubSecDateTimeOriginal", "DateCreated", "DateTimeCreated", "CreationDate",
    "ContentCreateDate", "CreateDate", "DateTimeDigitized", "MediaCreateDate", "TrackCreateDate",
    "GPSDateTime", "DateTimeRecorded", "RecordingTime",
})
# Groups whose dates are never about the capture, or that only repeat others.
_IGNORED_GROUPS = frozenset({"System", "File", "ExifTool", "ICC_Profile", "ICC-header", "Composite", "XMP-xmpMM"})
# Groups (or group prefixes) whose times are UTC by their format.
_UTC_GROUPS = ("QuickTime", "Track", "Keys:UTC", "GPS", "XMP-exif:GPS")
QUERY_TIMEOUT = 20.0  # seconds ExifTool may take for one file before it is given up
_ARGS = ("-json", "-G1", "-n", "-time:all", "-api", "LargeFileSupport=1", "-charset", "filename=utf8")


def find_exiftool(setting: str | None) -> str | None:
    """The ExifTool program the setting asks for, or None ("off", or not installed)."""
    s = (setting or "off").strip()
    if s.lower() in ("", "off", "no", "false", "0"):
        return None
    if s.lower() in ("auto", "on", "yes", "true", "1"):
        return shutil.which("exiftool")
    return s if os.path.isfile(s) and os.access(s, os.X_OK) else None


def exiftool_version(exe: str) -> str | None:
    try:
        out = subprocess.run([exe, "-ver"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


class _StayOpen:
    """One `exiftool -stay_open True -@ -` process answering file after file."""

    def __init__(self, exe: str):
        self.proc = subprocess.Popen(
            [exe, "-stay_open", "True", "-@", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True,
        )
        self.buffer = b""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, path: str, timeout: float) -> list[dict]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        args = "\n".join((*_ARGS, path, "-execute")) + "\n"
        self.proc.stdin.write(args.encode("utf-8"))
        self.proc.stdin.flush()
        fd = self.proc.stdout.fileno()
        while b"{ready}\n" not in self.buffer:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                raise TimeoutError("ExifTool did not answer in time")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError("ExifTool stopped")
            self.buffer += chunk
        answer, _, self.buffer = self.buffer.partition(b"{ready}\n")
        text = answer.decode("utf-8", "replace").strip()
        return json.loads(text) if text.startswith("[") else []

    def close(self) -> None:
        try:
            if self.alive() and self.proc.stdin:
                self.proc.stdin.write(b"-stay_open\nFalse\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
        if self.alive():
            self.proc.kill()
            self.proc.wait()


_OPEN: dict[str, _StayOpen] = {}  # per process: the caller's worker keeps its own


def _close_all() -> None:
    for p in list(_OPEN.values()):
        p.close()
    _OPEN.clear()


atexit.register(_close_all)


def ask_exiftool(exe: str, path: str, *, timeout: float = QUERY_TIMEOUT) -> dict | None:
    """ExifTool's tags of one file (`Group:Tag` -> value), or None when it
    could not answer (not runnable, stopped, too slow): never raises for that."""
    if "\n" in path or "\r" in path:
        return None  # one argument per line: such a name cannot be passed
    if not path.startswith("/"):
        path = os.path.abspath(path)  # never read as an option
    proc = _OPEN.get(exe)
    try:
        if proc is None or not proc.alive():
            proc = _OPEN[exe] = _StayOpen(exe)
        answer = proc.ask(path, timeout)
    except (OSError, ValueError, TimeoutError, EOFError):
        _drop(exe)
        return None
    except BaseException:
        _drop(exe)  # interrupted mid-answer (the pool's time limit): the next file starts a fresh one
        raise
    return answer[0] if answer and isinstance(answer[0], dict) else {}


def _drop(exe: str) -> None:
    proc = _OPEN.pop(exe, None)
    if proc is not None:
        if proc.alive():
            proc.proc.kill()
        proc.proc.wait()


def candidates_from_tags(tags: dict, *, now: datetime | None = None) -> list[Candidate]:
    """Capture-date candidates from ExifTool's `-G1 -json` answer."""
    out: list[Candidate] = []
    for key, value in tags.items():
        group, _, tag = key.rpartition(":")
        if not group or tag not in CAPTURE_TAGS or group in _IGNORED_GROUPS or not isinstance(value, str):
            continue
        is_utc = group.startswith(_UTC_GROUPS) or tag == "GPSDateTime"
        c = make_candidate(f"exiftool:{group}:{tag}", value, is_utc=is_utc, now=now)
        if is_utc and c.accepted and c.utc_offset is not None:
            if c.utc_offset and c.value is not None:
                c.value -= timedelta(minutes=c.utc_offset)  # a zone on a UTC tag: back to UTC
            c.utc_offset = None  # UTC by its format; the Z is not a local offset
        if c.value is not None:  # unparsable and zero dates are left out: ExifTool shows every field
            out.append(c)
    return out


def exiftool_candidates(exe: str, path: str, *, now: datetime | None = None) -> list[Candidate] | None:
    """Candidates ExifTool finds in the file at `path`; None when it could not answer."""
    tags = ask_exiftool(exe, path)
    if tags is None:
        return None
    return candidates_from_tags(tags, now=now)
