"""Real clients against a real uvicorn server on a loopback port: keystoneauth1,
openstacksdk and the openstack CLI must log in and drive the admin identity API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import uvicorn
from identity_helpers import make_app

from xloudnet.identity import IdentityService
from xloudnet.settings import Settings

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server_url():
    """Serve the identity app on a free loopback port for the module's tests."""
    settings = Settings()
    app = make_app(IdentityService(settings), settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _password_session(base: str, user: str, project: str):
    from keystoneauth1 import session
    from keystoneauth1.identity import v3

    auth = v3.Password(
        auth_url=f"{base}/identity/v3",
        username=user,
        password="secret",
        project_name=project,
        user_domain_name="Default",
        project_domain_name="Default",
    )
    return session.Session(auth=auth)


def test_keystoneauth_password_login_finds_the_unversioned_network_endpoint(server_url):
    """keystoneauth logs in with a password and reads the network endpoint from the catalog."""
    sess = _password_session(server_url, "demo", "demo")
    token = sess.get_token()
    assert token.startswith("gAAAAA") and len(token) >= 32
    assert (
        sess.get_endpoint(service_type="network", interface="public") == f"{server_url}/networking"
    )
    assert sess.get_project_id() == sess.auth.get_access(sess).project_id
    access = sess.auth.get_access(sess)
    assert access.project_name == "demo"
    assert set(access.role_names) == {"member", "reader"}


def test_keystoneauth_rejects_a_wrong_password(server_url):
    """A bad password surfaces as keystoneauth's Unauthorized."""
    from keystoneauth1 import exceptions
    from keystoneauth1 import session
    from keystoneauth1.identity import v3

    auth = v3.Password(
        auth_url=f"{server_url}/identity/v3",
        username="demo",
        password="wrong",
        project_name="demo",
        user_domain_name="Default",
        project_domain_name="Default",
    )
    with pytest.raises(exceptions.Unauthorized):
        session.Session(auth=auth).get_token()


def test_openstacksdk_lists_and_creates_projects_as_admin(server_url):
    """openstacksdk (generic password plugin, with version discovery) drives the admin API."""
    import openstack

    conn = openstack.connection.Connection(
        auth_url=f"{server_url}/identity/v3",
        username="admin",
        password="secret",
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
        region_name="RegionOne",
    )
    assert {"admin", "demo", "alt_demo"} <= {p.name for p in conn.identity.projects()}
    created = conn.identity.create_project(name="sdk-made", domain_id="default")
    assert conn.identity.find_project("sdk-made").id == created.id
    user = conn.identity.create_user(name="sdk-user", password="pw", domain_id="default")
    member = conn.identity.find_role("member")
    conn.identity.assign_project_role_to_user(created, user, member)
    assert conn.identity.validate_user_has_project_role(created, user, member)
    conn.identity.delete_user(user)
    conn.identity.delete_project(created)
    assert conn.identity.find_project("sdk-made") is None


def _openstack_cli(server_url: str, *args: str) -> str:
    env = {
        **os.environ,
        "OS_AUTH_URL": f"{server_url}/identity/v3",
        "OS_USERNAME": "admin",
        "OS_PASSWORD": "secret",
        "OS_PROJECT_NAME": "admin",
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_IDENTITY_API_VERSION": "3",
        "OS_REGION_NAME": "RegionOne",
    }
    code = "from openstackclient.shell import main; import sys; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_openstack_cli_manages_projects_users_and_roles(server_url):
    """`openstack project/user/role` commands work end to end."""
    _openstack_cli(server_url, "project", "create", "cli-proj")
    _openstack_cli(server_url, "user", "create", "--password", "pw", "cli-user")
    _openstack_cli(
        server_url, "role", "add", "--project", "cli-proj", "--user", "cli-user", "member"
    )
    rows = json.loads(
        _openstack_cli(
            server_url, "role", "assignment", "list", "--user", "cli-user", "--names", "-f", "json"
        )
    )
    assert [(r["Role"], r["Project"]) for r in rows] == [("member", "cli-proj@Default")]
    listed = json.loads(_openstack_cli(server_url, "project", "list", "-f", "json"))
    assert "cli-proj" in {p["Name"] for p in listed}
