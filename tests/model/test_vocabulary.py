"""The one vocabulary in ``xloudnet.model``: protocol names and numbers, the service key,
dispositions and trace stages/actions — and that answers speak it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from xloudnet.model import REACHABLE, Action, Disposition, Stage, services
from xloudnet.model.protocols import (
    CANONICAL_NAMES,
    IPV6_ONLY_PROTOCOLS,
    PROTOCOL_NUMBERS,
    ipv6_rule_protocol,
    protocol_name,
    protocol_number,
)


@pytest.mark.parametrize("given, version, number", [
    ("tcp", 4, 6), ("TCP", 4, 6), ("6", 4, 6), (6, 4, 6), ("icmp", 4, 1), ("icmp", 6, 58), (1, 6, 58),
    ("icmpv6", 6, 58), ("ipv6-icmp", 6, 58), (None, 4, None), ("any", 4, None), (0, 4, None), ("0", 6, None),
])
def test_protocol_names_and_numbers_mean_the_same_protocol_and_icmp_on_ipv6_is_58(given, version, number):
    assert protocol_number(given, version) == number


@pytest.mark.parametrize("bad", ["tcpx", 256, -1, True, "1.5"])
def test_unknown_protocols_are_refused(bad):
    with pytest.raises(ValueError):
        protocol_number(bad)


def test_answers_use_canonical_names_never_the_legacy_alias():
    assert protocol_name(58) == "ipv6-icmp" and protocol_name(6) == "tcp" and protocol_name(253) == "253"
    assert protocol_name(0) == "any"
    assert "icmpv6" in PROTOCOL_NUMBERS and "icmpv6" not in CANONICAL_NAMES.values()
    assert CANONICAL_NAMES[0] == "ip"  # neutron-lib: the later name wins
    assert IPV6_ONLY_PROTOCOLS >= {PROTOCOL_NUMBERS["ipv6-icmp"], PROTOCOL_NUMBERS["ipv6-frag"]}


@pytest.mark.parametrize("stored, rewritten", [("icmp", "ipv6-icmp"), ("icmpv6", "ipv6-icmp"), ("1", "58"),
                                                ("tcp", "tcp"), (None, None), ("58", "58")])
def test_ipv6_rules_store_icmp_as_ipv6_icmp(stored, rewritten):
    assert ipv6_rule_protocol(stored) == rewritten


@given(st.booleans(), st.integers(0, 255), st.integers(0, 0xFFFF))
def test_service_keys_unpack_to_what_was_packed(v6, protocol, value):
    key = services.pack(int(v6), protocol, value)
    assert services.unpack(key) == (int(v6), protocol, value)
    assert services.family_span(v6)[0] <= key <= services.family_span(v6)[1]
    assert services.protocol_span(v6, protocol)[0] <= key <= services.protocol_span(v6, protocol)[1]


@given(st.integers(0, 255), st.integers(0, 255))
def test_icmp_type_and_code_round_trip_and_a_type_is_one_contiguous_range(kind, code):
    value = services.icmp_value(kind, code)
    assert services.icmp_type_code(value) == (kind, code)
    assert services.icmp_value(kind, 0) <= value <= services.icmp_value(kind, 255)


def test_service_keys_pack_numpy_columns_like_ints():
    np = pytest.importorskip("numpy")
    v6, proto, value = np.array([0, 1]), np.array([6, 58]), np.array([22, services.icmp_value(128, 0)])
    keys = services.pack(v6, proto, value)
    assert keys.tolist() == [services.pack(0, 6, 22), services.pack(1, 58, services.icmp_value(128, 0))]


def test_reachable_is_accepted_or_exits_network():
    assert REACHABLE == {Disposition.ACCEPTED, Disposition.EXITS_NETWORK}
    assert "ACCEPTED" in REACHABLE and "DENIED_INGRESS" not in REACHABLE


def test_vocabulary_serialises_as_its_plain_strings():
    hop = {"stage": Stage.EGRESS_SECURITY_GROUP, "action": Action.PERMIT, "disposition": Disposition.ACCEPTED}
    assert json.dumps(hop) == '{"stage": "egress-security-group", "action": "PERMIT", "disposition": "ACCEPTED"}'
    assert f"{Stage.QOS_INGRESS}" == "qos-ingress"


ROOT = Path(__file__).resolve().parents[2]


def test_the_semantics_document_names_every_disposition_stage_and_action():
    text = (ROOT / "docs" / "semantics.md").read_text()
    for name in [*Disposition, *Stage, *Action]:
        assert f"`{name}`" in text, name


def test_code_docs_and_tests_cite_nothing_outside_the_repository():
    outside = ("DESIGN" + ".md", "../" + "shared", "/work/" + "shared", "spec/" + "neutron-api", "anchors" + ".md")
    files = [ROOT / "README.md", ROOT / "pyproject.toml"]
    for folder in ("src", "docs", "tests", "benchmarks"):
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md", ".toml", ".yaml", ".yml")]
    cited = [f"{p.relative_to(ROOT)}: {needle}" for p in files for needle in outside if needle in p.read_text()]
    assert cited == []
