"""Generators of real media files for the media tests.

Everything is written by the real libraries (Pillow, pillow-heif, PyAV,
exiv2), so the readers under test meet the bytes they meet in the wild. A few
containers that no installed library writes with the field under test (an AVI
`IDIT` chunk, an AVCHD `MDPM` block) are assembled here by hand, following
their specifications.
"""
from __future__ import annotations

import io
import json
import os
import struct
from datetime import datetime

import av
import exiv2
import numpy as np
from PIL import Image


def photo(width: int = 160, height: int = 120, seed: int = 1) -> Image.Image:
    """A photograph-like picture: smooth shapes plus a little noise, so that
    perceptual hashes are meaningful and not flat."""
    if width * height > 1_000_000:
        # Big pictures: draw small, enlarge, add grain — seconds faster.
        small = photo(max(width // 10, 8), max(height // 10, 8), seed)
        big = np.asarray(small.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
        grain = np.random.default_rng(seed).integers(-8, 9, big.shape, dtype=np.int16)
        return Image.fromarray(np.clip(big + grain, 0, 255).astype(np.uint8))
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, 3))
    for _ in range(6):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.15, 0.5) * max(width, height)
        color = rng.uniform(0, 255, 3)
        blob = np.exp(-(((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r)))[..., None]
        img = img * (1 - blob) + color * blob
    img += rng.normal(0, 6, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def write_tags(path: str, exif: dict[str, str] | None = None, xmp: dict[str, str] | None = None,
               iptc: dict[str, str] | None = None) -> str:
    """Write metadata with exiv2, the way photo software does."""
    image = exiv2.ImageFactory.open(path)
    image.readMetadata()
    if exif:
        data = image.exifData()
        for k, v in exif.items():
            data[k] = v
        image.setExifData(data)
    if xmp:
        data = image.xmpData()
        for k, v in xmp.items():
            data[k] = v
        image.setXmpData(data)
    if iptc:
        data = image.iptcData()
        for k, v in iptc.items():
            data[k] = v
        image.setIptcData(data)
    image.writeMetadata()
    return path


def jpeg(path: str, *, exif: dict[str, str] | None = None, xmp: dict[str, str] | None = None,
         iptc: dict[str, str] | None = None, img: Image.Image | None = None, quality: int = 90) -> str:
    (img or photo()).save(path, "JPEG", quality=quality)
    if exif or xmp or iptc:
        write_tags(path, exif, xmp, iptc)
    return path


def camera_jpeg(path: str, img: Image.Image, *, preview_side: int = 1080, quality: int = 92,
                exif: dict[str, str] | None = None) -> str:
    """A JPEG as many cameras write it: the photo plus an MPF (CIPA DC-007)
    'Large Thumbnail (Full HD Equivalent)' preview after it."""
    pw = round(img.width * preview_side / img.height)
    preview = img.resize((pw, preview_side), Image.Resampling.BILINEAR)
    img.save(path, "MPO", save_all=True, append_images=[preview], quality=quality)
    _set_mp_type(path, 1, 0x010002)
    if exif:
        write_tags(path, exif)
    return path


def _set_mp_type(path: str, index: int, mp_type: int) -> None:
    """Pillow marks appended images 'Undefined'; cameras mark previews as
    Large Thumbnails. Patch the MP Entry type in the MPF APP2 segment."""
    with open(path, "r+b") as f:
        data = f.read(1 << 16)
        at = data.find(b"MPF\x00")
        base = at + 4  # TIFF header of the MP Index IFD
        order = "<" if data[base:base + 2] == b"II" else ">"
        ifd = base + struct.unpack_from(order + "I", data, base + 4)[0]
        for i in range(struct.unpack_from(order + "H", data, ifd)[0]):
            tag, _typ, _count, value = struct.unpack_from(order + "HHII", data, ifd + 2 + 12 * i)
            if tag == 0xB002:
                pos = base + value + 16 * index
                attr = struct.unpack_from(order + "I", data, pos)[0]
                f.seek(pos)
                f.write(struct.pack(order + "I", (attr & 0xFF000000) | mp_type))
                return
    raise ValueError("no MP Entry tag")


def pillow_exif(dto: str | None = None, modify: str | None = None, orientation: int | None = None) -> Image.Exif:
    e = Image.Exif()
    if modify:
        e[0x0132] = modify
    if orientation:
        e[0x0112] = orientation
    if dto:
        e.get_ifd(0x8769)[0x9003] = dto
    return e


def heic(path: str, *, dto: str | None = None, img: Image.Image | None = None) -> str:
    import pillow_heif

    pillow_heif.register_heif_opener()
    kwargs = {}
    if dto:
        kwargs["exif"] = pillow_exif(dto).tobytes()
    (img or photo()).save(path, format="HEIF", quality=60, **kwargs)
    return path


def broken_heic(path: str, *, dto: str | None = None, img: Image.Image | None = None) -> str:
    """A HEIF whose metadata is intact but whose picture no decoder can make: the HEVC
    parameter sets in its `hvcC` box are zeroed, as a damaged copy or a bad writer leaves them."""
    heic(path, dto=dto, img=img)
    data = bytearray(open(path, "rb").read())
    at = data.find(b"hvcC")
    size = struct.unpack(">I", data[at - 4:at])[0]
    data[at + 4 + 22:at - 4 + size] = bytes(size - 30)  # after the fixed 22-byte header
    open(path, "wb").write(bytes(data))
    return path


def video(path: str, *, fmt: str = "mp4", codec: str = "mpeg4", frames: int = 6, size: tuple[int, int] = (64, 48),
          metadata: dict[str, str] | None = None, rotation: int | None = None, black_frames: int = 0,
          options: dict[str, str] | None = None) -> str:
    """A short real video written by FFmpeg through PyAV."""
    container = av.open(path, "w", format=fmt, options=options or {})
    for k, v in (metadata or {}).items():
        container.metadata[k] = v
    stream = container.add_stream(codec, rate=10)
    stream.width, stream.height = size
    stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
    if rotation is not None:
        stream.set_display_rotation(rotation)
    pic = photo(*size)
    black = Image.new("RGB", size)
    for i in range(frames):
        frame = av.VideoFrame.from_image(black if i < black_frames else pic)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def mov_apple(path: str, *, utc: str, local_with_offset: str, rotation: int | None = None) -> str:
    """A MOV as an iPhone writes it: UTC header time plus the local Keys date."""
    return video(path, fmt="mov", metadata={"creation_time": utc, "com.apple.quicktime.creationdate": local_with_offset},
                 options={"movflags": "use_metadata_tags"}, rotation=rotation)


def _box(btype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + btype + body


def mov_by_hand(path: str, *, header_utc: datetime | None, udta: dict[bytes, str] | None = None,
                idit: str | None = None) -> str:
    """A QuickTime file assembled box by box: `ftyp`, an optional top-level
    `IDIT` (dash cams), and a `moov` holding `mvhd` (UTC seconds since 1904)
    and a `udta` whose text items (`\\xa9day`, `date`) are written in
    QuickTime's international text form (16-bit length, language, text)."""
    created = int((header_utc - datetime(1904, 1, 1)).total_seconds()) if header_utc else 0
    mvhd = _box(b"mvhd", struct.pack(">B3xIIII", 0, created, created, 600, 1200) + b"\x00" * 80)
    items = b"".join(_box(k, struct.pack(">HH", len(v), 0x55C4) + v.encode()) for k, v in (udta or {}).items())
    moov = _box(b"moov", mvhd + (_box(b"udta", items) if items else b""))
    top = _box(b"ftyp", b"qt  \x00\x00\x02\x00qt  ") + (_box(b"IDIT", idit.encode() + b"\x00") if idit else b"")
    with open(path, "wb") as f:
        f.write(top + moov + _box(b"mdat", b""))
    return path


def iim(dataset: int, value: bytes) -> bytes:
    """One IPTC IIM record-2 dataset (2:55 DateCreated, 2:60 TimeCreated, 2:120 Caption)."""
    return b"\x1c\x02" + bytes([dataset]) + struct.pack(">H", len(value)) + value


def jpeg_with_app13(path: str, segments: list[list[bytes]], *, img: Image.Image | None = None) -> str:
    """A JPEG with hand-built APP13 'Photoshop 3.0' segments, each a list of
    IPTC blocks stored as 8BIM 0x0404 resources (empty Pascal name)."""
    buf = io.BytesIO()
    (img or photo()).save(buf, "JPEG", quality=80)
    data = buf.getvalue()
    out = b""
    for blocks in segments:
        body = b"Photoshop 3.0\x00"
        for block in blocks:
            body += b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(block)) + block + (b"\x00" if len(block) % 2 else b"")
        out += b"\xff\xed" + struct.pack(">H", len(body) + 2) + body
    with open(path, "wb") as f:
        f.write(data[:2] + out + data[2:])
    return path


def _jpeg_with_segments(path: str, segments: list[bytes], img: Image.Image | None = None) -> str:
    buf = io.BytesIO()
    (img or photo()).save(buf, "JPEG", quality=80)
    data = buf.getvalue()
    with open(path, "wb") as f:
        f.write(data[:2] + b"".join(segments) + data[2:])
    return path


def _app1(body: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def flir_jpeg(path: str, utc: datetime, offset_minutes: int, *, chunks: int = 2) -> str:
    """A JPEG as FLIR thermal cameras write it, without EXIF: an FFF block
    (big-endian header and record directory, one little-endian CameraInfo
    record whose 0x384 holds UTC seconds, milliseconds and the zone in
    minutes west of UTC) split over `chunks` APP1 'FLIR' segments."""
    record = bytearray(0x400)
    struct.pack_into("<H", record, 0, 2)
    secs = int((utc - datetime(1970, 1, 1)).total_seconds())
    struct.pack_into("<IIh", record, 0x384, secs, 253, -offset_minutes)
    header = b"FFF\x00" + b"\x00" * 16 + struct.pack(">III", 100, 0x40, 1)
    header = header.ljust(0x40, b"\x00")
    entry = struct.pack(">HHIIIIIII", 0x20, 1, 0x64, 1, 0x60, len(record), 0, 0, 0)
    fff = header + entry + bytes(record)
    step = -(-len(fff) // chunks)
    parts = [fff[i : i + step] for i in range(0, len(fff), step)]
    return _jpeg_with_segments(path, [_app1(b"FLIR\x00\x01" + bytes([i, len(parts) - 1]) + part)
                                      for i, part in enumerate(parts)])


def casio_qvci_jpeg(path: str, when: datetime) -> str:
    """A JPEG as the Casio QV-7000SX writes it, without EXIF: an APP1 'QVCI'
    block with DateTimeOriginal as text at byte 0x4d."""
    body = bytearray(b"QVCI\x00".ljust(0x80, b"\x00"))
    body[0x4D : 0x4D + 19] = when.strftime("%Y.%m.%d %H:%M:%S").encode()
    return _jpeg_with_segments(path, [_app1(bytes(body))])


def gif_with_xmp(path: str, xmp_attrs: str) -> str:
    """A GIF with an XMP application extension ('XMP DataXMP', the packet,
    then the 258-byte magic trailer): a date our readers do not look for
    (exiv2 reads no GIF metadata) but ExifTool does."""
    buf = io.BytesIO()
    photo(16, 16).convert("P").save(buf, "GIF")
    data = buf.getvalue()
    packet = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              f'<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" {xmp_attrs}/>'
              '</rdf:RDF></x:xmpmeta>').encode()
    ext = b"!\xff\x0bXMP DataXMP" + packet + bytes([1]) + bytes(range(255, -1, -1)) + b"\x00"
    with open(path, "wb") as f:
        f.write(data[:-1] + ext + data[-1:])  # before the trailer byte ';'
    return path


def _chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) % 2 else b"")


def avi_with_idit(path: str, idit: str, *, width: int = 320, height: int = 240, frames: int = 50) -> str:
    """A RIFF AVI header with an IDIT chunk, as Canon and Nikon cameras write it."""
    avih = struct.pack("<IIIIIIIIII", 66666, 0, 0, 0x10, frames, 0, 1, 0, width, height) + b"\x00" * 16
    hdrl = b"hdrl" + _chunk(b"avih", avih) + _chunk(b"IDIT", idit.encode() + b"\n\x00")
    movi = b"movi"
    body = b"AVI " + _chunk(b"LIST", hdrl) + _chunk(b"LIST", movi)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def _bcd(n: int) -> int:
    return (n // 10) << 4 | (n % 10)


def _nal_escape(body: bytes) -> bytes:
    """H.264 emulation prevention: 00 00 followed by 00..03 gets a 03 between."""
    out, zeros = bytearray(), 0
    for b in body:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def mts_with_mdpm(path: str, when: datetime, offset_minutes: int, *, pad: int = 0, m2ts: bool = False) -> str:
    """An MPEG transport stream whose video PES starts with an access unit
    delimiter, `pad` bytes of filler NAL, then an H.264 SEI (user data
    unregistered) carrying the MDPM block AVCHD camcorders write: BCD date
    and time and a zone byte. The NAL is escaped as H.264 requires, and the
    PES is cut into 188-byte packets (192 with the M2TS time code), so with
    `pad` the block can straddle two packets."""
    tz = ((abs(offset_minutes) // 60) << 1) | (1 if abs(offset_minutes) % 60 else 0)
    if offset_minutes < 0:
        tz |= 0x40
    mdpm = (bytes.fromhex("17EE8C60F84D11D98CD60800200C9A66") + b"MDPM" + bytes([2])
            + bytes([0x18, tz, _bcd(when.year // 100), _bcd(when.year % 100), _bcd(when.month)])
            + bytes([0x19, _bcd(when.day), _bcd(when.hour), _bcd(when.minute), _bcd(when.second)]))
    sei = b"\x00\x00\x00\x01" + _nal_escape(b"\x06\x05" + bytes([len(mdpm)]) + mdpm + b"\x80")
    es = b"\x00\x00\x00\x01\x09\x10" + (b"\x00\x00\x00\x01\x0c" + b"\xff" * pad if pad else b"") + sei
    pes = b"\x00\x00\x01\xe0\x00\x00\x80\x80\x05\x21\x00\x01\x00\x01" + es
    packets = []
    for i in range(0, len(pes), 184):
        chunk = pes[i : i + 184]
        head = bytes([0x47, 0x50 if i == 0 else 0x10, 0x11, 0x10 | (i // 184) & 0x0F])
        if len(chunk) < 184:  # an adaptation field of stuffing fills the last packet
            stuffing = 184 - len(chunk) - 1
            head = head[:3] + bytes([0x30 | (i // 184) & 0x0F, stuffing]) + (b"\x00" + b"\xff" * (stuffing - 1) if stuffing else b"")
        packets.append(head + chunk)
    packets.append(b"\x47\x00\x11\x11".ljust(188, b"\xff"))
    with open(path, "wb") as f:
        f.write(b"".join((b"\x00\x00\x00\x00" if m2ts else b"") + pkt for pkt in packets))
    return path


def crw(path: str, when: datetime, *, make: str = "Canon", model: str = "Canon PowerShot S40") -> str:
    """A Canon CRW (CIFF) with no EXIF block: the capture time lives only in
    the ImageProps heap (0x300a) as the TimeStamp record 0x180e (uint32
    seconds of the camera's wall clock since 1970, zone code, zone info), the
    names in the MakeModel record 0x080a. Each heap is its records' bytes,
    then a directory (count, 10-byte entries: tag, size, offset), then the
    directory's offset as its last four bytes."""
    def heap(records: list[tuple[int, bytes]]) -> bytes:
        body, entries, at = b"", b"", 0
        for tag, data in records:
            entries += struct.pack("<HII", tag, len(data), at)
            body += data
            at += len(data)
        return body + struct.pack("<H", len(records)) + entries + struct.pack("<I", len(body))

    secs = int((when - datetime(1970, 1, 1)).total_seconds())
    props = heap([(0x180E, struct.pack("<IiI", secs, 0, 0))])
    names = heap([(0x080A, make.encode() + b"\x00" + model.encode() + b"\x00")])
    root = heap([(0x300A, props), (0x2807, names)])
    with open(path, "wb") as f:
        f.write(b"II" + struct.pack("<I", 26) + b"HEAPCCDR" + struct.pack("<I", 0x00010002) + b"\x00" * 8 + root)
    return path


def jxl(path: str, *, dto: str | None = None, img: Image.Image | None = None) -> str:
    """A JPEG XL (box container) written by libjxl through pillow-jxl-plugin, with an Exif box."""
    import pillow_jxl  # noqa: F401 — registers the encoder

    kwargs = {"exif": pillow_exif(dto).tobytes()} if dto else {}
    (img or photo()).save(path, format="JXL", quality=80, **kwargs)
    return path


def _ebml(eid: int, body: bytes, *, unknown_size: bool = False) -> bytes:
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown_size else b"\x01" + len(body).to_bytes(7, "big")
    return eid.to_bytes((eid.bit_length() + 7) // 8, "big") + size + body


def webm_by_hand(path: str, date_utc_ns: int, *, width: int = 640, height: int = 360, duration_ms: float = 2500.0,
                 doc_type: bytes = b"webm") -> str:
    """A Matroska/WebM file assembled element by element (EBML header, a
    Segment of unknown size as live recorders write it, Info with
    TimestampScale, DateUTC — signed nanoseconds since 2001-01-01 UTC — and
    Duration, a video TrackEntry, then a cluster of unknown size). Sizes use
    the 8-byte EBML form, which is legal for every element."""
    header = _ebml(0x1A45DFA3, _ebml(0x4286, b"\x01") + _ebml(0x4282, doc_type))
    info = _ebml(0x1549A966, _ebml(0x2AD7B1, (1_000_000).to_bytes(3, "big"))
                 + _ebml(0x4461, date_utc_ns.to_bytes(8, "big", signed=True))
                 + _ebml(0x4489, struct.pack(">d", duration_ms)))
    video = _ebml(0xE0, _ebml(0xB0, width.to_bytes(2, "big")) + _ebml(0xBA, height.to_bytes(2, "big")))
    tracks = _ebml(0x1654AE6B, _ebml(0xAE, _ebml(0xD7, b"\x01") + _ebml(0x83, b"\x01") + video))
    cluster = _ebml(0x1F43B675, _ebml(0xE7, b"\x00"), unknown_size=True)
    with open(path, "wb") as f:
        f.write(header + _ebml(0x18538067, info + tracks + cluster, unknown_size=True))
    return path


def xmp_sidecar(path: str, **tags: str) -> str:
    """An XMP sidecar like darktable/Lightroom write; tags like exif_DateTimeOriginal=…"""
    attrs = " ".join(f'{k.replace("_", ":", 1)}="{v}"' for k, v in tags.items())
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        f"{attrs}/></rdf:RDF></x:xmpmeta>\n<?xpacket end=\"w\"?>"
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def takeout_json(path: str, *, title: str, taken: int | None, created: int | None = None) -> str:
    data: dict = {"title": title, "description": ""}
    if taken is not None:
        data["photoTakenTime"] = {"timestamp": str(taken), "formatted": "…"}
    if created is not None:
        data["creationTime"] = {"timestamp": str(created), "formatted": "…"}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    return path


def touch_mtime(path: str, when: datetime) -> None:
    ts = when.timestamp()
    os.utime(path, (ts, ts))


# --- Live Photos and Motion Photos (media/livephoto.py) ----------------------


def apple_makernote(content_id: str | None = None, burst_id: str | None = None) -> bytes:
    """An Apple maker note as iPhones write it: "Apple iOS\\0", version 1, "MM", then an IFD
    of ASCII strings (0x000b BurstUUID, 0x0011 ContentIdentifier) whose values follow it."""
    entries = sorted((tag, (v + "\x00").encode()) for tag, v in ((0x000B, burst_id), (0x0011, content_id)) if v)
    head = b"Apple iOS\x00\x00\x01MM"
    at = len(head) + 2 + 12 * len(entries) + 4
    ifd, blobs = struct.pack(">H", len(entries)), b""
    for tag, value in entries:
        if len(value) <= 4:  # TIFF: a value of four bytes or fewer sits in the entry itself
            ifd += struct.pack(">HHI", tag, 2, len(value)) + value.ljust(4, b"\x00")
            continue
        ifd += struct.pack(">HHII", tag, 2, len(value), at + len(blobs))
        blobs += value
    return head + ifd + b"\x00\x00\x00\x00" + blobs


def live_still(path: str, *, dto: str, content_id: str | None = None, burst_id: str | None = None,
               img: Image.Image | None = None) -> str:
    """An iPhone still: HEIC (pillow-heif writes the EXIF with the maker note) or JPEG
    (exiv2 writes the maker note into the JPEG's EXIF; exiv2 cannot write HEIC)."""
    img = img or photo()
    if path.lower().endswith((".heic", ".heif")):
        import pillow_heif

        pillow_heif.register_heif_opener()
        e = pillow_exif(dto)
        e[0x010F], e[0x0110] = "Apple", "iPhone 12"
        if content_id or burst_id:
            e.get_ifd(0x8769)[0x927C] = apple_makernote(content_id, burst_id)
        img.save(path, format="HEIF", quality=60, exif=e.tobytes())
        return path
    jpeg(path, img=img, exif={"Exif.Image.Make": "Apple", "Exif.Image.Model": "iPhone 12",
                              "Exif.Photo.DateTimeOriginal": dto})
    if content_id or burst_id:
        image = exiv2.ImageFactory.open(path)
        image.readMetadata()
        data = image.exifData()
        data["Exif.Photo.MakerNote"] = exiv2.DataValue(apple_makernote(content_id, burst_id))
        image.setExifData(data)
        image.writeMetadata()
    return path


def live_clip(path: str, *, local_with_offset: str, utc: str, content_id: str | None = None,
              frames: int = 10) -> str:
    """A Live Photo's MOV (H.264, as browsers play it): the Keys creation date and, when given,
    the content identifier (mdta keys)."""
    meta = {"creation_time": utc, "com.apple.quicktime.creationdate": local_with_offset}
    if content_id:
        meta["com.apple.quicktime.content.identifier"] = content_id
    return video(path, fmt="mov", codec="h264", metadata=meta, options={"movflags": "use_metadata_tags"},
                 frames=frames)


_GCAMERA = "http://ns.google.com/photos/1.0/camera/"


def motion_photo_xmp(video_size: int, *, scheme: str = "container") -> bytes:
    """The XMP a Pixel (`container`: MotionPhoto + Container:Directory) or an older
    Google camera (`microvideo`: MicroVideo + MicroVideoOffset) writes."""
    if scheme == "microvideo":
        body = (f'<rdf:Description rdf:about="" xmlns:GCamera="{_GCAMERA}" GCamera:MicroVideo="1" '
                f'GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="{video_size}" '
                'GCamera:MicroVideoPresentationTimestampUs="0"/>')
    else:
        body = (f'<rdf:Description rdf:about="" xmlns:GCamera="{_GCAMERA}" '
                'xmlns:Container="http://ns.google.com/photos/1.0/container/" '
                'xmlns:Item="http://ns.google.com/photos/1.0/container/item/" '
                'GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1" '
                'GCamera:MotionPhotoPresentationTimestampUs="0"><Container:Directory><rdf:Seq>'
                '<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary" '
                'Item:Length="0" Item:Padding="0"/></rdf:li>'
                '<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="video/mp4" '
                f'Item:Semantic="MotionPhoto" Item:Length="{video_size}"/></rdf:li>'
                '</rdf:Seq></Container:Directory></rdf:Description>')
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            + body + "</rdf:RDF></x:xmpmeta>").encode()


def motion_photo(path: str, *, dto: str = "2019:08:12 14:30:25", scheme: str = "container",
                 img: Image.Image | None = None, frames: int = 8) -> tuple[str, bytes]:
    """A Motion Photo: a JPEG (XMP marker, `scheme` as in `motion_photo_xmp`, or
    `samsung`: no XMP, the `MotionPhoto_Data` marker and a SEFT trailer) with a real
    MP4 appended. Returns (path, the MP4's bytes)."""
    clip_path = path + ".clip.mp4"
    video(clip_path, codec="h264", frames=frames)
    clip = open(clip_path, "rb").read()
    os.remove(clip_path)
    buf = io.BytesIO()
    if scheme == "samsung":
        (img or photo()).save(buf, "JPEG", quality=90)
    else:
        (img or photo()).save(buf, "JPEG", quality=90, xmp=motion_photo_xmp(len(clip), scheme=scheme))
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    write_tags(path, {"Exif.Photo.DateTimeOriginal": dto, "Exif.Image.Make": "Google"})
    with open(path, "ab") as f:
        if scheme == "samsung":
            f.write(b"MotionPhoto_Data" + clip + b"\x00" * 12 + b"SEFH" + b"\x00" * 8 + b"SEFT")
        else:
            f.write(clip)
    return path, clip


def samsung_motion_heic(path: str, *, dto: str = "2019:08:12 14:30:25") -> tuple[str, bytes]:
    """A Samsung HEIC Motion Photo: the HEIF, then the MP4 in a top-level `mpvd` box."""
    heic(path, dto=dto)
    clip_path = path + ".clip.mp4"
    video(clip_path, codec="h264", frames=8)
    clip = open(clip_path, "rb").read()
    os.remove(clip_path)
    with open(path, "ab") as f:
        f.write(_box(b"mpvd", clip))
    return path, clip
