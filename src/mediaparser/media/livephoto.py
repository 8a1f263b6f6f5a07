"""The facts that tie a still to its moving part: Live Photos and Motion Photos.

- An iPhone Live Photo is two files, a still (HEIC/JPEG) and a short MOV. Both
  carry the same ContentIdentifier: in the still, tag 0x0011 of Apple's maker
  note; in the clip, the QuickTime `mdta` key
  `com.apple.quicktime.content.identifier` (read by video.py). A burst's
  frames share Apple's BurstUUID, maker-note tag 0x000b.
  exiv2 (0.28) has no table for Apple's maker note and hands it over as plain
  bytes, so `apple_makernote_ids` reads the two strings from that IFD itself.
- A Samsung/Google Motion Photo is ONE file: the still with an MP4 appended.
  The still's XMP says so: `GCamera:MicroVideo`=1 with `MicroVideoOffset` (the
  video's distance from the end of the file), or `GCamera:MotionPhoto`=1 with a
  `Container:Directory` whose items' `Item:Length`s give the video's size (it
  is the last item). Samsung phones also write a `MotionPhoto_Data` marker
  right before the video in a JPEG, and keep it in a top-level `mpvd` box in a HEIC. `motion_video_offset` finds where the MP4 starts and
  checks that an MP4 really starts there; the file itself stays whole.

Pure: no Flask, no database.
"""
from __future__ import annotations

import re
import struct

# Apple maker note: "Apple iOS\0", a 2-byte version, the byte order ("MM"/"II"),
# then a TIFF IFD; value offsets count from the start of the maker note.
_APPLE_MAGIC = b"Apple iOS\x00"
_APPLE_IFD_AT = 14
TAG_BURST_UUID = 0x000B
TAG_CONTENT_IDENTIFIER = 0x0011
_ID_MAX = 64  # the width of media_files.content_id / burst_id
_PRINTABLE_ID = re.compile(r"^[\x21-\x7e]{1,64}$")

SAMSUNG_MARKER = b"MotionPhoto_Data"


def apple_makernote_ids(makernote: bytes | None) -> tuple[str | None, str | None]:
    """(ContentIdentifier, BurstUUID) from an Apple maker note's bytes; None where absent or unreadable."""
    if not makernote or not makernote.startswith(_APPLE_MAGIC) or len(makernote) < _APPLE_IFD_AT + 2:
        return None, None
    order = {b"MM": ">", b"II": "<"}.get(makernote[12:14])
    if order is None:
        return None, None
    count = struct.unpack_from(order + "H", makernote, _APPLE_IFD_AT)[0]
    found: dict[int, str] = {}
    for i in range(min(count, 512)):
        entry = _APPLE_IFD_AT + 2 + 12 * i
        if entry + 12 > len(makernote):
            break
        tag, typ, n, value = struct.unpack_from(order + "HHII", makernote, entry)
        if tag not in (TAG_BURST_UUID, TAG_CONTENT_IDENTIFIER) or typ not in (2, 7) or not 0 < n <= 256:
            continue
        raw = makernote[entry + 8: entry + 8 + n] if n <= 4 else makernote[value: value + n]
        text = raw.split(b"\x00", 1)[0].decode("ascii", "replace").strip()
        if _PRINTABLE_ID.match(text):
            found[tag] = text[:_ID_MAX]
    return found.get(TAG_CONTENT_IDENTIFIER), found.get(TAG_BURST_UUID)


def is_motion_xmp_key(key: str) -> bool:
    """An XMP key `motion_tail` reads (metadata.py keeps these while it walks the XMP)."""
    return "MicroVideo" in key or "MotionPhoto" in key or (".Directory[" in key and "Item:" in key)


def _flag(tags: dict[str, str], name: str) -> bool:
    # The namespace's prefix differs between writers (GCamera:, Camera:): match the property name.
    return any(k.endswith("." + name) and v.strip() == "1" for k, v in tags.items())


def _number(text: str | None) -> int | None:
    try:
        n = int((text or "").strip())
    except ValueError:
        return None
    return n if n >= 0 else None


