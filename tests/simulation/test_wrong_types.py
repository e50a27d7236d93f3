"""Wrong types in any ``/simulation`` body (and in networking's ``If-Match``) are a Neutron-style
400 naming the field — never a 500, never FastAPI's 422 — and nothing is started or kept."""

from __future__ import annotations

import json

import pytest
from sim_helpers import NET, SIM, neutron_error

INFINITY = object()  # stands for the JSON literal Infinity (not expressible through json=)


def _deep(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels):
        value = {"k": value}
    return value


def _reach(t, **changes):
    body = {"source": {"port_id": t.web1}, "destination": {"port_id": t.web2}, "protocol": "tcp",
            "destination_port": 22}
    for path, value in changes.items():
        where = body
        *parents, last = path.split("__")
        for key in parents:
            where = where[key]
        where[last] = value
    return body


def _sgtest(t, **fields):
    return {"port_id": t.web1, "direction": "ingress", "protocol": "icmp", "remote_ip_address": "10.0.0.9", **fields}


def _job(t, **source):
    flow = {"source": {"port_id": t.web1, **source}, "destination": {"port_id": t.web2}, "protocol": "udp",
            "destination_port": 5001, "rate_kbps": 100, "packet_size": 500}
    return {"flows": [flow], "duration_s": 0.5}


def _job_destination(t, destination):
    body = _job(t)
    body["flows"][0]["destination"] = destination
    return body


# (name, path, body(topology)) — one case per kind of wrong type; the field named must appear in
# the message.
KINDS = [
    ("reach port_id as a list", "/reachability", lambda t: _reach(t, source__port_id=[t.web1]), "port_id"),
    ("reach port_id as an object", "/reachability", lambda t: _reach(t, source__port_id={"id": t.web1}), "port_id"),
    ("reach network_id as a list", "/reachability",
     lambda t: _reach(t, source={"ip_address": "198.51.100.7", "network_id": [t.public]}), "network_id"),
    ("reach network_id as an object", "/reachability",
     lambda t: _reach(t, source={"ip_address": "198.51.100.7", "network_id": {"id": t.public}}), "network_id"),
    ("reach destination_port as a string", "/reachability", lambda t: _reach(t, destination_port="22"),
     "destination_port"),
    ("reach protocol as an object", "/reachability", lambda t: _reach(t, protocol={}), "protocol"),
    ("matrix source port_id as a list", "/reachability/matrix",
     lambda t: {"protocol": "icmp", "sources": [{"port_id": [t.web1]}]}, "port_id"),
    ("matrix destination network_id as an object", "/reachability/matrix",
     lambda t: {"protocol": "icmp", "destinations": [{"ip_address": "203.0.113.9", "network_id": {}}]},
     "network_id"),
    ("what-if source port_id as an object", "/whatif",
     lambda t: {"changes": [{"method": "DELETE", "path": f"/v2.0/security-group-rules/{t.rule_web_http}"}],
                "sources": [{"port_id": {"id": t.web1}}]}, "port_id"),
    ("what-if change path as a list", "/whatif",
     lambda t: {"changes": [{"method": "DELETE", "path": ["/v2.0/ports", t.web1]}]}, "path"),
    ("simulation source port_id as a list", "/simulations", lambda t: _job(t, port_id=[t.web1]), "port_id"),
    ("simulation destination network_id as an object", "/simulations",
     lambda t: _job_destination(t, {"ip_address": "198.51.100.7", "network_id": {"id": t.public}}), "network_id"),
    ("simulation duration as a string", "/simulations", lambda t: dict(_job(t), duration_s="5"), "duration_s"),
    ("simulation flow source nesting an extra key 250 levels deep", "/simulations",
     lambda t: _job(t, extra=_deep(250)), "extra"),
    ("qos what-if changes as an object", "/simulations",
     lambda t: dict(_job(t), changes={"method": "DELETE", "path": "/v2.0/qos/policies/x"}), "changes"),
    ("qos what-if change method as a number", "/simulations",
     lambda t: dict(_job(t), changes=[{"method": 1, "path": f"/v2.0/ports/{t.web1}"}]), "method"),
    ("qos what-if change body as a list", "/simulations",
     lambda t: dict(_job(t), changes=[{"method": "PUT", "path": f"/v2.0/ports/{t.web1}", "body": [1]}]), "body"),
    ("qos what-if change path as a list", "/simulations",
     lambda t: dict(_job(t), changes=[{"method": "DELETE", "path": ["/v2.0/ports", t.web1]}]), "path"),
    ("qos what-if with no changes", "/simulations", lambda t: dict(_job(t), changes=[]), "changes"),
    ("sgtest icmp_type 'x'", "/security-groups/test", lambda t: _sgtest(t, icmp_type="x"), "icmp_type"),
    ("sgtest icmp_type [1]", "/security-groups/test", lambda t: _sgtest(t, icmp_type=[1]), "icmp_type"),
    ("sgtest icmp_type Infinity", "/security-groups/test", lambda t: _sgtest(t, icmp_type=INFINITY), "icmp_type"),
    ("sgtest icmp_type {}", "/security-groups/test", lambda t: _sgtest(t, icmp_type={}), "icmp_type"),
    ("sgtest icmp_code 'x'", "/security-groups/test", lambda t: _sgtest(t, icmp_code="x"), "icmp_code"),
    ("sgtest icmp_code [1]", "/security-groups/test", lambda t: _sgtest(t, icmp_code=[1]), "icmp_code"),
    ("sgtest icmp_code Infinity", "/security-groups/test", lambda t: _sgtest(t, icmp_code=INFINITY), "icmp_code"),
    ("sgtest icmp_code {}", "/security-groups/test", lambda t: _sgtest(t, icmp_code={}), "icmp_code"),
    ("sgtest port_id as a number", "/security-groups/test", lambda t: _sgtest(t, port_id=5), "port_id"),
    ("destination ip_address followed by spaces", "/reachability",
     lambda t: _reach(t, destination={"ip_address": "10.88.0.9" + " " * 4096}), "ip_address"),
]


