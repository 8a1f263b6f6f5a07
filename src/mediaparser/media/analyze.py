"""Full analysis of one file: path in, `AnalysisResult` out, never an exception.

Order of work, chosen so each file is read once:

1. `fsguard.open_regular` (a regular file, opened without blocking, and the
   very file the import listed when its identity is given), then
   `probe.hash_and_head` on that descriptor: SHA-256 and the
   first bytes; for images up to `IN_MEMORY_LIMIT` the whole content is kept
   so metadata and decoding work from memory. Videos are streamed for the
   hash and their readers seek to the few header boxes they need.
2. Real type by content (`probe.sniff`), and whether the extension lies.
3. Capture-time candidates from every source: embedded metadata
   (metadata.py), the container (video.py), sidecars (sidecars.py), the file
   name and folder (filenames.py) and the file's mtime; `timestamps.py`
   chooses.
4. A thumbnail (reduced decode, oriented, 320 px), written atomically when a
   directory is given, and dHash/pHash from it.

A file whose bytes cannot be read (I/O error, permission, vanished, a
symlink loop), an empty file, unknown content or a decompression bomb gives
a result with `error` set and whatever could still be learnt (size, hash,
type, dates from its name). A photo or video whose bytes were read but whose
pixels cannot be decoded (truncated, a broken HEIF, a RAW without a usable
preview) is *not* an error when its bytes tell what it is — metadata could be
read, or a date was found: it gets a warning starting with `NO_PREVIEW` and
no thumbnail, and is grouped and archived like any other file. Only a photo's
magic number followed by nothing readable and no date stays an error.

Time limits belong to the one pool (media/pool.py): its alarm interrupts
Python code between C calls, its hard deadline stops a process stuck in C.
`analysis_dicts` runs the analysis of walked files through that pool for the
`analyze` and `duplicates` commands. The decompression-bomb guard keeps the
known way of hanging a decoder out.
"""
from __future__ import annotations

import io
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from mediaparser.media import hashes as phashes
from mediaparser.media.errors import GENERIC, clean_detail, sentence_for
from mediaparser.media.exiftool import exiftool_candidates, find_exiftool
from mediaparser.media.filenames import filename_candidates, folder_candidates
from mediaparser.media.livephoto import appended_video_length, motion_video_offset
from mediaparser.media.metadata import ImageMetadata, MetadataError, read_metadata
from mediaparser.media.fsguard import FileReplaced, NotRegularFile, fd_path, open_regular
from mediaparser.media.pool import FileTimeout, TimedOut, call_limited, map_ordered
from mediaparser.media.probe import UNKNOWN, describe_os_error, extension_matches, hash_and_head, sniff
from mediaparser.media.sidecars import sidecar_candidates
from mediaparser.media.takeout import takeout_facts
from mediaparser.media.thumbnails import ThumbnailError, decode_image, prepare_frame, write_thumbnail
from mediaparser.media.timestamps import (Candidate, Confidence, Precision, choose_capture_time, format_offset, resolve_zone)
from mediaparser.media.video import VideoInfo, probe_with_av, read_video

IN_MEMORY_LIMIT = 256 * 1024 * 1024  # images larger than this are not analysed from memory
DEFAULT_TIME_LIMIT = 60.0  # seconds per file

# Types whose pixels we can decode (others still get hash, type and dates).
_IMAGE_TYPES = {"jpeg", "png", "gif", "webp", "tiff", "bmp", "heic", "heif", "avif", "jxl",
                "nef", "nrw", "dng", "cr2", "cr3", "crw", "arw", "srw", "pef", "orf", "rw2", "raf"}
_RAW_TYPES = {"nef", "nrw", "dng", "cr2", "cr3", "crw", "arw", "srw", "pef", "orf", "rw2", "raf"}
_VIDEO_TYPES = {"mp4", "mov", "m4v", "3gp", "avi", "mkv", "webm", "mts", "mpeg"}
# Candidates that come from the file's content or its sidecars: with none of
# them, ExifTool is asked for a second opinion (when allowed).
_CONTENT_FAMILIES = frozenset({"embedded", "xmp-sidecar", "takeout"})


