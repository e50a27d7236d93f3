"""``xloudnet reach | matrix | whatif | lint | sgtest``: ask a running server, show the answer.

Ports, groups, rules, networks and routers may be named by name or unique id prefix anywhere an
id goes. Exit codes: 0 yes (reachable, PERMIT, nothing to fail on), 1 no (unreachable, DENY, a
``--fail-on`` condition met), 2 the question could not be asked (usage, login, unknown name,
refused change, server unreachable).
"""

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
from .resolve import Resolver, ResolveError, resolve_change
from .sweep import add_local_matrix_options, local_matrix, wants_local_matrix


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    add_auth_options(parser, environ=os.environ)
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")


def endpoint(text: str) -> dict:
    """``PORT``, ``port:PORT``, ``PORT/IP`` (send from IP), ``IP``, ``IP@NETWORK`` or JSON; PORT and
    NETWORK are names, ids or unique id prefixes (resolved later by ``resolve_end``)."""
    text = text.strip()
    if text.startswith("{"):
        try:
            end = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"endpoint {text!r} is not JSON ({exc})") from None
        if not isinstance(end, dict):
            raise UsageError(f"endpoint {text!r} must be a JSON object")
        return end
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


def add_flow_options(parser: argparse.ArgumentParser,
                     without: str = "omit for the exact allowed set") -> None:
    parser.add_argument("--protocol", "-p", help=f"tcp, udp, icmp, ipv6-icmp or a number; {without}")
    parser.add_argument("--port", dest="destination_port", type=int, help="destination port")
    parser.add_argument("--source-port", type=int)
    parser.add_argument("--icmp-type", type=int)
    parser.add_argument("--icmp-code", type=int)
    parser.add_argument("--ethertype", choices=["IPv4", "IPv6"])


def client_for(args) -> Client:
    """A client for the cloud the authentication options name (logs in on its first call)."""
    return Client(functools.partial(login, args, os.environ))


