"""``xloudnet topology [--png FILE | --dot | --json] [--reach-from PORT]``: the cloud as a graph.

The server answers ``GET /simulation/v1/topology`` with the part of the graph the caller may
see (node-link JSON, see ``xloudnet.analysis.topology``). Without a format flag the terminal
gets a tree: the outside, external networks, routers, networks with their subnets, ports.
``--reach-from`` colours everything by what one port can reach for one service (ICMP echo
unless ``--protocol`` says otherwise).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from typing import TYPE_CHECKING

from rich.console import Console
from rich.tree import Tree

from ..model.dispositions import Disposition
from .questions import EXIT_OK, add_connection_options, add_flow_options, ask, _flow_fields
from .resolve import label

if TYPE_CHECKING:  # networkx loads when the command runs, not with every other command
    import networkx as nx

# Colours of a drawing: by kind, then by what the --reach-from port reached.
KIND_COLOURS = {"external": "#9e9e9e", "network": "#90caf9", "subnet": "#e3f2fd", "router": "#ffcc80",
                "port": "#c5e1a5", "floatingip": "#ce93d8"}
REACH_COLOURS = {"source": "#1565c0", "reached": "#43a047", "exits": "#00acc1", "blocked": "#e53935",
                 "path": "#fff176", "other": "#eeeeee"}
SHAPES = {"external": "o", "network": "s", "subnet": "s", "router": "D", "port": "o", "floatingip": "^"}


def add_topology_command(commands) -> None:
    p = commands.add_parser("topology", help="networks, subnets, routers, ports and routes as a graph",
                            description="Draw the visible topology; optionally coloured by what one port can reach.")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--png", type=Path, metavar="FILE", help="write a layered drawing as PNG")
    out.add_argument("--dot", action="store_true", help="print Graphviz DOT")
    p.add_argument("--reach-from", metavar="PORT", help="colour by what this port (name, id or prefix) reaches")
    add_flow_options(p, without="default icmp (echo)")
    add_connection_options(p)  # adds --json
    p.set_defaults(func=topology)


def topology(args) -> int:
    from ..analysis.topology import from_json

    def work(client, resolver, console: Console):
        query = {}
        if args.reach_from:
            query["reach_from"] = resolver.resolve("port", args.reach_from)
            query.update(_flow_fields(args))
        answer = client.simulation("GET", "/topology" + (f"?{urlencode(query)}" if query else ""))
        graph = from_json(answer)
        if args.json:
            print(json.dumps(answer, indent=2))
        elif args.dot:
            print(to_dot(graph))
        elif args.png:
            draw(graph, args.png, title=_title(graph, args))
            console.print(f"topology written to {args.png} ({graph.number_of_nodes()} nodes, "
                          f"{graph.number_of_edges()} edges)")
        else:
            console.print(tree(graph))
        return EXIT_OK
    return ask(args, work)


def _title(graph: nx.MultiDiGraph, args) -> str:
    if not args.reach_from:
        return "topology"
    source = next((d for _n, d in graph.nodes(data=True) if d.get("reach") == "source"), {})
    what = args.protocol or "icmp"
    if args.destination_port is not None:
        what += f" port {args.destination_port}"
    return f"what {source.get('name') or args.reach_from} can reach ({what})"


def _text(data: dict) -> str:
    name = data.get("name") or ""
    if data["kind"] == "external":
        return "external"
    rid = data.get("id")
    text = (label(rid, name) if name else rid[:8]) if rid else name
    extra = data.get("cidr") or ", ".join(a for a in data.get("addresses") or [] if a and a != name)
    scope = data.get("address_scope")
    scope = f"(scope {scope[:8]})" if scope and scope != "hidden" else ("(scope hidden)" if scope else "")
    return " ".join(part for part in (data["kind"], text, extra, scope) if part)


def _reach_class(data: dict) -> str | None:
    if "reach" not in data and not data.get("on_path"):
        return None
    if data.get("reach") == "source":
        return "source"
    if data.get("reached"):
        return "exits" if data.get("reach") == Disposition.EXITS_NETWORK.value else "reached"
    if "reach" in data:
        return "blocked"
    return "path"


def _rich_style(data: dict) -> str:
    cls = _reach_class(data)
    return {"source": "bold blue", "reached": "green", "exits": "cyan", "blocked": "red", "path": "yellow"}.get(cls, "")


def tree(graph: nx.MultiDiGraph) -> Tree:
    """external → external networks → routers → subnets → ports (each node once)."""
    shown: set[str] = set()

    def add(parent: Tree, key: str, why: str = "") -> Tree:
        data = graph.nodes[key]
        style = _rich_style(data)
        text = _text(data) + (f" [dim]{why}[/]" if why else "")
        if "reach" in data and data["reach"] != "source":
            text += f" [dim]→ {data['reach']}[/]"
        shown.add(key)
        return parent.add(f"[{style}]{text}[/]" if style else text)

    root = Tree(_text(graph.nodes["external"]) + (f" [dim]→ {graph.nodes['external']['reach']}[/]"
                                                   if "reach" in graph.nodes["external"] else ""))
    shown.add("external")
    by_kind = lambda kind: sorted((n for n, d in graph.nodes(data=True) if d["kind"] == kind),  # noqa: E731
                                  key=lambda n: (graph.nodes[n].get("name") or "", n))
    externals = [n for n in by_kind("network") if graph.nodes[n].get("external")]
    for net in externals:
        branch = add(root, net)
        for router, _n, data in sorted(graph.in_edges(net, data=True)):
            if data["kind"] == "gateway" and router not in shown:
                _router_branch(graph, add(branch, router, f"gateway {data.get('address') or ''}"), router, add, shown)
    rest = Tree("not behind an external network")
    for router in by_kind("router"):
        if router not in shown:
            _router_branch(graph, add(rest, router), router, add, shown)
    for net in by_kind("network"):
        if net not in shown:
            _network_branch(graph, add(rest, net), net, add, shown)
    if rest.children:
        root.add(rest)
    return root


def _router_branch(graph, branch: Tree, router: str, add, shown: set) -> None:
    for _r, sub, data in sorted(graph.out_edges(router, data=True)):
        if data["kind"] == "interface" and sub not in shown:
            nets = [n for n, _s, d in graph.in_edges(sub, data=True) if d["kind"] == "subnet"]
            net = nets[0] if nets else None
            if net is not None and net not in shown:
                _network_branch(graph, add(branch, net, f"via {data.get('address')}"), net, add, shown)
        elif data["kind"] == "route":
            route = data.get("route") or {}
            branch.add(f"[dim]route {route.get('destination')} via {route.get('nexthop')}[/]")


def _network_branch(graph, branch: Tree, net: str, add, shown: set) -> None:
    for _n, sub, data in sorted(graph.out_edges(net, data=True)):
        if data["kind"] == "subnet" and sub not in shown:
            add(branch, sub)
    for port, _n, data in sorted(graph.in_edges(net, data=True)):
        if data["kind"] == "attached" and port not in shown:
            fips = [f for f, _p, d in graph.in_edges(port, data=True) if d["kind"] == "nat"]
            forwards = [f"fwd {graph.nodes[f].get('name')} {d.get('protocol')} {d.get('external_port_range')}"
                        f"→{d.get('internal_port_range')}" for f, _p, d in graph.in_edges(port, data=True)
                        if d["kind"] == "port_forwarding"]
            add(branch, port, " ".join([f"fip {graph.nodes[f].get('name')}" for f in fips] + forwards))


def to_dot(graph: nx.MultiDiGraph) -> str:
    """Graphviz DOT, one rank per layer (external on top), coloured like the PNG."""
    def q(text) -> str:
        escaped = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'

    lines = ["digraph topology {", "  rankdir=TB; node [style=filled, fontname=Helvetica];"]
    layers: dict[int, list[str]] = {}
    for key, data in graph.nodes(data=True):
        layers.setdefault(data.get("layer", 0), []).append(key)
        colour = REACH_COLOURS.get(_reach_class(data)) or KIND_COLOURS.get(data["kind"], "#ffffff")
        shape = {"router": "diamond", "network": "box", "subnet": "note", "floatingip": "triangle"}.get(
            data["kind"], "ellipse")
        lines.append(f"  {q(key)} [label={q(_text(data))}, shape={shape}, fillcolor={q(colour)}];")
    for layer in sorted(layers):
        lines.append("  { rank=same; " + " ".join(q(n) for n in sorted(layers[layer])) + " }")
    for u, v, data in graph.edges(data=True):
        route = data.get("route")
        text = data["kind"] + (f"\n{route['destination']}" + (f" via {route['nexthop']}" if route.get("nexthop") else "")
                               if route else "")
        lines.append(f"  {q(u)} -> {q(v)} [label={q(text)}, fontsize=8];")
    lines.append("}")
    return "\n".join(lines)


def layered_positions(graph: nx.MultiDiGraph, gap: float = 1.0) -> dict:
    """Rows by ``layer`` (external at the top ... ports at the bottom); columns bottom-up so that
    edges stay short: ports grouped by network, each network above its ports, subnets beside
    their network, routers above the subnets they join, floating IPs above their port, external
    networks above their routers, the outside above them all."""
    nodes = graph.nodes
    kind = {n: d["kind"] for n, d in nodes(data=True)}

    def near(key, want_kind, edge_kinds, direction):
        edges = graph.out_edges(key, data=True) if direction == "out" else graph.in_edges(key, data=True)
        return [(v if direction == "out" else u) for u, v, d in edges
                if d["kind"] in edge_kinds and kind[v if direction == "out" else u] == want_kind]

    x: dict[str, float] = {}
    ports = sorted((n for n in nodes if kind[n] == "port"),
                   key=lambda n: ([nodes[v].get("name") or v for v in near(n, "network", {"attached"}, "out")],
                                  nodes[n].get("name") or "", n))
    for i, key in enumerate(ports):
        x[key] = i * gap

    def place(keys, related, spread=0.0):
        extra = max(x.values(), default=-gap) + gap
        for key in sorted(keys, key=lambda n: (nodes[n].get("name") or "", n)):
            xs = [x[r] for r in related(key) if r in x]
            if xs:
                x[key] = sum(xs) / len(xs)
            else:
                x[key], extra = extra, extra + gap

    place([n for n in nodes if kind[n] == "network" and not nodes[n].get("external")],
          lambda n: near(n, "port", {"attached"}, "in"))
    place([n for n in nodes if kind[n] == "subnet"], lambda n: near(n, "network", {"subnet"}, "in"))
    place([n for n in nodes if kind[n] == "router"], lambda n: near(n, "subnet", {"interface"}, "out"))
    place([n for n in nodes if kind[n] == "floatingip"], lambda n: near(n, "port", {"nat", "port_forwarding"}, "out"))
    for key in (n for n in nodes if kind[n] == "floatingip"):  # beside its port's column: the NAT
        x[key] += 0.4 * gap                                    # edge does not hide behind others
    place([n for n in nodes if kind[n] == "network" and nodes[n].get("external")],
          lambda n: near(n, "router", {"gateway"}, "in"))
    subnets_of_external = [n for n in nodes if kind[n] == "subnet" and nodes[n].get("layer") == 1]
    for key in subnets_of_external:  # beside their network, not above the tenant subnets
        net = near(key, "network", {"subnet"}, "in")
        if net:
            x[key] = x[net[0]] + 0.5 * gap
    x["external"] = sum(x[n] for n in nodes if kind[n] == "network" and nodes[n].get("external")) / max(
        1, sum(1 for n in nodes if kind[n] == "network" and nodes[n].get("external"))) if "external" in nodes else 0
    rows: dict[int, list[str]] = {}
    for key in nodes:
        rows.setdefault(nodes[key].get("layer", 0), []).append(key)
    pos = {}
    for layer, keys in rows.items():
        last = None
        for key in sorted(keys, key=lambda n: (x.get(n, 0.0), n)):  # keep a gap between neighbours
            at = x.get(key, 0.0) if last is None else max(x.get(key, 0.0), last + 0.8 * gap)
            pos[key], last = (at, -layer), at
    return pos


def draw(graph: nx.MultiDiGraph, path: Path, title: str = "topology") -> None:
    """A PNG of the graph in rows (see ``layered_positions``), coloured by kind or by reach."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    import networkx as nx

    pos = layered_positions(graph)
    widest = max((sum(1 for d in graph.nodes.values() if d.get("layer") == layer) for layer in range(6)), default=1)
    fig, ax = plt.subplots(figsize=(min(40, max(8, 1.6 * widest)), 7.5))
    simple = nx.DiGraph(graph)
    nx.draw_networkx_edges(simple, pos, ax=ax, alpha=0.35, arrows=False)
    reaching = any("reach" in d for d in graph.nodes.values())
    for kind, marker in SHAPES.items():
        keys = [n for n, d in graph.nodes(data=True) if d["kind"] == kind]
        if not keys:
            continue
        colours = [REACH_COLOURS[_reach_class(graph.nodes[n]) or "other"] if reaching else KIND_COLOURS[kind]
                   for n in keys]
        nx.draw_networkx_nodes(graph, pos, nodelist=keys, node_color=colours, node_shape=marker,
                               node_size=900 if kind in ("router", "network", "external") else 600,
                               edgecolors="#424242", ax=ax)
    labels = {n: _short_label(d) for n, d in graph.nodes(data=True)}
    nx.draw_networkx_labels(graph, pos, labels=labels, font_size=7, ax=ax)
    if reaching:
        meaning = {"source": "source port", "reached": "reached", "exits": "leaves the cloud",
                   "blocked": "not reached", "path": "on the way", "other": "not a destination"}
        handles = [Patch(color=REACH_COLOURS[k], label=v) for k, v in meaning.items()]
    else:
        handles = [Patch(color=c, label=k) for k, c in KIND_COLOURS.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    ax.set_title(title)
    ax.axis("off")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _short_label(data: dict) -> str:
    if data["kind"] == "external":
        return "external"
    name = data.get("name") or (data.get("id") or "")[:8]
    extra = data.get("cidr") or (", ".join(a for a in (data.get("addresses") or [])[:2] if a)
                                 if data["kind"] in ("port", "router") else "")
    return f"{name}\n{extra}" if extra else name
