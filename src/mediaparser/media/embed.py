"""Writing the corrected capture time and tags into an archive copy, and reading them back.

Pure (no database, no Flask): a path and values in. Used by the export
(usecases/export/) on the *copy* in the archive — originals are never
opened for writing.

* JPEG, TIFF, PNG and WebP are edited with exiv2 — in memory (`embed_bytes`,
  the export's usual path: the copy is written once) or in place on a file
  (`write_embedded`, for files too large to hold in memory). Only the
  metadata segments are rewritten, the image data is not re-encoded
  (lossless); both give the same bytes.
  Written: Exif DateTimeOriginal and DateTimeDigitized (exiftool's
  CreateDate), OffsetTimeOriginal/OffsetTimeDigitized when the UTC offset is
  known (never an assumed one: docs/capture-time.md §8 — a guessed offset
  written into the file would later be read as evidence), XMP date tags that
  already exist (so no stale XMP date contradicts the corrected one),
  XMP dc:subject and IPTC Keywords (merged with keywords already there).
* Other formats (HEIC, RAW, videos) get an XMP sidecar `name.ext.xmp`, the
  name our own sidecar reader (media/sidecars.py) looks for first.
* A partial date — known to the day, month, year or decade only
  (`PARTIAL`; a folder date, a scan, a date a person typed as "August 1987")
  — is never written as a full time: EXIF DateTimeOriginal cannot say "only
  the month", so no EXIF date is written and the copy's own EXIF and IPTC
  capture dates, which would contradict it, are removed from the copy. XMP
  says exactly what is known (`YYYY-MM-DD`, `YYYY-MM` or `YYYY`) in
  photoshop:DateCreated and in the XMP date tags the copy already has. A
  decade has no XMP spelling: no date is written at all, and the archive
  name and the manifest carry it (docs/capture-time.md, "Partial dates").

Capture times are local wall-clock times (docs/capture-time.md §11): they are written as they
are stored, never converted to UTC.

Threads: exiv2's XMP toolkit keeps process-wide state that is not
thread-safe, and python-exiv2 releases the GIL inside exiv2 calls, so every
exiv2 call here holds `_EXIV2`, the same lock media/metadata.py's readers
hold (the export edits files from a thread pool, which also reads metadata;
an in-memory edit of a 12 MP JPEG holds it for well under a millisecond).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator
from xml.sax.saxutils import escape

import exiv2

from mediaparser.media.metadata import EXIV2_LOCK

# Containers exiv2 rewrites without touching the image data.
EMBEDDABLE = frozenset({"jpg", "jpeg", "tif", "tiff", "png", "webp"})
# Containers whose IPTC block exiv2 can write (WebP has none).
_IPTC = frozenset({"jpg", "jpeg", "tif", "tiff", "png"})
_XMP_DATES = ("Xmp.exif.DateTimeOriginal", "Xmp.xmp.CreateDate", "Xmp.photoshop.DateCreated",
              "Xmp.exif.DateTimeDigitized")
UTF8_CHARSET = "\x1b%G"  # IPTC's marker for UTF-8 text
_EXIV2 = EXIV2_LOCK  # one lock with the readers (media/metadata.py); see "Threads" above


class EmbedError(RuntimeError):
    """exiv2 could not write the metadata; the message says why."""


def embeddable(extension: str | None) -> bool:
    return (extension or "").lower().lstrip(".") in EMBEDDABLE


def offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    m = abs(minutes)
    return f"{sign}{m // 60:02d}:{m % 60:02d}"


def _xmp_date(when: datetime, offset: int | None) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S") + (offset_text(offset) if offset is not None else "")


# Precisions coarser than a time of day: written as a partial XMP date, never as an EXIF time.
PARTIAL = frozenset({"day", "month", "year", "decade"})
_EXIF_DATES = ("Exif.Photo.DateTimeOriginal", "Exif.Photo.DateTimeDigitized", "Exif.Photo.OffsetTimeOriginal",
               "Exif.Photo.OffsetTimeDigitized", "Exif.Photo.SubSecTimeOriginal", "Exif.Photo.SubSecTimeDigitized")
_IPTC_DATES = ("Iptc.Application2.DateCreated", "Iptc.Application2.TimeCreated",
               "Iptc.Application2.DigitizationDate", "Iptc.Application2.DigitizationTime")


def partial_xmp_date(when: datetime, precision: str | None) -> str | None:
    """The XMP spelling of a partial date (`YYYY-MM-DD`, `YYYY-MM`, `YYYY`); None for a
    decade, which XMP cannot say. Only for precisions in `PARTIAL`."""
    if precision == "day":
        return f"{when.year:04d}-{when.month:02d}-{when.day:02d}"
    if precision == "month":
        return f"{when.year:04d}-{when.month:02d}"
    if precision == "year":
        return f"{when.year:04d}"
    return None


def write_embedded(path: str, extension: str, captured_at: datetime | None, utc_offset: int | None,
                   tags: list[str], *, precision: str | None = None) -> None:
    """Write capture time (when known, as precise as `precision` says) and tags into the file
    at `path`, losslessly."""
    try:
        with _EXIV2:
            image = exiv2.ImageFactory.open(path)
            _edit(image, extension, captured_at, utc_offset, tags, precision)
            image.writeMetadata()
    except exiv2.Exiv2Error as e:
        raise EmbedError(f"could not write metadata into the copy: {e.args[-1] if e.args else e}") from None


def embed_bytes(data: bytes | memoryview, extension: str, captured_at: datetime | None, utc_offset: int | None,
                tags: list[str], *, precision: str | None = None) -> bytes:
    """The file `data` with capture time and tags written into it, losslessly; `data` is not changed.

    The same edit as `write_embedded`, on a memory copy: the result is byte for
    byte what `write_embedded` leaves in a file that held `data`.
    """
    with embedded(data, extension, captured_at, utc_offset, tags, precision=precision) as view:
        return bytes(view)


@contextmanager
def embedded(data: bytes | memoryview, extension: str, captured_at: datetime | None, utc_offset: int | None,
             tags: list[str], *, precision: str | None = None) -> Iterator[memoryview]:
    """`embed_bytes` without copying the result: a read-only view of exiv2's memory, valid inside
    the `with` (the export hashes and writes it from there). `data` must stay unchanged meanwhile."""
    try:
        with _EXIV2:
            image = exiv2.ImageFactory.open(data)
            _edit(image, extension, captured_at, utc_offset, tags, precision)
            image.writeMetadata()
            io = image.io()
            io.open()
            view = io.mmap()
    except exiv2.Exiv2Error as e:
        raise EmbedError(f"could not write metadata into the copy: {e.args[-1] if e.args else e}") from None
    try:
        if not len(view):
            raise EmbedError("could not write metadata into the copy: exiv2 returned no data")
        yield view
    finally:
        with _EXIV2:
            view.release()
            io.munmap()
            io.close()
            del io, image


def _edit(image, extension: str, captured_at: datetime | None, utc_offset: int | None, tags: list[str],
          precision: str | None = None) -> None:
    """Set the dates and tags on an opened exiv2 image (the caller writes them and holds _EXIV2)."""
    ext = extension.lower().lstrip(".")
    image.readMetadata()
    if captured_at is not None and precision in PARTIAL:
        _edit_partial(image, ext, captured_at, precision)
        captured_at = None  # the dates are done; tags below as for any file
    if captured_at is not None:
        exif = image.exifData()
        stamp = captured_at.strftime("%Y:%m:%d %H:%M:%S")
        exif["Exif.Photo.DateTimeOriginal"] = stamp
        exif["Exif.Photo.DateTimeDigitized"] = stamp
        if utc_offset is not None:
            exif["Exif.Photo.OffsetTimeOriginal"] = offset_text(utc_offset)
            exif["Exif.Photo.OffsetTimeDigitized"] = offset_text(utc_offset)
        image.setExifData(exif)
    xmp = image.xmpData()
    if captured_at is not None:
        for key in _XMP_DATES:
            if xmp.findKey(exiv2.XmpKey(key)) != xmp.end():
                xmp[key] = _xmp_date(captured_at, utc_offset)
    if tags:
        existing = _bag(xmp, "Xmp.dc.subject")
        merged = existing + [t for t in tags if t not in existing]
        it = xmp.findKey(exiv2.XmpKey("Xmp.dc.subject"))
        if it != xmp.end():
            xmp.erase(it)
        bag = exiv2.Value.create(exiv2.TypeId.xmpBag)
        for t in merged:
            bag.read(t)
        xmp.add(exiv2.XmpKey("Xmp.dc.subject"), bag)
    image.setXmpData(xmp)
    if tags and ext in _IPTC:
        iptc = image.iptcData()
        have = [d.toString() for d in iptc if d.key() == "Iptc.Application2.Keywords"]
        iptc["Iptc.Envelope.CharacterSet"] = UTF8_CHARSET
        for t in tags:
            if t not in have:
                iptc.add(exiv2.IptcKey("Iptc.Application2.Keywords"), exiv2.StringValue(t[:64]))
        image.setIptcData(iptc)


def _edit_partial(image, ext: str, captured_at: datetime, precision: str) -> None:
    """A partial date (module docstring): no EXIF/IPTC time, the XMP spelling of what is known."""
    exif = image.exifData()
    for key in _EXIF_DATES:
        it = exif.findKey(exiv2.ExifKey(key))
        if it != exif.end():
            exif.erase(it)
    image.setExifData(exif)
    if ext in _IPTC:
        iptc = image.iptcData()
        for key in _IPTC_DATES:
            while (it := iptc.findKey(exiv2.IptcKey(key))) != iptc.end():
                iptc.erase(it)
        image.setIptcData(iptc)
    xmp = image.xmpData()
    text = partial_xmp_date(captured_at, precision)
    for key in _XMP_DATES:
        it = xmp.findKey(exiv2.XmpKey(key))
        if it != xmp.end():
            xmp.erase(it)
    if text is not None:
        xmp["Xmp.photoshop.DateCreated"] = text
    image.setXmpData(xmp)


def _bag(xmp, key: str) -> list[str]:
    it = xmp.findKey(exiv2.XmpKey(key))
    if it == xmp.end():
        return []
    d = xmp[key]
    return [d.toString(i) for i in range(d.count())]


def sidecar_xmp(captured_at: datetime | None, utc_offset: int | None, tags: list[str], *,
                precision: str | None = None) -> bytes:
    """An XMP sidecar packet with the capture time and tags (for formats we do not edit); a partial
    date is photoshop:DateCreated alone, as `partial_xmp_date` spells it (none for a decade)."""
    props = []
    if captured_at is not None and precision in PARTIAL:
        text = partial_xmp_date(captured_at, precision)
        if text is not None:
            props.append(f"   <photoshop:DateCreated>{text}</photoshop:DateCreated>")
    elif captured_at is not None:
        when = escape(_xmp_date(captured_at, utc_offset))
        props.append(f"   <exif:DateTimeOriginal>{when}</exif:DateTimeOriginal>")
        props.append(f"   <xmp:CreateDate>{when}</xmp:CreateDate>")
        props.append(f"   <photoshop:DateCreated>{when}</photoshop:DateCreated>")
    if tags:
        items = "\n".join(f"     <rdf:li>{escape(t)}</rdf:li>" for t in tags)
        props.append(f"   <dc:subject>\n    <rdf:Bag>\n{items}\n    </rdf:Bag>\n   </dc:subject>")
    body = "\n".join(props)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:exif="http://ns.adobe.com/exif/1.0/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f"{body}\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>\n'
    ).encode("utf-8")


@dataclass
class Embedded:
    """What an archive copy (or its sidecar) says: for checks and tests."""

    tags: dict[str, str] = field(default_factory=dict)  # date keys -> text
    subject: list[str] = field(default_factory=list)  # XMP dc:subject
    keywords: list[str] = field(default_factory=list)  # IPTC Keywords


def read_embedded(path_or_packet: str | bytes) -> Embedded:
    """Read back the dates and keywords of a file, or of an XMP packet given as bytes."""
    with _EXIV2:
        try:
            image = exiv2.ImageFactory.open(path_or_packet)
            image.readMetadata()
        except exiv2.Exiv2Error as e:
            raise EmbedError(str(e.args[-1] if e.args else e)) from None
        return _embedded(image)


def _embedded(image) -> Embedded:
    out = Embedded()
    for d in image.exifData():
        if d.key() in ("Exif.Photo.DateTimeOriginal", "Exif.Photo.DateTimeDigitized", "Exif.Photo.OffsetTimeOriginal"):
            out.tags.setdefault(d.key(), d.toString())
    xmp = image.xmpData()
    for d in xmp:
        if d.key() in _XMP_DATES:
            out.tags.setdefault(d.key(), d.toString())
    out.subject = _bag(xmp, "Xmp.dc.subject")
    out.keywords = [d.toString() for d in image.iptcData() if d.key() == "Iptc.Application2.Keywords"]
    return out
