"""``xloudnet reach | matrix | whatif | lint | sgtest``: ask a running server, show the answer."""

from __future__ import annotations

import argparse
import functools
import ipaddress
import json
import os
import shlex
import sys

from rich.console import Console

from ..client import Client, ClientError
from ..cloud.connection import add_auth_options, login
from . import render


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    add_auth_options(parser, environ=os.environ)
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")


def endpoint(text: str) -> dict:
    """``PORT_ID``, ``port:PORT_ID``, ``PORT_ID/IP`` (send from IP), ``IP``, ``IP@NETWORK_ID`` or JSON."""
    text = text.strip()
    if text.startswith("{"):
        return json.loads(text)
    if text.startswith("port:"):
        text = text[len("port:"):]
    if "@" in text:
        address, network = text.split("@", 1)
        return {"ip_address": address, "network_id": network}
    if _is_ip(text):
        return {"ip_address": text}
    if "/" in text:
        port, address = text.split("/", 1)
        return {"port_id": port, "ip_address": address}
    return {"port_id": text}


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _flow_fields(args: argparse.Namespace) -> dict:
    flow = {}
    if args.protocol is not None:
        flow["protocol"] = int(args.protocol) if args.protocol.isdigit() else args.protocol
    for key in ("destination_port", "source_port", "icmp_type", "icmp_code", "ethertype"):
        value = getattr(args, key, None)
        if value is not None:
            flow[key] = value
    return flow


def add_flow_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", "-p", help="tcp, udp, icmp, ipv6-icmp or a number; omit for the exact allowed set")
    parser.add_argument("--port", dest="destination_port", type=int, help="destination port")
    parser.add_argument("--source-port", type=int)
    parser.add_argument("--icmp-type", type=int)
    parser.add_argument("--icmp-code", type=int)
    parser.add_argument("--ethertype", choices=["IPv4", "IPv6"])


def client_for(args) -> Client:
    """A client for the cloud the authentication options name (logs in on its first call)."""
    return Client(functools.partial(login, args, os.environ))


def _run(args, method: str, path: str, body, view) -> int:
    console = Console()
    try:
        answer = client_for(args).simulation(method, path, body)
    except ClientError as exc:
        print(f"xloudnet: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"xloudnet: cannot reach the server: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        view(console, answer)
    return 0


def reach(args) -> int:
    body = {"source": endpoint(args.source), "destination": endpoint(args.destination), **_flow_fields(args)}
    return _run(args, "POST", "/reachability", body, render.reachability)


def matrix(args) -> int:
    body = _flow_fields(args)
    body.setdefault("protocol", "icmp")
    if args.sources:
        body["sources"] = [endpoint(s) for s in args.sources]
    if args.destinations:
        body["destinations"] = [endpoint(d) for d in args.destinations]
    return _run(args, "POST", "/reachability/matrix", body, render.matrix)


def parse_change(text: str) -> dict:
    """``'METHOD /v2.0/path [JSON body]'`` → a what-if change."""
    parts = text.strip().split(None, 2)
    if len(parts) < 2:
        raise argparse.ArgumentTypeError(f"change must be 'METHOD /v2.0/path [json]': {shlex.quote(text)}")
    change = {"method": parts[0].upper(), "path": parts[1]}
    if len(parts) == 3:
        change["body"] = json.loads(parts[2])
    return change


def whatif(args) -> int:
    body = {"changes": args.change, **_flow_fields(args)}
    if args.sources:
        body["sources"] = [endpoint(s) for s in args.sources]
    if args.destinations:
        body["destinations"] = [endpoint(d) for d in args.destinations]
    return _run(args, "POST", "/whatif", body, render.whatif)


def lint(args) -> int:
    path = "/security-groups/lint" + (f"?project_id={args.project_id}" if args.project_id else "")
    return _run(args, "GET", path, None, render.lint)


def sgtest(args) -> int:
    body = {"port_id": args.port_id, "direction": args.direction, **_flow_fields(args)}
    if args.remote:
        body["remote_ip_address"] = args.remote
    return _run(args, "POST", "/security-groups/test", body, render.sgtest)


def add_commands(commands) -> None:
    """Register the question commands on the top-level parser's subcommands."""
    p = commands.add_parser("reach", aliases=["trace"], help="can SOURCE reach DESTINATION? verdict, trace, allowed set")
    p.add_argument("source", help="PORT_ID, PORT_ID/IP, IP or IP@EXTERNAL_NETWORK_ID")
    p.add_argument("destination", help="PORT_ID or IP (fixed, floating or external)")
    add_flow_options(p)
    add_connection_options(p)
    p.set_defaults(func=reach)

    p = commands.add_parser("matrix", help="all-pairs reachability for one service")
    add_flow_options(p)
    p.add_argument("--source", dest="sources", action="append", help="limit sources (repeatable)")
    p.add_argument("--destination", dest="destinations", action="append", help="limit destinations (repeatable)")
    add_connection_options(p)
    p.set_defaults(func=matrix)

    p = commands.add_parser("whatif", help="flows newly allowed / blocked by API changes (live state untouched)")
    p.add_argument("--change", action="append", type=parse_change, required=True,
                   help="'METHOD /v2.0/path [JSON]', e.g. 'DELETE /v2.0/security-group-rules/ID' (repeatable)")
    add_flow_options(p)
    p.add_argument("--source", dest="sources", action="append", help="limit sources (repeatable)")
    p.add_argument("--destination", dest="destinations", action="append", help="limit destinations (repeatable)")
    add_connection_options(p)
    p.set_defaults(func=whatif)

    p = commands.add_parser("lint", help="shadowed, redundant and over-broad security-group rules")
    p.add_argument("--project-id", help="admin: lint one project's groups")
    add_connection_options(p)
    p.set_defaults(func=lint)

    p = commands.add_parser("sgtest", help="which rules of a port's groups match a flow")
    p.add_argument("port_id")
    p.add_argument("--direction", choices=["ingress", "egress"], default="ingress")
    p.add_argument("--remote", help="the far end's IP address")
    add_flow_options(p)
    add_connection_options(p)
    p.set_defaults(func=sgtest)
