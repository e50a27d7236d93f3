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


def test_config_syntax_error_is_one_line_with_file_and_line(tmp_path, capsys):
    config = tmp_path / "x.yaml"
    config.write_text("port: 9696\npassword: [unclosed\n")
    assert main(["serve", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"xloudnet: {config}:2: while parsing a flow sequence: expected ',' or ']', but got '<stream end>'"]


def test_config_problems_are_reported_all_at_once_with_their_lines(tmp_path, capsys):
    config = tmp_path / "x.yaml"
    config.write_text("pasword: x\naccounts:\n  - {role: member}\n  - name: ci\n    rol: reader\nquotas: {port: many}\n")
    assert main(["serve", "--config", str(config)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == [f"{config}:{n}" for n in (1, 3, 5, 6)]
    assert "unknown setting 'pasword'" in lines[0] and "accounts.0.name: Field required" in lines[1]
    assert "unknown setting 'accounts.1.rol'" in lines[2] and "quotas.port" in lines[3]
    assert not any("Traceback" in line for line in lines)


def test_config_values_are_typed(tmp_path):
    config = tmp_path / "x.yaml"
    config.write_text("port: '9000'\naccounts:\n  - {name: ci}\n")
    settings = load_settings(config, {})
    assert settings.port == 9000 and settings.accounts[-1].name == "ci"


def test_simulation_file_syntax_error_is_one_line(tmp_path, capsys):
    request = tmp_path / "run.yaml"
    request.write_text("duration_s: 5\nflows:\n  - {name: a, source: {port_id: vm1}\n")
    assert main(["simulate", str(request), "--url", "http://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"xloudnet: {request}:3: ")


def test_missing_config_file_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert main(["serve", "--config", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"xloudnet: {missing}: No such file or directory"


def test_dhcp_agent_is_on_by_default_and_off_by_config_or_flag(tmp_path):
    assert load_settings(None, {}).dhcp_agent is True
    config = tmp_path / "x.yaml"
    config.write_text("dhcp_agent: false\n")
    assert load_settings(config, {}).dhcp_agent is False
    assert load_settings(None, {}, dhcp_agent=False).dhcp_agent is False  # serve --no-dhcp-agent
    config.write_text("dhcp_agent: maybe\n")
    with pytest.raises(ValueError):
        load_settings(config, {})
