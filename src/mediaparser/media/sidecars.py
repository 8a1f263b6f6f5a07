"""Sidecar files next to a media file: XMP sidecars and Google Takeout JSON.

XMP sidecars are found as `name.ext.xmp` (darktable, digiKam) or `name.xmp`
(Lightroom, Capture One), any letter case.

Google Takeout writes one JSON per media file, and its naming is irregular:

- `IMG_1234.jpg.json`, newer exports `IMG_1234.jpg.supplemental-metadata.json`;
- the JSON name (without `.json`) is cut at a fixed length, so long names
  become `…jpg.supplemental-metad.json`, `…jpg.suppl.json`, `…jp.json` or even
  cut inside the media name;
- duplicates: the media file `name(1).jpg` belongs to `name.jpg(1).json`
  (the counter moves behind the extension);
- edited copies `name-edited.jpg` have no JSON of their own and use the
  original's;
- some old exports drop the extension: `name.json`.

`find_takeout_json` implements those rules by prefix matching on the
directory listing (cached per directory, since a Takeout folder holds
thousands of files). `photoTakenTime` (Unix seconds, UTC) is the capture
time; `creationTime` is the upload time and only a weak candidate.
"""
from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Iterable, Sequence

from mediaparser.media.fsguard import link_refusal, open_regular
from mediaparser.media.metadata import SIDECAR_SOURCES, MetadataError, read_xmp_sidecar
from mediaparser.media.timestamps import Candidate, Precision, candidate_from_datetime, make_candidate

_COUNTER = re.compile(r"^(?P<base>.*?)\((?P<n>\d+)\)$")
# Google localises the "-edited" suffix.
EDITED_SUFFIXES = ("-edited", "-bearbeitet", "-modifié", "-editado", "-ha editado", "-editat", "-modificato", "-bewerkt",
                   "-redigeret", "-edytowane", "-編集済み")
_SUPPLEMENTAL = ".supplemental-metadata"
MIN_TRUNCATED_LEN = 30  # a JSON stem cut shorter than this is not trusted as a prefix match


@lru_cache(maxsize=64)
def _listing(directory: str, mtime_ns: int) -> tuple[str, ...]:
    try:
        return tuple(os.listdir(directory))
    except OSError:
        return ()


@lru_cache(maxsize=64)
def _xmp_index(directory: str, mtime_ns: int) -> dict[str, str]:
    """lower-case name -> name, for the .xmp files of a directory (built once)."""
    return {e.lower(): e for e in _listing(directory, mtime_ns) if e.lower().endswith(".xmp")}


def find_xmp_sidecars(path: str) -> list[str]:
    """Existing XMP sidecars of `path`: `name.ext.xmp` first, then `name.xmp`."""
    directory, name = os.path.split(path)
    stem = os.path.splitext(name)[0]
    wanted = [(name + ".xmp").lower(), (stem + ".xmp").lower()]
    try:
        entries = _xmp_index(directory or ".", os.stat(directory or ".").st_mtime_ns)
    except OSError:
        return []
    found = []
    for w in wanted:
        if w in entries and w != name.lower():
            found.append(os.path.join(directory, entries[w]))
    return found


def _split_counter(s: str) -> tuple[str, str]:
    m = _COUNTER.match(s)
    return (m["base"], m["n"]) if m else (s, "")


