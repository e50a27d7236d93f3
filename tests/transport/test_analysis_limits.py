"""Bounded analysis work: matrix size cap, cancellation, per-project pools, job quotas and a job
store that lets go of everything it does not need."""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc
import weakref

import orjson
import pytest
from fastapi.testclient import TestClient
from transport_helpers import PASSWORD, job_body, login, make_ports, wait_for

from xloudnet.api.app import create_app
from xloudnet.api.workers import FairPool
from xloudnet.control import errors
from xloudnet.control.plane import ControlPlane
from xloudnet.settings import Settings

SIM = "/simulation/v1"


def _app(**settings):
    app = create_app(ControlPlane(), Settings(password=PASSWORD, **settings))
    return app, TestClient(app, base_url="http://testserver", raise_server_exceptions=False)


def _neutron_error(response) -> dict:
    body = response.json()
    assert set(body) == {"NeutronError"}, body
    return body["NeutronError"]


# --- matrix ---------------------------------------------------------------------------------------
def test_matrix_over_the_pair_cap_is_400_naming_the_cap():
    _, client = _app(matrix_max_pairs=4)
    token = login(client, "demo")
    make_ports(client, token, 3)
    headers = {"X-Auth-Token": token}
    refused = client.post(f"{SIM}/reachability/matrix", json={"protocol": "icmp"}, headers=headers)
    assert refused.status_code == 400
    message = _neutron_error(refused)["message"]
    assert "matrix_max_pairs" in message and "9 pairs" in message and "limit is 4" in message
    named = {"protocol": "icmp", "sources": [{"ip_address": "198.51.100.1"}],
             "destinations": [{"ip_address": "10.20.0.5"}]}
    assert client.post(f"{SIM}/reachability/matrix", json=named, headers=headers).status_code == 200


def test_matrix_within_the_cap_answers_every_pair():
    _, client = _app(matrix_max_pairs=9)
    token = login(client, "demo")
    ports = make_ports(client, token, 3)
    answer = client.post(f"{SIM}/reachability/matrix", json={"protocol": "icmp"}, headers={"X-Auth-Token": token})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert sorted(body["sources"]) == sorted(ports)
    assert [len(row) for row in body["reachable"]] == [3, 3, 3]


def test_matrix_stops_between_batches_once_cancelled():
    """The library checks ``cancelled`` before each batch of rows and stops at the first true."""
    from xloudnet.analysis.matrix import matrix
    from xloudnet.dataplane import QueryError, compile_tables

    plane = ControlPlane()
    _, client = _app()
    tables = compile_tables(plane.snapshot())
    sources = [{"ip_address": f"198.51.{i // 250}.{i % 250 + 1}"} for i in range(2000)]
    query = {"protocol": "icmp", "sources": sources, "destinations": sources[:200]}
    checks = []

    def cancelled():
        checks.append(1)
        return len(checks) > 1

    with pytest.raises(QueryError) as refused:
        matrix(tables, query, cancelled=cancelled)
    assert refused.value.http_status == 499
    assert len(checks) == 2  # one batch ran, the second never started
    assert len(matrix(tables, query)["reachable"]) == 2000


def test_client_disconnect_cancels_the_matrix_request():
    """Through the whole app: the client goes away right after its body; the guard sets the
    request's cancel token and the matrix stops (499) instead of answering."""
    app, client = _app()
    token = login(client, "demo")
    sources = [{"ip_address": f"198.51.{i // 250}.{i % 250 + 1}"} for i in range(3000)]
    body = orjson.dumps({"protocol": "icmp", "sources": sources, "destinations": sources[:300]})
    sent = []

    async def call():
        messages = iter([{"type": "http.request", "body": body, "more_body": False}])

        async def receive():
            message = next(messages, None)
            if message is None:
                return {"type": "http.disconnect"}
            return message

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": f"{SIM}/reachability/matrix", "raw_path": b"", "root_path": "",
                 "query_string": b"", "server": ("testserver", 80), "client": ("127.0.0.1", 1),
                 "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                             (b"x-auth-token", token.encode())]}
        await app(scope, receive, send)

    asyncio.run(call())
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 499


# --- the fair pool --------------------------------------------------------------------------------
def test_pool_takes_projects_in_turn_so_a_backlog_delays_others_by_one_task():
    pool = FairPool(1)
    gate, order = threading.Event(), []
    pool.submit("a", gate.wait)
    futures = [pool.submit("a", lambda i=i: order.append(f"a{i}")) for i in range(5)]
    futures.append(pool.submit("b", lambda: order.append("b")))
    gate.set()
    for future in futures:
        future.result(timeout=10)
    assert order.index("b") <= 1, order
    assert [x for x in order if x != "b"] == [f"a{i}" for i in range(5)]
    pool.shutdown()


