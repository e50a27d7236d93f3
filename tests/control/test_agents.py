"""``/v2.0/agents``: the simulated OVS, L3 and DHCP agents, admin only (Neutron's get_agent policy)."""

from __future__ import annotations

AGENTS = "/v2.0/agents"


def _error(body):
    return body["NeutronError"]["type"]


def test_admin_lists_the_simulated_ovs_l3_and_dhcp_agents_alive(call, admin):
    status, body = call(admin, "GET", AGENTS)
    assert status == 200
    kinds = {a["agent_type"]: a for a in body["agents"]}
    assert set(kinds) == {"Open vSwitch agent", "L3 agent", "DHCP agent"}
    assert all(a["alive"] and a["admin_state_up"] and a["host"] == "xloudnet" for a in kinds.values())
    assert kinds["L3 agent"]["configurations"]["agent_mode"] == "legacy"
    assert " " in kinds["L3 agent"]["heartbeat_timestamp"] and "T" not in kinds["L3 agent"]["created_at"]


def test_agent_type_filter_ignores_case_as_neutrons_mysql_does(call, admin):
    for spelling in ("DHCP agent", "DHCP Agent", "dhcp AGENT"):
        dhcp = call(admin, "GET", AGENTS, query=[("agent_type", spelling)])[1]["agents"]
        assert [a["binary"] for a in dhcp] == ["neutron-dhcp-agent"]
    assert call(admin, "GET", AGENTS, query=[("agent_type", "DHCP")])[1]["agents"] == []
    l3 = call(admin, "GET", AGENTS, query=[("agent_type", "L3 agent")])[1]["agents"]
    assert [a["binary"] for a in l3] == ["neutron-l3-agent"]


def test_members_see_no_agents_and_showing_one_is_404(call, admin, demo):
    agent = call(admin, "GET", AGENTS)[1]["agents"][0]
    assert call(demo, "GET", AGENTS) == (200, {"agents": []})
    status, body = call(demo, "GET", f"{AGENTS}/{agent['id']}")
    assert (status, _error(body)) == (404, "AgentNotFound")
    status, body = call(demo, "PUT", f"{AGENTS}/{agent['id']}", {"agent": {"description": "x"}})
    assert (status, _error(body)) == (404, "AgentNotFound")


def test_admin_updates_admin_state_and_description_and_they_stay(call, admin):
    agent = call(admin, "GET", AGENTS)[1]["agents"][0]
    status, body = call(admin, "PUT", f"{AGENTS}/{agent['id']}", {"agent": {"admin_state_up": False, "description": "d"}})
    assert status == 200 and (body["agent"]["admin_state_up"], body["agent"]["description"]) == (False, "d")
    shown = call(admin, "GET", f"{AGENTS}/{agent['id']}")[1]["agent"]
    assert (shown["admin_state_up"], shown["description"]) == (False, "d")


def test_updating_a_read_only_agent_attribute_is_400(call, admin):
    agent = call(admin, "GET", AGENTS)[1]["agents"][0]
    assert call(admin, "PUT", f"{AGENTS}/{agent['id']}", {"agent": {"host": "elsewhere"}})[0] == 400


def test_unknown_agent_is_404_for_show_update_and_delete(call, admin):
    for method, body in (("GET", None), ("PUT", {"agent": {"description": "x"}}), ("DELETE", None)):
        status, answer = call(admin, method, f"{AGENTS}/00000000-0000-0000-0000-000000000000", body)
        assert (status, _error(answer)) == (404, "AgentNotFound")


def test_agent_ids_are_stable_across_planes(call, admin):
    from xloudnet.control.plane import ControlPlane

    ours = {a["id"] for a in call(admin, "GET", AGENTS)[1]["agents"]}
    assert ours == {a["id"] for a in ControlPlane().agents._records()}
