"""``xloudnet sweep FILE``: a grid of simulations or analysis runs of one scenario, on Dask.

Exit status: 0 every point ran, 1 a point failed (its row says why), 2 the sweep could not run
(a bad sweep file — every problem as ``FILE:LINE: PATH: MESSAGE`` — or no cluster).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def add_workers_options(parser, what: str, default: str = "") -> None:
    """``--workers N`` / ``--scheduler ADDRESS`` (shared by ``sweep`` and ``matrix``)."""
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help=f"{what} on a local Dask cluster of N worker processes (one thread each){default}")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help=f"{what} on an existing Dask cluster, e.g. tcp://HOST:8786 (its workers need xloudnet)")
    parser.add_argument("--connect-timeout", type=float, default=10.0, metavar="S",
                        help="give up reaching --scheduler after S seconds (default 10)")


def add_sweep_command(commands) -> None:
    p = commands.add_parser("sweep", help="a grid of QoS simulations or analysis runs of a scenario, on Dask",
                            description="Expand FILE's axes into points (their Cartesian product), run each point "
                                        "— the base scenario with the point's values — as a simulation or analysis "
                                        "run on Dask, and gather the results into a table, JSON, CSV and PNG plots. "
                                        "Exit 0: every point ran; 1: a point failed; 2: bad sweep file or no cluster.")
    p.add_argument("file", type=Path, metavar="FILE", help="the sweep file (YAML; docs/sweeps.md)")
    add_workers_options(p, "run the points", "; the default, with N = 2")
    p.add_argument("--serial", action="store_true", help="run every point in this process, one after another (no Dask)")
    p.add_argument("--out", type=Path, metavar="DIR", help="write sweep.json, sweep.csv and sweep.png here")
    p.add_argument("--json", action="store_true", help="print the JSON document instead of the table")
    p.set_defaults(func=sweep_command)


def sweep_command(args) -> int:
    from ..scenarios.loader import ScenarioError
    from ..sweep.cluster import ClusterError, dask_client, run_on, run_serial
    from ..sweep.plan import load_sweep
    from ..sweep.report import document, plot, write_csv

    console = Console(stderr=args.json)
    errors = Console(stderr=True)
    try:
        sweep = load_sweep(args.file)
    except ScenarioError as exc:
        sys.stderr.write("".join(f"{problem}\n" for problem in exc.problems))
        return 2
    if args.serial and (args.workers is not None or args.scheduler):
        print("xloudnet: --serial runs in this process; drop --workers / --scheduler", file=sys.stderr)
        return 2
    tasks = sweep.tasks()
    where = ("in this process" if args.serial else f"on {args.scheduler}" if args.scheduler
             else f"on a local Dask cluster of {_workers(args.workers or 2)}")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    start = time.perf_counter()
    try:
        with Progress(*columns, console=errors, transient=True, disable=not errors.is_terminal) as bar:
            task = bar.add_task(f"{sweep.name}: starting", total=len(tasks))

            def done(result: dict) -> None:
                bar.update(task, advance=1, description=f"{sweep.name}: point {result['index']} {result['status']}")

            if args.serial:
                results = run_serial(tasks, done)
            else:
                with dask_client(args.workers or 2, args.scheduler, args.connect_timeout) as client:
                    bar.update(task, description=f"{sweep.name}: {where}")
                    results = run_on(client, tasks, done)
    except ClusterError as exc:
        print(f"xloudnet: {exc}", file=sys.stderr)
        return 2
    doc = document(sweep, results, where, time.perf_counter() - start)
    if args.json:
        print(json.dumps(doc, indent=2, default=str))
    else:
        render(console, doc)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "sweep.json").write_text(json.dumps(doc, indent=2, default=str))
        write_csv(doc, args.out / "sweep.csv")
        plot(doc, args.out / "sweep.png")
        console.print(f"written to {args.out}/ (sweep.json, sweep.csv, sweep.png)")
    for p in doc["points"]:
        if p.get("status") != "ok":
            print(f"xloudnet: point {p['index']} ({_labels(p)}): {p.get('error')}", file=sys.stderr)
    return 0 if doc["summary"]["errors"] == 0 else 1


def _workers(n: int) -> str:
    return f"{n} worker" + ("s" if n != 1 else "")


def _labels(point: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in point["labels"].items())


def _num(value, fmt: str = "{:.1f}") -> str:
    return "-" if value is None else fmt.format(value)


def render(console: Console, doc: dict) -> None:
    """One row per point: its axis values, then its figures (the focused flows' when the x axis
    is their offered load)."""
    axes = [a["name"] for a in doc["axes"]]
    flows = doc["plot"]["flows"]
    whose = f"; figures of {', '.join(flows)}" if flows else ""
    table = Table(title=f"sweep {doc['sweep']} ({doc['run']}; {doc['file']}{whose})", title_justify="left",
                  header_style="bold")
    table.add_column("#", justify="right")
    for name in axes:
        table.add_column(name)
    shown = [("offered kbps", "offered_kbps", "{:.0f}"), ("delivered kbps", "delivered_kbps", "{:.0f}"),
             ("loss %", "loss", None), ("p99 ms", "p99_ms", "{:.2f}")]
    run = doc["run"]
    has_sim = any("offered_kbps" in p for p in doc["points"])
    if has_sim:
        for title, _key, _fmt in shown:
            table.add_column(title, justify="right")
    if run == "intents":
        table.add_column("intents", justify="right")
        table.add_column("failing", overflow="fold")
    if run == "matrix":
        table.add_column("reachable pairs", justify="right")
    table.add_column("s", justify="right")
    table.add_column("status")
    for p in doc["points"]:
        row = [str(p["index"]), *(p["labels"][a] for a in axes)]
        source = p.get("focus") or p
        if has_sim:
            for _title, key, fmt in shown:
                value = source.get(key)
                row.append(_num(None if value is None else 100 * value, "{:.2f}") if key == "loss" else _num(value, fmt))
        if run == "intents":
            counts = p.get("intents") or {}
            row.append(", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "-")
            row.append("; ".join(p.get("failed") or []) or "-")
        if run == "matrix":
            row.append("-" if "pairs" not in p else f"{p['reachable_pairs']:,} / {p['pairs']:,}")
        row.append(_num(p.get("wall_s"), "{:.2f}"))
        row.append("[green]ok[/]" if p.get("status") == "ok" else "[bold red]error[/]")
        table.add_row(*row)
    console.print(table)
    s = doc["summary"]
    console.print(f"{s['points']} point(s), {s['ok']} ok, {s['errors']} failed, {s['where']}: "
                  f"{s['wall_s']:.1f} s", highlight=False)


__all__ = ["add_sweep_command", "add_workers_options", "sweep_command", "render"]


# --- xloudnet matrix --scenario FILE [--workers N | --scheduler ADDRESS] --------------------------
def add_local_matrix_options(parser) -> None:
    parser.add_argument("--scenario", type=Path, metavar="FILE",
                        help="the matrix of this scenario, provisioned here (no server); with --workers / "
                             "--scheduler partitioned by source rows over a Dask cluster")
    add_workers_options(parser, "partition the matrix (needs --scenario)")


def wants_local_matrix(args) -> bool:
    return bool(args.scenario or args.workers is not None or args.scheduler)


def local_matrix(args, query: dict) -> int:
    """The matrix of a scenario file, in this process or partitioned over Dask workers."""
    from ..analysis.partitioned import matrix_codes, partitioned_matrix
    from ..scenarios.loader import ScenarioError
    from ..scenarios.loader import load
    from ..sweep.cluster import ClusterError, dask_client
    from ..sweep.point import ChangeFailed, build_plane, resolve_id

    if not args.scenario:
        print("xloudnet: --workers / --scheduler partition a scenario's matrix: give --scenario FILE", file=sys.stderr)
        return 2
    console = Console(stderr=args.json)
    errors = Console(stderr=True)
    try:
        provisioned = build_plane(*load(args.scenario))  # the same ids on every run
    except ScenarioError as exc:
        sys.stderr.write("".join(f"{problem}\n" for problem in exc.problems))
        return 2
    plane = provisioned.plane
    try:
        for key, texts in (("sources", args.sources), ("destinations", args.destinations)):
            if texts:
                query[key] = [{"port_id": resolve_id(plane, "ports", t)} for t in texts]
    except ChangeFailed as exc:
        print(f"xloudnet: {exc}", file=sys.stderr)
        return 2
    snapshot = plane.snapshot()
    start = time.perf_counter()
    try:
        if args.workers is None and not args.scheduler:
            from ..dataplane import QueryError, compile_tables

            result = matrix_codes(compile_tables(snapshot), query)
            where = "in this process"
        else:
            where = f"on {args.scheduler}" if args.scheduler else f"on a local Dask cluster of {_workers(args.workers)}"
            columns = (TextColumn("matrix rows"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=errors, transient=True, disable=not errors.is_terminal) as bar:
                task = bar.add_task("rows", total=None)
                with dask_client(args.workers or 2, args.scheduler, args.connect_timeout) as client:
                    result = partitioned_matrix(client, snapshot, query,
                                                progress=lambda done, total: bar.update(task, completed=done, total=total))
    except ClusterError as exc:
        print(f"xloudnet: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the engine's QueryError, in this process or from a worker
        if type(exc).__name__ != "QueryError":
            raise
        print(f"xloudnet: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    if args.json:
        print(json.dumps(result.as_answer()))
        return 0
    render_matrix_codes(console, result, plane)
    console.print(f"computed {where} in {elapsed:.2f} s", highlight=False)
    return 0


def render_matrix_codes(console: Console, result, plane) -> None:
    """The matrix drawn (at most 30 destinations), else its pairs counted by disposition."""
    names = {pid: r.get("name") for pid, r in plane.store.table("ports").items() if r.get("name")}
    if len(result.destinations) <= 30:
        from .render import matrix as render_matrix

        render_matrix(console, result.as_answer(), names=names)
    else:
        counts = result.counts()
        table = Table(title=f"{len(result.sources):,} sources × {len(result.destinations):,} destinations",
                      title_justify="left", header_style="bold")
        table.add_column("disposition")
        table.add_column("pairs", justify="right")
        for disposition, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            table.add_row(disposition, f"{count:,}")
        console.print(table)
