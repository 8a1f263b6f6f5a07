"""Real file type by content, and the one content-hashing helper.

The type comes from the first bytes of the file (magic numbers), never from
the extension: phone exports and messenger downloads often carry a `.jpg`
that is really a PNG or a HEIC. `hash_and_head` reads a file once, in
chunks, and returns both the SHA-256 and the leading bytes, so callers do not
read the file a second time just to sniff it.

SHA-256 is the archive's identity hash because every other tool (sha256sum,
exiftool's manifests, cloud providers) speaks it; BLAKE3 is faster but would
make our manifest unverifiable with stock tools.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

CHUNK = 1024 * 1024
HEAD_BYTES = 4096


@dataclass(frozen=True)
class FileType:
    type: str  # short lower-case name, e.g. "jpeg", "heic", "mp4"
    mime: str
    extension: str  # the canonical lower-case extension, without the dot
    kind: str  # "image", "video" or "other"


UNKNOWN = FileType("unknown", "application/octet-stream", "", "other")

_FTYP_BRANDS: dict[bytes, FileType] = {}
for _brands, _ft in (
    ((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"), FileType("heic", "image/heic", "heic", "image")),
    ((b"mif1", b"msf1"), FileType("heif", "image/heif", "heif", "image")),
    ((b"avif", b"avis"), FileType("avif", "image/avif", "avif", "image")),
    ((b"qt  ",), FileType("mov", "video/quicktime", "mov", "video")),
    ((b"crx ",), FileType("cr3", "image/x-canon-cr3", "cr3", "image")),
    ((b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"3ge6", b"3gs7"), FileType("3gp", "video/3gpp", "3gp", "video")),
    ((b"M4V ", b"M4VH", b"M4VP"), FileType("m4v", "video/x-m4v", "m4v", "video")),
    ((b"M4A ",), FileType("m4a", "audio/mp4", "m4a", "other")),
):
    for _b in _brands:
        _FTYP_BRANDS[_b] = _ft
_MP4 = FileType("mp4", "video/mp4", "mp4", "video")

# Extensions that belong to a type although they are not its canonical one.
EXTENSION_ALIASES: dict[str, set[str]] = {
    "jpeg": {"jpg", "jpeg", "jpe", "jfif"},
    "tiff": {"tif", "tiff"},
    "heic": {"heic", "heif", "hif"},
    "heif": {"heif", "heic", "hif"},
    "mp4": {"mp4", "m4v"},
    "mov": {"mov", "qt"},
    "mts": {"mts", "m2ts", "ts"},
    "mpeg": {"mpg", "mpeg"},
    "3gp": {"3gp", "3gpp"},
}

# TIFF-based raw formats share the TIFF magic; the extension is the only hint
# that tells a NEF from a plain TIFF, so we trust it for these names only.
_TIFF_RAW = {
    "nef": FileType("nef", "image/x-nikon-nef", "nef", "image"),
    "nrw": FileType("nrw", "image/x-nikon-nrw", "nrw", "image"),
    "dng": FileType("dng", "image/x-adobe-dng", "dng", "image"),
    "cr2": FileType("cr2", "image/x-canon-cr2", "cr2", "image"),
    "arw": FileType("arw", "image/x-sony-arw", "arw", "image"),
    "srw": FileType("srw", "image/x-samsung-srw", "srw", "image"),
    "pef": FileType("pef", "image/x-pentax-pef", "pef", "image"),
    "orf": FileType("orf", "image/x-olympus-orf", "orf", "image"),
    "rw2": FileType("rw2", "image/x-panasonic-rw2", "rw2", "image"),
}


def sniff(head: bytes, extension: str = "") -> FileType:
    """Return the real type of a file from its first bytes.

    `extension` (lower-case, no dot) is only used to tell TIFF-based raw
    formats apart, which share the TIFF signature.
    """
    ext = extension.lower().lstrip(".")
    if head.startswith(b"\xff\xd8\xff"):
        return FileType("jpeg", "image/jpeg", "jpg", "image")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileType("png", "image/png", "png", "image")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return FileType("gif", "image/gif", "gif", "image")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileType("webp", "image/webp", "webp", "image")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return FileType("avi", "video/x-msvideo", "avi", "video")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        if ext in _TIFF_RAW:
            return _TIFF_RAW[ext]
        if head[8:10] == b"CR":
            return _TIFF_RAW["cr2"]
        return FileType("tiff", "image/tiff", "tif", "image")
    if head[:4] in (b"II+\x00", b"MM\x00+"):  # BigTIFF (scanners, microscopy)
        return FileType("tiff", "image/tiff", "tif", "image")
    if head[:4] in (b"IIRO", b"IIRS"):
        return FileType("orf", "image/x-olympus-orf", "orf", "image")
    if head[:4] == b"IIU\x00":
        return FileType("rw2", "image/x-panasonic-rw2", "rw2", "image")
    if head[:2] == b"II" and head[6:14] == b"HEAPCCDR":  # Canon CRW (CIFF heap, no TIFF)
        return FileType("crw", "image/x-canon-crw", "crw", "image")
    if head[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n" or head[:2] == b"\xff\x0a":  # JPEG XL box / bare codestream
        return FileType("jxl", "image/jxl", "jxl", "image")
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return FileType("raf", "image/x-fuji-raf", "raf", "image")
    if head[:2] == b"BM" and len(head) > 14:
        return FileType("bmp", "image/bmp", "bmp", "image")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _FTYP_BRANDS:
            return _FTYP_BRANDS[brand]
        # Some files carry a generic major brand and the telling one among
        # the compatible brands.
        compat = head[16 : 16 + 4 * 8]
        for i in range(0, len(compat), 4):
            b = compat[i : i + 4]
            if b in (b"heic", b"heix", b"mif1") and brand not in (b"isom", b"mp41", b"mp42"):
                return _FTYP_BRANDS[b]
        return _MP4
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return FileType("mov", "video/quicktime", "mov", "video")
    if head[:4] == b"\x1a\x45\xdf\xa3":
        if b"webm" in head[:64]:
            return FileType("webm", "video/webm", "webm", "video")
        return FileType("mkv", "video/x-matroska", "mkv", "video")
    if len(head) >= 193 and head[0] == 0x47 and head[188] == 0x47:
        return FileType("mts", "video/mp2t", "mts", "video")
    if len(head) >= 197 and head[4] == 0x47 and head[196] == 0x47:
        return FileType("mts", "video/mp2t", "mts", "video")
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return FileType("mpeg", "video/mpeg", "mpg", "video")
    return UNKNOWN


def extension_matches(file_type: FileType, extension: str) -> bool:
    """True when `extension` is an acceptable spelling for `file_type`."""
    ext = extension.lower().lstrip(".")
    if file_type is UNKNOWN or file_type.type == "unknown":
        return True  # we cannot say the extension lies
    return ext == file_type.extension or ext in EXTENSION_ALIASES.get(file_type.type, {file_type.extension})


@dataclass(frozen=True)
class HashedFile:
    sha256: str
    size: int
    head: bytes
    # The whole content, when the caller asked to keep it (images analysed
    # from memory: hash, metadata and decode then share a single read).
    data: bytes | None = None


def hash_and_head(
    path: str | os.PathLike | BinaryIO,
    chunk: int = CHUNK,
    *,
    keep_if: Callable[[bytes], bool] | None = None,
    keep_limit: int = 0,
) -> HashedFile:
    """Read a file once: its SHA-256, its byte count, and its first bytes.

    `path` may also be a binary file the caller opened (the analysis opens
    sources through `fsguard.open_regular`); it is read from the start and
    left open. With `keep_if`, a file of at most `keep_limit` bytes whose
    first bytes satisfy `keep_if(head)` is read whole and returned in
    `data`, so nothing else has to open it again. Larger files (videos)
    stream in `chunk`s.
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        path.seek(0)
        return _hash_and_head(path, chunk, keep_if, keep_limit)
    with open(path, "rb") as f:
        return _hash_and_head(f, chunk, keep_if, keep_limit)


