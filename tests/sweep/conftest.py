"""One two-worker LocalCluster for the sweep tests (started once, closed with its processes)."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(scope="session")
def cluster():
    from distributed import LocalCluster

    local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                         host="127.0.0.1", silence_logs=logging.ERROR)
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
