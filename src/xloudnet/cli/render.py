"""Terminal views of analysis answers: rich tables for people, ``--json`` for programs."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..model.dispositions import REACHABLE, Action
from ..model.protocols import protocol_name

GOOD = {*REACHABLE, Action.PERMIT}


def _verdict(text: str | None) -> str:
    if text is None:
        return "[dim]none[/]"
    color = "green" if text in GOOD else "red"
    return f"[bold {color}]{text}[/]"


def _protocol_name(number) -> str:
    """``6`` → ``tcp``: the names people read (numbers without a name stay numbers)."""
    if number is None:
        return "any protocol"
    return protocol_name(number) if isinstance(number, int) else str(number)


def _detail(hop: dict) -> str:
    if hop.get("rule_id"):
        return f"rule {hop['rule_id']}"
    if hop.get("route"):
        route = hop["route"]
        via = route.get("nexthop")
        return f"route {route.get('destination')} " + (f"via {via}" if via else "(connected)")
    if hop.get("translation"):
        t = hop["translation"]
        return f"{t.get('type')} {t.get('from')} → {t.get('to')}"
    if hop.get("conntrack"):
        return f"conntrack {hop['conntrack']}"
    return hop.get("reason", "")


def hops_table(title: str, hops: list[dict]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("#")
    table.add_column("node", no_wrap=True)
    for column in ("stage", "action", "deciding entry / reason"):
        table.add_column(column, overflow="fold")
    for number, hop in enumerate(hops, 1):
        action = hop.get("action", "")
        style = "red" if action in (Action.DENY, Action.DROP) else ""
        table.add_row(str(number), hop.get("node", ""), hop.get("stage", ""),
                      f"[{style}]{action}[/]" if style else action, _detail(hop))
    return table


def reachability(console: Console, answer: dict) -> None:
    flow = answer.get("flow", {})
    console.print(f"{_verdict(answer['disposition'])}  reachable={answer['reachable']}  "
                  f"{flow.get('source_ip', '?')} → {flow.get('destination_ip', '?')} "
                  f"{_protocol_name(flow.get('protocol'))} port {flow.get('destination_port', '-')}")
    console.print(hops_table("forward path", answer.get("hops", [])))
    back = answer.get("return")
    if back:
        console.print(f"return: {_verdict(back.get('disposition'))}")
        console.print(hops_table("return path", back.get("hops", [])))
    else:
        console.print("return: [dim]no reply expected[/]")
    if "allowed" in answer:
        allowed_table(console, answer["allowed"])


def allowed_table(console: Console, allowed: list[dict]) -> None:
    table = Table(title="allowed (exact)", title_justify="left", header_style="bold")
    table.add_column("protocol")
    table.add_column("ports / ICMP types", overflow="fold")
    for entry in allowed:
        table.add_row(str(entry.get("protocol")), services(entry))
    if not allowed:
        table.add_row("[red]nothing[/]", "")
    console.print(table)


def _spans(spans: list) -> str:
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)


def services(entry: dict) -> str:
    """The ports / ICMP types of an allowed-set entry or a what-if item, as text."""
    if "port_ranges" in entry:
        return _spans(entry["port_ranges"])
    if "icmp_types" in entry:
        parts = [f"type {_spans([r])}" for r in entry["icmp_types"]]
        parts += [f"type {kind} code {_spans(codes)}" for kind, codes in entry.get("icmp_codes", {}).items()]
        return ", ".join(parts)
    return "all"


def matrix(console: Console, answer: dict, width: int = 8) -> None:
    sources, destinations = answer["sources"], answer["destinations"]
    reachable = answer["reachable"]
    total = sum(len(row) for row in reachable)
    yes = sum(sum(1 for v in row if v) for row in reachable)
    console.print(f"{len(sources)} sources × {len(destinations)} destinations: {yes}/{total} reachable")
    if len(destinations) > 30:
        console.print("[dim](too many columns to draw; use --json for the full matrix)[/]")
        return
    table = Table(header_style="bold")
    table.add_column("source \\ destination")
    for d in destinations:
        table.add_column(d[:width], justify="center")
    seen = set()
    for s, row, dispositions in zip(sources, reachable, answer["dispositions"]):
        cells = ["[green]✓[/]" if ok else f"[red]{_short(disp)}[/]" for ok, disp in zip(row, dispositions)]
        seen.update(d for ok, d in zip(row, dispositions) if not ok)
        table.add_row(s[:width], *cells)
    console.print(table)
    if seen:
        console.print("[dim]" + "  ".join(f"{_short(d)} = {d}" for d in sorted(seen)) + "[/]")


def _short(disposition: str) -> str:
    return "".join(word[0] for word in disposition.split("_"))


def whatif(console: Console, answer: dict) -> None:
    for key, color in (("newly_allowed", "green"), ("newly_blocked", "red")):
        items = answer.get(key, [])
        table = Table(title=f"{key.replace('_', ' ')} ({len(items)})", title_justify="left",
                      header_style=f"bold {color}")
        for column in ("source", "destination", "protocol", "ports / ICMP types", "before", "after"):
            table.add_column(column, overflow="fold")
        for item in items:
            table.add_row(_end(item.get("source")), _end(item.get("destination")), str(item.get("protocol")),
                          services(item), _verdict(item.get("before")), _verdict(item.get("after")))
        console.print(table)
    scope = answer.get("evaluated") or {}
    if scope:
        console.print(f"[dim]evaluated {scope.get('pairs', 0):,} pairs × {scope.get('services', 0):,} services "
                      f"in {scope.get('boxes', 0)} boxes; {answer.get('changes_applied', 0)} changes applied "
                      "to a fork (live state untouched)[/]")


def _end(end) -> str:
    if not isinstance(end, dict):
        return str(end)
    return end.get("port_id") or end.get("ip_address") or str(end)


def lint(console: Console, answer: dict) -> None:
    table = Table(title="security-group lint", title_justify="left", header_style="bold")
    for column in ("kind", "severity", "group", "rule", "message"):
        table.add_column(column, overflow="fold")
    for f in answer.get("findings", []):
        table.add_row(f.get("kind", ""), f.get("severity", ""), f.get("security_group_id") or "",
                      f.get("rule_id") or "", f.get("message", ""))
    console.print(table)
    console.print("summary: " + ", ".join(f"{k}={v}" for k, v in answer.get("summary", {}).items()))


def sgtest(console: Console, answer: dict) -> None:
    console.print(f"{_verdict(answer.get('verdict'))} port {answer.get('port_id')} "
                  f"direction {answer.get('direction')}")
    table = Table(title="matching rules", title_justify="left", header_style="bold")
    for column in ("rule", "group", "protocol", "ports", "remote"):
        table.add_column(column, overflow="fold")
    for rule in answer.get("matching_rules", []):
        ports = f"{rule.get('port_range_min')}-{rule.get('port_range_max')}"
        remote = rule.get("remote_ip_prefix") or rule.get("remote_group_id") or "any"
        table.add_row(rule.get("rule_id", ""), rule.get("security_group_name") or rule.get("security_group_id", ""),
                      str(rule.get("protocol")), ports, remote)
    console.print(table)