def json_index(names: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """The JSON files among `names` by stem without counter: stem -> [(counter, name)]."""
    index: dict[str, list[tuple[str, str]]] = {}
    for entry in names:
        if entry.lower().endswith(".json"):
            jbase, jcounter = _split_counter(entry[:-5])
            index.setdefault(jbase, []).append((jcounter, entry))
    return index


@lru_cache(maxsize=64)
def _json_index(directory: str, mtime_ns: int) -> dict[str, list[tuple[str, str]]]:
    """`json_index` of a directory, built once per directory (and change of it), so
    matching stays a few dictionary look-ups per media file even in a Takeout
    folder of 10,000 files."""
    return json_index(_listing(directory, mtime_ns))


def strip_edited(stem: str) -> tuple[str, str]:
    """(`stem` without Google's edited-copy suffix, the suffix or '')."""
    for suffix in EDITED_SUFFIXES:
        if stem.lower().endswith(suffix):
            return stem[: -len(suffix)], stem[-len(suffix):]
    return stem, ""


def match_takeout_json(name: str, index: dict[str, list[tuple[str, str]]]) -> str | None:
    """The name of the Takeout JSON (from `json_index` of the media file's folder)
    that describes the media file `name`, or None. Pure: names in, a name out."""
    if not index:
        return None
    stem, ext = os.path.splitext(name)
    base, counter = _split_counter(stem)
    base, _edited = strip_edited(base)  # an edited copy uses the original's JSON
    full = base + ext  # e.g. "IMG_1234.jpg"
    target = full + _SUPPLEMENTAL
    # Longest (most specific) match first: "name.jpg.supplemental-metadata",
    # then its cuts (Google cuts the name before ".json" at 46 or 51
    # characters, depending on the export's age), down to the media name
    # itself or a long cut inside it.
    shortest = min(len(full), MIN_TRUNCATED_LEN)
    for length in range(len(target), shortest - 1, -1):
        for jcounter, entry in index.get(target[:length], ()):
            if jcounter == counter:
                return entry
    # "name(1).jpg.json": the counter kept in place.
    if counter:
        for jstem in (stem + ext + _SUPPLEMENTAL, stem + ext):
            for jcounter, entry in index.get(jstem, ()):
                if not jcounter:
                    return entry
    # Old exports: "name.json".
    for jcounter, entry in index.get(base, ()):
        if jcounter == counter:
            return entry
    return None


def find_takeout_json(path: str) -> str | None:
    """The Google Takeout JSON that describes `path`, or None."""
    directory, name = os.path.split(path)
    directory = directory or "."
    try:
        index = _json_index(directory, os.stat(directory).st_mtime_ns)
    except OSError:
        return None
    entry = match_takeout_json(name, index)
    return os.path.join(directory, entry) if entry else None


def takeout_candidates(json_path: str, *, now: datetime | None = None) -> list[Candidate]:
    """photoTakenTime (UTC, strong) and creationTime (upload, weak)."""
    try:
        with open_regular(json_path) as f:  # a pipe named like a sidecar must not block the analysis
            data = json.loads(f.read(1 << 20))
    except (OSError, ValueError) as e:
        return [Candidate("takeout-json:photoTakenTime", None, None, Precision.SECOND, True, False,
                          f"rejected: the Takeout JSON could not be read ({type(e).__name__})", os.path.basename(json_path))]
    if not isinstance(data, dict):
        return []
    out: list[Candidate] = []
    for key, source in (("photoTakenTime", "takeout-json:photoTakenTime"), ("creationTime", "takeout-json:creationTime")):
        node = data.get(key)
        if not isinstance(node, dict) or "timestamp" not in node:
            continue
        raw = str(node.get("timestamp"))
        try:
            seconds = int(raw)
        except ValueError:
            out.append(Candidate(source, None, None, Precision.SECOND, True, False, "rejected: not a Unix timestamp", raw))
            continue
        if seconds <= 0:
            out.append(Candidate(source, None, None, Precision.SECOND, True, False, "rejected: blank or zero date", raw))
            continue
        try:
            value = datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            out.append(Candidate(source, None, None, Precision.SECOND, True, False, "rejected: not a real calendar date", raw))
            continue
        out.append(candidate_from_datetime(source, value, is_utc=True, raw=raw, now=now))
    return out


def xmp_sidecar_candidates(xmp_path: str, *, now: datetime | None = None) -> list[Candidate]:
    try:
        tags = read_xmp_sidecar(xmp_path)
    except (MetadataError, OSError) as e:
        return [Candidate("xmp-sidecar:exif:DateTimeOriginal", None, None, Precision.SECOND, False, False,
                          f"rejected: the XMP sidecar could not be read ({e})", os.path.basename(xmp_path))]
    return [make_candidate(source, tags[key], now=now) for key, source in SIDECAR_SOURCES if key in tags]


def _within(sidecar: str, boundary: Sequence[str] | None) -> bool:
    """A sidecar that is a link is read only when it stays inside `boundary` (the
    import's folders); the sidecar itself lies next to its media file, inside."""
    if boundary is None or not os.path.islink(sidecar):
        return True
    return link_refusal(os.path.realpath(sidecar), boundary) is None


def sidecar_candidates(path: str, *, now: datetime | None = None,
                       boundary: Sequence[str] | None = None) -> tuple[list[Candidate], list[str]]:
    """All sidecar candidates of a media file, and the sidecar paths used.

    With `boundary` (real paths, see fsguard), a sidecar link leading outside it is ignored."""
    cands: list[Candidate] = []
    used: list[str] = []
    for xmp in [x for x in find_xmp_sidecars(path) if _within(x, boundary)][:1]:  # name.ext.xmp wins over name.xmp
        cands += xmp_sidecar_candidates(xmp, now=now)
        used.append(xmp)
    js = find_takeout_json(path)
    if js and _within(js, boundary):
        cands += takeout_candidates(js, now=now)
        used.append(js)
    return cands, used
