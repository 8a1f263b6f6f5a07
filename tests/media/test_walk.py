"""The one walker and the one table of file kinds (issue 12): a folder means
the same thing to an import, `analyze` and `duplicates`."""
from __future__ import annotations

import os

from mediaparser.media.kinds import is_media, is_sidecar, is_system, kind_of
from mediaparser.media.walk import Entry, Skipped, iter_media_paths_with_roots, walk_source

from tests.support import media as gen


def test_the_table_of_kinds():
    assert kind_of("IMG_1.JPG") == "image" and kind_of("a.cr3") == "image" and kind_of("b.jxl") == "image" and kind_of("c.CRW") == "image" and kind_of("clip.MTS") == "video"
    assert kind_of("IMG_1.jpg.xmp") == "sidecar" and kind_of("IMG_1.AAE") == "sidecar" and kind_of("M.THM") == "sidecar"
    assert kind_of("IMG_1.jpg.supplemental-metadata.json") == "sidecar"
    # AppleDouble twins and system clutter are clutter, whatever their extension.
    assert kind_of("._IMG_1.jpg") == "system" and kind_of(".DS_Store") == "system"
    assert kind_of("Thumbs.db") == "system" and kind_of("Icon\r") == "system" and kind_of(".picasa.ini") == "system"
    assert kind_of("notes.txt") == "other" and kind_of("README") == "other" and kind_of(".jpg") == "other"
    assert is_media("a.heic") and not is_media("._a.heic") and not is_media("a.xmp")
    assert is_sidecar("a.json") and not is_sidecar("._a.json") and is_system("desktop.ini")


def _tree(root):
    (root / "sub").mkdir(parents=True)
    (root / ".hidden").mkdir()
    gen.jpeg(str(root / "IMG_1.jpg"))
    gen.jpeg(str(root / "photo.bak"))  # a photo behind an unusual extension
    gen.jpeg(str(root / ".hidden" / "h.jpg"))
    (root / "IMG_1.jpg.json").write_text("{}")
    (root / "IMG_1.AAE").write_text("<plist/>")
    (root / "._IMG_1.jpg").write_bytes(b"\0\5\26\7")
    (root / "notes.txt").write_text("hello")
    (root / "sub" / "clip.mp4").write_bytes(b"")
    os.symlink(root / "missing.jpg", root / "broken.jpg")
    os.symlink(root, root / "sub" / "loop")
    os.mkfifo(root / "pipe.jpg")


def test_analyze_sees_exactly_what_an_import_sees(tmp_path):
    root = tmp_path / "src"
    _tree(root)
    walked = list(walk_source(str(root)))
    imported = sorted(i.rel_path for i in walked if isinstance(i, Entry) and i.error is None)
    assert imported == [".hidden/h.jpg", "IMG_1.jpg", "photo.bak", "sub/clip.mp4"]
    skipped: list[tuple[str, str]] = []
    found = [p for p, r in iter_media_paths_with_roots([root], on_skip=lambda p, why: skipped.append((p, why)))]
    assert sorted(os.path.relpath(p, root) for p in found) == imported
    # What the import records as failed files is reported; routine skips (sidecars, clutter, documents) are not.
    failed = {i.rel_path: i.error for i in walked if isinstance(i, Entry) and i.error}
    assert {os.path.relpath(p, root): why for p, why in skipped} == failed
    assert set(failed) == {"broken.jpg", "sub/loop", "pipe.jpg"}
    reasons = {i.rel_path: i.reason for i in walked if isinstance(i, Skipped)}
    assert reasons == {"IMG_1.jpg.json": "sidecar metadata (read together with its photo)",
                       "IMG_1.AAE": "sidecar metadata (read together with its photo)",
                       "._IMG_1.jpg": "system file", "notes.txt": "not a photo or video"}


def test_paths_keep_the_form_they_were_given_in_and_named_files_are_taken_as_given(tmp_path, monkeypatch):
    root = tmp_path / "src"
    _tree(root)
    monkeypatch.chdir(tmp_path)
    found = list(iter_media_paths_with_roots(["src", "src/notes.txt", "src/IMG_1.jpg.json"]))
    assert ("src/IMG_1.jpg", "src") in found and ("src/sub/clip.mp4", "src") in found
    assert ("src/notes.txt", str(root)) in found, "a file named directly is the caller's choice"
    assert not any(p.endswith(".json") for p, _r in found), "a sidecar is read with its photo, never alone"
