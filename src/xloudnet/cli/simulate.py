"""``xloudnet simulate FILE.yaml|json [--plot out.png] [--json]``: run a QoS simulation on a server.

The file holds the request of ``POST /simulation/v1/simulations`` (YAML or JSON; see
docs/simulation.md). The command starts the job, shows its progress, then prints one row per
flow and, with ``--plot``, writes a PNG: delivered throughput over time per flow, and each flow's
latency CDF. With ``--change`` / ``--changes`` (or ``changes:`` in the file) it is a QoS what-if:
the same traffic before and after the changes, one before → after row per flow
(``simulate_whatif``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..client import Client, ClientError
from .questions import add_connection_options, client_for, parse_change
from .resolve import UUID, Resolver, ResolveError
from .simulate_whatif import gather_changes, plot_whatif, read_data_file, render_whatif, resolve_changes

POLL_S = 0.2


def add_simulate_command(commands) -> None:
    """Register ``simulate`` on the top-level parser's subcommands."""
    p = commands.add_parser("simulate", help="run a QoS packet simulation (throughput, loss, latency, fairness)")
    p.add_argument("file", type=Path, help="the simulation request, YAML or JSON")
    p.add_argument("--plot", type=Path, help="write a PNG: throughput over time and latency CDF per flow")
    p.add_argument("--backend", choices=("ovs", "linuxbridge", "ovn"),
                   help="whose QoS semantics to follow (overrides the file's; default ovs)")
    p.add_argument("--engine", choices=("auto", "batched", "reference"),
                   help="batched (fast), reference (per packet), auto (batched unless the run needs the other)")
    p.add_argument("--timeout", type=float, default=600.0, help="give up waiting after this many seconds")
    p.add_argument("--change", action="append", type=parse_change, metavar="'METHOD /v2.0/PATH [JSON]'",
                   help="QoS what-if: run the same traffic before and after this API change (repeatable; "
                        "names and id prefixes allowed), e.g. 'PUT /v2.0/ports/vm1 "
                        "{\"port\": {\"qos_policy_id\": \"gold\"}}'")
    p.add_argument("--changes", type=Path, metavar="FILE", help="QoS what-if: a YAML/JSON list of changes")
    add_connection_options(p)
    p.set_defaults(func=simulate)


