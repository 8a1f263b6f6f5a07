"""Every exiv2 call, reading or writing, holds the one EXIV2_LOCK: exiv2's XMP
toolkit is not thread-safe and python-exiv2 releases the GIL, and threads do
call it (the export's pool reads and edits; the web server makes previews)."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import exiv2
import pytest

from mediaparser.media import embed, metadata
from mediaparser.media.metadata import EXIV2_LOCK

from tests.support import media as gen


def _held_elsewhere() -> bool:
    """Is EXIV2_LOCK held (by the calling thread)? Asked from another thread, which cannot take it then."""
    got = []

    def probe():
        ok = EXIV2_LOCK.acquire(blocking=False)
        if ok:
            EXIV2_LOCK.release()
        got.append(ok)

    t = threading.Thread(target=probe)
    t.start()
    t.join()
    return not got[0]


class _Delegate:
    """Attribute access passes through to `real`, except what `extra` replaces."""

    def __init__(self, real, **extra) -> None:
        self._real, self._extra = real, extra

    def __getattr__(self, name):
        return self._extra[name] if name in self._extra else getattr(self._real, name)


@pytest.fixture
def watched_open(monkeypatch):
    """exiv2.ImageFactory.open as the media modules see it, noting whether the lock is held at each call."""
    calls: list[bool] = []
    real_open = exiv2.ImageFactory.open

    def open_(*args, **kw):
        calls.append(_held_elsewhere())
        return real_open(*args, **kw)

    watched = _Delegate(exiv2, ImageFactory=_Delegate(exiv2.ImageFactory, open=open_))
    monkeypatch.setattr(metadata, "exiv2", watched)
    monkeypatch.setattr(embed, "exiv2", watched)
    return calls


def test_readers_and_writers_open_images_only_under_the_lock(tmp_path, watched_open):
    jpg = gen.jpeg(str(tmp_path / "a.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2020:01:02 03:04:05"})
    side = gen.xmp_sidecar(str(tmp_path / "a.xmp"), exif_DateTimeOriginal="2020-01-02T03:04:05")
    metadata.read_metadata(jpg)
    metadata.read_xmp_sidecar(side)
    metadata.embedded_preview(jpg)
    embed.read_embedded(jpg)
    assert len(watched_open) >= 4 and all(watched_open), watched_open
    assert embed._EXIV2 is EXIV2_LOCK  # the writers share the readers' lock


def test_many_threads_read_xmp_rich_files_and_agree(tmp_path):
    files = [gen.jpeg(str(tmp_path / f"{i}.jpg"), exif={"Exif.Photo.DateTimeOriginal": f"2020:01:0{1 + i % 9} 03:04:05"},
                      xmp={"Xmp.dc.subject": f"tag{i}", "Xmp.xmp.CreateDate": f"2020-01-0{1 + i % 9}T03:04:05"})
             for i in range(24)]
    expected = [metadata.read_metadata(f).tags for f in files]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            assert list(pool.map(lambda f: metadata.read_metadata(f).tags, files)) == expected