# Exit codes, for CI: the answer is yes / no, or the question could not be asked.
EXIT_OK, EXIT_NEGATIVE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input on the command line (one line for the user)."""


def ask(args, work) -> int:
    """Run ``work(client, resolver, console) -> exit code`` with one-line errors: a refused
    call, an unknown name, an unreachable server or bad input exit ``EXIT_USAGE``."""
    client = client_for(args)
    try:
        return work(client, Resolver(client), Console())
    except (ClientError, ResolveError, UsageError) as exc:
        print(f"xloudnet: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"xloudnet: cannot reach the server: {exc}", file=sys.stderr)
    return EXIT_USAGE


def show(args, answer, view) -> None:
    """``--json``: the answer as the API gave it; else the rich view."""
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        view()


def resolve_end(resolver: Resolver, end: dict) -> dict:
    """An endpoint with its port / network named by name or id prefix resolved to ids."""
    end = dict(end)
    if isinstance(end.get("port_id"), str):
        end["port_id"] = resolver.resolve("port", end["port_id"])
    if isinstance(end.get("network_id"), str):
        end["network_id"] = resolver.resolve("network", end["network_id"])
    return end


def _ends(resolver: Resolver, texts) -> list[dict] | None:
    return [resolve_end(resolver, endpoint(t)) for t in texts] if texts else None


def reach(args) -> int:
    def work(client, resolver, console):
        body = {"source": resolve_end(resolver, endpoint(args.source)),
                "destination": resolve_end(resolver, endpoint(args.destination)), **_flow_fields(args)}
        answer = client.simulation("POST", "/reachability", body)
        show(args, answer, lambda: render.reachability(console, answer, asked=_flow_fields(args),
                                                       names=resolver.names()))
        return EXIT_OK if answer["reachable"] else EXIT_NEGATIVE
    return ask(args, work)


def matrix(args) -> int:
    if wants_local_matrix(args):  # a scenario's matrix here, or partitioned over Dask workers
        query = _flow_fields(args)
        query.setdefault("protocol", "icmp")
        return local_matrix(args, query)

    def work(client, resolver, console):
        body = _flow_fields(args)
        body.setdefault("protocol", "icmp")
        for key, texts in (("sources", args.sources), ("destinations", args.destinations)):
            if texts:
                body[key] = _ends(resolver, texts)
        answer = client.simulation("POST", "/reachability/matrix", body)
        show(args, answer, lambda: render.matrix(console, answer, names=resolver.names(["port"])))
        return EXIT_OK
    return ask(args, work)


def parse_change(text: str) -> dict:
    """``'METHOD /v2.0/path [JSON body]'`` → a what-if change."""
    parts = text.strip().split(None, 2)
    if len(parts) < 2:
        raise argparse.ArgumentTypeError(f"change must be 'METHOD /v2.0/path [json]': {shlex.quote(text)}")
    change = {"method": parts[0].upper(), "path": parts[1]}
    if len(parts) == 3:
        try:
            change["body"] = json.loads(parts[2])
        except json.JSONDecodeError as exc:
            raise argparse.ArgumentTypeError(f"the change's body is not JSON ({exc})") from None
    return change


FAIL_ON = {"newly-allowed": ("newly_allowed",), "newly-blocked": ("newly_blocked",),
           "any": ("newly_allowed", "newly_blocked")}


def whatif(args) -> int:
    def work(client, resolver, console):
        changes = [resolve_change(resolver, c) for c in args.change]
        body = {"changes": changes, **_flow_fields(args)}
        for key, texts in (("sources", args.sources), ("destinations", args.destinations)):
            if texts:
                body[key] = _ends(resolver, texts)
        described = [render.describe_change(c, resolver) for c in changes]
        answer = client.simulation("POST", "/whatif", body)
        show(args, answer, lambda: render.whatif(console, answer, names=resolver.names(), changes=described))
        keys = {k for name in args.fail_on or () for k in FAIL_ON[name]}
        return EXIT_NEGATIVE if any(answer.get(k) for k in keys) else EXIT_OK
    return ask(args, work)


SEVERITIES = ("info", "low", "medium", "high")


def lint(args) -> int:
    def work(client, resolver, console):
        path = "/security-groups/lint" + (f"?project_id={args.project_id}" if args.project_id else "")
        answer = client.simulation("GET", path)
        show(args, answer, lambda: render.lint(console, answer, names=resolver.names()))
        if args.fail_on is None:
            return EXIT_OK
        floor = SEVERITIES.index(args.fail_on)
        worse = [f for f in answer.get("findings", []) if f.get("severity") in SEVERITIES
                 and SEVERITIES.index(f["severity"]) >= floor]
        return EXIT_NEGATIVE if worse else EXIT_OK
    return ask(args, work)


def sgtest(args) -> int:
    def work(client, resolver, console):
        body = {"port_id": resolver.resolve("port", args.port_id), "direction": args.direction,
                **_flow_fields(args)}
        if args.remote:
            body["remote_ip_address"] = args.remote
        answer = client.simulation("POST", "/security-groups/test", body)
        show(args, answer, lambda: render.sgtest(console, answer, names=resolver.names()))
        return EXIT_OK if answer.get("verdict") == "PERMIT" else EXIT_NEGATIVE
    return ask(args, work)


def add_commands(commands) -> None:
    """Register the question commands on the top-level parser's subcommands."""
    p = commands.add_parser("reach", aliases=["trace"], help="can SOURCE reach DESTINATION? verdict, trace, allowed set",
                            description="Exit code: 0 reachable, 1 not reachable, 2 usage or login error.")
    p.add_argument("source", help="PORT, PORT/IP, IP or IP@EXTERNAL_NETWORK (names, ids or id prefixes)")
    p.add_argument("destination", help="PORT or IP (fixed, floating or external)")
    add_flow_options(p)
    add_connection_options(p)
    p.set_defaults(func=reach)

    p = commands.add_parser("matrix", help="all-pairs reachability for one service")
    add_flow_options(p)
    p.add_argument("--source", dest="sources", action="append", help="limit sources (repeatable)")
    p.add_argument("--destination", dest="destinations", action="append", help="limit destinations (repeatable)")
    add_local_matrix_options(p)
    add_connection_options(p)
    p.set_defaults(func=matrix)

    p = commands.add_parser("whatif", help="flows newly allowed / blocked by API changes (live state untouched)")
    p.add_argument("--change", action="append", type=parse_change, required=True,
                   help="'METHOD /v2.0/path [JSON]', e.g. 'DELETE /v2.0/security-group-rules/ID' (repeatable; "
                        "ids in the path and in *_id fields of the body may be names or id prefixes)")
    p.add_argument("--fail-on", action="append", choices=sorted(FAIL_ON),
                   help="exit 1 when the change newly allows / blocks some flow (repeatable)")
    add_flow_options(p)
    p.add_argument("--source", dest="sources", action="append", help="limit sources (repeatable)")
    p.add_argument("--destination", dest="destinations", action="append", help="limit destinations (repeatable)")
    add_connection_options(p)
    p.set_defaults(func=whatif)

    p = commands.add_parser("lint", help="shadowed, redundant and over-broad security-group rules")
    p.add_argument("--project-id", help="admin: lint one project's groups")
    p.add_argument("--fail-on", choices=SEVERITIES, help="exit 1 when a finding has this severity or a higher one")
    add_connection_options(p)
    p.set_defaults(func=lint)

    p = commands.add_parser("sgtest", help="which rules of a port's groups match a flow")
    p.add_argument("port_id", metavar="PORT", help="name, id or id prefix")
    p.add_argument("--direction", choices=["ingress", "egress"], default="ingress")
    p.add_argument("--remote", help="the far end's IP address")
    add_flow_options(p)
    add_connection_options(p)
    p.set_defaults(func=sgtest)
