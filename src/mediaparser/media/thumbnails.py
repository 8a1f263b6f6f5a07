"""Thumbnails: decode at reduced size, orient, shrink to 320 px, write atomically.

Decoding dominates the per-file cost, so every format is decoded as small as
it allows (measured on a 12 MP JPEG: full decode + resize 124 ms,
`Image.draft` 1/8 DCT scaling + `thumbnail` 48 ms; on a HEIC the embedded
thumbnail 17 ms against 705 ms for the full image):

- JPEG: the camera's MPF "Large Thumbnail" preview when there is one of the
  same aspect ratio (a few ms), else `Image.draft`, which lets libjpeg scale
  by 1/2, 1/4 or 1/8 while decoding;
- HEIC/HEIF/AVIF: the embedded thumbnail item when it is big enough,
  otherwise the primary image (libheif applies the HEIF rotation itself, so
  EXIF orientation is not applied a second time);
- RAW: the largest useful embedded JPEG preview (through exiv2), oriented by
  the raw file's EXIF orientation;
- JPEG XL: the pillow-jxl-plugin (libjxl), which orients the picture itself;
- everything else Pillow opens (PNG, WebP, GIF, TIFF, BMP): first frame,
  reduced with `Image.reduce` inside `thumbnail`.

The result is RGB, oriented like the photo is meant to be seen, longest side
320 px. Perceptual hashes are computed from this image (see hashes.py), so a
copy rotated by its EXIF tag hashes like the upright original.

Decompression bombs: an image whose header claims more than `MAX_PIXELS`
pixels is refused before decoding (Pillow's own guard is also kept on).
Files are written to a temporary name in the target directory and renamed
into place, so a reader never sees half a thumbnail.
"""
from __future__ import annotations

import io
import os
import struct
import warnings
from dataclasses import dataclass

from PIL import Image

from mediaparser.media.atomic import atomic_write

MAX_SIDE = 320
# 250 MP: above every phone and medium-format camera sold today (200 MP
# phone sensors exist); a header claiming more is a bomb or a broken file.
MAX_PIXELS = 250_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
JPEG_QUALITY = 82

_HEIF_READY = False


def _heif():
    """Import pillow-heif lazily and configure it once per process."""
    global _HEIF_READY
    import pillow_heif

    if not _HEIF_READY:
        # One decode thread per file: the caller parallelises over files.
        pillow_heif.options.DECODE_THREADS = 1
        pillow_heif.options.DEPTH_IMAGES = False
        pillow_heif.options.AUX_IMAGES = False
        pillow_heif.register_heif_opener()
        _HEIF_READY = True
    return pillow_heif


class ThumbnailError(Exception):
    """The picture could not be decoded; the message says why. `refused`: it
    was not even tried (the decompression-bomb guard), as opposed to failed."""

    def __init__(self, message: str, *, refused: bool = False):
        super().__init__(message)
        self.refused = refused


@dataclass
class Decoded:
    image: Image.Image  # oriented, RGB, longest side <= MAX_SIDE
    width: int | None  # full size of the source picture, as displayed
    height: int | None


def _check_size(w: int, h: int) -> None:
    if w <= 0 or h <= 0:
        raise ThumbnailError("the image has no pixels")
    if w * h > MAX_PIXELS:
        raise ThumbnailError(f"image of {w}x{h} pixels is larger than the {MAX_PIXELS // 1_000_000} MP limit "
                             "(decompression-bomb guard)", refused=True)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        img = img.convert("I") if img.mode != "F" else img
        extrema = img.getextrema()
        hi = extrema[1] if isinstance(extrema, tuple) else 255
        scale = 255.0 / hi if hi and hi > 255 else 1.0
        return img.point(lambda v: v * scale).convert("L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    return img.convert("RGB")


def _oriented_size(w: int, h: int, orientation: int | None) -> tuple[int, int]:
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def _apply_orientation(img: Image.Image, orientation: int | None) -> Image.Image:
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation or 1)
    return img.transpose(method) if method is not None else img


def _shrink(img: Image.Image, max_side: int) -> Image.Image:
    if max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return img


_LARGE_THUMBNAIL_TYPES = ("Large Thumbnail (VGA Equivalent)", "Large Thumbnail (Full HD Equivalent)")


def _mpf_preview(im: Image.Image, w: int, h: int, max_side: int) -> Image.Image | None:
    """The camera's own preview from the MPF (CIPA DC-007) index, when it is a
    'Large Thumbnail' of the same aspect ratio and big enough for `max_side`.

    Many cameras store a VGA or Full-HD rendering of the photo after the main
    image; decoding it costs a few milliseconds instead of the ~45 ms that a
    1/8-scale decode of a 12 MP JPEG costs (entropy decoding of the whole
    file cannot be skipped).
    """
    entries = (getattr(im, "mpinfo", None) or {}).get(0xB002) or []
    for i, entry in enumerate(entries[1:], start=1):
        if entry.get("Attribute", {}).get("MPType") not in _LARGE_THUMBNAIL_TYPES:
            continue
        try:
            im.seek(i)
            pw, ph = im.size
            if min(pw, ph) < max_side * 3 // 4 or abs(pw / ph - w / h) > 0.02 * (w / h):
                continue  # too small, or letterboxed/cropped: not the same picture
            im.draft("RGB", (max_side, max_side))
            img = _shrink(_to_rgb(im), max_side)
            img.load()
            return img
        except (OSError, ValueError, SyntaxError, EOFError, struct.error):
            return None
    return None