def test_pool_quota_refuses_only_the_project_over_it():
    pool = FairPool(1)
    gate = threading.Event()
    held = [pool.submit("a", gate.wait, limit=3) for _ in range(3)]
    with pytest.raises(errors.OverQuota):
        pool.submit("a", lambda: None, limit=3)
    other = pool.submit("b", lambda: "b", limit=3)
    gate.set()
    assert other.result(timeout=10) == "b"
    for future in held:
        future.result(timeout=10)
    assert pool.submit("a", lambda: "again", limit=3).result(timeout=10) == "again"
    pool.shutdown()


# --- simulation jobs ------------------------------------------------------------------------------
@pytest.fixture(params=[True, False], ids=["child-processes", "thread-slices"])
def two_projects(request):
    app, client = _app(analysis_workers=1, simulation_jobs_per_project=3, simulation_processes=request.param)
    demo, alt = login(client, "demo"), login(client, "alt_demo")
    return app, client, (demo, make_ports(client, demo, 2)), (alt, make_ports(client, alt, 2, "10.30.0.0/24"))


def test_one_projects_long_jobs_neither_refuse_nor_hold_up_anothers(two_projects):
    app, client, (demo, (a1, a2)), (alt, (b1, b2)) = two_projects
    long_job = job_body(a1, a2, rate_kbps=40_000, duration_s=60, engine="reference")  # ~200k packets each
    started = []
    for _ in range(3):
        response = client.post(f"{SIM}/simulations", json=long_job, headers={"X-Auth-Token": demo})
        assert response.status_code == 202, response.text
        started.append(response.json()["simulation"]["id"])
    over = client.post(f"{SIM}/simulations", json=long_job, headers={"X-Auth-Token": demo})
    assert over.status_code == 409 and _neutron_error(over)["type"] == "OverQuota"
    mine = client.post(f"{SIM}/simulations", json=job_body(b1, b2), headers={"X-Auth-Token": alt})
    assert mine.status_code == 202, mine.text
    job_id = mine.json()["simulation"]["id"]

    def done():
        view = client.get(f"{SIM}/simulations/{job_id}", headers={"X-Auth-Token": alt}).json()["simulation"]
        return view if view["status"] not in ("BUILD", "RUNNING") else None

    assert wait_for(done)["status"] == "ACTIVE"
    demo_jobs = client.get(f"{SIM}/simulations", headers={"X-Auth-Token": demo}).json()["simulations"]
    assert all(j["status"] in ("BUILD", "RUNNING") for j in demo_jobs)
    for jid in started:
        assert client.delete(f"{SIM}/simulations/{jid}", headers={"X-Auth-Token": demo}).status_code == 204
    after = client.post(f"{SIM}/simulations", json=job_body(a1, a2), headers={"X-Auth-Token": demo})
    assert after.status_code == 202


def _finished(client, token, job_id):
    view = client.get(f"{SIM}/simulations/{job_id}", headers={"X-Auth-Token": token}).json()["simulation"]
    return view if view["status"] not in ("BUILD", "RUNNING") else None


def test_deleted_job_is_released_from_memory(two_projects):
    app, client, (demo, (a1, a2)), _ = two_projects
    headers = {"X-Auth-Token": demo}
    for duration, wait in ((1.0, True), (60.0, False)):  # a finished job, and one deleted mid-run
        response = client.post(f"{SIM}/simulations", json=job_body(a1, a2, rate_kbps=20_000, duration_s=duration, engine="reference"),
                               headers=headers)
        job_id = response.json()["simulation"]["id"]
        job = weakref.ref(app.state.jobs.jobs[job_id])
        if wait:
            assert wait_for(lambda: _finished(client, demo, job_id))["status"] == "ACTIVE"
        else:
            wait_for(lambda: app.state.jobs.jobs[job_id].status == "RUNNING")
        assert client.delete(f"{SIM}/simulations/{job_id}", headers=headers).status_code == 204

        def released():
            gc.collect()
            return job() is None
        assert wait_for(released, timeout=30)


