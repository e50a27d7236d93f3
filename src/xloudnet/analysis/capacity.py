"""QoS capacity runs (``POST /simulation/v1/simulations``): the JSON-facing side of
``xloudnet.sim``.

``run_capacity(tables, request, progress=None) -> dict`` validates the request, builds each
flow's path from the data plane's trace and runs the simulation. The API calls the parts
separately — ``parse_request`` and ``plan_flows`` at once (bad input is a 400/404 before any job
starts), ``simulate`` in the background.

Request::

    {"flows": [{"source": {...}, "destination": {...}, "protocol": "udp",
                "destination_port": 5001?, "rate_kbps": 2000, "packet_size": 1500?,
                "pattern": "cbr"|"poisson"|"onoff"?, "burst": {"on_ms", "off_ms"}?,
                "dscp": 0?, "start_s": 0?, "name"?}],
     "duration_s": 10, "seed": 0?, "bins": 50?,
     "links": {"port"|"router"|"router_uplink"|"shaper"|LINK_ID:
               {"capacity_kbps"?, "delay_ms"?, "queue_packets"?}}?}

Limits: at most ``MAX_FLOWS`` flows, ``MAX_DURATION_S`` seconds, and ``MAX_PACKETS`` packets
offered in all (Σ rate / packet size × active time; ``MAX_PACKETS_REFERENCE`` when the per-packet
engine is asked for) so that no request runs for long.
"""

from __future__ import annotations

import math
from numbers import Real

from ..dataplane import FlowTables, QueryError
from ..sim import FlowSpec, SimConfig, run_engine
from ..sim.engine import engine_steps
from ..sim.backends import BACKENDS, DEFAULT_BACKEND, TBF_LATENCY_MS
from ..sim.config import LINK_DEFAULTS, SHAPER_QUEUE_PACKETS
from ..sim.paths import Plan, plan_flow
from ..sim.sources import PATTERNS

MAX_FLOWS = 1000
MAX_DURATION_S = 600.0
MAX_PACKETS = 100_000_000           # the batched engine: ~1.5 M packets/s on one core
MAX_PACKETS_REFERENCE = 2_000_000   # the per-packet engine: ~50–100 k packets/s
MAX_QUEUE_PACKETS = 100_000
REQUEST_KEYS = frozenset({"flows", "duration_s", "seed", "links", "bins", "backend", "engine"})
ENGINES = ("auto", "batched", "reference")
FLOW_KEYS = frozenset({"source", "destination", "protocol", "destination_port", "rate_kbps", "packet_size",
                       "pattern", "burst", "dscp", "start_s", "name"})
LINK_KEYS = frozenset({"capacity_kbps", "delay_ms", "queue_packets", "loss_ratio"})


def run_capacity(tables: FlowTables, request: dict, progress=None) -> dict:
    """Validate ``request``, run it, return the result (see docs/simulation.md).

    Raises ``QueryError`` (400 for malformed requests, 404 for unknown port/network ids)."""
    config, seed = parse_request(request)
    plans = plan_flows(tables, config)
    return simulate(tables, config, seed, plans, progress)


def simulate(tables: FlowTables, config: SimConfig, seed: int, plans: list[Plan], progress=None) -> dict:
    """Run an already validated request."""
    result = run_engine(tables, config, seed, plans, progress)
    result["seed"] = seed
    return result


def simulation_steps(tables: FlowTables, config: SimConfig, seed: int, plans: list[Plan]):
    """``simulate`` as a generator: yields the fraction done after each step and returns the
    result (the server runs jobs in slices; closing the generator abandons the run)."""
    result = yield from engine_steps(tables, config, seed, plans)
    result["seed"] = seed
    return result


def plan_flows(tables: FlowTables, config: SimConfig) -> list[Plan]:
    """Each flow's path; a flow naming nothing valid → ``QueryError`` naming the flow."""
    plans = []
    for i, flow in enumerate(config.flows):
        try:
            plans.append(plan_flow(tables, flow.query()))
        except QueryError as exc:
            raise QueryError(f"flows[{i}]: {exc.message}", exc.http_status) from None
    return plans


# --- validation ---------------------------------------------------------------------------------
def _fail(message: str):
    raise QueryError(message, 400)


def _number(value, where: str, low: float, high: float, *, integer: bool = False, low_open: bool = False):
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer and value != int(value):
        ok = False
    if not ok or value < low or value > high or (low_open and value == low):
        kind = "an integer" if integer else "a number"
        bound = f"> {low}" if low_open else f">= {low}"
        _fail(f"'{where}' must be {kind} {bound} and <= {high}")
    return int(value) if integer else float(value)


def _unknown(obj: dict, allowed: frozenset, where: str) -> None:
    extra = set(obj) - allowed
    if extra:
        _fail(f"Unrecognized attribute(s) {', '.join(sorted(extra))} in {where}")


