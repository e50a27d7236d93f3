"""`xloudnet serve` settings: config file, environment, accounts, and the default-password guard."""

import subprocess
import sys

import pytest

from xloudnet.cli import main
from xloudnet.identity import IdentityService
from xloudnet.settings import DEFAULT_PASSWORD, Settings, load_settings


def test_password_comes_from_the_environment_over_the_config_file(tmp_path):
    config = tmp_path / "x.yaml"
    config.write_text("password: from-file\nport: 9999\n")
    assert load_settings(config, {}).password == "from-file"
    settings = load_settings(config, {"XLOUDNET_PASSWORD": "from-env"})
    assert settings.password == "from-env" and settings.port == 9999


def test_command_line_flags_override_the_config_file(tmp_path):
    config = tmp_path / "x.yaml"
    config.write_text("host: 127.0.0.2\nport: 9999\n")
    settings = load_settings(config, {}, host="127.0.0.3", port=None)
    assert settings.host == "127.0.0.3" and settings.port == 9999


def test_config_file_declares_more_accounts_that_can_log_in(tmp_path):
    config = tmp_path / "x.yaml"
    config.write_text(
        "password: pw\naccounts:\n  - {name: ci, role: member}\n  - {name: auditor, role: reader, password: other}\n"
    )
    settings = load_settings(config, {})
    assert {a.name for a in settings.accounts} >= {"admin", "demo", "alt_demo", "ci", "auditor"}
    identity = IdentityService(settings)

    def login(user, password):
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": user, "domain": {"name": "Default"}}}}}
        _, token = identity.issue_token(body)
        return {r["name"] for r in token["token"]["roles"]}

    assert login("ci", "pw") == {"member", "reader"}
    assert login("auditor", "other") == {"reader"}


def test_unknown_settings_are_refused(tmp_path):
    config = tmp_path / "x.yaml"
    config.write_text("pasword: typo\n")
    with pytest.raises(ValueError, match="pasword"):
        load_settings(config, {})


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_default_password_is_refused_off_loopback(host):
    with pytest.raises(ValueError, match="default password"):
        Settings(host=host, password=DEFAULT_PASSWORD).check_safe_to_bind()
    Settings(host=host, password="something-else").check_safe_to_bind()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_default_password_is_fine_on_loopback(host):
    Settings(host=host, password=DEFAULT_PASSWORD).check_safe_to_bind()


def test_serve_exits_with_an_error_instead_of_exposing_the_default_password(monkeypatch, capsys):
    monkeypatch.delenv("XLOUDNET_PASSWORD", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "default password" in capsys.readouterr().err


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "xloudnet.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("serve", "reach", "matrix", "whatif", "lint", "sgtest"):
        assert command in out.stdout
