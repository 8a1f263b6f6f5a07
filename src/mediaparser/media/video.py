"""Video containers: capture dates, duration, dimensions, a first good frame.

Dates are read by small readers written for exactly the fields that matter,
because general libraries drop them (measured: PyAV's container tags missed
the date in 5 of 25 real videos, docs/capture-time.md §4-§5):

- MP4/MOV/3GP (ISO BMFF / QuickTime): `mvhd` creation time (UTC by the
  standard, seconds since 1904), the first track's `mdhd` as a fallback,
  Apple's `com.apple.quicktime.creationdate` in `meta/keys` (local time *with*
  offset — preferred), `©day` user data, and XMP (`uuid` box or `udta/XMP_`);
  from the same `meta/keys`, a Live Photo clip's content identifier.
  Only box headers and the small `moov` are read; `mdat` is skipped by seeking.
- AVI (RIFF): the `IDIT` chunk (DateTimeOriginal) and `LIST/INFO/ICRD`, plus
  the `avih` header for size and duration.
- AVCHD/MTS: the `MDPM` block of the H.264 SEI (BCD date, time and zone).
- Matroska/WebM: Segment/Info `DateUTC` (UTC nanoseconds since 2001), the
  duration and the video track's size, from the elements before the first
  cluster; FFmpeg's `creation_time` only when that reader found no date.

PyAV (FFmpeg) gives dimensions/duration for the containers our readers do not
size, and decodes the thumbnail frame: the first frame that is not nearly
uniform (fade-ins start black), rotated by the display matrix.
hachoir would also find the QuickTime dates, but parses the whole box tree in
pure Python; the readers here touch a few kilobytes.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from PIL import Image

from mediaparser.media.timestamps import Candidate, Precision, candidate_from_datetime, make_candidate

_QT_EPOCH = datetime(1904, 1, 1)
CONTENT_ID_KEY = "com.apple.quicktime.content.identifier"  # a Live Photo clip's tie to its still
_XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"udta", b"edts", b"dinf", b"stbl"}
MAX_MOOV_BYTES = 64 * 1024 * 1024  # a moov larger than this is hostile or broken


@dataclass
class VideoInfo:
    width: int | None = None
    height: int | None = None
    duration: float | None = None  # seconds
    rotation: int = 0  # degrees the picture must be turned for display (PIL sense)
    make: str | None = None
    model: str | None = None
    content_id: str | None = None  # Apple's Live Photo ContentIdentifier (QuickTime mdta key)
    candidates: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# ISO BMFF / QuickTime


def _iter_boxes(f, start: int, end: int):
    """Yield (type, payload_start, payload_end) for the boxes in [start, end)."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        hdr = f.read(16)
        if len(hdr) < 8:
            return
        size, btype = struct.unpack(">I4s", hdr[:8])
        hlen = 8
        if size == 1:
            if len(hdr) < 16:
                return
            size = struct.unpack(">Q", hdr[8:16])[0]
            hlen = 16
        elif size == 0:
            size = end - pos
        if size < hlen or pos + size > end + 8:  # tolerate a last box cut short by a few bytes
            return
        yield btype, pos + hlen, min(pos + size, end)
        pos += size


def _qt_time(seconds: int) -> datetime | None:
    if seconds <= 0:
        return None
    try:
        return _QT_EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _qt_candidate(source: str, seconds: int, now: datetime | None) -> Candidate | None:
    if seconds == 0:
        return Candidate(source, None, None, Precision.SECOND, True, False, "rejected: blank or zero date", "0")
    value = _qt_time(seconds)
    if value is None:
        return None
    c = candidate_from_datetime(source, value, is_utc=True, raw=str(seconds), now=now)
    if c.accepted and value.year < 1970:
        c.accepted = False
        c.reason = "rejected: before 1970, the device clock was not set"
    return c


