"""``xloudnet scenario schema|check``: the scenario format for editors, and a quick validity check."""

from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["add_scenario_command", "load_for_serve"]


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


def load_for_serve(path: Path, plane, identity) -> bool:
    """Provision ``path`` into the server's fresh ``plane`` before it serves; its projects are the
    identity service's projects of the same names (created, with no user, when missing). Prints
    the problems and returns False when the file is bad.

    The plane's id factory is wrapped in a ``PresetIds`` so the file's ``id:`` fields are kept
    (only here: a server without a scenario never loads the scenario package)."""
    from ..identity.records import DEFAULT_DOMAIN_ID
    from ..scenarios.loader import ScenarioError, load
    from ..scenarios.provision import PresetIds, project_ids, provision

    plane.ids = PresetIds(plane.ids)

    try:
        scenario, source = load(path)
        projects = {}
        for name in project_ids(scenario):
            found = identity.directory.project_named(name, DEFAULT_DOMAIN_ID)
            projects[name] = (found or identity.directory.add_project(name, DEFAULT_DOMAIN_ID)).id
        provision(scenario, source, plane, projects=projects, ids=plane.ids)
    except ScenarioError as exc:
        print("\n".join(str(p) for p in exc.problems), file=sys.stderr)
        return False
    print(f"scenario {path}: {len(plane.store.table('ports'))} ports provisioned", flush=True)
    return True
