"""Issue 15, items 3 and 7, replayed against the real app (serve + worker).

Uploads: a batch whose names clash as file and folder, or whose numbered
names would outgrow the file system's 255 bytes, completes with an outcome
for every file; sizes and times that fit no column are that file's 400.
Previews: a 1 GiB picture is never read into the web server; a failed
preview is remembered, not made again per request; a preview held up in its
decoder does not hold up another one.
"""
from __future__ import annotations

import io
import os
import threading
from pathlib import Path

from PIL import Image

from tests.support.instance import make_images, sha256, wait_until

OCTETS = {"Content-Type": "application/octet-stream"}


def _upload(c, files: list[tuple[str, bytes, int]]) -> tuple[str, list[dict]]:
    """Create an upload and register (path, bytes, last_modified) entries; the registration answers."""
    uid = c.post("/api/uploads").json()["id"]
    r = c.post(f"/api/uploads/{uid}/files",
               {"files": [{"path": p, "size": len(b), "last_modified": lm} for p, b, lm in files]})
    assert r.status == 200, r
    return uid, r.json()["files"]


def _send(c, uid: str, entry: dict, data: bytes) -> dict:
    # A request that loops on the server would end here as a timeout, failing the test.
    r = c.put(f"/api/uploads/{uid}/files/{entry['id']}?offset=0", data, headers=OCTETS, timeout=30)
    assert r.status == 200, r
    return r.json()


def _import_upload(app, c, uid: str) -> dict:
    r = c.post(f"/api/uploads/{uid}/finish", {})
    assert r.status == 202, r
    return app.wait_job(c, r.json()["job_id"])


def _files_of(c, job_id: int) -> dict[str, dict]:
    items = c.get(f"/api/files?job={job_id}&limit=100").json()["files"]
    return {f"{i['folder']}/{i['name']}".lstrip("/"): i for i in items}


def test_an_upload_whose_names_clash_as_file_and_folder_or_outgrow_255_bytes_completes(live, tmp_path):
    app = live()
    c = app.client()
    pics = [p.read_bytes() for p in make_images(tmp_path / "pics", 4)]
    long_name = "x" * 251 + ".jpg"  # 255 bytes: numbering it must shorten the stem
    uid, entries = _upload(c, [("a.jpg", pics[0], 1), ("a.jpg/b.jpg", pics[1], 2),
                               (long_name, pics[2], 3), (long_name, pics[3], 4)])
    assert all("error" not in e for e in entries), entries
    # The order that used to spin a core: the file first, then the file inside its namesake folder.
    for e, data in zip(entries, pics):
        assert _send(c, uid, e, data) == {"received": len(data), "complete": True}
    assert app.get("/api/health").status == 200  # the server keeps answering
    stored = [e["path"] for e in entries]
    assert stored[:2] == ["a (2).jpg", "a.jpg/b.jpg"]
    assert stored[3].endswith(" (2).jpg") and len(stored[3].encode()) <= 255 and stored[2] == long_name
    job = _import_upload(app, c, uid)
    assert job["status"] == "COMPLETED" and job["error_count"] == 0
    assert sorted(_files_of(c, job["id"])) == sorted(stored)


def test_sizes_and_times_that_fit_no_column_are_that_files_400_and_the_rest_arrive(live, tmp_path):
    app = live()
    c = app.client()
    good = [p.read_bytes() for p in make_images(tmp_path / "pics", 2)]
    uid = c.post("/api/uploads").json()["id"]
    batch = [{"path": "good 1.jpg", "size": len(good[0]), "last_modified": 1_565_612_345_000},
             {"path": "size 1e30.jpg", "size": 10**30}, {"path": "size 2^63.jpg", "size": 2**63},
             {"path": "time 1e30.jpg", "size": 5, "last_modified": 10**30},
             {"path": "time 2^63.jpg", "size": 5, "last_modified": 2**63},
             {"path": "good 2.jpg", "size": len(good[1])}]
    r = c.post(f"/api/uploads/{uid}/files", {"files": batch})
    assert r.status == 200, r
    res = r.json()["files"]
    for bad in res[1:5]:
        assert bad["status"] == 400 and bad["error"].startswith(batch[bad["index"]]["path"] + ": "), bad
    assert [res[0]["path"], res[5]["path"]] == ["good 1.jpg", "good 2.jpg"]
    for e, data in zip((res[0], res[5]), good):
        _send(c, uid, e, data)
    # A file id that fits no column is "not found", not a crash.
    assert c.put(f"/api/uploads/{uid}/files/{10**30}?offset=0", b"x", headers=OCTETS).status == 404
    job = _import_upload(app, c, uid)
    assert job["status"] == "COMPLETED" and sorted(_files_of(c, job["id"])) == ["good 1.jpg", "good 2.jpg"]


# ------------------------------------------------------------------ previews --