def _decode_qt_string(payload: bytes) -> str | None:
    """QuickTime udta text: 16-bit length + 16-bit language + text, or an
    iTunes-style 'data' box."""
    if len(payload) >= 16 and payload[4:8] == b"data":
        return payload[16:].decode("utf-8", "replace").strip("\x00 ")
    if len(payload) >= 4:
        n = struct.unpack(">H", payload[:2])[0]
        if 0 < n <= len(payload) - 4:
            return payload[4 : 4 + n].decode("utf-8", "replace").strip("\x00 ")
    return payload.decode("utf-8", "replace").strip("\x00 ") or None


def _udta_date(box: bytes, text: str, now: datetime | None) -> Candidate:
    """A user-data date: `©day` (ContentCreateDate) or `date`/`IDIT`
    (DateTimeOriginal, Canon and dash cams). Written as local time, with its
    offset when the device knew it (which beats the UTC header, §4); a
    trailing Z marks a UTC value, which is then treated like the header."""
    source = "quicktime:ContentCreateDate" if box == b"\xa9day" else "quicktime:DateTimeOriginal"
    text = text.strip().rstrip("\x00")
    if text.endswith(("Z", "z")):
        c = make_candidate(source, text, is_utc=True, now=now)
        c.utc_offset = None  # the Z marks the UTC basis, not the local offset
        return c
    return make_candidate(source, text, now=now)


def _read_keys_ilst(f, start: int, end: int) -> dict[str, str]:
    """Apple 'mdta' metadata: keys box names, ilst items indexed from 1."""
    keys: list[str] = []
    values: dict[str, str] = {}
    items: list[tuple[int, int, int]] = []
    for btype, ps, pe in _iter_boxes(f, start, end):
        if btype == b"keys":
            f.seek(ps)
            data = f.read(min(pe - ps, 1 << 20))
            if len(data) < 8:
                continue
            count = struct.unpack(">I", data[4:8])[0]
            pos = 8
            for _ in range(min(count, 4096)):
                if pos + 8 > len(data):
                    break
                ksize = struct.unpack(">I", data[pos : pos + 4])[0]
                if ksize < 8:
                    break
                keys.append(data[pos + 8 : pos + ksize].decode("utf-8", "replace"))
                pos += ksize
        elif btype == b"ilst":
            for itype, ips, ipe in _iter_boxes(f, ps, pe):
                items.append((struct.unpack(">I", itype)[0], ips, ipe))
    for index, ips, ipe in items:
        if 1 <= index <= len(keys):
            f.seek(ips)
            payload = f.read(min(ipe - ips, 4096))
            if len(payload) >= 16 and payload[4:8] == b"data":
                values[keys[index - 1]] = payload[16:].decode("utf-8", "replace").strip("\x00 ")
    return values


def _read_xmp_dates(packet: bytes, now: datetime | None) -> list[Candidate]:
    from mediaparser.media.metadata import MetadataError, read_xmp_packet

    try:
        tags = read_xmp_packet(packet)
    except MetadataError:
        return []
    out = []
    for key, source in (
        ("Xmp.exif.DateTimeOriginal", "xmp:exif:DateTimeOriginal"),
        ("Xmp.photoshop.DateCreated", "xmp:photoshop:DateCreated"),
        ("Xmp.xmp.CreateDate", "xmp:CreateDate"),
        ("Xmp.xmp.ModifyDate", "xmp:ModifyDate"),
    ):
        if key in tags:
            out.append(make_candidate(source, tags[key], now=now))
    return out


def _matrix_rotation(matrix: bytes) -> int:
    """Rotation (PIL `rotate` degrees) from a tkhd 3x3 fixed-point matrix."""
    if len(matrix) < 36:
        return 0
    a, b, _u, c, d = struct.unpack(">iiiii", matrix[:20])
    if a == 0 and d == 0:
        if b > 0 and c < 0:
            return -90  # turned 90° clockwise for display
        if b < 0 and c > 0:
            return 90
    if a < 0 and d < 0:
        return 180
    return 0


