"""``xloudnet run FILE [FILE...]``: the main job — provision each scenario into an embedded control
plane, run its traffic, check its intents, report.

Exit status: 0 when every intent holds (expected failures included), 1 when one fails, 2 when a
scenario is bad (every problem printed as ``FILE:LINE: PATH: MESSAGE``).
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .render import hop_detail

STATUS_STYLE = {"pass": "[bold green]PASS[/]", "fail": "[bold red]FAIL[/]", "xfail": "[yellow]XFAIL[/]",
                "xpass": "[magenta]XPASS[/]", "error": "[bold red]ERROR[/]"}


def add_run_command(commands) -> None:
    p = commands.add_parser("run", help="check scenario files: provision, simulate traffic, verify every intent",
                            description="Provision each scenario into an embedded control plane (no server), run "
                                        "its traffic, check its expect: intents and report. Exit 0: all hold; "
                                        "1: an intent fails; 2: a scenario is bad.")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE",
                   help="scenario YAML files (a directory: every *.yaml / *.yml in it)")
    p.add_argument("--report", type=Path, metavar="DIR", help="write report.json, junit.xml and PNG plots here")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of tables")
    p.add_argument("--no-traffic", action="store_true", help="skip the traffic simulation (QoS intents then error)")
    p.add_argument("--quiet", "-q", action="store_true", help="only the summary and failures")
    p.set_defaults(func=run_command)


def run_command(args) -> int:
    from ..scenarios.loader import Problem, ScenarioError
    from ..scenarios.report import as_json, exit_status
    from ..scenarios.runner import run_file

    # A 10k-port scenario keeps ~10^6 objects alive; with the default thresholds the cyclic
    # collector re-walks them all over and more than doubles the run (as in `serve`).
    gc.set_threshold(50_000, 20, 10)
    console = Console(stderr=args.json)
    errors = Console(stderr=True)
    runs, bad = [], {}
    files = [f for path in args.files
             for f in (sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path])]
    columns = (TextColumn("{task.description:<40}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
               TimeElapsedColumn())
    with Progress(*columns, console=errors, transient=True, disable=not errors.is_terminal) as bar:
        task = bar.add_task("", total=len(files))
        for number, path in enumerate(files):
            def note(stage: str, fraction: float, path=path, number=number) -> None:
                bar.update(task, description=f"{path.name}: {stage}", completed=number + min(fraction, 1.0) * 0.9)
            try:
                runs.append(run_file(path, note, traffic=not args.no_traffic))
            except ScenarioError as exc:
                bad[str(path)] = exc
            except Exception as exc:  # noqa: BLE001 - a bug still gets one line, and the other files run
                bad[str(path)] = ScenarioError([Problem(str(path), None, "", f"internal error: "
                                                                             f"{type(exc).__name__}: {exc}")])
            bar.update(task, completed=number + 1)
    document = as_json(runs, bad)
    for file, exc in bad.items():
        sys.stderr.write("".join(f"{problem}\n" for problem in exc.problems))  # one line each, unwrapped
    sys.stderr.flush()
    if args.json:
        print(json.dumps(document, indent=2, default=str))
    else:
        for run in runs:
            render_run(console, run, args.quiet)
        render_summary(console, document["summary"])
    if args.report:
        write_report(args.report, runs, bad, document)
        console.print(f"report written to {args.report}/ (report.json, junit.xml, plots)")
    return exit_status(runs, bad)


def render_run(console: Console, run, quiet: bool = False) -> None:
    if quiet and all(r.status == "pass" for r in run.results):
        console.print(f"{run.name}: {len(run.results)} intent(s) hold", highlight=False)
        return
    table = Table(title=f"{run.name}  ({run.file})", title_justify="left", header_style="bold")
    for column in ("status", "intent", "kind", "result"):
        table.add_column(column, overflow="fold")
    for result in run.results:
        if quiet and result.status == "pass":
            continue
        table.add_row(STATUS_STYLE[result.status], result.name, result.kind, result.summary)
    console.print(table)
    if run.simulation and not quiet:
        from .simulate import render_result

        render_result(console, run.simulation)
    for result in run.results:
        if result.counterexample and result.status in ("fail", "xfail"):
            render_counterexample(console, result, run.labels)


def render_counterexample(console: Console, result, labels: dict) -> None:
    counter = result.counterexample
    answer = counter.get("answer") or {}
    flow = answer.get("flow") or {}
    tag = "expected failure" if result.status == "xfail" else "counter-example"
    console.print(f"\n[bold]{tag}[/] for [bold]{result.name}[/]: {counter['from']} → {counter['to']}  "
                  f"{_flow_text(flow)}  ⇒  {answer.get('disposition', '?')}")
    if counter.get("measured"):
        console.print(f"measured: {counter['measured']}")
    console.print(trace_table("forward path", answer.get("hops", []), labels))
    back = answer.get("return")
    if back:
        console.print(trace_table(f"return path ⇒ {back.get('disposition')}", back.get("hops", []), labels))


def _flow_text(flow: dict) -> str:
    from ..scenarios.services import NAMES

    proto = flow.get("protocol")
    name = NAMES.get(proto, str(proto)) if proto is not None else "any"
    port = flow.get("destination_port")
    if flow.get("icmp_type") is not None:
        port = f"type {flow['icmp_type']} code {flow.get('icmp_code')}"
    return f"{flow.get('source_ip', '?')} → {flow.get('destination_ip', '?')} {name}" + (f"/{port}" if port is not None else "")


def trace_table(title: str, hops: list[dict], labels: dict) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in ("#", "node", "stage", "action", "deciding entry / reason"):
        table.add_column(column, overflow="fold")
    for number, hop in enumerate(hops, 1):
        kind, _, rid = str(hop.get("node", "")).partition(":")
        node = labels.get(rid, hop.get("node", "")) if rid else hop.get("node", "")
        action = hop.get("action", "")
        shown = f"[red]{action}[/]" if action in ("DENY", "DROP") else action
        table.add_row(str(number), node, hop.get("stage", ""), shown, hop_detail(hop, labels))
    return table


def render_summary(console: Console, summary: dict) -> None:
    counts = summary["intents"]
    parts = [f"{counts[k]} {k}" for k in ("pass", "fail", "xfail", "xpass", "error") if counts[k]]
    status = summary["exit_status"]
    verdict = {0: "[bold green]all intents hold[/]", 1: "[bold red]intents fail[/]",
               2: "[bold red]bad scenario(s)[/]"}[status]
    console.print(f"\n{verdict}: {', '.join(parts) or 'no intents'} in {summary['scenarios']} scenario(s)",
                  highlight=False)


def write_report(directory: Path, runs, bad, document: dict) -> None:
    from ..scenarios.report import junit_xml

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(document, indent=2, default=str))
    (directory / "junit.xml").write_text(junit_xml(runs, bad))
    if runs:
        plot_intents(runs, directory / "intents.png")
    for run in runs:
        if run.simulation:
            from .simulate import plot_result

            plot_result(run.simulation, directory / f"{Path(run.file).stem}-traffic.png")


def plot_intents(runs, path: Path) -> None:
    """One bar per intent, coloured by outcome, grouped by scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"pass": "#2e7d32", "fail": "#c62828", "xfail": "#f9a825", "xpass": "#8e24aa", "error": "#6d4c41"}
    rows = [(f"{run.name}: {r.name}", r.status, 1000 * r.details.get("elapsed_s", 0.0), r.checked)
            for run in runs for r in run.results]
    height = max(2.0, 0.32 * len(rows) + 1.0)
    fig, ax = plt.subplots(figsize=(11, height))
    ax.barh(range(len(rows)), [max(ms, 0.01) for _, _, ms, _ in rows], color=[colors[s] for _, s, _, _ in rows])
    ax.set_yticks(range(len(rows)), [f"{label}  [{status}, {n} checked]" for label, status, _, n in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("time to check (ms)")
    ax.set_title("intents: outcome (colour) and checking time")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(1)
