"""Where the CLI logs in: options, ``OS_*`` variables and clouds.yaml resolved by openstacksdk's
config loader as the ``openstack`` CLI resolves them (no server needed: nothing logs in here)."""

from __future__ import annotations

import argparse

import pytest
import yaml

from xloudnet.cloud.connection import LoginError, add_auth_options, cloud_region

README_EXPORTS = {
    "OS_AUTH_URL": "http://192.0.2.7:9797/identity/v3", "OS_IDENTITY_API_VERSION": "3",
    "OS_USERNAME": "demo", "OS_PASSWORD": "pw", "OS_PROJECT_NAME": "demo",
    "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
}


@pytest.fixture
def environment(monkeypatch, tmp_path):
    """No OS_* variables and a clouds.yaml of our own (the user's files are never read)."""
    import os

    for key in list(os.environ):
        if key.startswith("OS_") or key.startswith("XLOUDNET_"):
            monkeypatch.delenv(key)
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {
        "lab": {"auth": {"auth_url": "http://198.51.100.3:5000/v3", "username": "alice", "password": "a-pw",
                         "project_name": "web", "user_domain_name": "Default",
                         "project_domain_name": "Default"}, "region_name": "RegionOne"},
        "other": {"auth": {"auth_url": "http://198.51.100.4:5000/v3", "username": "bob", "password": "b-pw",
                           "project_name": "db"}},
    }}))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))

    def set_env(values: dict[str, str]) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)
    return set_env


def resolve(*argv: str, environ: dict[str, str] | None = None) -> dict:
    parser = argparse.ArgumentParser()
    add_auth_options(parser, environ=environ or {})
    return cloud_region(parser.parse_args(list(argv)), environ or {}).config["auth"]


def test_readme_os_variables_choose_the_identity_service_in_os_auth_url(environment):
    environment(README_EXPORTS)
    auth = resolve()
    assert auth["auth_url"] == "http://192.0.2.7:9797/identity/v3"
    assert (auth["username"], auth["password"], auth["project_name"]) == ("demo", "pw", "demo")


def test_os_cloud_option_selects_a_cloud_from_clouds_yaml(environment):
    auth = resolve("--os-cloud", "lab")
    assert (auth["auth_url"], auth["username"], auth["project_name"]) == (
        "http://198.51.100.3:5000/v3", "alice", "web")


def test_os_cloud_variable_selects_a_cloud_from_clouds_yaml(environment):
    environment({"OS_CLOUD": "other"})
    assert resolve()["username"] == "bob"


def test_command_line_options_override_clouds_yaml(environment):
    auth = resolve("--os-cloud", "lab", "--password", "typed", "--project", "ops")
    assert (auth["password"], auth["project_name"], auth["username"]) == ("typed", "ops", "alice")


def test_project_option_reads_os_project_name(environment):
    environment({**README_EXPORTS, "OS_PROJECT_NAME": "alt_demo"})
    assert resolve()["project_name"] == "alt_demo"


def test_url_shortcut_replaces_the_auth_url_and_keeps_the_credentials(environment):
    environment(README_EXPORTS)
    auth = resolve("--url", "http://127.0.0.1:8080/")
    assert auth["auth_url"] == "http://127.0.0.1:8080/identity/v3"
    assert auth["username"] == "demo"


def test_nothing_configured_logs_in_to_the_local_server_as_admin(environment, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("clouds: {}\n")
    environment({"OS_CLIENT_CONFIG_FILE": str(empty)})
    auth = resolve(environ={"XLOUDNET_PASSWORD": "local-pw"})
    assert auth["auth_url"] == "http://127.0.0.1:9696/identity/v3"
    assert (auth["username"], auth["password"], auth["project_name"]) == ("admin", "local-pw", "admin")
    assert auth["user_domain_id"] == auth["project_domain_id"] == "default"


def test_project_defaults_to_the_one_named_like_the_user(environment):
    environment({"OS_AUTH_URL": "http://192.0.2.7:9797/identity/v3", "OS_USERNAME": "demo", "OS_PASSWORD": "pw"})
    assert resolve()["project_name"] == "demo"


def test_unknown_cloud_is_a_login_error_naming_it(environment):
    with pytest.raises(LoginError, match="nope"):
        resolve("--os-cloud", "nope")


def test_help_names_the_variables_each_option_reads(capsys):
    parser = argparse.ArgumentParser()
    add_auth_options(parser, environ={})
    parser.print_help()
    text = " ".join(capsys.readouterr().out.split())
    for variable in ("OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME", "XLOUDNET_URL"):
        assert variable in text