def read_bmff(path: str, now: datetime | None = None) -> VideoInfo:
    info = VideoInfo()
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        moov = None
        for btype, ps, pe in _iter_boxes(f, 0, size):
            if btype == b"moov":
                moov = (ps, pe)
            elif btype == b"IDIT" and pe - ps <= 64:  # dash cams: a top-level DateTimeOriginal
                f.seek(ps)
                info.candidates.append(_udta_date(btype, f.read(pe - ps).decode("latin-1"), now))
            elif btype == b"uuid":
                f.seek(ps)
                if f.read(16) == _XMP_UUID and pe - ps < (4 << 20):
                    info.candidates += _read_xmp_dates(f.read(pe - ps - 16), now)
        if moov is None:
            info.notes.append("no moov box: the video header is missing or the file is cut short")
            return info
        if moov[1] - moov[0] > MAX_MOOV_BYTES:
            info.notes.append("moov box too large to read")
            return info
        first_mdhd: int | None = None
        apple: dict[str, str] = {}
        for btype, ps, pe in _iter_boxes(f, *moov):
            if btype == b"mvhd":
                f.seek(ps)
                body = f.read(32)
                if len(body) < 20:
                    continue
                if body[0] == 1:
                    created, _mod, timescale, duration = struct.unpack(">QQIQ", body[4:32])
                else:
                    created, _mod, timescale, duration = struct.unpack(">IIII", body[4:20])
                c = _qt_candidate("quicktime:CreateDate", created, now)
                if c:
                    info.candidates.append(c)
                if timescale:
                    info.duration = round(duration / timescale, 3)
            elif btype == b"trak":
                _read_trak(f, ps, pe, info)
                if first_mdhd is None:
                    first_mdhd = _first_mdhd_time(f, ps, pe)
            elif btype == b"meta":
                apple.update(_read_keys_ilst(f, ps, pe))
            elif btype == b"udta":
                for utype, ups, upe in _iter_boxes(f, ps, pe):
                    f.seek(ups)
                    if utype in (b"\xa9day", b"date"):
                        text = _decode_qt_string(f.read(min(upe - ups, 256)))
                        if text:
                            info.candidates.append(_udta_date(utype, text, now))
                    elif utype in (b"\xa9mak", b"\xa9mod"):
                        text = _decode_qt_string(f.read(min(upe - ups, 256)))
                        if utype == b"\xa9mak":
                            info.make = info.make or text
                        else:
                            info.model = info.model or text
                    elif utype == b"XMP_" and upe - ups < (4 << 20):
                        info.candidates += _read_xmp_dates(f.read(upe - ups), now)
                    elif utype == b"meta":
                        # iTunes-style udta/meta: version+flags, then boxes.
                        apple_inner = _read_keys_ilst(f, ups + 4, upe)
                        apple.update(apple_inner)
                        for itype, ips, ipe in _iter_boxes(f, ups + 4, upe):
                            if itype == b"ilst":
                                for jtype, jps, jpe in _iter_boxes(f, ips, ipe):
                                    if jtype == b"\xa9day":
                                        f.seek(jps)
                                        text = _decode_qt_string(f.read(min(jpe - jps, 256)))
                                        if text:
                                            info.candidates.append(_udta_date(jtype, text, now))
        if not any(c.source == "quicktime:CreateDate" and c.accepted for c in info.candidates) and first_mdhd:
            c = _qt_candidate("quicktime:MediaCreateDate", first_mdhd, now)
            if c and c.accepted:
                info.candidates.append(c)
    cd = apple.get("com.apple.quicktime.creationdate")
    if cd:
        info.candidates.append(make_candidate("quicktime:Keys:CreationDate", cd, now=now))
    info.make = info.make or apple.get("com.apple.quicktime.make")
    info.model = info.model or apple.get("com.apple.quicktime.model")
    cid = (apple.get(CONTENT_ID_KEY) or "").strip()
    info.content_id = cid[:64] or None
    return info


