"""The one rule for where the archive (the output folder) may be.

Every place that accepts an output folder asks here: start-up
(`config.Settings.load`), the settings page, a folder typed on the export
page, `mediaparser export --output`, and the exporter itself right before it
writes. The rule keeps the archive apart from everything MediaParser reads
or owns, so that exporting, importing again and cleaning up can never take
an archive copy for its own source:

- the folder is an absolute path;
- it is not a system folder: not `/`, not `/root` or `/home` themselves, and
  not `/etc /proc /sys /dev /boot /usr /bin /sbin /lib* /run /var` nor
  anything inside them — except, strictly inside, the places where data
  folders live on ordinary and image-based systems: `/var/lib/…`,
  `/var/local/…`, `/var/opt/…`, `/var/home/…`, `/var/mnt/…`, `/var/srv/…`
  (Fedora Silverblue links `/home`, `/mnt`, `/srv` there) and `/run/media/…`
  (where desktops mount external disks). `/srv`, `/mnt`, `/media`, `/opt`,
  `/tmp`, `/home/<user>` and a folder inside `/root` are allowed;
- it is not, does not contain and does not lie inside an import root, the
  upload folder or the thumbnail folder;
- it is not and does not contain the instance folder (a folder inside it,
  such as the default `instance/archive`, is fine);
- MediaParser can write in it, or create it (only where the folder is about
  to be used; start-up does not probe).

All of it is decided on resolved real paths, so a link that leads into an
import root counts as inside it. The answers speak about the folder asked
about only: they never name another path of the disk, nor say whether some
other path exists (a folder that does not exist yet "will be created" or
"cannot be created", whatever the reason).

This module depends on nothing else in MediaParser (config.py imports it).
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

# Refused, and everything inside them.
SYSTEM_TREES = ("/etc", "/proc", "/sys", "/dev", "/boot", "/usr", "/bin", "/sbin", "/run", "/var")
# Refused themselves (a folder inside them is fine).
SYSTEM_FOLDERS = ("/", "/root", "/home")
# Inside a system tree, but where data folders live: allowed strictly inside.
DATA_PLACES = ("/var/lib", "/var/local", "/var/opt", "/var/home", "/var/mnt", "/var/srv", "/run/media")

CHOOSE = "Choose a folder of its own for the archive, e.g. /srv/photo-archive or a folder in your home folder."
APART = ("The archive must be kept apart from the photos MediaParser imports, or clean-up could take an archive "
         "copy for its source. Choose a folder outside the import roots, e.g. next to them.")


@dataclass(frozen=True)
class OutputCheck:
    """The answer about one folder: usable or not, a message for a person, the folder as absolute path."""
    ok: bool
    message: str
    path: str

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "message": self.message, "path": self.path}


def _within(path: str, folder: str) -> bool:
    """`path` is `folder` or lies inside it (both real, absolute, normalised)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _real(path: str | os.PathLike) -> str:
    return os.path.realpath(os.path.abspath(os.fspath(path)))


def system_folder(real: str) -> bool:
    """Is this (resolved) folder a system folder the archive may not be written into?"""
    if real in SYSTEM_FOLDERS:
        return True
    if any(_within(real, place) and real != place for place in DATA_PLACES):
        return False
    top = real.split("/")[1] if real.count("/") else ""
    return top.startswith("lib") or any(_within(real, tree) for tree in SYSTEM_TREES)


def placement_problem(output: str | os.PathLike, *, import_roots: Iterable[str | os.PathLike],
                      upload_dir: str | os.PathLike, thumbnail_dir: str | os.PathLike,
                      home: str | os.PathLike) -> str | None:
    """Why `output` (absolute) may not hold the archive, or None. Reads no file, only resolves links."""
    real = _real(output)
    if system_folder(real):
        return f"This is, or leads into, a system folder. {CHOOSE}"
    linked = real != os.path.abspath(os.fspath(output))  # a link (somewhere on the way) decides where it is
    for root in import_roots:
        r = _real(root)
        if _within(real, r):
            where = "leads into" if linked else ("is" if real == r else "lies inside")
            return f"This folder {where} the import root {root}. {APART}"
        if _within(r, real):
            return f"This folder contains the import root {root}. {APART}"
    h = _real(home)
    if _within(h, real):
        relation = "is" if real == h else "contains"
        return (f"This folder {relation} MediaParser's instance folder ({home}: database, uploads, thumbnails). "
                f"Choose a folder inside it, e.g. {Path(home) / 'archive'}, or a folder elsewhere.")
    for own, name in ((upload_dir, "upload folder"), (thumbnail_dir, "thumbnail folder")):
        o = _real(own)
        if _within(real, o) or _within(o, real):
            relation = "is" if real == o else ("lies inside" if _within(real, o) else "contains")
            return (f"This folder {relation} MediaParser's {name} ({own}). "
                    f"Choose a folder outside it, e.g. {Path(home) / 'archive'}.")
    return None


def _can_write(folder: str) -> bool:
    try:
        fd, tmp = tempfile.mkstemp(prefix=".mediaparser-write-test-", dir=folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError:
        return False
    return True


def check(path: str | os.PathLike | None, *, import_roots: Iterable[str | os.PathLike],
          upload_dir: str | os.PathLike, thumbnail_dir: str | os.PathLike, home: str | os.PathLike,
          probe_write: bool = True) -> OutputCheck:
    """The whole rule (module docstring) for one folder. Never raises for bad input."""
    raw = os.fspath(path).strip() if path is not None else ""
    if not raw:
        return OutputCheck(False, "Give the folder the archive is written to.", raw)
    if "\x00" in raw:
        return OutputCheck(False, "A folder name cannot contain a NUL character.", raw.replace("\x00", ""))
    p = os.path.expanduser(raw)
    if not os.path.isabs(p):
        return OutputCheck(False, "Give the full path, starting with /.", raw)
    p = os.path.abspath(p)
    try:
        problem = placement_problem(p, import_roots=import_roots, upload_dir=upload_dir,
                                    thumbnail_dir=thumbnail_dir, home=home)
    except (OSError, ValueError):
        problem = f"This folder name cannot be used. {CHOOSE}"
    if problem:
        return OutputCheck(False, problem, p)
    if os.path.lexists(p) and not os.path.isdir(p):
        return OutputCheck(False, "This is a file, not a folder.", p)
    if os.path.isdir(p):
        if probe_write and not _can_write(p):
            return OutputCheck(False, f"MediaParser cannot write in this folder. {CHOOSE}", p)
        return OutputCheck(True, "The folder exists and MediaParser can write in it.", p)
    if probe_write:
        # The nearest existing folder above decides, but the answer never names it nor says why
        # it failed: neither the message nor the result tells which other paths exist.
        probe = os.path.dirname(p)
        while not os.path.lexists(probe):
            probe = os.path.dirname(probe)
        if not (os.path.isdir(probe) and _can_write(probe)):
            return OutputCheck(False, f"This folder does not exist and MediaParser cannot create it. {CHOOSE}", p)
    return OutputCheck(True, "This folder does not exist yet; it will be created.", p)
