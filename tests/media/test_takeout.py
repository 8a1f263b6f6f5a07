"""Google Takeout's pure rules: part names, member streaming, JSON ↔ media names, JSON facts."""
from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from mediaparser.media import takeout as t
from mediaparser.media.sidecars import json_index, match_takeout_json
from mediaparser.media.tags import auto_tags

from tests.support import takeout as gen


@pytest.mark.parametrize("name, expected", [
    ("takeout-20240305T181818Z-001.zip", ("20240305T181818Z", 1, "zip")),
    ("takeout-20240305T181818Z-012.tgz", ("20240305T181818Z", 12, "tgz")),
    ("Takeout-20240305T181818Z-3-007.tar.gz", ("20240305T181818Z", 7, "tgz")),
    ("takeout-20240305T181818Z-1234.ZIP", ("20240305T181818Z", 1234, "zip")),
    ("takeout-20240305T181818Z.zip", None),
    ("holiday-001.zip", None),
    ("takeout-20240305T181818Z-001.zip.part", None),
])
def test_part_names(name, expected):
    got = t.parse_part_name(name)
    assert (got and (got.export, got.number, got.archive)) == expected


def test_missing_parts_are_named_with_the_orphan_count():
    assert t.missing_numbers([1, 2, 4, 5, 6, 7]) == [3]
    assert t.describe_missing([1, 2, 4, 5, 6, 7], 41) == "part 003 of 7 is missing: 41 JSON files have no photo yet"
    assert t.describe_missing([1, 4], 1) == "parts 002 and 003 of 4 are missing: 1 JSON file has no photo yet"
    assert t.describe_missing([1, 2], 0) is None
    assert t.describe_missing([1, 2], 3) == "all 2 parts are here, but 3 JSON files have no photo yet"


def _match(media: str, listing: list[str]) -> str | None:
    return match_takeout_json(media, json_index(listing))


LONG = "PXL_20190812_143025123_PORTRAIT_and_a_long_name.jpg"  # 51 characters


@pytest.mark.parametrize("media, json_name", [
    ("IMG_0001.jpg", "IMG_0001.jpg.supplemental-metadata.json"),
    ("IMG_0001.jpg", "IMG_0001.jpg.json"),
    ("IMG_0001.jpg", "IMG_0001.json"),  # old exports drop the extension
    # the name before ".json" cut at 46 and at 51 characters
    ("IMG_20190812_143025.jpg", ("IMG_20190812_143025.jpg.supplemental-metadata")[:46] + ".json"),
    ("IMG_20190812_143025_HDR.jpg", ("IMG_20190812_143025_HDR.jpg.supplemental-metadata")[:46] + ".json"),
    ("IMG_20190812_143025_HDR_BURST01.jpg", ("IMG_20190812_143025_HDR_BURST01.jpg.supplemental-metadata")[:51] + ".json"),
    (LONG, LONG[:46] + ".json"),  # cut inside the media name itself
    (LONG, LONG[:51] + ".json"),
    # duplicates: the counter moves behind the extension
    ("IMG_0002(1).jpg", "IMG_0002.jpg.supplemental-metadata(1).json"),
    ("IMG_0002(1).jpg", "IMG_0002.jpg(1).json"),
    ("IMG_0002(2).jpg", "IMG_0002.jpg.supplemental-met(2).json"),
    # edited copies use the original's JSON, whatever the language
    ("IMG_0003-edited.jpg", "IMG_0003.jpg.supplemental-metadata.json"),
    ("IMG_0003-bearbeitet.jpg", "IMG_0003.jpg.supplemental-metadata.json"),
    ("IMG_0003-modifié.jpg", "IMG_0003.jpg.json"),
    ("IMG_0003-edited(1).jpg", "IMG_0003.jpg(1).json"),
])
def test_json_names_match_their_media(media, json_name):
    others = ["IMG_9999.jpg.supplemental-metadata.json", "metadata.json", "IMG_0002.jpg.json"]
    assert _match(media, [media, json_name, *others]) == json_name


def test_counters_keep_duplicates_apart_and_nothing_matches_a_stranger():
    listing = ["IMG_0002.jpg", "IMG_0002(1).jpg", "IMG_0002.jpg.supplemental-metadata.json",
               "IMG_0002.jpg.supplemental-metadata(1).json"]
    assert _match("IMG_0002.jpg", listing) == "IMG_0002.jpg.supplemental-metadata.json"
    assert _match("IMG_0002(1).jpg", listing) == "IMG_0002.jpg.supplemental-metadata(1).json"
    assert _match("IMG_0022.jpg", listing + ["IMG_0022.jpg"]) is None
    assert _match("a.jpg", ["a.jpg", "metadata.json"]) is None