def _read_trak(f, start: int, end: int, info: VideoInfo) -> None:
    tkhd: bytes | None = None
    handler = None
    for btype, ps, pe in _iter_boxes(f, start, end):
        if btype == b"tkhd":
            f.seek(ps)
            tkhd = f.read(min(pe - ps, 104))
        elif btype == b"mdia":
            for mtype, mps, mpe in _iter_boxes(f, ps, pe):
                if mtype == b"hdlr":
                    f.seek(mps + 8)
                    handler = f.read(4)
    if handler != b"vide" or tkhd is None or info.width:
        return
    # tkhd: version(1) flags(3) … matrix(36) width(4, 16.16) height(4, 16.16)
    off = 40 if tkhd[0] == 0 else 52
    if len(tkhd) >= off + 44:
        matrix = tkhd[off : off + 36]
        w, h = struct.unpack(">II", tkhd[off + 36 : off + 44])
        info.width, info.height = (w >> 16) or None, (h >> 16) or None
        info.rotation = _matrix_rotation(matrix)
        if info.rotation in (90, -90) and info.width and info.height:
            info.width, info.height = info.height, info.width


def _first_mdhd_time(f, start: int, end: int) -> int | None:
    for btype, ps, pe in _iter_boxes(f, start, end):
        if btype == b"mdia":
            for mtype, mps, mpe in _iter_boxes(f, ps, pe):
                if mtype == b"mdhd":
                    f.seek(mps)
                    body = f.read(12)
                    if len(body) >= 12:
                        return struct.unpack(">Q", body[4:12])[0] if body[0] == 1 else struct.unpack(">I", body[4:8])[0]
    return None


# ---------------------------------------------------------------------------
# AVI


def read_avi(path: str, now: datetime | None = None) -> VideoInfo:
    info = VideoInfo()
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(12)[8:12] != b"AVI ":
            return info
        _walk_riff(f, 12, min(size, 8 + struct.unpack("<I", _pread(f, 4, 4))[0]), info, now, depth=0)
    return info


def _pread(f, pos: int, n: int) -> bytes:
    f.seek(pos)
    return f.read(n)


def _walk_riff(f, start: int, end: int, info: VideoInfo, now, depth: int) -> None:
    pos = start
    while pos + 8 <= end and depth < 4:
        hdr = _pread(f, pos, 12)
        if len(hdr) < 8:
            return
        cid, csize = hdr[:4], struct.unpack("<I", hdr[4:8])[0]
        body = pos + 8
        if cid == b"LIST":
            ltype = hdr[8:12]
            if ltype in (b"hdrl", b"INFO", b"strl"):
                _walk_riff(f, body + 4, min(body + csize, end), info, now, depth + 1)
            # 'movi' (the frames) is skipped.
        elif cid == b"avih" and csize >= 40:
            avih = _pread(f, body, 40)
            usec_per_frame, total_frames = struct.unpack_from("<I", avih, 0)[0], struct.unpack_from("<I", avih, 16)[0]
            w, h = struct.unpack_from("<II", avih, 32)
            info.width, info.height = w or None, h or None
            if usec_per_frame and total_frames:
                info.duration = round(usec_per_frame * total_frames / 1e6, 3)
        elif cid == b"IDIT" and csize < 256:
            info.candidates.append(make_candidate("riff:DateTimeOriginal", _pread(f, body, csize), now=now))
        elif cid == b"ICRD" and csize < 256:
            info.candidates.append(make_candidate("riff:DateCreated", _pread(f, body, csize), now=now))
        pos = body + csize + (csize & 1)


# ---------------------------------------------------------------------------
# AVCHD / MPEG-TS

_MDPM_UUID = bytes.fromhex("17EE8C60F84D11D98CD60800200C9A66") + b"MDPM"


def _bcd(b: int) -> int:
    hi, lo = b >> 4, b & 0x0F
    if hi > 9 or lo > 9:
        raise ValueError("not BCD")
    return hi * 10 + lo


MTS_SCAN_BYTES = 512 * 1024  # the first I-frame's SEI sits in the first packets


