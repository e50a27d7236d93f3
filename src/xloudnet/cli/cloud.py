"""``xloudnet import`` and ``xloudnet apply``: a real cloud to a scenario file, and back.

Both log in as the ``openstack`` CLI does (``--os-cloud`` / clouds.yaml, ``OS_*``; see
``xloudnet.cloud.connection``) and talk to the cloud's Neutron endpoint through openstacksdk.
The scenario models, the planner and openstacksdk are imported when a command runs, as the
other commands do, so ``xloudnet serve`` and ``--help`` start without them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..cloud.connection import add_auth_options, connect

__all__ = ["add_cloud_commands"]

VERB_STYLE = {"create": "green", "update": "yellow", "unchanged": "dim"}


def add_cloud_commands(commands) -> None:
    """Register ``import`` and ``apply`` on the top-level parser's subcommands."""
    p = commands.add_parser("import", help="read a cloud's networking (any Neutron) into a scenario file")
    p.add_argument("-o", "--output", type=Path, help="write the scenario here (default: standard output)")
    p.add_argument("--name", help="the scenario's name (default: the cloud's)")
    p.add_argument("--json", action="store_true", help="write the scenario as JSON (which is YAML too)")
    add_auth_options(p, environ=os.environ)
    p.set_defaults(func=import_cloud)

    p = commands.add_parser("apply", help="provision a scenario file into a cloud (idempotent by name)")
    p.add_argument("file", type=Path, help="the scenario (YAML)")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--json", action="store_true", help="print the plan / the result as JSON")
    add_auth_options(p, environ=os.environ)
    p.set_defaults(func=apply_scenario)


def import_cloud(args: argparse.Namespace) -> int:
    from ..cloud.importer import scenario_yaml, to_scenario
    from ..cloud.inventory import describe, read_inventory

    console = Console(stderr=True)
    conn = connect(args, os.environ)
    started = time.perf_counter()
    with console.status("reading the cloud…") as status:
        inventory = read_inventory(conn, progress=lambda name, n: status.update(f"read {n} {name.replace('_', ' ')}"))
    scenario = to_scenario(inventory, args.name or getattr(args, "os_cloud", None) or "imported")
    if args.json:
        text = scenario.model_dump_json(by_alias=True, exclude_defaults=True, indent=1) + "\n"
    else:
        text = scenario_yaml(scenario)
    elapsed = time.perf_counter() - started
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
    where = f" → {args.output}" if args.output else ""
    console.print(f"imported {describe(inventory)} in {elapsed:.2f} s{where}")
    return 0


def apply_scenario(args: argparse.Namespace) -> int:
    from ..cloud.apply import ApplyError, plan
    from ..cloud.inventory import read_inventory
    from ..scenarios.loader import ScenarioError, load

    try:
        scenario, _source = load(args.file)
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    conn = connect(args, os.environ)
    console = Console(stderr=args.json)
    try:
        steps = plan(scenario, read_inventory(conn), conn)
        if args.dry_run:
            _show_plan(console, steps, args.json)
            return 0
        counts = _execute(console, steps)
    except ApplyError as exc:
        print(f"xloudnet: {args.file}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"applied": counts, "steps": [s.as_dict() for s in steps]}, indent=2))
    else:
        console.print(f"applied {args.file}: {_summary(counts)}")
    return 0


def _execute(console: Console, steps: list) -> dict[str, int]:
    from ..cloud.apply import execute

    todo = sum(1 for s in steps if s.run is not None)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, disable=todo < 20) as progress:
        task = progress.add_task("applying", total=len(steps))
        return execute(steps, progress=lambda step: progress.advance(task))


def _show_plan(console: Console, steps: list, as_json: bool) -> None:
    counts = {verb: sum(1 for s in steps if s.verb == verb) for verb in VERB_STYLE}
    if as_json:
        print(json.dumps({"plan": [s.as_dict() for s in steps], "summary": counts}, indent=2))
        return
    table = Table(title="plan (dry run: nothing changed)")
    for column in ("action", "kind", "name", "project", "detail"):
        table.add_column(column)
    for step in steps:
        style = VERB_STYLE[step.verb]
        table.add_row(f"[{style}]{step.verb}[/]", step.kind, step.name, step.project, step.detail)
    console.print(table)
    console.print(_summary(counts))


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(verb, 0)} {verb}" for verb in VERB_STYLE)