def decode_jpeg(data: bytes, orientation: int | None, max_side: int = MAX_SIDE, *, use_preview: bool = True) -> Decoded:
    with Image.open(io.BytesIO(data)) as im:
        _check_size(*im.size)
        w, h = im.size
        img = _mpf_preview(im, w, h, max_side) if use_preview and im.format == "MPO" else None
        if img is None:
            if im.format == "MPO":
                im.seek(0)
            # draft() picks the strongest DCT scaling that still covers the request.
            im.draft("RGB", (max_side, max_side))
            img = _shrink(_to_rgb(im), max_side)
            img.load()  # decode now, while the file object is open
    img = _apply_orientation(img, orientation)
    ow, oh = _oriented_size(w, h, orientation)
    return Decoded(img, ow, oh)


def decode_heif(data: bytes, max_side: int = MAX_SIDE) -> Decoded:
    ph = _heif()
    try:
        hf = ph.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        primary = hf[hf.primary_index] if hasattr(hf, "primary_index") else hf[0]
        w, h = primary.size
        _check_size(w, h)
        sizes = primary.info.get("thumbnails") or []
        img = None
        # Use the embedded thumbnail when it is close to the target size.
        for i, box in enumerate(sizes):
            if box >= max_side * 3 // 4:
                try:
                    img = primary.get_thumbnail(i).to_pillow()
                except (ValueError, RuntimeError, OSError, IndexError):
                    img = None  # a broken thumbnail item: decode the primary image
                break
        if img is None:
            img = primary.to_pillow()
    except ThumbnailError:
        raise
    except (ValueError, RuntimeError, OSError) as e:
        raise ThumbnailError(f"cannot decode HEIF image: {e}") from None
    img = _shrink(_to_rgb(img), max_side)
    return Decoded(img, w, h)


def decode_generic(data: bytes, orientation: int | None, max_side: int = MAX_SIDE) -> Decoded:
    with Image.open(io.BytesIO(data)) as im:
        _check_size(*im.size)
        w, h = im.size
        try:
            im.seek(0)
        except EOFError:
            pass
        if im.format == "JPEG":
            im.draft("RGB", (max_side, max_side))
        img = _shrink(_to_rgb(im), max_side)
        img.load()  # decode now, while the file object is open
    img = _apply_orientation(img, orientation)
    ow, oh = _oriented_size(w, h, orientation)
    return Decoded(img, ow, oh)


def decode_jxl(data: bytes, max_side: int = MAX_SIDE) -> Decoded:
    """JPEG XL through the pillow-jxl-plugin (libjxl); libjxl applies the
    codestream's orientation itself, so EXIF orientation is not applied again."""
    try:
        import pillow_jxl  # noqa: F401 — registers the JXL opener with Pillow
    except ImportError:
        raise ThumbnailError("no JPEG XL decoder installed (pillow-jxl-plugin)") from None
    return decode_generic(data, None, max_side)


def decode_image(data: bytes, file_type: str, orientation: int | None, max_side: int = MAX_SIDE) -> Decoded:
    """Decode `data` (the whole file) to a small oriented RGB image."""
    # Pillow warns (to stderr) about odd EXIF blocks while decoding; the
    # metadata is read by exiv2, and real problems surface as exceptions.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _decode_image(data, file_type, orientation, max_side)


def _decode_image(data: bytes, file_type: str, orientation: int | None, max_side: int) -> Decoded:
    try:
        if file_type == "jpeg":
            return decode_jpeg(data, orientation, max_side)
        if file_type in ("heic", "heif", "avif"):
            return decode_heif(data, max_side)
        if file_type == "jxl":
            return decode_jxl(data, max_side)
        if file_type in ("nef", "nrw", "dng", "cr2", "cr3", "crw", "arw", "srw", "pef", "orf", "rw2", "raf"):
            from mediaparser.media.metadata import embedded_preview

            preview = embedded_preview(data, max_side)
            if preview is None:
                raise ThumbnailError("the RAW file has no embedded preview image")
            dec = decode_generic(preview, orientation, max_side)
            return Decoded(dec.image, None, None)  # the preview's size is not the photo's
        if file_type in ("png", "gif", "webp", "tiff", "bmp"):
            return decode_generic(data, orientation, max_side)
    except ThumbnailError:
        raise
    except Image.DecompressionBombError as e:
        raise ThumbnailError(f"refused by the decompression-bomb guard: {e}", refused=True) from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error) as e:
        raise ThumbnailError(f"cannot decode image: {e}") from None
    raise ThumbnailError(f"no decoder for {file_type} images")


def prepare_frame(img: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    """A decoded video frame as a thumbnail image."""
    return _shrink(_to_rgb(img), max_side)


def thumbnail_path(directory: str, key: str, fmt: str = "jpeg") -> str:
    """Where the thumbnail of content `key` (its SHA-256) lives."""
    ext = "webp" if fmt == "webp" else "jpg"
    return os.path.join(directory, key[:2], f"{key}.{ext}")


def write_thumbnail(img: Image.Image, directory: str, key: str, fmt: str = "jpeg") -> str:
    """Write atomically (temporary file + rename, no fsync: a cache) and return the path."""
    path = thumbnail_path(directory, key, fmt)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_write(path, prefix=".tmp-", suffix=".part") as f:
        if fmt == "webp":
            img.save(f, "WEBP", quality=JPEG_QUALITY, method=4)
        else:
            img.save(f, "JPEG", quality=JPEG_QUALITY, optimize=False)
    return path