def load_request(path: Path) -> dict:
    """The request in a YAML or JSON file; ``ValueError`` with ``file:line: what`` when the file
    does not parse."""
    data = read_data_file(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the request must be a mapping")
    return data


def resolve_ports(request: dict, resolver: Resolver) -> dict:
    """Flows may name their ports and networks by name or id prefix, as on the command line
    (full ids go as they are: the server names the flow whose id it does not know)."""
    flows = request.get("flows")
    if not isinstance(flows, list):
        return request

    def end(value):
        if not isinstance(value, dict):
            return value
        out = dict(value)
        for key, kind in (("port_id", "port"), ("network_id", "network")):
            if isinstance(out.get(key), str) and not UUID.match(out[key]):
                out[key] = resolver.resolve(kind, out[key])
        return out

    resolved = [{**f, **{k: end(f[k]) for k in ("source", "destination") if k in f}}
                if isinstance(f, dict) else f for f in flows]
    return {**request, "flows": resolved}


def simulate(args) -> int:
    console = Console(stderr=args.json)
    try:
        request = load_request(args.file)
    except (OSError, ValueError) as exc:
        print(f"xloudnet: {exc}", file=sys.stderr)
        return 2
    for key in ("backend", "engine"):
        if getattr(args, key, None):
            request[key] = getattr(args, key)
    try:
        changes = gather_changes(request, getattr(args, "changes", None), getattr(args, "change", None))
    except (OSError, ValueError) as exc:
        print(f"xloudnet: {exc}", file=sys.stderr)
        return 2
    client = client_for(args)
    resolver = Resolver(client)
    try:
        request = resolve_ports(request, resolver)
        if changes is not None:
            request["changes"] = resolve_changes(changes, resolver)
        job = client.simulation("POST", "/simulations", request)["simulation"]
        job = _follow(client, job, console, args.timeout)
    except (ClientError, ResolveError) as exc:
        print(f"xloudnet: {exc}", file=sys.stderr)
        return 1
    except TimeoutError as exc:  # an OSError too: caught first, it is not a connection problem
        print(f"xloudnet: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"xloudnet: cannot reach the server: {exc}", file=sys.stderr)
        return 1
    if job["status"] != "ACTIVE":
        print(f"xloudnet: simulation {job['id']} failed: {job.get('error')}", file=sys.stderr)
        return 1
    result = job["result"]
    whatif = "changes" in job
    names = _names(resolver) if whatif and (not args.json or args.plot) else {}
    if args.json:
        print(json.dumps(job, indent=2))
    elif whatif:
        render_whatif(console, job, names, request["changes"])
    else:
        render_result(console, result)
    if args.plot:
        if whatif:
            plot_whatif(result, args.plot, names)
        else:
            plot_result(result, args.plot)
        console.print(f"plot written to {args.plot}")
    return 0


def _names(resolver: Resolver) -> dict:
    """id → name for labelling flows (a courtesy: never fails the run)."""
    try:
        return resolver.names(["port", "network", "qos_policy"])
    except (ClientError, OSError):
        return {}


def _follow(client: Client, job: dict, console: Console, timeout: float) -> dict:
    """Poll the job until it is done, with a progress bar."""
    deadline = time.monotonic() + timeout
    columns = (TextColumn("simulating"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("run", total=1.0)
        while job["status"] not in ("ACTIVE", "ERROR", "CANCELLED"):  # every terminal status
            if time.monotonic() > deadline:
                raise TimeoutError(f"simulation {job['id']} still {job['status']} after {timeout:.0f} s")
            time.sleep(POLL_S)
            job = client.simulation("GET", f"/simulations/{job['id']}")["simulation"]
            bar.update(task, completed=job.get("progress", 0.0))
    return job


def _ms(latency: dict | None, key: str) -> str:
    return "-" if not latency else f"{latency[key]:.3f}"


def render_result(console: Console, result: dict) -> None:
    """One row per flow, then the totals, rule hits and fairness."""
    engine = ", ".join(x for x in (result.get("backend"), result.get("engine") and f"{result['engine']} engine") if x)
    table = Table(title=f"QoS simulation, {result['duration_s']:g} s (seed {result.get('seed', 0)}"
                        f"{'; ' + engine if engine else ''})")
    for column in ("flow", "disposition", "offered kbps", "delivered kbps", "loss %", "loss reasons",
                   "p50 ms", "p99 ms", "p99.9 ms", "jitter ms", "DSCP seen"):
        table.add_column(column, justify="right" if "kbps" in column or "ms" in column or "%" in column else "left")
    for f in result["flows"]:
        reasons = ", ".join(f"{k} {v}" for k, v in f["loss"]["by_reason"].items()) or "-"
        dscp = ", ".join(f"{k}×{v}" for k, v in f["dscp_seen"].items()) or "-"
        table.add_row(f["name"], f["disposition"], f"{f['offered']['kbps']:.1f}", f"{f['delivered']['kbps']:.1f}",
                      f"{100 * f['loss']['ratio']:.2f}", reasons, _ms(f["latency_ms"], "p50"),
                      _ms(f["latency_ms"], "p99"), _ms(f["latency_ms"], "p99_9"), _ms(f["latency_ms"], "jitter"), dscp)
    console.print(table)
    packets = result["packets"]
    fairness = result["fairness"]
    jain = fairness.get("jain_delivered")
    console.print(f"packets: offered {packets['offered']}, delivered {packets['delivered']}, lost {packets['lost']}, "
                  f"in flight {packets['in_flight']}; Jain fairness (delivered) "
                  f"{'-' if jain is None else f'{jain:.3f}'}")
    if result.get("rule_hits"):
        console.print("rule hits: " + ", ".join(f"{k} {v}" for k, v in result["rule_hits"].items()))


def _latency_axis(ax, samples: list) -> None:
    """A readable latency axis: log when queues spread latencies over decades; otherwise linear from
    zero, never with an offset (near-constant latencies once read ``1e-12+1.1144``)."""
    if samples and min(samples) > 0 and max(samples) / min(samples) > 20:
        ax.set_xscale("log")
        return
    top = max(samples) if samples else 1.0
    ax.set_xlim(0, top * 1.15 if top > 0 else 1.0)
    ax.ticklabel_format(axis="x", style="plain", useOffset=False)
    ax.set_ylim(0, 1.02)


def plot_result(result: dict, path: Path) -> None:
    """PNG: delivered (solid) and offered (dotted) throughput over time per flow; latency CDFs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    t = result["series"]["t"]
    for f in result["flows"]:
        line, = left.plot(t, f["series"]["delivered_kbps"], label=f["name"])
        left.plot(t, f["series"]["offered_kbps"], linestyle=":", color=line.get_color(), alpha=0.6)
        if f["latency_ms"]:
            cdf = f["latency_ms"]["cdf"]
            right.plot(cdf, np.linspace(0, 1, len(cdf)), color=line.get_color(), label=f["name"])
    left.set(xlabel="time (s)", ylabel="kbit/s", title="delivered (solid) vs offered (dotted)")
    right.set(xlabel="one-way latency (ms)", ylabel="fraction of packets", title="latency CDF")
    _latency_axis(right, [v for f in result["flows"] if f["latency_ms"] for v in f["latency_ms"]["cdf"]])
    left.set_ylim(bottom=0)  # throughput from zero: a policed flow at 95 % must not look halved
    left.set_xlim(left=0)
    left.ticklabel_format(axis="y", style="plain", useOffset=False)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
