"""``xloudnet scenario schema|check``: the scenario format for editors, and a quick validity check."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def add_scenario_command(commands) -> None:
    p = commands.add_parser("scenario", help="scenario files: JSON Schema for editors, validity check")
    sub = p.add_subparsers(dest="scenario_command", required=True, metavar="ACTION")
    schema = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.add_argument("--output", "-o", type=Path, help="write it to this file instead")
    schema.set_defaults(func=schema_command)
    check = sub.add_parser("check", help="validate files (schema, references, provisioning); no intents")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.add_argument("--json", action="store_true", help="problems as JSON")
    check.set_defaults(func=check_command)


def schema_command(args) -> int:
    from ..scenarios.schema import json_schema

    text = json.dumps(json_schema(), indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    else:
        print(text)
    return 0


def check_command(args) -> int:
    from ..scenarios.loader import ScenarioError
    from ..scenarios.runner import build

    problems = []
    for path in args.files:
        try:
            build(path)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if args.json:
        print(json.dumps({"valid": not problems, "problems": [p.as_dict() for p in problems]}, indent=2))
    else:
        for problem in problems:
            print(problem, file=sys.stderr)
        if not problems:
            print(f"{len(args.files)} scenario(s) valid")
    return 2 if problems else 0