def _ts_payloads(data: bytes) -> list[bytes]:
    """The payload bytes of an MPEG transport stream, joined per PID, so a
    block split over two 188-byte packets (or 192-byte M2TS packets, which
    put a 4-byte time code first) reads as one."""
    if len(data) >= 189 and data[0] == 0x47 and data[188] == 0x47:
        size, lead = 188, 0
    elif len(data) >= 197 and data[4] == 0x47 and data[196] == 0x47:
        size, lead = 192, 4
    else:
        return []
    streams: dict[int, bytearray] = {}
    for pos in range(lead, len(data) - 187, size):
        if data[pos] != 0x47:
            break  # lost sync: keep what was joined so far
        pid = (data[pos + 1] & 0x1F) << 8 | data[pos + 2]
        afc = (data[pos + 3] >> 4) & 3
        start = pos + 4
        if afc & 2:
            start += 1 + data[pos + 4]
        if afc & 1 and start < pos + 188:
            streams.setdefault(pid, bytearray()).extend(data[start : pos + 188])
    return [bytes(b) for b in streams.values()]


def _unescape_nal(data: bytes) -> bytes:
    """Drop H.264's emulation-prevention bytes (00 00 03 -> 00 00)."""
    return data.replace(b"\x00\x00\x03", b"\x00\x00") if b"\x00\x00\x03" in data else data


def _mdpm_tags(data: bytes) -> dict[int, bytes] | None:
    i = data.find(_MDPM_UUID)
    if i < 0:
        return None
    block = _unescape_nal(data[i + len(_MDPM_UUID) : i + len(_MDPM_UUID) + 1 + 5 * 255 + 64])
    if not block:
        return None
    tags: dict[int, bytes] = {}
    pos = 1
    for _ in range(block[0]):
        if pos + 5 > len(block):
            break
        tags[block[pos]] = block[pos + 1 : pos + 5]
        pos += 5
    return tags


def read_mts(path: str, now: datetime | None = None, scan_bytes: int = MTS_SCAN_BYTES) -> VideoInfo:
    """AVCHD: the MDPM block of the H.264 SEI (user data unregistered) in the
    first `scan_bytes` of the transport stream."""
    info = VideoInfo()
    with open(path, "rb") as f:
        data = f.read(scan_bytes)
    tags = _mdpm_tags(data)
    if tags is None or not (0x18 in tags and 0x19 in tags):
        # The block may straddle two packets: search the joined payloads.
        for payload in _ts_payloads(data):
            tags = _mdpm_tags(payload)
            if tags is not None and 0x18 in tags and 0x19 in tags:
                break
    if tags and 0x18 in tags and 0x19 in tags:
        a, b = tags[0x18], tags[0x19]
        try:
            year = _bcd(a[1]) * 100 + _bcd(a[2])
            value = datetime(year, _bcd(a[3]), _bcd(b[0]), _bcd(b[1]), _bcd(b[2]), _bcd(b[3]))
        except ValueError:
            info.candidates.append(Candidate("h264:DateTimeOriginal", None, None, Precision.SECOND, False, False,
                                             "rejected: not a real calendar date", (a + b).hex()))
            return info
        # Zone byte: bit 6 = negative, bits 5..1 = hours, bit 0 = +30 min.
        tz = a[0]
        minutes = ((tz >> 1) & 0x1F) * 60 + (30 if tz & 1 else 0)
        offset = -minutes if tz & 0x40 else minutes
        info.candidates.append(candidate_from_datetime("h264:DateTimeOriginal", value, utc_offset=offset,
                                                       raw=(a + b).hex(" "), now=now))
    return info


# ---------------------------------------------------------------------------
# Matroska / WebM (EBML)