def test_repeated_big_jobs_do_not_accumulate_memory(two_projects):
    """Six rounds of a job with ~60 kB of flow names (250 flows, names of the longest length
    the request model takes): start, finish, delete. Python's traced memory after the last round
    is within 1 MB of after the first."""
    app, client, (demo, (a1, a2)), _ = two_projects
    headers = {"X-Auth-Token": demo}
    body = job_body(a1, a2, rate_kbps=10, duration_s=0.5, flows=250, name="n" * 245)
    assert len(orjson.dumps(body)) > 60_000
    tracemalloc.start()
    try:
        levels = []
        for _ in range(6):
            job_id = client.post(f"{SIM}/simulations", json=body, headers=headers).json()["simulation"]["id"]
            view = wait_for(lambda: _finished(client, demo, job_id))
            assert view["status"] == "ACTIVE"
            result = client.get(f"{SIM}/simulations/{job_id}", headers=headers)
            assert len(result.content) > 60_000
            del result
            assert client.delete(f"{SIM}/simulations/{job_id}", headers=headers).status_code == 204
            gc.collect()
            levels.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert levels[-1] - levels[0] < 1_000_000, levels


def test_finished_jobs_expire_after_their_ttl():
    from xloudnet.api.simulation_jobs import SimulationJobs

    app, client = _app(simulation_job_ttl_seconds=100)
    demo = login(client, "demo")
    a1, a2 = make_ports(client, demo, 2)
    now = [0.0]
    jobs = app.state.jobs
    jobs.clock = lambda: now[0]
    assert isinstance(jobs, SimulationJobs)
    job_id = client.post(f"{SIM}/simulations", json=job_body(a1, a2), headers={"X-Auth-Token": demo}).json()[
        "simulation"]["id"]
    assert wait_for(lambda: _finished(client, demo, job_id))["status"] == "ACTIVE"
    job = weakref.ref(jobs.jobs[job_id])
    now[0] = 10_000.0  # finished_at is on the real monotonic clock; far past it + TTL
    jobs.jobs[job_id].finished_at = 50.0
    assert client.get(f"{SIM}/simulations/{job_id}", headers={"X-Auth-Token": demo}).status_code == 404
    gc.collect()
    assert job() is None


def test_deleted_job_in_a_child_process_leaves_no_process_behind():
    import os

    app, client = _app(simulation_processes=True)
    demo = login(client, "demo")
    a1, a2 = make_ports(client, demo, 2)
    job_id = client.post(f"{SIM}/simulations", json=job_body(a1, a2, rate_kbps=40_000, duration_s=60, engine="reference"),
                         headers={"X-Auth-Token": demo}).json()["simulation"]["id"]
    child = wait_for(lambda: app.state.jobs.jobs[job_id].child)
    pid = wait_for(lambda: child.pid)
    assert pid != os.getpid()
    assert client.delete(f"{SIM}/simulations/{job_id}", headers={"X-Auth-Token": demo}).status_code == 204

    def gone():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    assert wait_for(gone, timeout=30)


def test_shutdown_records_unfinished_jobs_as_cancelled(two_projects):
    app, client, (demo, (a1, a2)), _ = two_projects
    headers = {"X-Auth-Token": demo}
    ids = [client.post(f"{SIM}/simulations", json=job_body(a1, a2, rate_kbps=40_000, duration_s=60, engine="reference"),
                       headers=headers).json()["simulation"]["id"] for _ in range(2)]
    wait_for(lambda: any(app.state.jobs.jobs[i].status == "RUNNING" for i in ids))
    assert app.state.jobs.shutdown() == 2
    views = [wait_for(lambda i=i: _finished(client, demo, i)) for i in ids]
    assert [v["status"] for v in views] == ["CANCELLED", "CANCELLED"]
    assert all("shutting down" in v["error"] for v in views)
    refused = client.post(f"{SIM}/simulations", json=job_body(a1, a2), headers=headers)
    assert refused.status_code == 503


def test_padded_address_is_refused_and_never_becomes_a_cache_key():
    from xloudnet.dataplane import addresses

    _, client = _app()
    token = login(client, "demo")
    make_ports(client, token, 1)
    before = addresses._parse_ip.cache_info().currsize
    padded = {"source": {"ip_address": "10.88.0.9" + " " * 200_000}, "destination": {"ip_address": "203.0.113.1"},
              "protocol": "icmp"}
    for _ in range(3):
        refused = client.post(f"{SIM}/reachability", json=padded, headers={"X-Auth-Token": token})
        assert refused.status_code == 400, refused.text[:300]
        assert len(refused.content) < 2000
    assert addresses._parse_ip.cache_info().currsize == before
