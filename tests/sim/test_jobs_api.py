"""The simulation job routes: start, progress, result, listing, deletion, isolation, bad input."""

from __future__ import annotations

import time

import pytest
from jobs_app import _body

def _wait(client, url, headers, timeout=30.0):
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        sim = r.json()["simulation"]
        seen.append((sim["status"], sim["progress"]))
        if sim["status"] in ("ACTIVE", "ERROR"):
            return sim, seen
        time.sleep(0.02)
    raise AssertionError(f"job did not finish: {seen[-3:]}")


def test_start_poll_result_list_delete(world):
    c, me = world["client"], {"X-Project": world["project"]}
    r = c.post("/simulation/v1/simulations", json=_body(world), headers=me)
    assert r.status_code == 202, r.text
    sim = r.json()["simulation"]
    assert sim["status"] in ("BUILD", "RUNNING") and 0 <= sim["progress"] <= 1
    assert r.headers["location"].endswith(sim["id"])
    done, seen = _wait(c, f"/simulation/v1/simulations/{sim['id']}", me)
    assert done["status"] == "ACTIVE" and done["progress"] == 1.0, done.get("error")
    progresses = [p for _, p in seen]
    assert progresses == sorted(progresses)
    flow = done["result"]["flows"][0]
    assert flow["disposition"] == "ACCEPTED" and flow["delivered"]["kbps"] == pytest.approx(2000, rel=0.02)
    assert flow["latency_ms"]["p99"] > 0 and done["result"]["seed"] == 3
    listed = c.get("/simulation/v1/simulations", headers=me).json()["simulations"]
    assert sim["id"] in [j["id"] for j in listed] and all("result" not in j for j in listed)
    assert c.delete(f"/simulation/v1/simulations/{sim['id']}", headers=me).status_code == 204
    assert c.get(f"/simulation/v1/simulations/{sim['id']}", headers=me).status_code == 404


def test_another_projects_job_is_404(world):
    c, me = world["client"], {"X-Project": world["project"]}
    sim = c.post("/simulation/v1/simulations", json=_body(world, duration=0.5), headers=me).json()["simulation"]
    them = {"X-Project": world["other"]}
    for method in ("GET", "DELETE"):
        r = c.request(method, f"/simulation/v1/simulations/{sim['id']}", headers=them)
        assert r.status_code == 404 and r.json()["NeutronError"]["type"] == "HTTPNotFound"
    assert sim["id"] not in [j["id"] for j in c.get("/simulation/v1/simulations", headers=them).json()["simulations"]]
    _wait(c, f"/simulation/v1/simulations/{sim['id']}", me)


def test_other_projects_ports_cannot_be_simulated(world):
    r = world["client"].post("/simulation/v1/simulations", json=_body(world), headers={"X-Project": world["other"]})
    assert r.status_code == 404 and r.json()["NeutronError"]["type"] == "PortNotFound"


@pytest.mark.parametrize("mutate, status, words", [
    (lambda b: b.pop("duration_s"), 400, "duration_s"),
    (lambda b: b["flows"][0].update(rate_kbps="fast"), 400, "rate_kbps"),
    (lambda b: b.update(duration_s=600, flows=[dict(b["flows"][0], rate_kbps=1_000_000)] * 10), 400, "limit"),
    (lambda b: b["flows"][0].update(destination={"port_id": "missing"}), 404, "missing"),
])
def test_bad_input_is_refused_before_any_job(world, mutate, status, words):
    c, me = world["client"], {"X-Project": world["project"]}
    before = len(world["jobs"].jobs)
    body = _body(world)
    mutate(body)
    r = c.post("/simulation/v1/simulations", json=body, headers=me)
    assert r.status_code == status, r.text
    assert words in r.json()["NeutronError"]["message"]
    assert len(world["jobs"].jobs) == before