_MKV_EPOCH = datetime(2001, 1, 1)
_EBML_HEADER, _SEGMENT, _CLUSTER = 0x1A45DFA3, 0x18538067, 0x1F43B675
_INFO, _TRACKS, _TRACK_ENTRY, _VIDEO = 0x1549A966, 0x1654AE6B, 0xAE, 0xE0
_DATE_UTC, _DURATION, _TIMESTAMP_SCALE = 0x4461, 0x4489, 0x2AD7B1
_TRACK_TYPE, _PIXEL_WIDTH, _PIXEL_HEIGHT = 0x83, 0xB0, 0xBA
MAX_MKV_ELEMENTS = 256  # top-level elements looked at before giving up (clusters are skipped by size)


def _vint(data: bytes, pos: int, keep_marker: bool) -> tuple[int | None, int]:
    """An EBML variable-length integer at `pos`: (value, next position).
    Element IDs keep their length marker; sizes drop it, and a size of all
    ones means "unknown" (None)."""
    if pos >= len(data):
        raise ValueError("cut short")
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or pos + length > len(data):
        raise ValueError("not an EBML number")
    value = first if keep_marker else first & (0xFF >> length)
    for b in data[pos + 1 : pos + length]:
        value = value << 8 | b
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return None, pos + length
    return value, pos + length


def _ebml_children(data: bytes, start: int, end: int):
    """(id, payload start, payload end) of the elements in data[start:end];
    stops at anything malformed or of unknown size."""
    pos = start
    while pos < end:
        try:
            eid, p = _vint(data, pos, True)
            size, p = _vint(data, p, False)
        except ValueError:
            return
        if size is None or p + size > end:
            return
        yield eid, p, p + size
        pos = p + size


def _ebml_uint(b: bytes) -> int:
    return int.from_bytes(b, "big") if len(b) <= 8 else 0


