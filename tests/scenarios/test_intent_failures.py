"""Every intent kind fails when the network disagrees, and shows a counter-example flow with its
explained trace."""

from scenario_cases import BASE

from xloudnet.scenarios.runner import run_file


def only_result(path):
    run = run_file(path)
    assert len(run.results) == 1
    return run.results[0]


def test_failing_reach_names_the_pair_and_the_rule_that_stops_it(scenario_file):
    result = only_result(scenario_file("""
expect:
  - name: db reaches web on 22
    reach: {from: db-1, to: web-1, protocol: tcp, port: 22}
"""))
    assert result.status == "fail"
    answer = result.counterexample["answer"]
    assert answer["disposition"] == "DENIED_INGRESS"
    assert answer["hops"][-1]["stage"] == "ingress-security-group"
    assert result.counterexample["from"] == "db-1" and result.counterexample["to"] == "web-1"


def test_reach_with_an_expected_disposition_fails_when_the_flow_gets_through(scenario_file):
    result = only_result(scenario_file("""
expect:
  - name: web to db postgres is denied
    reach: {from: web-1, to: db-1, protocol: tcp, port: 5432, disposition: DENIED_INGRESS}
"""))
    assert result.status == "fail" and "ACCEPTED" in result.summary
    assert result.counterexample["answer"]["disposition"] == "ACCEPTED"


def test_reach_to_a_port_is_not_met_by_a_packet_that_leaves_the_cloud(scenario_file):
    # web-1's address as seen from another tenant's network is not web-1: the packet exits.
    result = only_result(scenario_file("""
  - {name: other, project: other, network: other-net}
expect:
  - name: another tenant reaches web-1 by its private address
    reach: {from: other, to: web-1, protocol: tcp, port: 80}
""", base=BASE.replace(
        "  - {name: db-net}\n", "  - {name: db-net}\n  - {name: other-net, project: other}\n").replace(
        "  - {name: db-sub, network: db-net, cidr: 10.0.2.0/24}\n",
        "  - {name: db-sub, network: db-net, cidr: 10.0.2.0/24}\n"
        "  - {name: other-sub, project: other, network: other-net, cidr: 10.9.0.0/24}\n").replace(
        "routers:\n", "routers:\n  - {name: other-router, project: other, external_gateway_info: {network: public}, "
        "interfaces: [other-sub]}\n")))
    assert result.status == "fail"
    assert result.counterexample["answer"]["disposition"] == "EXITS_NETWORK"


def test_failing_isolated_shows_a_flow_that_gets_through(scenario_file):
    result = only_result(scenario_file("""
expect:
  - name: web and db are isolated
    isolated: {from: {tag: web}, to: {tag: db}}
"""))
    assert result.status == "fail" and "tcp/5432" in result.summary
    answer = result.counterexample["answer"]
    assert answer["disposition"] == "ACCEPTED" and answer["flow"]["destination_port"] == 5432


def test_only_fails_on_an_extra_service_and_explains_it(scenario_file):
    result = only_result(scenario_file("""
  - {name: web-2, network: web-net, security_groups: [web]}
expect:
  - name: web-2 reaches web-1 on nothing but ssh
    only: {from: web-2, to: web-1, services: [tcp/22]}
"""))
    assert result.status == "fail"
    assert "also allows tcp/80" in result.summary and "blocks tcp/22" in result.summary
    assert result.counterexample["answer"]["flow"]["destination_port"] == 80


def test_only_fails_on_a_missing_service(scenario_file):
    result = only_result(scenario_file("""
expect:
  - name: web to db is postgres and redis
    only: {from: web-1, to: db-1, services: [tcp/5432, tcp/6379]}
"""))
    assert result.status == "fail" and "blocks tcp/6379" in result.summary
    assert result.counterexample["answer"]["disposition"] == "DENIED_INGRESS"


def test_exposure_within_fails_on_an_unlisted_exposed_service(scenario_file):
    result = only_result(scenario_file("""
expect:
  - name: nothing faces the internet
    exposure: {within: []}
"""))
    assert result.status == "fail" and "web-1 on tcp/80" in result.summary
    answer = result.counterexample["answer"]
    assert answer["disposition"] == "ACCEPTED" and answer["hops"][0]["node"] == "external"
    assert any(h["stage"] == "dnat" for h in answer["hops"])


def test_exposure_equal_fails_on_a_listed_service_that_is_not_exposed(scenario_file):
    result = only_result(scenario_file("""
expect:
  - name: web serves http and https
    exposure: {equal: [{to: web-1, services: [tcp/80, tcp/443]}]}
"""))
    assert result.status == "fail" and "does not reach web-1 on tcp/443" in result.summary
    assert result.counterexample["answer"]["disposition"] == "DENIED_INGRESS"