def _encode(body) -> bytes:
    return json.dumps(_swap(body)).replace('"__INFINITY__"', "Infinity").encode()


def _swap(value):
    if value is INFINITY:
        return "__INFINITY__"
    if isinstance(value, dict):
        return {k: _swap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v) for v in value]
    return value


@pytest.mark.parametrize("name, path, body, field", KINDS, ids=[k[0] for k in KINDS])
def test_wrong_type_is_a_neutron_400_naming_the_field(client, demo, topo, name, path, body, field):
    jobs_before = demo.ask("/simulations", method="GET")["simulations"]
    response = client.post(SIM + path, content=_encode(body(topo)),
                           headers={"X-Auth-Token": demo.token, "Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = neutron_error(response)
    # Infinity is no JSON at all: the body parser refuses it before any field is read.
    named = field in error["message"] or "Malformed request body" in error["message"]
    assert error["type"] == "HTTPBadRequest" and named
    assert len(response.content) < 2000  # the offending value is never echoed
    assert demo.ask("/simulations", method="GET")["simulations"] == jobs_before


def test_lint_project_id_that_is_no_id_is_a_400(demo, admin, topo):
    for caller in (demo, admin):
        response = caller.sim("GET", "/security-groups/lint?project_id=" + "x" * 5000)
        assert response.status_code == 400 and "project_id" in neutron_error(response)["message"]


def test_twenty_megabytes_of_spaces_after_an_address_are_refused(client, demo, topo):
    body = _reach(topo, destination={"ip_address": "10.88.0.9" + " " * 20_000_000})
    response = client.post(SIM + "/reachability", content=json.dumps(body).encode(),
                           headers={"X-Auth-Token": demo.token, "Content-Type": "application/json"})
    assert response.status_code in (400, 413)  # the model's bound, or the body limit before it
    neutron_error(response)


def test_if_match_with_five_thousand_digits_is_a_400_not_a_500(client, demo, topo):
    response = client.put(f"{NET}/ports/{topo.web1}", json={"port": {"name": "renamed"}},
                          headers={"X-Auth-Token": demo.token, "If-Match": "revision_number=" + "9" * 5000})
    assert response.status_code in (400, 412), response.text
    neutron_error(response)
    assert demo.neutron("GET", f"/ports/{topo.web1}").json()["port"]["name"] == "web1"
