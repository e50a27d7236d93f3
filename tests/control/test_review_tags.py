"""Review: tag lists are neutron-lib ``list_of_unique_strings`` — repeats are refused, not merged.

Real Neutron validates ``{"tags": [...]}`` bodies of the tags API with
``validate_list_of_unique_strings`` and raises ``InvalidInput`` (400, "Invalid input for
operation: Duplicate items in the list: 'x'."); a port's ``tags`` attribute on POST uses the
same validator through the attribute map (400 ``HTTPBadRequest``).
"""

from __future__ import annotations

import pytest

NETS = "/v2.0/networks"
PORTS = "/v2.0/ports"


def error(body):
    return body["NeutronError"]["type"], body["NeutronError"]["message"]


@pytest.fixture
def network(call, demo):
    status, body = call(demo, "POST", NETS, {"network": {"name": "n"}})
    assert status == 201, body
    return body["network"]


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_tags_api_refuses_repeated_tags(call, demo, network, method):
    status, body = call(demo, method, f"{NETS}/{network['id']}/tags", {"tags": ["red", "blue", "red"]})

    assert status == 400
    assert error(body) == ("InvalidInput", "Invalid input for operation: Duplicate items in the list: 'red'.")
    _, body = call(demo, "GET", f"{NETS}/{network['id']}")
    assert body["network"]["tags"] == []
    assert body["network"]["revision_number"] == network["revision_number"]


def test_port_create_refuses_repeated_tags(call, demo, network):
    status, body = call(demo, "POST", PORTS, {"port": {"network_id": network["id"], "tags": ["a", "a"]}})

    assert status == 400
    assert error(body) == ("HTTPBadRequest", "Invalid input for tags. Reason: Duplicate items in the list: 'a'.")


def test_adding_tags_already_on_the_resource_is_still_fine(call, demo, network):
    assert call(demo, "PUT", f"{NETS}/{network['id']}/tags", {"tags": ["red"]})[0] == 200

    status, body = call(demo, "POST", f"{NETS}/{network['id']}/tags", {"tags": ["red", "blue"]})

    assert (status, sorted(body["tags"])) == (201, ["blue", "red"])
    assert call(demo, "PUT", f"{NETS}/{network['id']}/tags/red")[0] == 201