def test_exposure_finds_outside_hosts_that_a_narrow_prefix_admits(scenario_file):
    # Only hosts in 192.0.2.0/24 may ssh in: exact exposure must find them (one host per class).
    result = only_result(scenario_file("""
  - {name: ops, network: web-net, security_groups: [office], floating_ip: public}
expect:
  - name: http only
    exposure: {within: [{to: {tag: web}, services: [tcp/80]}]}
""", base=BASE.replace(
        "security_groups:\n", "security_groups:\n  - name: office\n    rules:\n"
        "      - {direction: ingress, protocol: tcp, port_range_min: 22, port_range_max: 22, "
        "remote_ip_prefix: 192.0.2.0/24}\n")))
    assert result.status == "fail" and "ops on tcp/22" in result.summary
    source = result.counterexample["answer"]["flow"]["source_ip"]
    assert source.startswith("192.0.2.")


def test_failing_qos_intent_reports_the_measured_figures(scenario_file):
    result = only_result(scenario_file("""
qos_policies:
  - {name: slow, rules: [{type: bandwidth_limit, max_kbps: 1000, max_burst_kbps: 100, direction: egress}]}
traffic:
  duration_s: 1
  flows:
    - {name: upload, from: db-1, to: internet, protocol: udp, destination_port: 9, rate_kbps: 3000}
expect:
  - name: 2 Mbit/s upload
    qos: {flow: upload, min_throughput_kbps: 2000, max_loss: 0.1}
""", base=BASE.replace(
        "tags: [db]}", "tags: [db], qos_policy: slow}")))
    assert result.status == "fail"
    assert "delivered" in result.summary and "loss" in result.summary and "POLICED" in result.summary
    assert result.counterexample["measured"]["delivered_kbps"] < 2000
    assert any(h["stage"] == "qos-egress" for h in result.counterexample["answer"]["hops"])


def test_expected_failure_is_reported_as_xfail_and_does_not_fail_the_run(scenario_file):
    run = run_file(scenario_file("""
expect:
  - name: known gap
    expect_fail: true
    reach: {from: db-1, to: web-1, protocol: tcp, port: 22}
  - name: unexpectedly fine
    expect_fail: true
    reach: {from: web-1, to: db-1, protocol: tcp, port: 5432}
"""))
    assert [r.status for r in run.results] == ["xfail", "xpass"]
    assert not run.failed


def test_reach_fails_when_the_reply_of_a_stateless_group_is_dropped(scenario_file):
    # A stateless group admits the request but has no rule for the reply: no connection.
    base = BASE.replace("security_groups:\n", """security_groups:
  - name: quiet
    stateful: false
    keep_default_egress: false
    rules:
      - {direction: ingress, protocol: tcp, port_range_min: 8080, port_range_max: 8080, remote_ip_prefix: 10.0.0.0/8}
""")
    result = only_result(scenario_file("""
  - {name: svc, network: db-net, security_groups: [quiet]}
expect:
  - name: web reaches the stateless service
    reach: {from: web-1, to: svc, protocol: tcp, port: 8080}
""", base=base))
    assert result.status == "fail" and "ACCEPTED, reply DENIED_EGRESS" in result.summary
    assert result.counterexample["answer"]["return"]["disposition"] == "DENIED_EGRESS"


def test_the_internet_enters_on_the_external_network_of_its_destination(scenario_file):
    # Two external networks: the internet reaches each server through the network it sits on.
    # public has the lowest id: the "first external network", where a fixed entry would be.
    base = BASE.replace("{name: public, project: admin,", "{name: public, id: 00000000-0000-4000-8000-000000000001, "
                                                           "project: admin,")
    base = base.replace("  - {name: web-net}\n", "  - {name: web-net}\n  - {name: dmz, project: admin, external: true, "
                                                   "id: ffffffff-0000-4000-8000-000000000001}\n")
    base = base.replace("  - {name: web-sub,", "  - {name: dmz-sub, project: admin, network: dmz, cidr: 198.18.0.0/24}\n"
                                              "  - {name: web-sub,")
    run = run_file(scenario_file("""
  - {name: exposed, network: dmz, security_groups: [web]}
expect:
  - name: the internet reaches a server plugged into the second external network
    reach: {from: internet, to: exposed, protocol: tcp, port: 80}
  - name: and web-1 through its floating IP on the first
    reach: {from: internet, to: web-1, protocol: tcp, port: 80}
""", base=base))
    assert [r.status for r in run.results] == ["pass", "pass"]
