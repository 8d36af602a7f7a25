"""Session files: round trip, and every malformed or hostile file refused with a message."""

from __future__ import annotations

import json

import pytest

from explorer.core.session import (
    MAX_SESSION_BYTES,
    Session,
    SessionError,
    load_session,
    save_session,
)


def test_round_trip(tmp_path, tiny_model_dir):
    session = Session(
        "I love my pet python",
        "Is it a snake?",
        str(tiny_model_dir),
        2,
        3,
        4,
        {"theme": "dark", "font_scale": 1.5},
    )
    path = save_session(session, tmp_path / "s.json")
    assert load_session(path) == session


def test_never_overwrites_without_being_told(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("keep me")
    with pytest.raises(SessionError, match="already exists"):
        save_session(Session("a", None, "embedded"), path)
    assert path.read_text() == "keep me"
    save_session(Session("a", None, "embedded"), path, overwrite=True)
    assert load_session(path).text == "a"


def valid(**changes):
    raw = Session("text", None, "embedded").to_json()
    raw.update(changes)
    return raw


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        (b"\xff\xfe\x00binary", "not a text file"),
        (json.dumps([1, 2]), "'session' must be dict"),
        (json.dumps({"format": "something-else"}), "not a BERT Attention Explorer session"),
        (json.dumps(valid(version=99)), "newer version"),
        (json.dumps(valid(inputs={"text": 5})), "'inputs.text' must be str"),
        (json.dumps(valid(inputs={"text": "a", "pair": ["x"]})), "'inputs.pair' must be str"),
        (json.dumps(valid(selection={"layer": "3"})), "'selection.layer' must be int"),
        (json.dumps(valid(selection={"head": True})), "whole number"),
        (json.dumps(valid(view={"theme": {"nested": 1}})), "'view.theme'"),
        (json.dumps(valid(model="/definitely/not/here")), "model folder"),
        (json.dumps(valid(model="../../etc")), "model folder"),
        (json.dumps(valid(model="not a model")), "model entry"),
        (json.dumps(valid(inputs={"text": "x" * 300_000})), "too long"),
    ],
)
def test_malformed_sessions_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(SessionError, match=message):
        load_session(path)


def test_huge_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.json"
    path.write_text(" " * (MAX_SESSION_BYTES + 1))
    with pytest.raises(SessionError, match="under 1 MB"):
        load_session(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(SessionError, match="Could not open"):
        load_session(tmp_path / "absent.json")
    with pytest.raises(SessionError, match="not a file"):
        load_session(tmp_path)


def test_relative_model_folder_resolves_next_to_the_session(tmp_path, tiny_model_dir):
    import shutil

    shutil.copytree(tiny_model_dir, tmp_path / "models" / "tiny")
    path = tmp_path / "s.json"
    path.write_text(json.dumps(valid(model="./models/tiny")))
    assert load_session(path).model == str((tmp_path / "models" / "tiny").resolve())


def test_a_deeply_nested_session_file_is_refused_with_a_message(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    with pytest.raises(SessionError, match="nests too deeply"):
        load_session(path)


def test_a_number_too_long_to_convert_is_refused_with_a_message(tmp_path):
    path = tmp_path / "digits.json"
    path.write_text('{"format": ' + "9" * 5000 + "}")
    with pytest.raises(SessionError, match="not a usable JSON file"):
        load_session(path)
