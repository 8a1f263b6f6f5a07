"""Every list endpoint reads its numbers the same way: a word where a number belongs is a 400 that names it."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("url, name", [
    ("/api/jobs?limit=ten", "limit"),
    ("/api/jobs?before=x", "before"),
    ("/api/files?limit=many", "limit"),
    ("/api/review/batches?limit=1.5", "limit"),
    ("/api/tags?limit=all", "limit"),
    ("/api/tags/list?offset=first", "offset"),
    ("/api/duplicates?limit=lots", "limit"),
    ("/api/duplicates/set-aside?after=z", "after"),
    ("/api/imports/1/cleanup?offset=-", "offset"),
])
def test_a_word_where_a_number_belongs_is_refused_by_name(api, url, name):
    r = api.get(url)
    assert r.status_code == 400, (url, r.status_code, r.get_json())
    assert r.get_json() == {"error": f"{name} must be a whole number"}


def test_numbers_and_absent_arguments_are_accepted(api):
    assert api.get("/api/jobs?limit=5").status_code == 200
    assert api.get("/api/jobs?limit=").status_code == 200
    assert api.get("/api/tags/list?limit=3&offset=0").status_code == 200
