"""Read a subunit v2 stream on stdin (``stestr last --subunit``); print JSON: passed, failed
with the last line of each traceback, skipped with each reason. Runs in the tempest virtualenv."""

import json
import sys

import subunit
import testtools


class Collect(testtools.StreamResult):
    def __init__(self):
        super().__init__()
        self.outcomes, self.details = {}, {}

    def status(self, test_id=None, test_status=None, file_name=None, file_bytes=None, **_):
        if test_id is None:
            return
        if file_bytes:
            self.details.setdefault(test_id, {}).setdefault(file_name, b"")
            self.details[test_id][file_name] += bytes(file_bytes)
        if test_status in ("success", "fail", "skip", "xfail", "uxsuccess"):
            self.outcomes[test_id] = test_status


def reason(details: dict) -> str:
    text = (details.get("traceback") or details.get("reason") or b"").decode(errors="replace").strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip()[:400] if lines else "(no detail)"


def main() -> None:
    result = Collect()
    result.startTestRun()
    subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout").run(result)
    result.stopTestRun()
    out = {"passed": [], "failed": {}, "skipped": {}}
    for test_id, status in result.outcomes.items():
        name = test_id.split("[")[0]
        if status == "success":
            out["passed"].append(name)
        elif status in ("fail", "uxsuccess"):
            out["failed"][test_id] = reason(result.details.get(test_id, {}))
        else:
            out["skipped"][name] = reason(result.details.get(test_id, {}))
    json.dump(out, sys.stdout)


main()
