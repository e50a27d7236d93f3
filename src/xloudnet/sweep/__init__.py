"""Sweeps: a grid of QoS simulations or analysis runs of one scenario, run serially or on Dask.

- ``schema`` — the sweep file format (pydantic);
- ``plan`` — ``load_sweep(FILE)``: validate (``FILE:LINE: PATH: MESSAGE`` problems), expand axes into points;
- ``point`` — ``run_point(task)``: build the point's plane, run it, return small figures (runs in workers);
- ``cluster`` — ``dask_client`` (a LocalCluster, or an existing scheduler), ``run_on`` / ``run_serial``;
- ``report`` — rows, CSV, JSON and PNG plots of the results.

Names load on first use; nothing here imports Dask until a cluster is asked for.
"""

from importlib import import_module

_WHERE = {"SweepFile": "schema", "json_schema": "schema", "load_sweep": "plan", "Sweep": "plan", "Point": "plan",
          "PointTask": "point", "run_point": "point", "dask_client": "cluster", "run_on": "cluster",
          "run_serial": "cluster", "ClusterError": "cluster"}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(name)