def test_orphans_are_photo_jsons_without_their_photo():
    names = ["IMG_1.jpg", "IMG_1.jpg.supplemental-metadata.json", "IMG_2.jpg.supplemental-metadata.json",
             "IMG_3-edited.jpg", "IMG_3.jpg.json", "metadata.json", "print-subscriptions.json"]
    photo_jsons = {"IMG_1.jpg.supplemental-metadata.json", "IMG_2.jpg.supplemental-metadata.json", "IMG_3.jpg.json"}
    assert t.orphan_jsons(names, photo_jsons.__contains__) == ["IMG_2.jpg.supplemental-metadata.json"]


def test_photo_json_facts_and_classification():
    import json
    data = json.loads(gen.photo_json("IMG_1.jpg", 1565613025, created=1600000000, geo=(48.1372, 11.5756),
                                     trashed=True, archived=True, favorited=True))
    assert t.classify_json("IMG_1.jpg.json", data) == "photo"
    info = t.parse_photo_json(data)
    assert info.taken == 1565613025 and info.created == 1600000000
    assert info.geo == (48.1372, 11.5756, 0.0)
    assert info.flags == ("trash", "archive") and info.favorited
    assert t.main_flag(info.flags) == "trash" and t.main_flag(("archive", "locked")) == "locked"
    # Google's "no place" is 0,0: no geo fact
    assert t.parse_photo_json(json.loads(gen.photo_json("x.jpg", 1))).geo is None
    assert t.classify_json("metadata.json", json.loads(gen.album_json("Paris"))) == "album"
    assert t.classify_json("print-subscriptions.json", {"prints": []}) == "other"


def test_folder_flags_only_in_google_photos():
    assert t.folder_flags(["Trash", "Google Photos", "Takeout"]) == ("trash",)
    assert t.folder_flags(["Papierkorb", "Google Fotos"]) == ("trash",)
    assert t.folder_flags(["Archive", "Google Photos"]) == ("archive",)
    assert t.folder_flags(["Locked Folder", "Google Photos"]) == ("locked",)
    assert t.folder_flags(["Archive", "Documents"]) == ()  # a folder named Archive elsewhere is only a name
    assert t.folder_flags(["Trash"]) == ()


def test_takeout_facts_read_the_json_and_the_album(tmp_path):
    album = tmp_path / "Takeout" / "Google Photos" / "Paris_ Rome 2019"
    album.mkdir(parents=True)
    (album / "metadata.json").write_bytes(gen.album_json("Paris/Rome 2019"))
    (album / "IMG_1.jpg").write_bytes(gen.jpeg_bytes(1))
    js = album / "IMG_1.jpg.supplemental-metadata.json"
    js.write_bytes(gen.photo_json("IMG_1.jpg", 1565613025, geo=(48.5, 2.25), archived=True))
    facts = t.takeout_facts(str(album / "IMG_1.jpg"), str(js))
    assert facts["taken"] == "2019-08-12T12:30:25Z"
    assert facts["geo"] == {"latitude": 48.5, "longitude": 2.25, "altitude": 0.0}
    assert facts["flags"] == ["archive"] and facts["album"] == "Paris/Rome 2019"
    trash = tmp_path / "Takeout" / "Google Photos" / "Trash"
    trash.mkdir()
    (trash / "IMG_2.jpg").write_bytes(gen.jpeg_bytes(2))
    assert t.takeout_facts(str(trash / "IMG_2.jpg"), None)["flags"] == ["trash"]
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.jpg").write_bytes(b"x")
    assert t.takeout_facts(str(plain / "a.jpg"), None) is None


def test_album_titles_and_takeout_folders_as_tags():
    got = {(a.name, a.origin) for a in auto_tags("Takeout/Google Photos/Paris_ Rome 2019/IMG_1.jpg", "Paris/Rome 2019")}
    assert got == {("Paris_ Rome 2019", "folder"), ("Paris/Rome 2019", "album")}
    # the title is not a second tag when it is the folder's name; year folders, Trash say nothing
    assert {a.name for a in auto_tags("Takeout/Google Photos/Beach/IMG_1.jpg", "beach")} == {"Beach"}
    assert auto_tags("Takeout/Google Photos/Photos from 2019/IMG_1.jpg", "Photos from 2019") == []
    assert auto_tags("Takeout/Google Fotos/Fotos von 2019/IMG_1.jpg") == []
    assert auto_tags("Takeout/Google Photos/Trash/IMG_1.jpg") == []


