"""`serve --state` settings and its one-line refusals (no server is started by these tests)."""

import pytest

from xloudnet.cli import main
from xloudnet.control.statelog import StateError, StateLog
from xloudnet.settings import load_settings


def test_state_dir_comes_from_the_config_file_and_the_flag_overrides_it(tmp_path):
    config = tmp_path / "x.yaml"
    config.write_text("state_dir: /from/file\nstate_sync: full\n")
    settings = load_settings(config, {})
    assert (settings.state_dir, settings.state_sync) == ("/from/file", "full")
    assert load_settings(config, {}, state_dir=str(tmp_path)).state_dir == str(tmp_path)
    assert load_settings(None, {}).state_dir is None  # default: memory only


def test_an_unknown_sync_mode_is_a_one_line_error(tmp_path, capsys):
    config = tmp_path / "x.yaml"
    config.write_text("state_sync: sometimes\n")
    assert main(["serve", "--state", str(tmp_path / "s"), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "state sync must be one of normal, full" in err and "Traceback" not in err


def test_a_state_directory_in_use_is_refused_with_one_line(tmp_path, capsys):
    with StateLog(tmp_path / "s"):
        assert main(["serve", "--state", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("in use by another xloudnet server") and err.count("\n") == 1


def test_a_state_directory_holding_something_else_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "xloudnet.db").write_bytes(b"not a database, just bytes" * 100)
    assert main(["serve", "--state", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "not a usable xloudnet state" in err and "Traceback" not in err
    # the refusal released the directory: trying again says the same, not "in use"
    with pytest.raises(StateError, match="not a usable"):
        StateLog(tmp_path / "s")
