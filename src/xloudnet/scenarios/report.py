"""Machine-readable reports of scenario runs: one JSON document and JUnit XML (each intent a
test case, so CI systems list them; a bad scenario is one errored case naming every problem)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from .intents import ERROR, FAIL, XFAIL, XPASS
from .loader import ScenarioError
from .runner import ScenarioRun


def summary(runs: list[ScenarioRun], bad: dict[str, ScenarioError]) -> dict:
    counts = {"pass": 0, "fail": 0, "xfail": 0, "xpass": 0, "error": 0}
    for run in runs:
        for result in run.results:
            counts[result.status] += 1
    return {"intents": counts, "scenarios": len(runs) + len(bad), "bad_scenarios": len(bad),
            "exit_status": exit_status(runs, bad)}


def exit_status(runs: list[ScenarioRun], bad: dict[str, ScenarioError]) -> int:
    """2 for a bad scenario, else 1 when an intent fails, else 0."""
    if bad:
        return 2
    return 1 if any(run.failed for run in runs) else 0


def as_json(runs: list[ScenarioRun], bad: dict[str, ScenarioError]) -> dict:
    return {"summary": summary(runs, bad), "runs": [run.as_dict() for run in runs],
            "bad_scenarios": [{"file": file, "problems": [p.as_dict() for p in error.problems]}
                              for file, error in bad.items()]}


def junit_xml(runs: list[ScenarioRun], bad: dict[str, ScenarioError]) -> str:
    suites = ET.Element("testsuites", name="xloudnet scenarios")
    for run in runs:
        suite = ET.SubElement(suites, "testsuite", name=run.name, file=run.file, tests=str(len(run.results)),
                              failures=str(sum(r.status == FAIL for r in run.results)),
                              errors=str(sum(r.status == ERROR for r in run.results)),
                              skipped=str(sum(r.status == XFAIL for r in run.results)),
                              time=f"{run.timings.get('total', 0):.3f}")
        for result in run.results:
            case = ET.SubElement(suite, "testcase", classname=run.name, name=result.name)
            body = result.summary
            if result.counterexample:
                body += "\n" + json.dumps(result.counterexample.get("answer"), indent=1)[:20000]
            if result.status == FAIL:
                ET.SubElement(case, "failure", message=result.summary, type=result.kind).text = body
            elif result.status == ERROR:
                ET.SubElement(case, "error", message=result.summary, type=result.kind).text = body
            elif result.status == XFAIL:
                ET.SubElement(case, "skipped", message=f"expected failure: {result.summary}")
            elif result.status == XPASS:
                ET.SubElement(case, "system-out").text = f"passed although marked expect_fail: {result.summary}"
    for file, error in bad.items():
        suite = ET.SubElement(suites, "testsuite", name=file, file=file, tests="1", failures="0", errors="1")
        case = ET.SubElement(suite, "testcase", classname=file, name="scenario is valid")
        text = "\n".join(str(p) for p in error.problems)
        ET.SubElement(case, "error", message=f"{len(error.problems)} problem(s)", type="ScenarioError").text = text
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


__all__ = ["as_json", "junit_xml", "summary", "exit_status"]
