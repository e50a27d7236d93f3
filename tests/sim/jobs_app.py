"""The job routes on their own app (the lead mounts them in ``create_app`` later): resources are
made through the real Neutron API of ``create_app(plane, ...)``; the job routes run over an
analysis ``Session`` of the same plane, with a caller dependency reading ``X-Project``
(``X-Admin`` for an admin)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient

from xloudnet.analysis import Session
from xloudnet.api.app import create_app
from xloudnet.api.errors import install_error_handlers, json_response
from xloudnet.api.simulation_jobs import add_simulation_job_routes
from xloudnet.control.context import Context
from xloudnet.control.plane import ControlPlane
from xloudnet.settings import Settings

PW = "pw"


def _login(http, user):
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": PW}}},
        "scope": {"project": {"name": user, "domain": {"name": "Default"}}}}}
    r = http.post("/identity/v3/auth/tokens", json=auth)
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"], r.json()["token"]["project"]["id"]


def build_world() -> dict:
    plane = ControlPlane()
    real = TestClient(create_app(plane, Settings(password=PW)))
    token, project = _login(real, "demo")
    _, other = _login(real, "alt_demo")

    def create(collection, key, body):
        r = real.post(f"/networking/v2.0/{collection}", json={key: body}, headers={"X-Auth-Token": token})
        assert r.status_code == 201, r.text
        return r.json()[key]
    net = create("networks", "network", {"name": "n"})
    create("subnets", "subnet", {"network_id": net["id"], "cidr": "10.9.0.0/24", "ip_version": 4})
    a = create("ports", "port", {"network_id": net["id"], "device_owner": "compute:nova", "device_id": "vm1"})
    b = create("ports", "port", {"network_id": net["id"], "device_owner": "compute:nova", "device_id": "vm2"})

    def caller(request: Request) -> Context:
        roles = {"admin", "member", "reader"} if request.headers.get("x-admin") else {"member", "reader"}
        return Context(project_id=request.headers.get("x-project"), roles=frozenset(roles))

    app = FastAPI()
    install_error_handlers(app, lambda request: json_response(401, {"error": {"code": 401}}))
    router = APIRouter()
    jobs = add_simulation_job_routes(router, Session(plane), caller)
    app.include_router(router, prefix="/simulation")
    return {"client": TestClient(app, raise_server_exceptions=False), "project": project, "other": other,
            "a": a["id"], "b": b["id"], "jobs": jobs}


def _body(w, rate=2000, duration=2.0):
    return {"flows": [{"source": {"port_id": w["a"]}, "destination": {"port_id": w["b"]}, "protocol": "udp",
                       "destination_port": 5001, "rate_kbps": rate}], "duration_s": duration, "seed": 3}
