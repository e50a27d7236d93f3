"""The ``xloudnet`` command: serve the API, and ask the analyser questions.

Only this module and ``api/app.py`` wire the layers together.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

from .. import __version__
from ..cloud.connection import LoginError
from .cloud import add_cloud_commands
from .questions import add_commands
from .run import add_run_command
from .scenario import add_scenario_command
from .simulate import add_simulate_command
from .sweep import add_sweep_command
from .topology import add_topology_command


def _serve(args: argparse.Namespace) -> int:
    from ..api.app import create_app
    from ..api.serving import serve_until_stopped
    from ..control.plane import ControlPlane
    from ..settings import load_settings

    try:
        settings = load_settings(args.config, dict(os.environ), host=args.host, port=args.port,
                                 state_dir=args.state, dhcp_agent=False if args.no_dhcp_agent else None)
        settings.check_safe_to_bind()
    except ValueError as exc:  # SettingsError: one line per problem
        for line in str(exc).splitlines():
            print(f"xloudnet: {line}", file=sys.stderr)
        return 2
    # The store keeps every resource alive for the life of the process; with the default
    # thresholds the cyclic collector keeps re-walking it and a create at 100k ports costs
    # 2-3x one at 1k. Collecting the young generation less often keeps the cost flat.
    gc.set_threshold(50_000, 20, 10)
    plane = ControlPlane(quotas=settings.quotas, dhcp_agent=settings.dhcp_agent)
    log = identity = None
    restored = 0
    if settings.state_dir:
        from ..control.statelog import StateError
        from .state import open_state

        try:
            log, identity, restored = open_state(settings, plane)
        except (StateError, OSError, ValueError) as exc:
            print(f"xloudnet: state: {exc}", file=sys.stderr)
            return 2
        print(f"xloudnet: state in {settings.state_dir} ({restored} resources restored)", flush=True)
    if identity is None:
        from ..identity import IdentityService

        identity = IdentityService(settings)
    if args.scenario:
        # A state directory that already holds a cloud keeps it: the scenario seeds only a new one.
        if restored:
            print(f"xloudnet: {settings.state_dir} already holds resources; --scenario not loaded", flush=True)
        else:
            from .scenario import load_for_serve

            if not load_for_serve(args.scenario, plane, identity):
                return 2
    app = create_app(plane, settings, identity)
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    print(f"xloudnet {__version__}: identity {base}/identity/v3  networking {base}/networking  "
          f"simulation {base}/simulation/v1", flush=True)
    try:
        return serve_until_stopped(app, settings, log_level=args.log_level, access_log=args.access_log)
    finally:
        if log is not None:
            log.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xloudnet",
        description="OpenStack Networking (Neutron v2.0) compatible API with a data-plane simulator.",
    )
    parser.add_argument("--version", action="version", version=f"xloudnet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API server (identity, networking, simulation)")
    serve.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port to bind (default 9696)")
    serve.add_argument("--config", type=Path, default=None, help="YAML settings file (password, accounts, quotas, ...)")
    serve.add_argument("--state", default=None, metavar="DIR",
                       help="keep every resource, user and token durably in DIR (SQLite) and restore them at start")
    serve.add_argument("--scenario", type=Path, default=None,
                       help="start with this scenario file provisioned (into an empty --state only)")
    serve.add_argument("--no-dhcp-agent", action="store_true",
                       help="simulate no DHCP agent: no network:dhcp ports (config file: dhcp_agent: false)")
    serve.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(func=_serve)
    add_commands(commands)
    add_simulate_command(commands)
    add_run_command(commands); add_scenario_command(commands)
    add_cloud_commands(commands)
    add_topology_command(commands)
    add_sweep_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except LoginError as exc:  # a usage error for CI: exit 2, one line, no traceback
        print(f"xloudnet: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
