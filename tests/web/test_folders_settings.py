"""The server-folder browser stays inside the import roots; settings are
validated and stored where the operator expects them."""
from __future__ import annotations

import json
import os

from mediaparser.media import layout

from tests.support.instance import build_app, instance_env, make_images, outside_roots


def test_folder_browser_lists_only_inside_the_roots(tmp_path, tmp_path_factory):
    from tests.support.web import BrowserLikeClient

    # The instance inside the root (allowed; its archive then has to be elsewhere): never offered.
    api = BrowserLikeClient(build_app(instance_env(tmp_path, MEDIAPARSER_HOME=str(tmp_path / "instance"),
                                                   MEDIAPARSER_OUTPUT=str(outside_roots(tmp_path) / "archive"))))
    make_images(tmp_path / "Photos" / "2019 Trip", 2)
    (tmp_path / "Photos" / "Empty").mkdir()
    outside = tmp_path_factory.mktemp("outside")
    (outside / "private").mkdir()
    (tmp_path / "Photos" / "escape").symlink_to(outside)
    (tmp_path / "Photos" / "inner-link").symlink_to(tmp_path / "Photos" / "2019 Trip")
    roots = api.get("/api/folders").get_json()["roots"]
    assert [r["path"] for r in roots] == [str(tmp_path.resolve())]
    top = api.get("/api/folders/0").get_json()
    names = [f["name"] for f in top["folders"]]
    assert "Photos" in names and "instance" not in names, "MediaParser's own folder is not offered"
    photos = api.get("/api/folders/0?path=Photos").get_json()
    assert [f["name"] for f in photos["folders"]] == ["2019 Trip", "Empty", "inner-link"]
    assert photos["parent"] == "" and [c["name"] for c in photos["breadcrumbs"]][-1] == "Photos"
    trip = api.get("/api/folders/0?path=Photos/2019 Trip").get_json()
    assert trip["media_here"] == 2 and trip["absolute"] == str(tmp_path.resolve() / "Photos" / "2019 Trip")
    for bad in ("..", "../..", "Photos/../..", "Photos/escape", "Photos/escape/private", str(outside)):
        r = api.get("/api/folders/0", query_string={"path": bad})
        assert r.status_code in (400, 403), bad
        assert str(outside) not in r.get_data(as_text=True) or r.status_code == 400
    assert api.get("/api/folders/7").status_code == 404
    assert api.get("/api/folders/0?path=nope").status_code == 404


def test_server_import_outside_the_roots_is_refused(api, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere")
    make_images(outside, 1)
    r = api.post("/api/jobs", json={"type": "import", "path": str(outside)})
    assert r.status_code == 403 and "outside the folders you may import from" in r.get_json()["error"]


def test_settings_are_validated_and_saved_to_the_instance_config(api, web_app, tmp_path):
    home = web_app.extensions["mediaparser"].home
    (home / "config.json").write_text(json.dumps({"file_timeout": 90}))
    got = api.get("/api/settings").get_json()
    assert got["timezone"] == "UTC" and got["layout"] == layout.DEFAULT_LAYOUT
    assert got["layout_example"] == "2024/20241231_200000.jpg"
    out = outside_roots(tmp_path) / "archive-here"
    r = api.post("/api/settings", json={"output": str(out), "timezone": "Europe/Berlin",
                                        "layout": "{year}/{year}-{month}/{year}{month}{day}_{hour}{minute}{second}"})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert body["output"] == str(out) and out.is_dir() and body["timezone"] == "Europe/Berlin"
    assert body["layout_example"] == "2024/2024-12/20241231_200000.jpg"
    stored = json.loads((home / "config.json").read_text())
    assert stored == {"file_timeout": 90, "output": str(out), "timezone": "Europe/Berlin"}, "other keys are kept"
    assert web_app.extensions["mediaparser"].timezone == "Europe/Berlin", "the web process uses it at once"
    # The instance config still loads (config.py accepts what we wrote).
    from mediaparser.config import Settings
    assert Settings.load(environ={"MEDIAPARSER_HOME": str(home)}).timezone == "Europe/Berlin"
    assert api.get("/api/settings").get_json()["layout"].startswith("{year}/{year}-{month}")


def test_bad_settings_are_refused_with_the_reason(api, tmp_path):
    elsewhere = outside_roots(tmp_path)  # an output inside the import root is refused for that alone
    (elsewhere / "a-file").write_text("x")
    cases = [
        ({"output": "relative/path"}, "full path"),
        ({"output": str(elsewhere / "a-file")}, "is a file"),
        ({"timezone": "Mars/Olympus"}, "not a time zone"),
        ({"layout": "../{year}"}, "'..'"),
        ({"layout": "/{year}"}, "no leading"),
        ({"layout": "{year}/{shoe_size}"}, "unknown placeholder"),
        ({"layout": "{year"}, "not closed"),
        ({"password": "x"}, "cannot be changed"),
    ]
    for body, words in cases:
        r = api.post("/api/settings", json=body)
        assert r.status_code == 400 and words in r.get_json()["error"], (body, r.get_json())
    r = api.get("/api/settings/check-output", query_string={"path": str(elsewhere / "new" / "deeper")})
    assert r.get_json()["ok"] is True and "will be created" in r.get_json()["message"]
    os.chmod(elsewhere / "a-file", 0o644)
    ro = elsewhere / "readonly"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        if os.geteuid() != 0:  # root writes anywhere
            assert api.get("/api/settings/check-output", query_string={"path": str(ro)}).get_json()["ok"] is False
    finally:
        os.chmod(ro, 0o700)
    ex = api.get("/api/settings/layout-example", query_string={"layout": "{camera}/{year}"}).get_json()
    assert ex["ok"] and ex["example"] == "Pixel 7/2024.jpg" and ex["warnings"]


def test_settings_fixed_by_environment_are_read_only(tmp_path, monkeypatch):
    from tests.support.web import BrowserLikeClient

    monkeypatch.setenv("MEDIAPARSER_TIMEZONE", "Europe/Paris")
    api = BrowserLikeClient(build_app(instance_env(tmp_path)))
    assert api.get("/api/settings").get_json()["locked"] == {"timezone": "MEDIAPARSER_TIMEZONE"}
    r = api.post("/api/settings", json={"timezone": "Asia/Tokyo"})
    assert r.status_code == 400 and "MEDIAPARSER_TIMEZONE" in r.get_json()["error"]
    assert b"Set by the environment variable" in api.get("/settings").data


def test_layout_renders_local_time_and_cleans_camera_names():
    from datetime import datetime

    assert layout.render(layout.DEFAULT_LAYOUT, datetime(2024, 12, 31, 20, 0), "JPG") == "2024/20241231_200000.jpg"
    assert layout.render("{camera}/{year}", datetime(2024, 1, 1), "heic", camera="a/b\\c") == "a-b-c/2024.heic"