@dataclass
class AnalysisResult:
    """Everything the analysis learnt about one file.

    Python-native values (datetimes, minutes, `Candidate`s) for the importer;
    `to_dict()` gives the JSON shape of `mediaparser analyze`.
    """

    path: str
    type: str | None = None  # real format by content: "jpeg", "heic", "mp4", …
    mime: str | None = None
    kind: str | None = None  # "image", "video" or "other"
    extension: str | None = None  # the correct lower-case extension
    extension_ok: bool | None = None  # False when the file's extension lies
    size: int | None = None
    sha256: str | None = None
    mtime: float | None = None  # Unix seconds
    width: int | None = None
    height: int | None = None
    duration: float | None = None  # seconds (videos)
    make: str | None = None
    model: str | None = None
    orientation: int | None = None  # EXIF 1..8
    captured_at: datetime | None = None  # local wall-clock capture time
    utc_offset: int | None = None  # minutes east of UTC; None when unknown
    offset_assumed: bool = False  # utc_offset is the default zone's, not evidence
    precision: Precision | None = None
    source: str | None = None  # the winning candidate's source
    confidence: Confidence = Confidence.NONE
    reasons: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    phash: int | None = None
    dhash: int | None = None
    detail: float | None = None  # spread of the 32x32 grey image (hashes.py)
    low_detail: bool | None = None  # nearly uniform picture: hashes unreliable
    # (phash, dhash) of the oriented thumbnail turned 90° and 180°: lets the
    # duplicate search recognise copies whose pixels were rotated.
    rot90: tuple[int, int] | None = None
    rot180: tuple[int, int] | None = None
    has_gps: bool | None = None  # the file records a location
    content_id: str | None = None  # Apple ContentIdentifier: a Live Photo's still and clip share it
    burst_id: str | None = None  # Apple BurstUUID: the frames of one burst share it
    motion_offset: int | None = None  # a Motion Photo: where its appended MP4 starts (livephoto.py)
    motion_size: int | None = None  # … and its length in bytes
    bit_depth: int | None = None  # bits per colour channel, where known
    thumbnail: str | None = None  # path of the written thumbnail
    sidecars: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # non-fatal problems
    error: str | None = None  # None, or why the file could not be analysed
    # ExifTool's second opinion (media/exiftool.py), when it was asked:
    # "dated" (it found a capture date), "no date", or "no answer".
    exiftool: str | None = None
    # What the file's Google Takeout JSON and folder say (media/takeout.py
    # `takeout_facts`): place, Trash/Archive/locked flags, album title, …
    takeout: dict | None = None
    timings: dict[str, float] = field(default_factory=dict)  # ms per stage

    def to_dict(self, *, timings: bool = False) -> dict:
        d = {
            "path": self.path,
            "type": self.type,
            "mime": self.mime,
            "kind": self.kind,
            "extension_ok": self.extension_ok,
            "extension": self.extension,
            "size": self.size,
            "sha256": self.sha256,
            "mtime": datetime.fromtimestamp(self.mtime, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
            if self.mtime is not None else None,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "make": self.make,
            "model": self.model,
            "orientation": self.orientation,
            "captured_at": self.captured_at.isoformat(timespec="seconds") if self.captured_at else None,
            "utc_offset": format_offset(self.utc_offset),
            "offset_assumed": self.offset_assumed,
            "precision": self.precision.value if self.precision else None,
            "source": self.source,
            "confidence": self.confidence.value,
            "reasons": list(self.reasons),
            "candidates": [c.to_dict() for c in self.candidates],
            "phash": phashes.to_hex(self.phash) if self.phash is not None else None,
            "dhash": phashes.to_hex(self.dhash) if self.dhash is not None else None,
            "detail": round(self.detail, 2) if self.detail is not None else None,
            "low_detail": self.low_detail,
            "rotated_hashes": {
                "90": [phashes.to_hex(h) for h in self.rot90] if self.rot90 else None,
                "180": [phashes.to_hex(h) for h in self.rot180] if self.rot180 else None,
            },
            "has_gps": self.has_gps,
            "bit_depth": self.bit_depth,
            "content_id": self.content_id,
            "burst_id": self.burst_id,
            "motion_photo": {"video_offset": self.motion_offset, "video_size": self.motion_size}
            if self.motion_offset is not None else None,
            "thumbnail": self.thumbnail,
            "sidecars": list(self.sidecars),
            "warnings": list(self.warnings),
            "error": self.error,
            "exiftool": self.exiftool,
            "takeout": self.takeout,
        }
        if timings:
            d["timings"] = {k: round(v, 3) for k, v in self.timings.items()}
        return d


def _keep_in_memory(head: bytes) -> bool:
    ft = sniff(head)
    return ft.kind != "video"


class _Stage:
    """Adds the wall time of a `with` block to result.timings[name] (ms)."""

    def __init__(self, result: AnalysisResult, name: str):
        self.result, self.name = result, name

    def __enter__(self):
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        self.result.timings[self.name] = self.result.timings.get(self.name, 0.0) + (time.perf_counter() - self.t0) * 1000
        return False


def analyze_file(
    path: str | os.PathLike,
    *,
    timezone: str = "UTC",
    thumb_dir: str | None = None,
    with_thumbnail: bool = True,
    root: str | None = None,
    now: datetime | None = None,
    expect: tuple[int, int] | None = None,
    boundary: list[str] | None = None,
    exiftool: str | None = None,
) -> AnalysisResult:
    """Analyse one file. Never raises for a bad file: see `AnalysisResult.error`.

    `timezone` is the default zone for UTC-only times (IANA name, e.g.
    "Europe/Berlin"). `thumb_dir` receives the thumbnail (by content hash);
    with `with_thumbnail=False` nothing is decoded and no perceptual hash is
    computed. `root` limits folder-name dates to the part of the path below it.
    `expect` is the (device, inode) the import's walk saw (`fsguard.file_identity`):
    a file swapped in since (another file, a link, a pipe) is not read.
    `boundary` (real folder paths) limits where sidecar links may lead.
    `exiftool` ("auto", "off" or a program path; default off) lets ExifTool
    give a second opinion on a file whose content gave no date (media/exiftool.py).
    """
    path = os.fspath(path)
    result = AnalysisResult(path=path)
    try:
        resolve_zone(timezone)
    except ValueError as e:
        result.error = str(e)
        return result
    try:
        _analyze(path, result, timezone, thumb_dir, with_thumbnail, root, now, expect, boundary,
                 _exiftool_program(exiftool))
    except FileTimeout:
        raise  # the pool's alarm: not this file's error, the pool reports it
    except MemoryError:
        result.error = "not enough memory to analyse this file"
    except Exception as e:  # noqa: BLE001 — a hostile file must never stop the walk
        result.error = f"analysis failed: {type(e).__name__}: {e}"
    return result


_EXIFTOOL_PROGRAMS: dict[str | None, str | None] = {}


def _exiftool_program(setting: str | None) -> str | None:
    if setting not in _EXIFTOOL_PROGRAMS:  # once per process: PATH is not searched per file
        _EXIFTOOL_PROGRAMS[setting] = find_exiftool(setting)
    return _EXIFTOOL_PROGRAMS[setting]


def _analyze(path, result: AnalysisResult, zone: str, thumb_dir, with_thumbnail, root, now, expect,
             boundary, exiftool: str | None) -> None:
    with _Stage(result, "read_hash"):
        try:
            # Never blocks, opens nothing but a regular file, and only the one expected.
            f = open_regular(path, expect=expect)
        except (NotRegularFile, FileReplaced) as e:
            result.error = str(e)
            return
        except OSError as e:
            result.error = describe_os_error(e)
            return
    with f:
        _analyze_open(path, f, result, zone, thumb_dir, with_thumbnail, root, now, boundary, exiftool)


def _analyze_open(path: str, f, result: AnalysisResult, zone: str, thumb_dir, with_thumbnail, root, now,
                  boundary, exiftool: str | None = None) -> None:
    name = os.path.basename(path)
    ext = os.path.splitext(name)[1].lower().lstrip(".")
    # Readers that take a path (the video readers, FFmpeg) get one that reopens
    # this very file, so nothing swapped in at `path` since is read.
    content_path = fd_path(f, path)
    with _Stage(result, "read_hash"):
        st = os.fstat(f.fileno())
        result.mtime = st.st_mtime
        result.size = st.st_size
        try:
            hashed = hash_and_head(f, keep_if=_keep_in_memory, keep_limit=IN_MEMORY_LIMIT)
        except OSError as e:
            result.error = describe_os_error(e)
            return
    result.sha256, result.size = hashed.sha256, hashed.size
    data = hashed.data

    # Dates that do not depend on the content: name, folder, sidecars, mtime.
    cands: list[Candidate] = []
    with _Stage(result, "names"):
        cands += filename_candidates(name, now=now)
        cands += folder_candidates(os.path.dirname(os.path.abspath(path)), root, now=now, name=name)
        side, used = sidecar_candidates(path, now=now, boundary=boundary)
        cands += side
        result.sidecars = used
        result.takeout = takeout_facts(path, next((u for u in used if u.lower().endswith(".json")), None))
        mt = datetime.fromtimestamp(st.st_mtime, tz=timezone.utc).replace(tzinfo=None, microsecond=0)
        cands.append(Candidate("filesystem:mtime", mt, None, Precision.SECOND, True, True,
                               "file system time: shown, never used as the capture time",
                               mt.isoformat(sep=" ") + "Z"))

    if hashed.size == 0:
        result.error = "empty file (0 bytes)"
        _decide(result, cands, zone, now)
        return

    ft = sniff(hashed.head, ext)
    result.type, result.mime, result.kind = ft.type, ft.mime, ft.kind
    if ft is UNKNOWN or ft.type == "unknown":
        result.error = "not a recognised photo or video format"
        result.extension_ok = None
        _decide(result, cands, zone, now)
        return
    result.extension = ft.extension
    result.extension_ok = extension_matches(ft, ext)
    if not result.extension_ok:
        result.warnings.append(f"the extension .{ext or '(none)'} does not match the content ({ft.type}); the right one is .{ft.extension}")

    if ft.kind == "video" or ft.type in _VIDEO_TYPES:
        _analyze_video(content_path, ft.type, result, cands, thumb_dir, with_thumbnail, now)
    elif ft.type in _IMAGE_TYPES:
        if data is None:
            with _Stage(result, "read_hash"):
                f.seek(0)  # larger than the in-memory limit
                data = f.read()
        _analyze_image(data, ft.type, result, cands, thumb_dir, with_thumbnail, now)
    if exiftool and not any(c.accepted and c.value is not None and c.info.family in _CONTENT_FAMILIES for c in cands):
        with _Stage(result, "exiftool"):
            # The very file opened above, through this process's descriptor.
            fd = f"/proc/{os.getpid()}/fd/{f.fileno()}"
            extra = exiftool_candidates(exiftool, fd if os.path.exists(fd) else os.path.abspath(path), now=now)
        if extra is None:
            result.exiftool = "no answer"
        else:
            cands += extra
            result.exiftool = "dated" if any(c.accepted for c in extra) else "no date"
    if result.takeout and result.takeout.get("geo") and not result.has_gps:
        result.has_gps = True  # the place is in its Takeout JSON
    _decide(result, cands, zone, now)


def _analyze_image(data: bytes, file_type: str, result: AnalysisResult, cands: list[Candidate],
                   thumb_dir, with_thumbnail: bool, now) -> None:
    md = ImageMetadata()
    read_ok = False
    with _Stage(result, "metadata"):
        try:
            md = read_metadata(data)
            read_ok = True
        except MetadataError as e:
            result.warnings.append(f"embedded metadata could not be read: {e}")
    cands += md.candidates(now)
    result.make, result.model, result.orientation = md.make, md.model, md.orientation
    result.width, result.height = md.width, md.height
    result.has_gps = md.has_gps
    result.content_id, result.burst_id = md.content_id, md.burst_id
    result.motion_offset = motion_video_offset(data, md.motion_tail)
    if result.motion_offset is not None:
        result.motion_size = appended_video_length(io.BytesIO(data), result.motion_offset, len(data))
    if md.motion_tail is not None and result.motion_offset is None:
        result.warnings.append("marked as a Motion Photo, but no video was found in the file")
    result.bit_depth = md.bits_per_sample or _BIT_DEPTH_BY_TYPE.get(file_type)
    if result.orientation in (5, 6, 7, 8) and result.width and result.height and file_type not in ("heic", "heif", "avif", "jxl"):
        result.width, result.height = result.height, result.width
    if not with_thumbnail:
        return
    with _Stage(result, "thumbnail"):
        try:
            decoded = decode_image(data, file_type, md.orientation)
        except ThumbnailError as e:
            if file_type in _RAW_TYPES:
                # The raw file itself is fine; only its preview is unusable.
                result.warnings.append(f"{NO_PREVIEW}: {e}")
            elif e.refused or not (read_ok and (md.width or md.tags) or _dated(cands)):
                # A decompression bomb, or a photo's first bytes followed by nothing
                # we can read: no sign that these bytes are a picture.
                result.error = str(e)
            else:
                _keep_undecodable(result, str(e))
            return
    if decoded.width and decoded.height:
        result.width, result.height = decoded.width, decoded.height
    _hash_and_store(decoded.image, result, thumb_dir)


def _analyze_video(path: str, file_type: str, result: AnalysisResult, cands: list[Candidate],
                   thumb_dir, with_thumbnail: bool, now) -> None:
    info = VideoInfo()
    with _Stage(result, "metadata"):
        try:
            info = read_video(path, file_type, now)
        except (OSError, ValueError) as e:
            result.warnings.append(f"the video header could not be read: {e}")
    frame = None
    # Without a thumbnail, FFmpeg is only needed for what the byte readers
    # could not tell (sizes of TS/MPEG, an MKV cut short); opening it costs ~5 ms.
    need_av = with_thumbnail or not (info.width and info.duration is not None)
    with _Stage(result, "thumbnail" if with_thumbnail else "metadata"):
        try:
            if need_av:
                frame = probe_with_av(path, info, now, want_frame=with_thumbnail)
        except Exception as e:  # noqa: BLE001 — FFmpeg raises many kinds on broken input
            if with_thumbnail:
                result.error = f"cannot decode video: {e}"
            else:
                result.warnings.append(f"the video could not be opened: {e}")
    result.warnings += info.notes
    cands += info.candidates
    result.width, result.height, result.duration = info.width, info.height, info.duration
    result.make, result.model = info.make, info.model
    result.content_id = info.content_id
    if with_thumbnail and frame is None and result.error is None:
        result.error = "cannot decode video: no frame could be decoded"
    if result.error and with_thumbnail and (info.width or info.duration or _dated(cands)):
        # The header was read (a size, a length or a date): a file whose frames
        # cannot be decoded is still this video, kept without a preview.
        _keep_undecodable(result, result.error)
    if frame is not None:
        _hash_and_store(prepare_frame(frame), result, thumb_dir)


# The start of the warning of a file kept without a preview (docs/capture-time.md,
# "Files whose picture cannot be decoded"); the grid and the job page count them.
NO_PREVIEW = "no preview"


def _dated(cands: list[Candidate]) -> bool:
    """A date was found for the file in its metadata, name, folder or sidecars
    (the file system time, never evidence, does not count)."""
    return any(c.accepted and c.value is not None and not c.source.startswith("filesystem") for c in cands)


def _keep_undecodable(result: AnalysisResult, why: str) -> None:
    """The bytes were read and they tell what the file is: analysed with a
    warning, not failed — it is grouped by its hash and archived byte for byte."""
    result.error = None
    plain = sentence_for(why)
    result.warnings.append(f"{NO_PREVIEW}: the picture could not be decoded"
                           + (f" — {plain[0].lower()}{plain[1:]}" if plain != GENERIC else ".")
                           + f" The file is kept and archived as it is. (Detail: {clean_detail(why)})")


# Formats whose channel depth is fixed by the format itself.
_BIT_DEPTH_BY_TYPE = {"jpeg": 8, "gif": 8, "webp": 8, "bmp": 8}


def _hash_and_store(img, result: AnalysisResult, thumb_dir: str | None) -> None:
    with _Stage(result, "phash"):
        ph = phashes.perceptual_hashes(img)
        rot = phashes.rotated_hashes(img)
    result.phash, result.dhash, result.detail, result.low_detail = ph.phash, ph.dhash, ph.detail, ph.low_detail
    result.rot90 = (rot.rot90.phash, rot.rot90.dhash)
    result.rot180 = (rot.rot180.phash, rot.rot180.dhash)
    if thumb_dir and result.sha256:
        with _Stage(result, "thumbnail_write"):
            try:
                result.thumbnail = write_thumbnail(img, thumb_dir, result.sha256)
            except OSError as e:
                result.warnings.append(f"the thumbnail could not be written: {describe_os_error(e)}")


def _decide(result: AnalysisResult, cands: list[Candidate], zone: str, now) -> None:
    with _Stage(result, "decide"):
        d = choose_capture_time(cands, zone, now=now)
    result.captured_at, result.utc_offset, result.precision = d.captured_at, d.utc_offset, d.precision
    result.source, result.confidence, result.reasons = d.source, d.confidence, d.reasons
    result.candidates, result.offset_assumed = d.candidates, d.offset_assumed


# ---------------------------------------------------------------------------
# Under the pool's time limit (media/pool.py owns it)


def analyze_file_limited(path: str | os.PathLike, *, time_limit_s: float = DEFAULT_TIME_LIMIT, **kwargs) -> AnalysisResult:
    """`analyze_file` under the pool's per-file alarm, in this process; an
    overrun is an error result."""
    r = call_limited(analyze_file, path, time_limit_s=time_limit_s, **kwargs)
    return AnalysisResult(path=os.fspath(path), error=r.error) if isinstance(r, TimedOut) else r


def analysis_dict(item: tuple[str, str], *, timezone: str, thumb_dir: str | None, with_thumbnail: bool,
                  timings: bool = False, exiftool: str | None = None) -> dict:
    """The analysis of one walked (path, root) as the JSON-ready dict the
    `analyze` command prints and `duplicates` groups."""
    path, root = item
    result = analyze_file(path, timezone=timezone, thumb_dir=thumb_dir, with_thumbnail=with_thumbnail,
                          root=root, boundary=[os.path.realpath(root)], exiftool=exiftool)
    return result.to_dict(timings=timings)


def analysis_dicts(work: Callable[[tuple[str, str]], dict], items: Iterable[tuple[str, str]], workers: int, *,
                   time_limit_s: float | None = DEFAULT_TIME_LIMIT, deadline: float | None = None) -> Iterator[dict]:
    """`work(item)` for each (path, root), in input order, through the one pool
    (`pool.map_ordered`: the time limit, the hard deadline, crash isolation);
    a file the pool had to stop gives a dict with only its path and error."""
    for item, d in _with_items(items, lambda it: map_ordered(work, it, workers, time_limit_s=time_limit_s,
                                                           deadline=deadline)):
        yield AnalysisResult(path=item[0], error=d.error).to_dict() if isinstance(d, TimedOut) else d


def _with_items(items: Iterable, run: Callable[[Iterable], Iterator]) -> Iterator[tuple]:
    """(item, run's output for it): `run` must yield one output per item, in order."""
    seen: deque = deque()

    def feed() -> Iterator:
        for item in items:
            seen.append(item)
            yield item

    for out in run(feed()):
        yield seen.popleft(), out
