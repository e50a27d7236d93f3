"""A scenario file may give a floating IP port forwardings; intents see through them."""

import pytest

from xloudnet.scenarios.loader import ScenarioError
from xloudnet.scenarios.runner import run_file

FORWARDING = """
floating_ips:
  - floating_network: public
    floating_ip_address: 203.0.113.77
    port_forwardings:
      - {port: db-1, protocol: tcp, external_port: 15432, internal_port: 5432}
      - {port: web-1, protocol: tcp, external_port_range: "8000:8009", internal_port: 80}
expect:
  - name: forwarded to web
    reach: {from: internet, to: {ip_address: 203.0.113.77}, protocol: tcp, port: 8003}
  - name: db forwarding meets db's groups
    reach: {from: internet, to: {ip_address: 203.0.113.77}, protocol: tcp, port: 15432, disposition: DENIED_INGRESS}
  - name: anything else is the router's
    reach: {from: internet, to: {ip_address: 203.0.113.77}, protocol: icmp}
"""


def test_a_scenarios_port_forwardings_are_provisioned_and_followed(scenario_file):
    run = run_file(scenario_file(FORWARDING), traffic=False)
    assert [(r.name, r.status) for r in run.results] == [
        ("forwarded to web", "pass"), ("db forwarding meets db's groups", "pass"),
        ("anything else is the router's", "pass")]


def test_port_forwardings_on_a_floating_ip_with_a_port_are_a_problem_at_their_line(scenario_file):
    with pytest.raises(ScenarioError) as caught:
        run_file(scenario_file("""
floating_ips:
  - floating_network: public
    port: db-1
    port_forwardings: [{port: web-1, external_port: 1, internal_port: 1}]
"""))
    assert "cannot have port forwardings" in str(caught.value)


def test_a_forwarding_the_api_refuses_is_reported_with_its_location(scenario_file):
    with pytest.raises(ScenarioError) as caught:
        run_file(scenario_file("""
floating_ips:
  - floating_network: public
    port_forwardings:
      - {port: web-1, external_port: 80, internal_port: 80}
      - {port: db-1, external_port: 80, internal_port: 5432}
"""))
    assert "port collision" in str(caught.value) and "port_forwardings" in str(caught.value)


EXPOSURE = """
floating_ips:
  - floating_network: public
    floating_ip_address: 203.0.113.78
    port_forwardings:
      - {port: web-1, protocol: tcp, external_port_range: "8000:8009", internal_port: 80}
      - {port: db-1, protocol: tcp, external_port: 2222, internal_port: 22}
expect:
  - name: only web is exposed
    exposure:
      from: internet
      within:
        - {to: web-1, services: [tcp/80]}
"""


def test_exposure_counts_ports_reached_through_a_port_forwarding(scenario_file):
    """web-1 (its own floating IP: tcp/80) is also reached on tcp 8000-8009 through the
    forwarding floating IP; db-1's forwarding meets its groups, so db-1 stays unexposed."""
    [result] = run_file(scenario_file(EXPOSURE), traffic=False).results
    assert result.status == "fail"
    assert "web-1 on tcp/8000-8009" in result.summary and "db-1" not in result.summary
    answer = result.counterexample["answer"]
    assert answer["disposition"] == "ACCEPTED" and answer["flow"]["destination_ip"] == "203.0.113.78"
