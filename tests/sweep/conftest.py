"""One two-worker LocalCluster for the sweep tests (started once, closed with its processes)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cluster():
    from xloudnet.sweep.cluster import local_cluster

    local = local_cluster(2)
    try:
        yield local
    finally:
        local.close()


@pytest.fixture(scope="session")
def client(cluster):
    from distributed import Client

    with Client(cluster, set_as_default=False) as c:
        c.wait_for_workers(2, timeout=120)
        yield c