def motion_tail(tags: dict[str, str]) -> int | None:
    """How many bytes from the end of the file the Motion Photo's video starts, by its XMP.

    0 means "marked as a Motion Photo, size not given" (the caller then looks for
    Samsung's marker); None means not a Motion Photo."""
    if _flag(tags, "MotionPhoto"):
        items: dict[int, dict[str, str]] = {}
        for k, v in tags.items():
            m = re.search(r"\.Directory\[(\d+)\]/[^/]*Item/[^:]*:(\w+)$", k)
            if m:
                items.setdefault(int(m.group(1)), {})[m.group(2)] = v.strip()
        ordered = [items[i] for i in sorted(items)]
        at = next((i for i, it in enumerate(ordered) if it.get("Semantic") == "MotionPhoto"), None)
        if at is not None:
            lengths = [_number(it.get("Length")) for it in ordered[at:]]
            if all(n is not None for n in lengths) and sum(lengths) > 0:
                return sum(lengths)
        offset = _number(next((v for k, v in tags.items() if k.endswith(".MicroVideoOffset")), None))
        return offset or 0
    if _flag(tags, "MicroVideo"):
        return _number(next((v for k, v in tags.items() if k.endswith(".MicroVideoOffset")), None)) or 0
    return None


def looks_like_mp4(head: bytes) -> bool:
    """An ISO BMFF file starts with a box: a size and `ftyp` (QuickTime: sometimes another box first)."""
    return len(head) >= 8 and head[4:8] in (b"ftyp", b"wide", b"mdat", b"moov", b"free")


def motion_video_offset(data: bytes, tail: int | None) -> int | None:
    """Where the appended MP4 of a Motion Photo starts in `data` (the whole file); None when not found.

    `tail` is `motion_tail`'s answer. Without an XMP size (or with a wrong one),
    Samsung's `MotionPhoto_Data` marker placed right before the video is looked
    for — also in a file without the XMP whose Samsung trailer (ending in `SEFT`)
    is there, as older Samsung phones write it."""
    size = len(data)
    if tail and 0 < tail < size and looks_like_mp4(data[size - tail: size - tail + 8]):
        return size - tail
    if data[4:8] == b"ftyp":  # a HEIF still: Samsung keeps the video in a top-level `mpvd` box
        at = _top_level_box(data, b"mpvd")
        if at is not None and looks_like_mp4(data[at: at + 8]):
            return at
    if tail is None and not data.endswith(b"SEFT"):
        return None  # neither XMP nor Samsung's trailer says there is a video: no scan of the bytes
    at = data.rfind(SAMSUNG_MARKER)
    if at > 0:
        start = at + len(SAMSUNG_MARKER)
        if looks_like_mp4(data[start: start + 8]):
            return start
    return None


def _top_level_box(data: bytes, kind: bytes) -> int | None:
    """Where the payload of the first top-level ISO BMFF box `kind` starts (a walk over a few headers)."""
    pos, size = 0, len(data)
    for _ in range(64):
        if pos + 8 > size:
            return None
        box, this = struct.unpack_from(">I4s", data, pos)
        head = 8
        if box == 1 and pos + 16 <= size:
            box, head = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif box == 0:
            box = size - pos
        if this == kind:
            return pos + head
        if box < head:
            return None
        pos += box
    return None


def appended_video_length(f, offset: int, size: int) -> int:
    """The length of the MP4 that starts at `offset` of the open file `f` (`size` bytes long):
    its top-level boxes walked by their headers, so a trailer written after the video
    (Samsung's SEFT block) is not served as part of it. At least one box, else the rest."""
    pos = offset
    while pos + 8 <= size:
        f.seek(pos)
        head = f.read(16)
        box, kind = struct.unpack(">I4s", head[:8])
        if box == 1 and len(head) == 16:
            box = struct.unpack(">Q", head[8:16])[0]
        elif box == 0:
            box = size - pos
        if box < 8 or pos + box > size or not kind.isascii() or not kind.decode("ascii").isprintable():
            break
        pos += box
    return (pos - offset) if pos > offset else size - offset