def _hash_and_head(f: BinaryIO, chunk: int, keep_if: Callable[[bytes], bool] | None, keep_limit: int) -> HashedFile:
    h = hashlib.sha256()
    size = 0
    if keep_if is not None and keep_limit > 0:
        fd = f.fileno()
        total = os.fstat(fd).st_size
        head = os.pread(fd, HEAD_BYTES, 0)
        if 0 < total <= keep_limit and keep_if(head):
            # One allocation and one copy: concatenating chunks would
            # copy a 4 MB photo twice more (measured ~3 ms per file).
            data = f.read()
            h.update(data)
            return HashedFile(h.hexdigest(), len(data), data[:HEAD_BYTES], data)
    block = f.read(chunk)
    head = block[:HEAD_BYTES]
    while block:
        h.update(block)
        size += len(block)
        block = f.read(chunk)
    return HashedFile(h.hexdigest(), size, head)


def sha256_file(path: str | os.PathLike) -> str:
    return hash_and_head(path).sha256


def describe_os_error(exc: OSError) -> str:
    """A short sentence for a user, from an OSError raised while reading a file."""
    import errno

    if isinstance(exc, FileNotFoundError):
        return "the file disappeared before it could be read"
    if isinstance(exc, PermissionError):
        return "the file cannot be read: permission denied"
    if isinstance(exc, IsADirectoryError):
        return "this is a folder, not a file"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return f"the file cannot be read: {exc.strerror or exc}"


def sha256_stream(f: BinaryIO, chunk: int = CHUNK) -> str:
    """SHA-256 of what is left to read in an open binary file (the caller chose how it was opened)."""
    h = hashlib.sha256()
    block = f.read(chunk)
    while block:
        h.update(block)
        block = f.read(chunk)
    return h.hexdigest()
