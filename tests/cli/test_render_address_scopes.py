"""A trace hop stopped for differing address scopes reads with both scopes named."""

from xloudnet.cli.render import hop_detail


def test_a_scope_refusal_names_both_scopes_by_label_or_as_no_scope():
    hop = {"node": "router:r", "stage": "route", "action": "DROP", "reason": "address scopes differ",
           "address_scopes": {"from": "s-blue", "to": None}}
    assert hop_detail(hop, {"s-blue": "address scope blue"}) == "address scopes differ (address scope blue → no scope)"
    assert hop_detail(hop) == "address scopes differ (s-blue → no scope)"