def _members(path):
    with t.open_part(str(path)) as members:
        return [(m.name, m.open().read()) if isinstance(m, t.Member) else ("refused", m.name) for m in members]


def test_parts_stream_their_members_and_refuse_unsafe_ones(tmp_path):
    zpath = gen.write_part(tmp_path, 1, {"A/x.jpg": b"one", "A/x.jpg.json": b"{}"})
    assert _members(zpath) == [("Takeout/Google Photos/A/x.jpg", b"one"), ("Takeout/Google Photos/A/x.jpg.json", b"{}")]
    tpath = gen.write_part(tmp_path, 2, {"B/y.jpg": b"two"}, fmt="tgz")
    assert _members(tpath) == [("Takeout/Google Photos/B/y.jpg", b"two")]
    # hostile members: a path out of the working copy, an absolute path, a link
    evil_zip = tmp_path / "takeout-20240305T181818Z-003.zip"
    with zipfile.ZipFile(evil_zip, "w") as zf:
        zf.writestr("../../evil.jpg", b"x")
        zf.writestr("/etc/evil.jpg", b"x")
        zf.writestr("Takeout/ok.jpg", b"ok")
    assert _members(evil_zip) == [("refused", "../../evil.jpg"), ("refused", "/etc/evil.jpg"), ("Takeout/ok.jpg", b"ok")]
    evil_tgz = tmp_path / "takeout-20240305T181818Z-004.tgz"
    with tarfile.open(evil_tgz, "w:gz") as tf:
        link = tarfile.TarInfo("Takeout/link.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tf.addfile(link)
        data = tarfile.TarInfo("Takeout/sub/../../../up.jpg")
        data.size = 1
        tf.addfile(data, io.BytesIO(b"u"))
    assert _members(evil_tgz) == [("refused", "Takeout/link.jpg"), ("refused", "Takeout/sub/../../../up.jpg")]


def test_unpacking_a_member_never_overwrites_and_never_leaves_half_a_file(tmp_path):
    from mediaparser.media.kinds import kind_of

    dest = tmp_path / "copy"
    dest.mkdir()
    part = gen.write_part(tmp_path, 1, {"A/x.jpg": b"12345"})
    with t.open_part(str(part)) as members:
        (m,) = list(members)
        assert t.unpack_member(dest, m) is None
    target = dest / "Takeout/Google Photos/A/x.jpg"
    assert target.read_bytes() == b"12345"
    first = target.stat()
    with t.open_part(str(part)) as members:  # again (a resumed unpack): not written twice
        assert t.unpack_member(dest, next(members)) is None
    assert target.stat().st_mtime_ns == first.st_mtime_ns and target.stat().st_ino == first.st_ino
    other = gen.write_part(tmp_path / "b", 2, {"A/x.jpg": b"different"})
    with t.open_part(str(other)) as members:
        assert "first one is kept" in t.unpack_member(dest, next(members))
    assert target.read_bytes() == b"12345"
    # a member cut off while written has a name the walk never takes for a photo
    assert kind_of("x.jpg" + ".mp-unpacking") == "system"
    with t.open_part(str(part)) as members:
        with pytest.raises(t.NoSpace):
            t.unpack_member(tmp_path / "fresh", next(members), margin=1 << 62)


@pytest.mark.parametrize("dto, taken, source, confidence", [
    ("2019:08:12 14:30:25", 1565613025, "exif:DateTimeOriginal", "high"),  # agree up to the zone shift (+02:00)
    ("2019:08:12 14:30:25", 1577880000, "exif:DateTimeOriginal", "low"),  # months apart: a person looks
    (None, 1565613025, "takeout-json:photoTakenTime", "medium"),  # the JSON alone
])
def test_where_photo_taken_time_stands_among_the_capture_times(tmp_path, dto, taken, source, confidence):
    from mediaparser.media.analyze import analyze_file

    folder = tmp_path / "Takeout" / "Google Photos" / "Photos from 2019"
    folder.mkdir(parents=True)
    (folder / "IMG_1.jpg").write_bytes(gen.jpeg_bytes(1, dto=dto))
    (folder / "IMG_1.jpg.supplemental-metadata.json").write_bytes(gen.photo_json("IMG_1.jpg", taken))
    r = analyze_file(str(folder / "IMG_1.jpg"), timezone="Europe/Berlin", with_thumbnail=False, root=str(tmp_path))
    assert (r.source, r.confidence.value) == (source, confidence)
    if dto is None:  # UTC shown in the configured zone, with its offset
        assert r.captured_at.isoformat() == "2019-08-12T14:30:25" and r.utc_offset == 120
