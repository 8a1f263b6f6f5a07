"""Generated Google Takeout parts: real JPEGs (Pillow, with or without EXIF) and
their JSON files, split over `takeout-…-00N.zip` / `.tgz` parts the way Google
splits them (a photo's JSON may land in another part)."""
from __future__ import annotations

import io
import json
import tarfile
import time
import zipfile
from pathlib import Path

from tests.support.media import photo, pillow_exif

EXPORT = "20240305T181818Z"
BASE = "Takeout/Google Photos"


def jpeg_bytes(seed: int, dto: str | None = None, size: tuple[int, int] = (96, 64)) -> bytes:
    """A distinct JPEG; `dto` ("2019:08:12 14:30:25") becomes its EXIF DateTimeOriginal."""
    buf = io.BytesIO()
    img = photo(*size, seed=seed)
    if dto:
        img.save(buf, "JPEG", quality=85, exif=pillow_exif(dto=dto))
    else:
        img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def photo_json(title: str, taken: int | None, *, created: int | None = None, geo: tuple[float, float] | None = None,
               **flags: bool) -> bytes:
    """A photo's JSON as Takeout writes it (`trashed=True`, `archived=True`, … add flags)."""
    data: dict = {"title": title, "description": "", "imageViews": "0",
                  "url": "https://photos.google.com/photo/x"}
    if created is not None:
        data["creationTime"] = {"timestamp": str(created), "formatted": "…"}
    if taken is not None:
        data["photoTakenTime"] = {"timestamp": str(taken), "formatted": "…"}
    lat, lon = geo or (0.0, 0.0)
    data["geoData"] = {"latitude": lat, "longitude": lon, "altitude": 0.0, "latitudeSpan": 0.0, "longitudeSpan": 0.0}
    data.update(flags)
    return json.dumps(data, indent=2).encode()


def album_json(title: str) -> bytes:
    return json.dumps({"title": title, "description": "", "access": "protected",
                       "date": {"timestamp": "1565613025", "formatted": "…"}}).encode()


def write_part(folder: Path, number: int, members: dict[str, bytes], *, fmt: str = "zip",
               export: str = EXPORT) -> Path:
    """One part holding `members` (paths below "Takeout/Google Photos/")."""
    name = f"takeout-{export}-{number:03d}.{'zip' if fmt == 'zip' else 'tgz'}"
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "zip":
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for rel, data in members.items():
                zf.writestr(zipfile.ZipInfo(f"{BASE}/{rel}", date_time=(2024, 3, 5, 18, 18, 18)), data)
    else:
        with tarfile.open(path, "w:gz") as tf:
            for rel, data in members.items():
                info = tarfile.TarInfo(f"{BASE}/{rel}")
                info.size, info.mtime = len(data), int(time.time())
                tf.addfile(info, io.BytesIO(data))
    return path
