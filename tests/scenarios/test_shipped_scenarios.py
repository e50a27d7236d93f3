"""Every scenario shipped in scenarios/ meets its intents (the expected failures fail)."""

import pytest

from xloudnet.scenarios.loader import load
from xloudnet.scenarios.runner import run_file

from scenario_cases import SHIPPED


def test_the_promised_examples_are_shipped():
    names = {p.stem for p in SHIPPED}
    assert {"three-tier", "two-tenants", "transit", "transit-loop", "dual-stack", "qos-capacity",
            "leaky-audit", "address-scopes"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_meets_its_intents(path):
    run = run_file(path)
    assert run.results, "a shipped scenario states intents"
    wrong = [(r.name, r.status, r.summary) for r in run.results
             if r.status not in ("pass", "xfail")]
    assert not wrong
    marked = {i.name for i in load(path)[0].expect
              if i.expect_fail}
    assert {r.name for r in run.results if r.status == "xfail"} == marked


def test_the_leaky_audit_shows_an_expected_failure_with_its_trace():
    run = run_file(next(p for p in SHIPPED if p.stem == "leaky-audit"))
    xfail = [r for r in run.results if r.status == "xfail"]
    assert len(xfail) == 1 and not run.failed
    counter = xfail[0].counterexample
    assert counter["answer"]["disposition"] == "ACCEPTED"
    assert any(h["stage"] == "ingress-security-group" and h["action"] == "PERMIT" for h in counter["answer"]["hops"])
