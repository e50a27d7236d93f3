"""The vectorised engine against the per-packet reference (docs/semantics.md: both implement it).

(a) every hand-written case of ``test_reference_*.py`` also holds on the engine, through both
``reachability`` (one flow, with its trace) and ``evaluate_flows`` (a batch);
(b) on random topologies, for every random flow, engine and reference agree on the disposition,
reachability, the reply's disposition and the translated addresses.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import test_reference_address_groups
import test_reference_dhcp
import test_reference_forwarding
import test_reference_nat
import test_reference_port_forwarding
import test_reference_replies
import test_reference_scopes
import test_reference_security_groups
from reference import ReferenceQueryError, reference_reachability
from topologies import assert_case, flows, topologies
from xloudnet.analysis.reachability import reachability
from xloudnet.dataplane import QueryError, compile_tables, evaluate_flows

CASES = [
    *test_reference_security_groups.CASES,
    *test_reference_forwarding.CASES,
    *test_reference_nat.CASES,
    *test_reference_port_forwarding.CASES,
    *test_reference_replies.CASES,
    *test_reference_address_groups.CASES,
    *test_reference_scopes.CASES,
    *test_reference_dhcp.CASES,
]
ERRORS = test_reference_nat.ERRORS


def engine_answer(tables, query: dict) -> dict:
    """``reachability`` in the reference's key names: "flow" is the packet as finally delivered
    (the engine's ``delivered_flow``; its ``flow`` is the packet as sent)."""
    answer = reachability(tables, query)
    back = answer.get("return")
    return {
        "disposition": answer["disposition"],
        "reachable": answer["reachable"],
        "return_disposition": back["disposition"] if back else None,
        "flow": answer.get("delivered_flow") or answer["flow"],
        "sent_flow": answer["flow"],
        "return_flow": back.get("flow") if back else None,
        "delivered_to": answer.get("delivered_to"),
        "hops": answer.get("hops"),
    }


@pytest.mark.parametrize("c", CASES, ids=str)
def test_engine_reachability_matches_hand_case(c):
    """Every hand-written semantic case holds on the engine's single-flow analysis."""
    assert_case(engine_answer(compile_tables(c.build().snapshot()), c.query), c)


@pytest.mark.parametrize("c", CASES, ids=str)
def test_engine_batch_matches_hand_case(c):
    """Every hand-written semantic case holds on the engine's batch evaluation."""
    [got] = evaluate_flows(compile_tables(c.build().snapshot()), [c.query])
    assert (got["disposition"], got["return_disposition"]) == (c.disposition, c.return_disposition)
    assert got["reachable"] == (c.disposition in ("ACCEPTED", "EXITS_NETWORK"))


@pytest.mark.parametrize("name,build,q", ERRORS, ids=[e[0] for e in ERRORS])
def test_engine_refuses_invalid_queries(name, build, q):
    """Queries the reference refuses are refused by the engine with QueryError."""
    tables = compile_tables(build().snapshot())
    with pytest.raises(QueryError):
        reachability(tables, q)
    with pytest.raises(QueryError):
        evaluate_flows(tables, [q])


ADDRESSES = ("source_ip", "destination_ip", "source_port", "destination_port", "protocol")


def _compare(snapshot, tables, query: dict) -> None:
    """One query: same verdicts, and for reachable flows the same translated packet and owner."""
    try:
        want = reference_reachability(snapshot, query)
    except ReferenceQueryError:
        with pytest.raises(QueryError):
            reachability(tables, query)
        return
    got = engine_answer(tables, query)
    context = (query, want["hops"], got["hops"], want["return_hops"])
    for key in ("disposition", "reachable", "return_disposition"):
        assert got[key] == want[key], (key, got[key], want[key], context)
    for key in ADDRESSES:
        assert got["sent_flow"][key] == want["sent_flow"][key], (key, context)
    if want["reachable"]:
        assert got["delivered_to"] == want["delivered_to"], context
        for key in ADDRESSES:
            assert got["flow"][key] == want["flow"][key], (key, got["flow"], want["flow"], context)
    if want["return_disposition"] in ("ACCEPTED", "EXITS_NETWORK"):
        for key in ADDRESSES:
            assert got["return_flow"][key] == want["return_flow"][key], (key, got["return_flow"], context)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(st.data())
def test_engine_agrees_with_reference_on_random_topologies(data):
    """Random clouds, random flows: engine == reference, one by one and as one batch."""
    topo = data.draw(topologies(), label="topology")
    snapshot = topo.snapshot()
    tables = compile_tables(snapshot)
    queries = data.draw(st.lists(flows(topo), min_size=1, max_size=8), label="flows")
    valid = []
    for query in queries:
        _compare(snapshot, tables, query)
        try:
            valid.append((query, reference_reachability(snapshot, query)))
        except ReferenceQueryError:
            pass
    batch = evaluate_flows(tables, [q for q, _ in valid]) if valid else []
    for (query, want), got in zip(valid, batch):
        assert (got["disposition"], got["return_disposition"]) == (
            want["disposition"], want["return_disposition"]), (query, got, want["hops"])
