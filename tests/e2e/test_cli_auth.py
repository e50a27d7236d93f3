"""``xloudnet`` question commands log in as the ``openstack`` CLI does: the README's ``export
OS_…`` lines, or a clouds.yaml cloud, send them to the server in ``OS_AUTH_URL`` (run as a user
would: a subprocess with only those variables)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from cloud_helpers import clean_env
from e2e_helpers import PASSWORD, port, tenant_network

pytestmark = pytest.mark.e2e


def readme_env(server: str, password: str = PASSWORD) -> dict[str, str]:
    """Exactly the README's ``export OS_…`` line, for this server."""
    return {**clean_env(), "OS_AUTH_URL": f"{server}/identity/v3",
            "OS_IDENTITY_API_VERSION": "3", "OS_USERNAME": "demo", "OS_PASSWORD": password,
            "OS_PROJECT_NAME": "demo", "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default"}


def xloudnet(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xloudnet.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def two_ports(demo_conn, name, cleanup):
    network, _subnet = tenant_network(demo_conn, name, cleanup, cidr="10.61.0.0/24")
    return port(demo_conn, name, cleanup, network), port(demo_conn, name, cleanup, network)


def test_readme_exports_send_reach_to_the_server_in_os_auth_url(server, two_ports):
    a, b = two_ports
    result = xloudnet("reach", a.id, b.id, "--protocol", "tcp", "--port", "22", "--json", env=readme_env(server))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["reachable"] is True  # the default group admits its own members


def test_clouds_yaml_cloud_named_by_os_cloud(server, two_ports, tmp_path):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"e2e": {"auth": {
        "auth_url": f"{server}/identity/v3", "username": "demo", "password": PASSWORD,
        "project_name": "demo", "user_domain_name": "Default", "project_domain_name": "Default"}}}}))
    env = {**clean_env(), "OS_CLIENT_CONFIG_FILE": str(clouds)}
    a, b = two_ports
    by_option = xloudnet("reach", a.id, b.id, "--json", "--os-cloud", "e2e", env=env)
    by_variable = xloudnet("reach", a.id, b.id, "--json", env={**env, "OS_CLOUD": "e2e"})
    assert by_option.returncode == by_variable.returncode == 0, by_option.stderr + by_variable.stderr
    assert json.loads(by_option.stdout) == json.loads(by_variable.stdout)


def test_wrong_password_is_one_line_naming_user_and_project_and_exits_2(server):
    result = xloudnet("lint", env=readme_env(server, password="not-the-password"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "user 'demo'" in lines[0] and "project 'demo'" in lines[0] and "refused" in lines[0]


def test_auth_url_where_no_identity_service_answers_exits_2_in_one_line(server):
    env = {**readme_env(server), "OS_AUTH_URL": f"{server}/networking"}
    result = xloudnet("lint", env=env)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "identity" in result.stderr
