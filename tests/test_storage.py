"""Production's static files: each address as the manifest gives it, worked out once a process."""

import json

import pytest

from iop.storage import ManifestStaticFilesStorage


@pytest.fixture
def storage(tmp_path, settings):
    settings.DEBUG = False  # with it on, Django gives the unhashed name
    manifest = {"version": "1.1", "paths": {"css/clinic.css": "css/clinic.0123456789ab.css"}}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    return ManifestStaticFilesStorage(location=tmp_path, base_url="/static/")


def test_a_files_address_is_its_hashed_name_from_the_manifest(storage):
    assert storage.url("css/clinic.css") == "/static/css/clinic.0123456789ab.css"


def test_the_address_is_worked_out_once(storage):
    first = storage.url("css/clinic.css")
    storage.hashed_files.clear()  # a second look in the manifest would now fail

    assert storage.url("css/clinic.css") == first


def test_a_file_the_manifest_lacks_is_still_an_error_each_time(storage):
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("css/missing.css")
