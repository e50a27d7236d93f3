"""Replay the recorded real-Neutron seed flow (``tests/samples/neutron``, copied from the project's shared samples) over HTTP.

Each recorded exchange is re-sent, in order, to a fresh xloudnet (identity from tokens instead of
``X-Project-Id`` headers: project ``aaaa…`` → admin, ``bbbb…`` → demo, ``cccc…`` → alt_demo; the
recorded ids are replaced by the ones this server returned for the same steps). The answer must
match the recording:

- the same status code, ``Content-Type: application/json`` and an ``x-openstack-request-id``;
- errors: the same ``NeutronError`` type and the same message once ids are blanked out;
- bodies: every recorded key present (extra keys are tolerated), every value equal once ids are
  mapped, timestamps/MACs/segmentation ids ignored, randomly allocated addresses compared by their
  /24 (IPv4), and lists compared without regard to order.

Deliberate, documented deviations are listed in ``DEVIATIONS`` with the reason; everything else is
a compatibility bug.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from api_helpers import REQUEST_ID, login
from fastapi.testclient import TestClient

from xloudnet.api.app import create_app
from xloudnet.control.plane import ControlPlane
from xloudnet.settings import Settings

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "neutron"
RECORDED_ROOT = "http://127.0.0.1:9696"
BASE = "http://127.0.0.1:9696"
PROJECTS = {
    "aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa": "admin",
    "bbbbbbbbbbbb4bbb8bbbbbbbbbbbbbbb": "demo",
    "cccccccccccc4ccc8ccccccccccccccc": "alt_demo",
}
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")
IGNORED_KEYS = {"created_at", "updated_at", "mac_address", "provider:segmentation_id", "standard_attr_id"}
ALLOCATED_KEYS = {"ip_address", "fixed_ip_address", "floating_ip_address"}

# name → (what differs, why it is accepted). Keys are "<seq>" or "<seq>:<dotted key>".
DEVIATIONS = {
    "032:status": "docs/status.md: router interface ports are ACTIVE (wired) in xloudnet; agent-less Neutron says DOWN",
    "033:belongs_to_default_sg": "spec §3.6 says true for the default group's rules; this Neutron run showed null",
    "046": "which 2 of the 3 ports fill the first page depends on the (random) ids: page shape checked instead",
    "002:subnetpool": "subnet pools are out of scope: the resources document lists network, subnet, port",
    "003": "xloudnet advertises the subset of extensions it implements (spec §7), checked separately",
    "004:updated": "the extension's 'updated' date is informational",
    "048:status": "docs/status.md: a floating IP is ACTIVE once associated (agent-less Neutron stays DOWN)",
    "049:status": "same as 048",
    "050:status": "same as 048",
    "054:status": "same as 048",
    "059": "rule types: xloudnet implements a subset (checked separately)",
    "061": "the recording ran with unlimited quotas (-1); xloudnet uses Neutron's default limits (spec §4.7)",
}
NOT_IMPLEMENTED: dict[str, str] = {}


def _samples() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(SAMPLES.glob("[0-9]*.json"))]


@dataclass
class Replayer:
    client: TestClient
    tokens: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)  # recorded id → this server's id

    def substitute(self, text: str) -> str:
        return ID.sub(lambda m: self.ids.get(m.group(0), m.group(0)), text)

    def learn(self, recorded, actual) -> None:
        """Pair ids by position in dicts (never inside lists, whose order is arbitrary)."""
        if isinstance(recorded, dict) and isinstance(actual, dict):
            for key, value in recorded.items():
                other = actual.get(key)
                if (key == "id" or key.endswith("_id")) and isinstance(value, str) and isinstance(other, str):
                    if ID.fullmatch(value) and value not in self.ids and other not in self.ids.values():
                        self.ids[value] = other
                elif isinstance(value, dict):
                    self.learn(value, other)
                elif isinstance(value, list) and isinstance(other, list) and len(value) == len(other) == 1:
                    self.learn(value[0], other[0])


@pytest.fixture(scope="module")
def replayer() -> Replayer:
    # The recorded cloud ran no DHCP agent: its private subnet shows 3 used addresses at 063
    # (router interface, two ports) and no network:dhcp port. Replay against the same kind of cloud.
    plane = ControlPlane(dhcp_agent=False)
    client = TestClient(create_app(plane, Settings(password="pw", dhcp_agent=False)), base_url=BASE,
                        raise_server_exceptions=False)
    tokens, ids = {}, {}
    for recorded_project, user in PROJECTS.items():
        tokens[user] = login(client, user)
        token = client.get("/identity/v3/auth/tokens",
                           headers={"X-Auth-Token": tokens[user], "X-Subject-Token": tokens[user]})
        ids[recorded_project] = token.json()["token"]["project"]["id"]
    return Replayer(client, tokens, ids)


# --- canonical form for comparisons ------------------------------------------------------------


def _canonical(value, names: dict[str, str], key: str | None = None):
    if key in IGNORED_KEYS:
        return "<ignored>"
    if key in ALLOCATED_KEYS and isinstance(value, str):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return value
        return str(ipaddress.ip_network(f"{address}/24", strict=False)) if address.version == 4 else str(address)
    if isinstance(value, dict):
        return {k: _canonical(v, names, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical(v, names, key) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, str):
        return ID.sub(lambda m: names.get(m.group(0), "<id>"), value)
    return value


def _differences(recorded, actual, path: str, seq: str) -> list[str]:
    """Recorded keys missing from the answer, and values that differ."""
    if f"{seq}:{path.rsplit('.', 1)[-1]}" in DEVIATIONS:
        return []
    if isinstance(recorded, dict):
        if not isinstance(actual, dict):
            return [f"{path or 'body'}: expected an object, got {actual!r}"[:300]]
        problems = []
        for key, value in recorded.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing".lstrip("."))
            else:
                problems += _differences(value, actual[key], f"{path}.{key}".lstrip("."), seq)
        return problems
    if isinstance(recorded, list) and recorded and isinstance(recorded[0], dict) and "collection" in recorded[0]:
        names = {r["name"] for r in recorded} - {k.split(":")[1] for k in DEVIATIONS if k.startswith(f"{seq}:")}
        return [] if names <= {r.get("name") for r in actual} else [f"{path}: {names} not all listed"]
    if isinstance(recorded, list) and recorded and all(isinstance(r, dict) for r in recorded):
        if not isinstance(actual, list) or len(actual) != len(recorded):
            return [f"{path}: {len(actual) if isinstance(actual, list) else actual!r} items, recorded {len(recorded)}"]
        unmatched = list(actual)
        problems = []
        for item in recorded:  # each recorded object must match a distinct answered one
            match = next((a for a in unmatched if not _differences(item, a, path, seq)), None)
            if match is None:
                closest = min(unmatched, key=lambda a: len(_differences(item, a, path, seq)))
                problems += [f"{p} (item {json.dumps(item)[:120]}…)" for p in _differences(item, closest, path, seq)]
            else:
                unmatched.remove(match)
        return problems
    if recorded != actual:
        return [f"{path}: got {json.dumps(actual)[:400]}, recorded {json.dumps(recorded)[:400]}"]
    return []


SAMPLE_LIST = _samples()


@pytest.mark.parametrize("sample", SAMPLE_LIST, ids=[f"{s['seq']:03d}-{s['name']}" for s in SAMPLE_LIST])
def test_replay_recorded_exchange(replayer, sample):
    seq = f"{sample['seq']:03d}"
    if seq in NOT_IMPLEMENTED:
        pytest.xfail(NOT_IMPLEMENTED[seq])
    request, recorded = sample["request"], sample["response"]
    headers = {}
    user = PROJECTS.get(request["headers"].get("X-Project-Id", ""), "demo")
    if request["path"] != "/":
        headers["X-Auth-Token"] = replayer.tokens[user]
    if "If-Match" in request["headers"]:
        headers["If-Match"] = request["headers"]["If-Match"]
    body = None if request["body"] is None else json.loads(replayer.substitute(json.dumps(request["body"])))
    response = replayer.client.request(
        request["method"], "/networking" + replayer.substitute(request["path"]), json=body, headers=headers
    )
    what = f"{request['method']} {request['path']} as {user}"

    assert response.status_code == recorded["status"], f"{what}: {response.status_code} {response.text[:600]}"
    if request["path"] != "/":
        assert REQUEST_ID.match(response.headers.get("x-openstack-request-id", "")), response.headers
    if recorded["body"] is None:
        assert response.content == b"", f"{what}: expected an empty body"
        return
    assert response.headers.get("content-type") == "application/json"
    actual = response.json()
    expected = json.loads(json.dumps(recorded["body"]).replace(f"{RECORDED_ROOT}/", f"{BASE}/networking/"))

    if "NeutronError" in expected:
        error = actual.get("NeutronError", {})
        assert error.get("type") == expected["NeutronError"]["type"], f"{what}: {actual}"
        blank = lambda text: ID.sub("<id>", text)  # noqa: E731
        assert blank(error.get("message", "")) == blank(expected["NeutronError"]["message"]), f"{what}: {actual}"
        return
    if recorded["status"] in (200, 201):
        replayer.learn(expected, actual)
    if seq in DEVIATIONS:
        assert set(expected) <= set(actual), f"{what}: top-level keys {set(actual)} vs {set(expected)}"
        if "limit=" in request["path"]:
            _check_page(actual, expected, what)
        return
    names_recorded = {rid: f"@{rid}" for rid in replayer.ids}
    names_actual = {aid: f"@{rid}" for rid, aid in replayer.ids.items()}
    problems = _differences(
        _canonical(expected, names_recorded), _canonical(actual, names_actual), "", seq
    )
    assert not problems, f"{what}:\n  " + "\n  ".join(problems)


def _check_page(actual: dict, expected: dict, what: str) -> None:
    """A first page of a forward listing: ``limit`` items in id order, a ``next`` link marked
    with the last id and a ``previous`` link marked with the first (spec §1.6)."""
    (plural,) = [k for k in expected if not k.endswith("_links")]
    items = actual[plural]
    assert len(items) == len(expected[plural]), what
    ids = [item["id"] for item in items]
    assert ids == sorted(ids), f"{what}: not in id order"
    links = {link["rel"]: link["href"] for link in actual[f"{plural}_links"]}
    assert set(links) == {"next", "previous"}, f"{what}: {links}"
    assert links["next"].endswith(f"&marker={ids[-1]}"), links["next"]
    assert links["previous"].endswith(f"&marker={ids[0]}&page_reverse=True"), links["previous"]


def test_advertised_extensions_are_real_neutron_aliases(replayer):
    """Every alias xloudnet advertises exists in real Neutron (or in the spec's §7 list), with the
    same keys per entry (names and descriptions are informational)."""
    recorded = json.loads((SAMPLES / "003-extensions.json").read_text())["response"]["body"]["extensions"]
    real = {e["alias"]: e for e in recorded}
    spec_only = {"ip_allocation", "sort-key-validation", "tag-ports-during-bulk-creation"}
    # Real Neutron aliases (neutron-lib API definitions) that the recorded cloud did not load.
    spec_only |= {"floating-ip-port-forwarding", "floating-ip-port-forwarding-description",
                  "floating-ip-port-forwarding-port-ranges", "expose-port-forwarding-in-fip"}
    response = replayer.client.get("/networking/v2.0/extensions", headers={"X-Auth-Token": replayer.tokens["demo"]})
    assert response.status_code == 200
    for extension in response.json()["extensions"]:
        assert extension["alias"] in real or extension["alias"] in spec_only, extension
        assert set(extension) == {"name", "alias", "description", "updated", "links"}


def test_rule_types_are_real_neutron_rule_types(replayer):
    recorded = json.loads((SAMPLES / "059-tenant-list-qos-rule-types.json").read_text())["response"]["body"]
    real = {t["type"] for t in recorded["rule_types"]}
    response = replayer.client.get("/networking/v2.0/qos/rule-types", headers={"X-Auth-Token": replayer.tokens["demo"]})
    served = {t["type"] for t in response.json()["rule_types"]}
    assert {"bandwidth_limit", "dscp_marking", "minimum_bandwidth"} <= served <= real