def _vm_hwm_kib(pid: int) -> int:
    """Peak resident memory of a process (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def _decodes(trace: Path, key: str) -> int:
    """How many preview decodes of `key` started (each child notes itself before decoding)."""
    log = trace / "decodes.log"
    return log.read_text().split().count(key) if log.exists() else 0


def _big_picture(path: Path, seed: int) -> Path:
    """A 2400x1800 JPEG (its preview is 1600 px wide; its thumbnail 320)."""
    img = Image.new("RGB", (2400, 1800), (seed * 40 % 256, 90, 160))
    for x in range(0, 2400, 97):
        img.paste((255, seed * 17 % 256, 0), (x, 0, x + 9, 1800))
    img.save(path, "JPEG", quality=85)
    return path


def _width(body: bytes) -> int:
    with Image.open(io.BytesIO(body)) as im:
        return im.size[0]


def test_previews_are_bounded_remembered_and_never_wait_for_each_other(live, tmp_path):
    trace = tmp_path / "trace"
    trace.mkdir()
    app = live(extra_env={"MEDIAPARSER_DEBUG_PREVIEW_TRACE": str(trace), "MEDIAPARSER_PREVIEW_TIMEOUT": "15"})
    pics = app.roots / "pics"
    pics.mkdir()
    normal = _big_picture(pics / "normal.jpg", 1)
    held = _big_picture(pics / "held.jpg", 2)
    good = normal.read_bytes()
    # Headers and the start of a real picture, then 1 GiB of (sparse) nothing.
    huge = pics / "huge.jpg"
    huge.write_bytes(good[: len(good) // 3])
    os.truncate(huge, 1024**3)
    # Decodable headers, then bytes that are not a picture: analysis and preview both fail.
    broken = pics / "broken.jpg"
    broken.write_bytes(good[:2000] + bytes(range(256)) * 40)
    keys = {p.name: sha256(p) for p in (normal, held, broken)}
    keys["huge.jpg"] = sha256(huge)

    c = app.client()
    r = c.post("/api/jobs", {"type": "import", "path": str(pics)})
    assert r.status == 202, r
    job = app.wait_job(c, r.json()["id"], timeout=300)
    assert job["status"] == "COMPLETED", job
    files = _files_of(c, job["id"])
    assert {n: files[n]["kind"] for n in keys} == dict.fromkeys(keys, "image")  # all take the preview path
    ids = {n: files[n]["id"] for n in keys}

    # An id no column can hold is "not found", not an overflow in the query.
    assert c.get(f"/files/{10**30}/preview").status == 404
    # 1 GiB: answered with the thumbnail (or 404 when analysis made none), never read into the web server.
    before = _vm_hwm_kib(app.server.pid)
    for _ in range(2):
        r = c.get(f"/files/{ids['huge.jpg']}/preview")
        assert r.status in (200, 404), r
        if r.status == 200:
            assert _width(r.body) <= 320
    assert _decodes(trace, keys["huge.jpg"]) == 0
    assert _vm_hwm_kib(app.server.pid) - before < 100 * 1024, "the web server's peak memory grew by 100 MB or more"

    # A picture that cannot be decoded: tried once, then answered from the remembered failure.
    for _ in range(3):
        assert c.get(f"/files/{ids['broken.jpg']}/preview").status in (200, 404)
    assert _decodes(trace, keys["broken.jpg"]) == 1
    assert list((app.home / "previews").rglob(f"{keys['broken.jpg']}-*.failed"))

    # One preview stuck in its decoder (held by the trace's hold file) while another is asked for.
    (trace / f"{keys['held.jpg']}.hold").touch()
    answers: dict[str, object] = {}

    def ask_held() -> None:
        answers["held"] = app.client().get(f"/files/{ids['held.jpg']}/preview", timeout=120)

    t = threading.Thread(target=ask_held, daemon=True)
    t.start()
    wait_until(lambda: _decodes(trace, keys["held.jpg"]) == 1, 30, "the held preview's decode has started")
    r = c.get(f"/files/{ids['normal.jpg']}/preview", timeout=60)
    assert r.status == 200 and _width(r.body) == 1600, r
    assert t.is_alive() and "held" not in answers, "the held decode was still running while the other was served"
    # The held one ends at the time limit, answered with its thumbnail, and its failure is remembered.
    t.join(120)
    assert not t.is_alive()
    held_answer = answers["held"]
    assert held_answer.status == 200 and _width(held_answer.body) <= 320, held_answer
    r = c.get(f"/files/{ids['held.jpg']}/preview", timeout=60)
    assert r.status == 200 and _width(r.body) <= 320
    assert _decodes(trace, keys["held.jpg"]) == 1  # the hold is still there: a second decode would wait again
    assert c.get(f"/files/{ids['normal.jpg']}/preview").status == 200
    assert _decodes(trace, keys["normal.jpg"]) == 1  # made once, then served from the previews folder


# The decode child on its own (no server): it reads only the file the web process verified.

def _child(src: Path, identity, size: int, out: Path):
    from mediaparser.usecases import previews

    return previews._decode_in_child(str(src), identity, size, "jpeg", None, out, "unit",
                                     previews.PreviewLimits(timeout=30))


def test_the_decode_child_refuses_a_file_swapped_or_grown_after_the_check(tmp_path):
    from mediaparser.media.fsguard import file_identity

    src = _big_picture(tmp_path / "a.jpg", 3)
    checked = os.stat(src)
    out = tmp_path / "previews" / "a.jpg"
    assert _child(src, file_identity(checked), checked.st_size, out) is None and _width(out.read_bytes()) == 1600
    out.unlink()
    with open(src, "ab") as fh:  # grown in place: same inode, more bytes than were checked against the limit
        fh.write(b"\0" * 4096)
    assert _child(src, file_identity(checked), checked.st_size, out)[0] == "source"
    other = _big_picture(tmp_path / "b.jpg", 4)
    os.replace(other, src)  # swapped for another file under the same name
    assert _child(src, file_identity(checked), checked.st_size, out)[0] == "source"
    assert not out.exists()
