"""openstacksdk: password login, catalog discovery and re-authentication after revocation."""

from __future__ import annotations

import httpx
import pytest
from e2e_helpers import PASSWORD, connect
from keystoneauth1 import exceptions as ks_exceptions

pytestmark = pytest.mark.e2e


def test_catalog_points_at_the_unversioned_networking_root(server, demo_conn):
    endpoint = demo_conn.session.get_endpoint(service_type="network", interface="public", region_name="RegionOne")
    assert endpoint.rstrip("/") == f"{server}/networking"
    assert demo_conn.network.get_endpoint().rstrip("/") in (f"{server}/networking", f"{server}/networking/v2.0")
    assert demo_conn.current_project_id
    assert list(demo_conn.network.networks(name="nothing-by-this-name")) == []


def test_fresh_connection_after_revocation_still_works(server):
    conn = connect(server, "demo")
    try:
        list(conn.network.networks(limit=1))
        token = conn.session.get_token()
        revoke = httpx.delete(
            f"{server}/identity/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}
        )
        assert revoke.status_code == 204, revoke.text
        raw = httpx.get(f"{server}/networking/v2.0/networks", headers={"X-Auth-Token": token})
        assert raw.status_code == 401, raw.text
        assert raw.headers.get("www-authenticate", "").startswith("Keystone uri=")
        # keystoneauth re-authenticates once after a 401: the old connection keeps working ...
        list(conn.network.networks(limit=1))
        assert conn.session.get_token() != token
        # ... and so does a brand-new one.
        fresh = connect(server, "demo")
        try:
            assert fresh.network.find_extension("router") is not None
            assert fresh.session.get_token() not in (token, None)
        finally:
            fresh.close()
    finally:
        conn.close()


def test_wrong_password_is_refused(server):
    conn = connect(server, "demo", password=PASSWORD + "-wrong")
    try:
        with pytest.raises(ks_exceptions.Unauthorized):
            list(conn.network.networks())
    finally:
        conn.close()


def test_alt_demo_is_a_separate_project(demo_conn, alt_conn, admin_conn):
    assert demo_conn.current_project_id != alt_conn.current_project_id
    assert admin_conn.current_project_id not in (demo_conn.current_project_id, alt_conn.current_project_id)
