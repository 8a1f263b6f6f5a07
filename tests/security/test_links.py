"""Links and special files never lead out of the roots (issue 15, item 2).

Each attack is replayed against the real app (serve + worker): a link in an
import root to /etc or /etc/passwd, a file swapped for a link after its
import, a link to /proc/kmsg or to a pipe outside the roots, a relative or
NUL path in POST /api/jobs, and a link out of a folder imported from the CLI.
Below them, unit tests of the rules themselves (media/fsguard.py, the two
walkers, services/source_access.py).
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from mediaparser.media.analyze import analyze_file
from mediaparser.media.fsguard import (LINK_OUTSIDE, LINK_TO_SYSTEM, FileReplaced, NotRegularFile, file_identity, link_refusal, open_regular)
from mediaparser.media.walk import Entry, Skipped, iter_media_paths_with_roots, walk_source

from tests.support.instance import make_images

PASSWD = Path("/etc/passwd")


def _import(app, c, path: str) -> dict:
    r = c.post("/api/jobs", {"type": "import", "path": path})
    assert r.status == 202, r
    return app.wait_job(c, r.json()["id"])


def _files(c, job_id: int) -> dict[str, dict]:
    """rel_path -> grid item, for every analysed file of a job (failed ones included)."""
    out: dict[str, dict] = {}
    for item in c.get(f"/api/files?job={job_id}&limit=200").json()["files"]:
        out[f"{item['folder']}/{item['name']}".lstrip("/")] = item
    for err in c.get(f"/api/jobs/{job_id}/errors?limit=200").json()["errors"]:
        out.setdefault(err["path"], {"id": err["file_id"], "status": "FAILED", "error": err["error"]})
    return out


class _FifoWatch:
    """A FIFO and a thread blocked opening its write end: the open returns only
    if someone opens the FIFO for reading, so `opened` tells whether anything did."""

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path)
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._wait, daemon=True)
        self.thread.start()

    def _wait(self) -> None:
        fd = os.open(self.path, os.O_WRONLY)  # blocks until a reader opens the FIFO
        self.opened.set()
        os.close(fd)

    def release(self) -> None:
        if not self.opened.is_set():
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer's open return
            self.thread.join(10)
            os.close(fd)


# ------------------------------------------------------------ the real app --

@pytest.mark.skipif(not PASSWD.is_file(), reason="needs /etc/passwd")
def test_links_out_of_the_roots_are_skipped_and_nothing_of_etc_is_imported_or_served(live):
    app = live()
    photos = make_images(app.roots / "a", 2)
    os.symlink("/etc", app.roots / "evil")
    os.symlink(PASSWD, app.roots / "a" / "passwd.jpg")
    c = app.client()
    job = _import(app, c, str(app.roots))
    assert job["status"] == "COMPLETED", job
    skipped = job["skipped"][LINK_OUTSIDE]
    assert skipped["count"] == 2 and set(skipped["examples"]) == {"evil", "a/passwd.jpg"}
    # /etc was not walked: only the two photos became rows, and none of them is an error.
    assert job["progress"]["total"] == 2 and job["error_count"] == 0
    files = _files(c, job["id"])
    assert set(files) == {f"a/{p.name}" for p in photos}
    secret = PASSWD.read_bytes()
    for item in files.values():
        r = c.get(f"/files/{item['id']}/original")
        assert r.status == 200 and secret not in r.body


@pytest.mark.skipif(not PASSWD.is_file(), reason="needs /etc/passwd")
def test_a_file_swapped_for_a_link_or_another_file_after_its_import_is_not_served(live):
    app = live()
    a, b, c_, d = make_images(app.roots / "b", 4)
    c = app.client()
    job = _import(app, c, str(app.roots / "b"))
    ids = {name: item["id"] for name, item in _files(c, job["id"]).items()}
    assert len(ids) == 4
    r = c.get(f"/files/{ids['img_00000.jpg']}/original")
    assert r.status == 200 and r.body == a.read_bytes()  # served while it is the imported file
    # A link to a secret outside the roots: no longer inside the folders it was imported from.
    a.unlink()
    os.symlink(PASSWD, a)
    r = c.get(f"/files/{ids['img_00000.jpg']}/original")
    assert r.status == 404 and PASSWD.read_bytes() not in r.body
    # A link to another picture of the same import: inside, but not the file that was analysed.
    b.unlink()
    os.symlink(d, b)
    r = c.get(f"/files/{ids['img_00001.jpg']}/original")
    assert r.status == 410 and d.read_bytes() not in r.body
    # Another file of the same size moved over it: a new inode, not the analysed file.
    shutil.copyfile(d, app.roots / "copy.tmp")
    os.truncate(app.roots / "copy.tmp", c_.stat().st_size)
    os.replace(app.roots / "copy.tmp", c_)
    r = c.get(f"/files/{ids['img_00002.jpg']}/original")
    assert r.status == 410
    # Untouched files still play, with ranges.
    r = c.get(f"/files/{ids['img_00003.jpg']}/original", headers={"Range": "bytes=0-9"})
    assert r.status == 206 and r.body == d.read_bytes()[:10]


@pytest.mark.skipif(not PASSWD.is_file(), reason="needs /etc/passwd")
def test_a_failed_row_whose_path_is_now_a_link_is_not_served(live):
    app = live()
    folder = app.roots / "f"
    make_images(folder, 1)
    bad = folder / "notaphoto.jpg"
    bad.write_text("plain text with a picture's name")
    c = app.client()
    job = _import(app, c, str(folder))
    files = _files(c, job["id"])
    assert files["notaphoto.jpg"]["status"] == "FAILED"
    bad.unlink()
    os.symlink(PASSWD, bad)
    r = c.get(f"/files/{files['notaphoto.jpg']['id']}/original")
    assert r.status == 404 and PASSWD.read_bytes() not in r.body


def test_links_to_kernel_files_and_to_a_pipe_outside_are_skipped_unopened(live, tmp_path):
    # A long per-file limit: a link that were followed would hold the job for the whole of it.
    app = live(extra_env={"MEDIAPARSER_FILE_TIMEOUT": "3600"})
    folder = app.roots / "k"
    make_images(folder, 1)
    os.symlink("/proc/kmsg", folder / "kmsg.jpg")
    os.symlink("/dev/zero", folder / "zero.mp4")
    outside = tmp_path / "outside"
    outside.mkdir()
    fifo = _FifoWatch(outside / "pipe")
    os.symlink(fifo.path, folder / "pipe.jpg")
    try:
        c = app.client()
        job = _import(app, c, str(folder))
        assert not fifo.opened.is_set(), "the pipe outside the roots was opened"
    finally:
        fifo.release()
    assert job["status"] == "COMPLETED", job
    assert job["skipped"][LINK_TO_SYSTEM]["count"] == 2
    assert set(job["skipped"][LINK_TO_SYSTEM]["examples"]) == {"kmsg.jpg", "zero.mp4"}
    assert job["skipped"][LINK_OUTSIDE]["examples"] == ["pipe.jpg"]
    assert job["progress"]["total"] == 1 and job["error_count"] == 0


def test_api_import_paths_must_be_absolute_and_valid_text(live):
    app = live(worker=False)
    make_images(app.roots / "p", 1)
    c = app.client()
    cases = {
        "relative": os.path.relpath(app.roots / "p"),
        "relative to a root's name": "roots/p",
        "NUL": str(app.roots / "p") + "\x00/etc",
        "lone surrogate": str(app.roots / "p") + "\ud800",
    }
    for what, path in cases.items():
        r = c.post("/api/jobs", {"type": "import", "path": path})
        assert r.status == 400, (what, r)
        assert r.json()["error"], what
    assert "full path" in c.post("/api/jobs", {"type": "import", "path": "roots/p"}).json()["error"]
    assert "NUL" in c.post("/api/jobs", {"type": "import", "path": cases["NUL"]}).json()["error"]
    assert c.get("/api/jobs").json()["jobs"] == []  # nothing was queued


def test_cli_import_skips_a_link_leading_out_of_the_imported_folder(live):
    app = live()
    folder = app.roots / "cli"
    make_images(folder, 1)
    # Inside the web import roots, but outside the folder the operator imports.
    other = make_images(app.roots / "other", 1, prefix="elsewhere")[0]
    os.symlink(other, folder / "sibling.jpg")
    os.symlink(folder / "img_00000.jpg", folder / "same.jpg")  # a link inside the folder is fine
    out = app.cli("import", str(folder), "--wait")
    assert out.returncode == 0, out.stderr
    job_id = int(out.stdout.split("import job ", 1)[1].split()[0])
    c = app.client()
    job = c.get(f"/api/jobs/{job_id}").json()
    assert job["skipped"][LINK_OUTSIDE]["examples"] == ["sibling.jpg"]
    assert set(_files(c, job_id)) == {"img_00000.jpg", "same.jpg"}


def test_a_web_import_follows_links_that_stay_inside_the_import_roots(live):
    app = live()
    target = make_images(app.roots / "shared", 1, prefix="shared")[0]
    folder = app.roots / "w"
    make_images(folder, 1)
    os.symlink(target, folder / "linked.jpg")
    c = app.client()
    job = _import(app, c, str(folder))
    assert job["skipped"] == {} and job["error_count"] == 0
    files = _files(c, job["id"])
    r = c.get(f"/files/{files['linked.jpg']['id']}/original")
    assert r.status == 200 and r.body == target.read_bytes()


# ---------------------------------------------------------------- the rules --

def test_walk_skips_links_out_of_the_boundary_and_records_identities(tmp_path):
    root = tmp_path / "root"
    photo = make_images(root, 1)[0]
    outside = make_images(tmp_path / "outside", 1, prefix="out")[0]
    os.symlink(outside, root / "out.jpg")
    os.symlink(tmp_path / "outside", root / "outdir")
    os.symlink("/proc/self/status", root / "status.jpg")
    os.symlink(photo, root / "in.jpg")
    items = {i.rel_path: i for i in walk_source(str(root))}
    assert items["out.jpg"] == Skipped("out.jpg", LINK_OUTSIDE)
    assert items["outdir"] == Skipped("outdir", LINK_OUTSIDE)
    assert items["status.jpg"] == Skipped("status.jpg", LINK_TO_SYSTEM)
    assert not any(k.startswith("outdir/") for k in items)
    inner = items["in.jpg"]
    assert isinstance(inner, Entry) and inner.error is None
    assert inner.identity == file_identity(photo.stat())
    # With a wider boundary, the same link is followed.
    wide = {i.rel_path: i for i in walk_source(str(root), [str(root), str(tmp_path / "outside")])}
    assert isinstance(wide["out.jpg"], Entry) and isinstance(wide["outdir/out_00000.jpg"], Entry)


def test_walk_never_opens_a_pipe_even_with_an_unusual_name(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    fifo = _FifoWatch(root / "pipe.bin")  # no media extension: the walk would sniff a regular file
    try:
        items = {i.rel_path: i for i in walk_source(str(root))}
        assert not fifo.opened.is_set()
    finally:
        fifo.release()
    assert items["pipe.bin"] == Skipped("pipe.bin", "not a regular file")


def test_open_regular_refuses_pipes_system_files_and_swapped_files(tmp_path):
    fifo = _FifoWatch(tmp_path / "p.jpg")
    try:
        with pytest.raises(NotRegularFile):
            open_regular(fifo.path)
        assert not fifo.opened.is_set()
    finally:
        fifo.release()
    with pytest.raises(NotRegularFile):
        open_regular("/proc/self/status")
    a, b = make_images(tmp_path, 2)
    seen = file_identity(a.stat())
    with open_regular(a, expect=seen) as f:
        assert f.read() == a.read_bytes()
    os.replace(b, a)
    with pytest.raises(FileReplaced):
        open_regular(a, expect=seen)


def test_analysis_reads_only_the_file_the_walk_listed(tmp_path):
    a, b = make_images(tmp_path, 2)
    seen = file_identity(a.stat())
    assert analyze_file(str(a), expect=seen, with_thumbnail=False).error is None
    os.replace(b, a)
    r = analyze_file(str(a), expect=seen, with_thumbnail=False)
    assert r.error and "replaced" in r.error and r.sha256 is None


def test_cli_walker_skips_links_out_of_its_folder_argument(tmp_path):
    root = tmp_path / "root"
    photo = make_images(root, 1)[0]
    outside = make_images(tmp_path / "outside", 1, prefix="out")[0]
    os.symlink(outside, root / "out.jpg")
    os.symlink(photo, root / "in.jpg")
    os.symlink("/proc/kmsg", root / "kmsg.jpg")
    skipped: list[tuple[str, str]] = []
    found = [p for p, _r in iter_media_paths_with_roots([root], on_skip=lambda p, why: skipped.append((p, why)))]
    assert sorted(os.path.basename(p) for p in found) == ["img_00000.jpg", "in.jpg"]
    assert sorted(skipped) == [(str(root / "kmsg.jpg"), LINK_TO_SYSTEM), (str(root / "out.jpg"), LINK_OUTSIDE)]


def test_link_refusal():
    assert link_refusal("/srv/photos/a.jpg", ["/srv/photos"]) is None
    assert link_refusal("/srv/photos", ["/srv/photos"]) is None
    assert link_refusal("/srv/photos-other/a.jpg", ["/srv/photos"]) == LINK_OUTSIDE
    assert link_refusal("/proc/kmsg", ["/"]) == LINK_TO_SYSTEM
    assert link_refusal("/etc/passwd", ["/srv/photos", "/srv/uploads"]) == LINK_OUTSIDE


def test_sidecars_are_never_a_pipe_read_nor_a_link_out_of_the_boundary(tmp_path):
    root = tmp_path / "root"
    photo = make_images(root, 1)[0]
    sidecar = root / (photo.name + ".json")
    fifo = _FifoWatch(sidecar)
    try:
        r = analyze_file(str(photo), with_thumbnail=False, boundary=[str(root)])
        assert not fifo.opened.is_set(), "a pipe named like a Takeout sidecar was opened"
    finally:
        fifo.release()
    assert r.error is None
    sidecar.unlink()
    outside = tmp_path / "outside.json"
    outside.write_text('{"photoTakenTime": {"timestamp": "1000000000"}}')
    os.symlink(outside, sidecar)
    r = analyze_file(str(photo), with_thumbnail=False, boundary=[str(root)])
    assert r.sidecars == [] and not any(c.source.startswith("takeout") for c in r.candidates)
    # The same link inside the boundary is read.
    r = analyze_file(str(photo), with_thumbnail=False, boundary=[str(tmp_path)])
    assert r.sidecars == [str(sidecar)]