def read_matroska(path: str, now: datetime | None = None) -> VideoInfo:
    """Matroska/WebM: Segment/Info DateUTC (nanoseconds since 2001-01-01,
    UTC), Duration and the first video track's size. Only the EBML header and
    the top-level elements before the clusters are read; clusters are
    skipped by their size."""
    info = VideoInfo()
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(64)
        try:
            eid, p = _vint(head, 0, True)
            hsize, p = _vint(head, p, False)
        except ValueError:
            return info
        if eid != _EBML_HEADER or hsize is None:
            return info
        f.seek(p + hsize)
        seg_head = f.read(12)
        try:
            eid, p2 = _vint(seg_head, 0, True)
            seg_size, p2 = _vint(seg_head, p2, False)
        except ValueError:
            return info
        if eid != _SEGMENT:
            return info
        pos = p + hsize + p2
        end = size if seg_size is None else min(size, pos + seg_size)
        scale = 1_000_000
        duration = None
        seen: set[int] = set()
        for _ in range(MAX_MKV_ELEMENTS):
            if pos + 2 > end:
                break
            f.seek(pos)
            hdr = f.read(12)
            try:
                eid, hp = _vint(hdr, 0, True)
                esize, hp = _vint(hdr, hp, False)
            except ValueError:
                break
            if esize is None:
                break  # a live stream's cluster of unknown size: nothing useful follows
            body = pos + hp
            if eid == _CLUSTER and {_INFO, _TRACKS} <= seen:
                break  # the header elements come before the frames
            if eid in (_INFO, _TRACKS) and esize <= (1 << 20):
                seen.add(eid)
                f.seek(body)
                data = f.read(esize)
                if eid == _INFO:
                    for cid, a, b in _ebml_children(data, 0, len(data)):
                        if cid == _DATE_UTC and b - a == 8:
                            ns = int.from_bytes(data[a:b], "big", signed=True)
                            value = _MKV_EPOCH + timedelta(microseconds=ns // 1000)
                            info.candidates.append(candidate_from_datetime(
                                "matroska:DateUTC", value, is_utc=True, raw=value.isoformat(sep=" ") + "Z", now=now))
                        elif cid == _TIMESTAMP_SCALE:
                            scale = _ebml_uint(data[a:b]) or scale
                        elif cid == _DURATION and b - a in (4, 8):
                            duration = struct.unpack(">f" if b - a == 4 else ">d", data[a:b])[0]
                else:
                    _read_mkv_tracks(data, info)
            pos = body + esize
        if duration is not None and duration == duration and duration >= 0:  # not NaN
            info.duration = round(duration * scale / 1e9, 3)
    return info


def _read_mkv_tracks(data: bytes, info: VideoInfo) -> None:
    for eid, a, b in _ebml_children(data, 0, len(data)):
        if eid != _TRACK_ENTRY or info.width:
            continue
        kind, w, h = None, None, None
        for cid, ca, cb in _ebml_children(data, a, b):
            if cid == _TRACK_TYPE:
                kind = _ebml_uint(data[ca:cb])
            elif cid == _VIDEO:
                for vid, va, vb in _ebml_children(data, ca, cb):
                    if vid == _PIXEL_WIDTH:
                        w = _ebml_uint(data[va:vb])
                    elif vid == _PIXEL_HEIGHT:
                        h = _ebml_uint(data[va:vb])
        if kind == 1 and w and h:
            info.width, info.height = w, h


# ---------------------------------------------------------------------------
# PyAV: sizes for other containers, Matroska dates, the thumbnail frame


def probe_with_av(path: str, info: VideoInfo, now: datetime | None = None, *, want_frame: bool = False,
                  max_frames: int = 48) -> Image.Image | None:
    """Fill what the byte readers left open; optionally return the first good frame."""
    import av

    frame_img: Image.Image | None = None
    with av.open(path, metadata_errors="ignore") as container:
        meta = dict(container.metadata or {})
        if (container.format and ("matroska" in container.format.name or "webm" in container.format.name)
                and not any(c.source == "matroska:DateUTC" for c in info.candidates)):
            ct = meta.get("creation_time") or meta.get("DATE_UTC") or meta.get("date_utc")
            if ct:
                c = make_candidate("matroska:DateUTC", ct, is_utc=True, now=now)
                c.utc_offset = None  # the 'Z' marks the UTC basis, not a local offset
                info.candidates.append(c)
        stream = container.streams.video[0] if container.streams.video else None
        if info.duration is None and container.duration:
            info.duration = round(container.duration / 1_000_000, 3)
        if stream is not None and not info.width:
            cc = stream.codec_context
            info.width, info.height = cc.width or None, cc.height or None
        if stream is None or not want_frame:
            return None
        # FFmpeg's default threading: frame threads would delay the first
        # frame, and the caller already runs one file per core.
        stream.thread_count = 1
        best: tuple[float, Image.Image] | None = None
        try:
            for i, frame in enumerate(container.decode(stream)):
                img = frame.to_image()
                rot = int(getattr(frame, "rotation", 0) or 0)
                if rot:
                    img = img.rotate(rot, expand=True)
                    if i == 0 and rot in (90, -90, 270, -270) and info.width and info.height and img.width < img.height and info.width > info.height:
                        info.width, info.height = info.height, info.width
                score = _spread(img)
                if score >= 8.0:
                    return img  # first frame that is not nearly uniform
                if best is None or score > best[0]:
                    best = (score, img)
                if i + 1 >= max_frames:
                    break
        except av.error.FFmpegError:
            pass  # keep the best frame decoded so far
        frame_img = best[1] if best else None
    return frame_img


def _spread(img: Image.Image) -> float:
    small = img.convert("L").resize((32, 32))
    px = small.tobytes()
    mean = sum(px) / len(px)
    return (sum((p - mean) ** 2 for p in px) / len(px)) ** 0.5


def read_video(path: str, file_type: str, now: datetime | None = None) -> VideoInfo:
    """Dates, sizes and duration of a video, by container type."""
    if file_type in ("mp4", "mov", "m4v", "3gp"):
        return read_bmff(path, now)
    if file_type == "avi":
        return read_avi(path, now)
    if file_type == "mts":
        return read_mts(path, now)
    if file_type in ("mkv", "webm"):
        return read_matroska(path, now)
    return VideoInfo()

