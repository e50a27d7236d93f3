"""Terminal views of analysis answers: rich tables for people, ``--json`` for programs."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from ..model.dispositions import REACHABLE, Action, Disposition
from ..model.protocols import protocol_name
from .resolve import SHORT, UUID, humanize, label

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


def hop_detail(hop: dict, labels: dict | None = None) -> str:
    """The entry that decided a hop, in words (``labels`` may name rules: id -> label)."""
    if hop.get("rule_id"):
        return (labels or {}).get(hop["rule_id"], f"rule {hop['rule_id']}")
    if hop.get("route"):
        route = hop["route"]
        via = route.get("nexthop")
        return f"route {route.get('destination')} " + (f"via {via}" if via else "(connected)")
    if hop.get("translation"):
        t = hop["translation"]
        ports = f" (port {t['from_port']} → {t['to_port']})" if t.get("from_port") is not None else ""
        return f"{t.get('type')} {t.get('from')} → {t.get('to')}{ports}"
    if hop.get("conntrack"):
        return f"conntrack {hop['conntrack']}"
    if hop.get("address_scopes"):
        ends = hop["address_scopes"]
        named = [(labels or {}).get(s, s) if s else "no scope" for s in (ends.get("from"), ends.get("to"))]
        return f"{hop.get('reason', '')} ({named[0]} → {named[1]})"
    return hop.get("reason", "")


def hops_table(title: str, hops: list[dict], names: dict | None = None) -> Table:
    names = names or {}
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("#")
    table.add_column("node", no_wrap=True)
    for column in ("stage", "action", "deciding entry / reason"):
        table.add_column(column, overflow="fold")
    for number, hop in enumerate(hops, 1):
        action = hop.get("action", "")
        style = "red" if action in (Action.DENY, Action.DROP) else ""
        node = hop.get("node", "")
        name = names.get(node.partition(":")[2])
        table.add_row(str(number), f"{node} ({name})" if name else node, hop.get("stage", ""),
                      f"[{style}]{action}[/]" if style else action, hop_detail(hop))
    return table


def describe_flow(flow: dict, asked: dict | None = None) -> str:
    """``tcp port 22``, ``icmp type 8 code 0``; ``all protocols`` when the question named none."""
    if asked is not None and asked.get("protocol") is None:
        return "all protocols"
    name = _protocol_name(flow.get("protocol"))
    if flow.get("destination_port") is not None and (asked is None or asked.get("destination_port") is not None):
        return f"{name} port {flow['destination_port']}"
    if asked is not None and asked.get("destination_port") is None and name in ("tcp", "udp", "sctp", "dccp", "udplite"):
        return f"{name}, all ports"
    if flow.get("icmp_type") is not None:
        return f"{name} type {flow['icmp_type']} code {flow.get('icmp_code', 0)}"
    return name


def reachability(console: Console, answer: dict, asked: dict | None = None, names: dict | None = None) -> None:
    flow = answer.get("flow", {})
    console.print(f"{_verdict(answer['disposition'])}  reachable={answer['reachable']}  "
                  f"{flow.get('source_ip', '?')} → {flow.get('destination_ip', '?')} {describe_flow(flow, asked)}")
    if "allowed" in answer and answer.get("allowed"):
        console.print(f"[dim]the trace follows one allowed service: {describe_flow(flow)}[/]")
    console.print(hops_table("forward path", answer.get("hops", []), names))
    back = answer.get("return")
    if back:
        console.print(f"return: {_verdict(back.get('disposition'))}")
        console.print(hops_table("return path", back.get("hops", []), names))
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


MARKS = {Disposition.ACCEPTED.value: "[green]✓[/]", Disposition.EXITS_NETWORK.value: "[cyan]↗[/]"}


def matrix(console: Console, answer: dict, width: int = 8, names: dict | None = None) -> None:
    names = names or {}
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
    counts: dict = {}
    for d in destinations:
        counts[names.get(d)] = counts.get(names.get(d), 0) + 1
    for d in destinations:  # a name alone when it is unique among the columns
        name = names.get(d)
        short = d[:width] if UUID.match(d) else d  # addresses stay whole
        table.add_column(name if name and counts[name] == 1 else label(d, name) if name else short,
                         justify="center")
    seen = set()
    for s, row, dispositions in zip(sources, reachable, answer["dispositions"]):
        cells = [MARKS.get(disp, "[green]✓[/]") if ok else f"[red]{_short(disp)}[/]"
                 for ok, disp in zip(row, dispositions)]
        seen.update(dispositions)
        table.add_row(label(s, names.get(s)) if names.get(s) else s[:width] if UUID.match(s) else s, *cells)
    console.print(table)
    legend = [f"{MARKS[d]} = {d}" + (" (left the cloud)" if d == Disposition.EXITS_NETWORK.value else "")
              for d in MARKS if d in seen]
    legend += [f"[red]{_short(d)}[/] = {d}" for d in sorted(seen - set(MARKS))]
    if legend:
        console.print("  ".join(legend))


def _short(disposition: str) -> str:
    return "".join(word[0] for word in disposition.split("_"))


def _address_group(rule: dict, names: dict) -> str | None:
    """``address group ops (1a2b3c4d)`` for a rule naming one, else None."""
    agid = rule.get("remote_address_group_id")
    return f"address group {label(agid, names.get(agid))}" if agid else None


def describe_rule(rule: dict, names: dict | None = None) -> str:
    """``ingress tcp 22 from 0.0.0.0/0, group web (1a2b3c4d)``."""
    names = names or {}
    lo, hi = rule.get("port_range_min"), rule.get("port_range_max")
    ports = "" if lo is None else f" {lo}" if lo == hi or hi is None else f" {lo}-{hi}"
    remote = rule.get("remote_ip_prefix") or (
        f"group {label(rule['remote_group_id'], names.get(rule['remote_group_id']))}"
        if rule.get("remote_group_id") else _address_group(rule, names) or "anywhere")
    towards = "from" if rule.get("direction") == "ingress" else "to"
    gid = rule.get("security_group_id") or ""
    return (f"{rule.get('direction', '?')} {rule.get('ethertype') or 'IPv4'} {rule.get('protocol') or 'any protocol'}"
            f"{ports} {towards} {remote}, group {label(gid, names.get(gid))}")


def describe_change(change: dict, resolver) -> str:
    """One line saying what a what-if change does, with names (fetching a rule it deletes)."""
    names = resolver.names(["security_group", "address_group"])
    method, path, body = change["method"], change["path"], change.get("body")
    parts = path.rstrip("/").split("/")
    if parts[-3:-2] == ["address-groups"] and parts[-1] in ("add_addresses", "remove_addresses") \
            and isinstance(body, dict) and isinstance(body.get("addresses"), list):
        verb, where = ("add", "to") if parts[-1] == "add_addresses" else ("remove", "from")
        return (f"{verb} {', '.join(map(str, body['addresses']))} {where} address group "
                f"{label(parts[-2], names.get(parts[-2]))}")
    if parts[-2:-1] == ["security-group-rules"] and method == "DELETE":
        rule = resolver.record("security_group_rule", parts[-1])
        return f"delete rule {parts[-1][:8]}: {describe_rule(rule, names)}"
    if parts[-1] == "security-group-rules" and method == "POST" and isinstance(body, dict):
        rules = body.get("security_group_rules") or [body.get("security_group_rule") or {}]
        return "add rule: " + "; ".join(describe_rule(r, names) for r in rules)
    text = f"{method} {humanize(path, resolver.names())}"
    return text + (f" {json.dumps(body)}" if body is not None else "")


def whatif(console: Console, answer: dict, names: dict | None = None, changes: list[str] = ()) -> None:
    names = names or {}
    for number, text in enumerate(changes, 1):
        console.print(f"change {number}: {text}")
    for key, color in (("newly_allowed", "green"), ("newly_blocked", "red")):
        items = answer.get(key, [])
        table = Table(title=f"{key.replace('_', ' ')} ({len(items)})", title_justify="left",
                      header_style=f"bold {color}")
        for column in ("source", "destination", "protocol", "ports / ICMP types", "before", "after"):
            table.add_column(column, overflow="fold")
        for item in items:
            table.add_row(_end(item.get("source"), names), _end(item.get("destination"), names),
                          str(item.get("protocol")), services(item), _verdict(item.get("before")),
                          _verdict(item.get("after")))
        console.print(table)
    scope = answer.get("evaluated") or {}
    if scope:
        console.print(f"[dim]evaluated {scope.get('pairs', 0):,} pairs × {scope.get('services', 0):,} services "
                      f"in {scope.get('boxes', 0)} boxes; {answer.get('changes_applied', 0)} changes applied "
                      "to a fork (live state untouched)[/]")
        if not scope.get("pairs"):
            console.print("[dim]no flow you can see is decided by what the change touched[/]")


def _end(end, names: dict | None = None) -> str:
    names = names or {}
    if not isinstance(end, dict):
        return label(str(end), names.get(str(end)))
    if end.get("port_id"):
        return label(end["port_id"], names.get(end["port_id"]))
    return end.get("ip_address") or str(end)


def lint(console: Console, answer: dict, names: dict | None = None) -> None:
    names = names or {}
    table = Table(title="security-group lint (rule ids shortened: any unique prefix works as input)",
                  title_justify="left", header_style="bold")
    for column in ("kind", "severity", "group", "rule", "message"):
        table.add_column(column, overflow="fold")
    for f in answer.get("findings", []):
        gid = f.get("security_group_id") or ""
        table.add_row(f.get("kind", ""), f.get("severity", ""), label(gid, names.get(gid)),
                      (f.get("rule_id") or "")[:SHORT], humanize(f.get("message", ""), names))
    console.print(table)
    console.print("summary: " + ", ".join(f"{k}={v}" for k, v in answer.get("summary", {}).items()))


def sgtest(console: Console, answer: dict, names: dict | None = None) -> None:
    names = names or {}
    pid = answer.get("port_id") or ""
    console.print(f"{_verdict(answer.get('verdict'))} port {label(pid, names.get(pid))} "
                  f"direction {answer.get('direction')}")
    table = Table(title="matching rules", title_justify="left", header_style="bold")
    for column in ("rule", "group", "protocol", "ports", "remote"):
        table.add_column(column, overflow="fold")
    for rule in answer.get("matching_rules", []):
        ports = f"{rule.get('port_range_min')}-{rule.get('port_range_max')}"
        remote = rule.get("remote_ip_prefix") or rule.get("remote_group_id") or "any"
        remote = label(remote, names.get(remote)) if remote in names else remote
        remote = _address_group(rule, names) or remote
        gid = rule.get("security_group_id", "")
        table.add_row(rule.get("rule_id", ""), rule.get("security_group_name") or label(gid, names.get(gid)),
                      str(rule.get("protocol")), ports, remote)
    console.print(table)