def parse_request(request) -> tuple[SimConfig, int]:
    """The request as a ``SimConfig`` and a seed, or ``QueryError`` 400 saying what is wrong."""
    if not isinstance(request, dict):
        _fail("the simulation request must be an object")
    _unknown(request, REQUEST_KEYS, "the request")
    if "duration_s" not in request:
        _fail("'duration_s' is required")
    duration = _number(request["duration_s"], "duration_s", 0.0, MAX_DURATION_S, low_open=True)
    seed = _number(request.get("seed", 0), "seed", 0, 2**63 - 1, integer=True)
    bins = _number(request.get("bins", 50), "bins", 1, 1000, integer=True)
    flows = request.get("flows")
    if not isinstance(flows, list) or not flows:
        _fail("'flows' must be a non-empty list")
    if len(flows) > MAX_FLOWS:
        _fail(f"at most {MAX_FLOWS} flows per simulation")
    specs = tuple(_flow(f, i, duration) for i, f in enumerate(flows))
    links, shaper_queue, tbf_latency = _links(request.get("links", {}))
    backend = request.get("backend", DEFAULT_BACKEND)
    if backend not in BACKENDS:
        _fail(f"'backend' must be one of {', '.join(BACKENDS)}")
    packets = sum(s.rate_kbps * 1000.0 / (s.packet_size * 8) * (duration - s.start_s) for s in specs)
    engine = request.get("engine", "auto")
    if engine not in ENGINES:
        _fail(f"'engine' must be one of {', '.join(ENGINES)}")
    per_packet = engine == "reference" or any(f.pattern == "tcp" for f in specs) or \
        any(spec.get("loss_ratio") for spec in links.values())  # what only the per-packet engine runs
    limit = MAX_PACKETS_REFERENCE if per_packet else MAX_PACKETS
    if packets > limit:
        _fail(f"the request offers about {int(packets):,} packets; the limit is {limit:,} "
              f"(lower duration_s or rate_kbps, or raise packet_size)")
    return SimConfig(specs, duration, links, shaper_queue, bins, backend, tbf_latency, engine), seed


def _flow(flow, i: int, duration: float) -> FlowSpec:
    where = f"flows[{i}]"
    if not isinstance(flow, dict):
        _fail(f"{where} must be an object")
    _unknown(flow, FLOW_KEYS, where)
    for key in ("source", "destination", "protocol", "rate_kbps"):
        if flow.get(key) is None:
            _fail(f"{where}.{key} is required")
    for key in ("source", "destination"):
        if not isinstance(flow[key], dict):
            _fail(f"{where}.{key} must be an object")
    protocol = flow["protocol"]
    if isinstance(protocol, bool) or not isinstance(protocol, (str, int)):
        _fail(f"{where}.protocol must be a name or a number")
    port = flow.get("destination_port")
    if port is not None:
        port = _number(port, f"{where}.destination_port", 0, 65535, integer=True)
    pattern = flow.get("pattern", "cbr")
    if pattern not in PATTERNS:
        _fail(f"{where}.pattern must be one of {', '.join(PATTERNS)}")
    burst = flow.get("burst") or {}
    if not isinstance(burst, dict) or set(burst) - {"on_ms", "off_ms"}:
        _fail(f"{where}.burst must be an object with on_ms and/or off_ms")
    name = flow.get("name")
    if name is not None and not isinstance(name, str):
        _fail(f"{where}.name must be a string")
    start = _number(flow.get("start_s", 0.0), f"{where}.start_s", 0.0, duration)
    if start >= duration:
        _fail(f"{where}.start_s must be before duration_s")
    return FlowSpec(
        source=flow["source"], destination=flow["destination"], protocol=protocol,
        rate_kbps=_number(flow["rate_kbps"], f"{where}.rate_kbps", 0.0, 100_000_000.0, low_open=True),
        destination_port=port,
        packet_size=_number(flow.get("packet_size", 1500), f"{where}.packet_size", 64, 9216, integer=True),
        pattern=pattern,
        on_ms=_number(burst.get("on_ms", 100.0), f"{where}.burst.on_ms", 0.0, 1e6, low_open=True),
        off_ms=_number(burst.get("off_ms", 100.0), f"{where}.burst.off_ms", 0.0, 1e6),
        dscp=_number(flow.get("dscp", 0), f"{where}.dscp", 0, 63, integer=True),
        start_s=start, name=name)


def _links(links) -> tuple[dict, int, float]:
    if not isinstance(links, dict):
        _fail("'links' must be an object: kind or link id → {capacity_kbps, delay_ms, queue_packets}")
    out, shaper_queue, tbf_latency = {}, SHAPER_QUEUE_PACKETS, TBF_LATENCY_MS
    for key, spec in links.items():
        where = f"links.{key}"
        if not isinstance(spec, dict):
            _fail(f"{where} must be an object")
        _unknown(spec, LINK_KEYS if key != "shaper" else frozenset({"queue_packets", "latency_ms"}), where)
        fields = {}
        if "capacity_kbps" in spec:
            fields["capacity_kbps"] = _number(spec["capacity_kbps"], f"{where}.capacity_kbps", 0.0, 1e9, low_open=True)
        if "delay_ms" in spec:
            fields["delay_ms"] = _number(spec["delay_ms"], f"{where}.delay_ms", 0.0, 10_000.0)
        if "loss_ratio" in spec:
            fields["loss_ratio"] = _number(spec["loss_ratio"], f"{where}.loss_ratio", 0.0, 1.0)
        if "queue_packets" in spec:
            fields["queue_packets"] = _number(spec["queue_packets"], f"{where}.queue_packets", 1,
                                              MAX_QUEUE_PACKETS, integer=True)
        if key == "shaper":
            shaper_queue = fields.get("queue_packets", shaper_queue)
            if "latency_ms" in spec:
                tbf_latency = _number(spec["latency_ms"], f"{where}.latency_ms", 0.0, 10_000.0, low_open=True)
        else:
            out[key] = fields
    return out, shaper_queue, tbf_latency


__all__ = ["run_capacity", "parse_request", "plan_flows", "simulate", "simulation_steps", "LINK_DEFAULTS", "MAX_PACKETS"]
