"""The data plane: a Snapshot compiled to numpy flow tables, and packet batches evaluated on them.

- ``compile_tables(snapshot, previous=None) -> FlowTables`` — incremental by record identity;
- ``evaluate_flows(tables, flows) -> list[dict]`` — reachability queries as one vectorised batch;
- ``QueryError`` — a query naming no valid flow (``http_status`` 404 or 400).

See ``tables.py`` for the layout, ``engine.py``/``routing.py`` for the walk (docs/semantics.md
§4-5), ``explain.py`` for traces and allowed sets.
"""

from .flows import Flow, QueryError, resolve
from .run import evaluate_flows, run_flows
from .compiler import compile_tables
from .tables import FlowTables

__all__ = ["compile_tables", "evaluate_flows", "FlowTables", "QueryError", "Flow", "resolve", "run_flows"]
