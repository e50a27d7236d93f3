"""Service sets are exact interval algebra; traffic flows and link names resolve or fail with a line."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scenario_cases import BASE

from xloudnet.scenarios import services as svc
from xloudnet.scenarios.loader import ScenarioError
from xloudnet.scenarios.runner import run_file

spans = st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300)).map(lambda t: (min(t), max(t))), max_size=6)
sets = st.dictionaries(st.sampled_from([6, 17, 1]), spans.map(svc.normalise).filter(bool), max_size=3)


def members(services, proto):
    return {k for lo, hi in services.get(proto, []) for k in range(lo, hi + 1)}


@given(sets, sets)
def test_minus_and_union_agree_with_set_arithmetic(a, b):
    for proto in (6, 17, 1):
        assert members(svc.minus(a, b), proto) == members(a, proto) - members(b, proto)
        assert members(svc.union(a, b), proto) == members(a, proto) | members(b, proto)


def test_service_texts_parse_to_the_analysers_key_space():
    assert svc.parse(["tcp/22", "tcp/20-21"]) == {6: [(20, 22)]}
    assert svc.parse(["icmp/8"]) == {1: [(8 * 256, 8 * 256 + 255)]}
    assert svc.parse(["icmp/3:4"]) == {1: [(3 * 256 + 4, 3 * 256 + 4)]}
    assert svc.parse(["icmp"], v6=True) == {58: [(0, 65535)]}
    assert svc.parse(["gre"]) == {47: [(0, 0)]}
    assert len(svc.parse(["any"])) == 255
    assert svc.from_allowed([{"protocol": "icmp", "icmp_types": [[8, 8]], "icmp_codes": {"3": [[4, 4]]}}]) == \
        {1: [(3 * 256 + 4, 3 * 256 + 4), (8 * 256, 8 * 256 + 255)]}
    assert svc.text(svc.parse(["tcp/80", "tcp/443", "udp", "icmp/8"])) == "tcp/80, tcp/443, udp, icmp/8"
    with pytest.raises(ValueError):
        svc.parse(["udp/1:2"])


def test_a_traffic_flow_end_must_select_one_endpoint(scenario_file):
    path = scenario_file("""
traffic:
  flows:
    - {name: f, from: {network: web-net}, to: {tag: nothing}, rate_kbps: 100}
""")
    with pytest.raises(ScenarioError) as caught:
        run_file(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:{BASE.count(chr(10)) + 4}: traffic.flows[0].to: a traffic flow's end must select one endpoint, not 0"]


def test_link_names_resolve_to_the_simulators_link_ids(scenario_file):
    run = run_file(scenario_file("""
links:
  uplink:edge/out: {capacity_kbps: 500}
traffic:
  duration_s: 1
  flows:
    - {name: up, from: web-1, to: internet, protocol: udp, destination_port: 9, rate_kbps: 2000}
expect:
  - name: the 500 kbit/s uplink caps the upload
    qos: {flow: up, min_throughput_kbps: 1000}
"""))
    assert run.results[0].status == "fail"
    assert run.results[0].details["delivered_kbps"] <= 520


def test_an_unknown_link_name_is_a_problem_with_its_line(scenario_file):
    path = scenario_file("""
links:
  uplink:nowhere/out: {capacity_kbps: 500}
  pipe: {capacity_kbps: 1}
""")
    with pytest.raises(ScenarioError) as caught:
        run_file(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:{BASE.count(chr(10)) + 3}: links.uplink:nowhere/out: router 'nowhere' is not defined",
        f"{path}:{BASE.count(chr(10)) + 4}: links.pipe: 'pipe' is neither a link kind (port, router, router_uplink, shaper) nor a link "
        f"named 'port:NAME/tx|rx', 'router:NAME' or 'uplink:ROUTER/in|out'",
    ]
