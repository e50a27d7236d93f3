"""A sweep's results as a document (JSON), CSV rows and PNG plots.

The plotted figures are the point's totals, or — when the x axis is an ``offered`` axis that
names its flows — those flows' own figures (the load that varies against what it gets).
"""

from __future__ import annotations

import csv
from pathlib import Path

from .plan import Sweep

FIGURES = ("offered_kbps", "delivered_kbps", "loss", "p99_ms")


def x_axis(sweep: Sweep) -> str:
    """The axis on the plots' x axis: the file's choice, else the offered load, else the first
    numeric axis, else the first."""
    axes = sweep.spec.axes
    if sweep.spec.plot and sweep.spec.plot.x:
        return sweep.spec.plot.x
    for axis in axes:
        if axis.kind == "offered":
            return axis.label
    for axis in axes:
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in axis.values()):
            return axis.label
    return axes[0].label


def series_axes(sweep: Sweep, x: str) -> list[str]:
    if sweep.spec.plot and sweep.spec.plot.series is not None:
        return list(sweep.spec.plot.series)
    return [a.label for a in sweep.spec.axes if a.label != x]


def focus_flows(sweep: Sweep, x: str) -> list[str] | None:
    """The flows whose own figures are plotted (``None``: the point's totals)."""
    for axis in sweep.spec.axes:
        if axis.label == x and axis.kind == "offered":
            return list(axis.offered.flows) if axis.offered.flows else None
    return None


def focus(result: dict, flows: list[str] | None) -> dict:
    """Offered / delivered kbps, loss ratio and p99 of ``flows`` in one point (all: the totals)."""
    if flows is None or "flows" not in result:
        return {k: result.get(k) for k in FIGURES}
    chosen = [f for f in result["flows"] if f["name"] in flows]
    offered = sum(f["offered_packets"] for f in chosen)
    p99s = [f["p99_ms"] for f in chosen if f["p99_ms"] is not None]
    return {"offered_kbps": sum(f["offered_kbps"] for f in chosen),
            "delivered_kbps": sum(f["delivered_kbps"] for f in chosen),
            "loss": sum(f["lost_packets"] for f in chosen) / offered if offered else 0.0,
            "p99_ms": max(p99s) if p99s else None}


def document(sweep: Sweep, results: list[dict], where: str, wall_s: float) -> dict:
    """The whole sweep as JSON: axes, one entry per point (its values and figures), summary."""
    x = x_axis(sweep)
    flows = focus_flows(sweep, x)
    points = []
    for point, result in zip(sweep.points, results):
        entry = {"index": point.index, "labels": point.labels, "values": point.values,
                 **{k: v for k, v in result.items() if k != "index"}}
        if flows is not None and result.get("status") == "ok":
            entry["focus"] = {"flows": flows, **focus(result, flows)}
        points.append(entry)
    errors = sum(1 for r in results if r.get("status") != "ok")
    return {"sweep": sweep.name, "file": sweep.file, "run": sweep.spec.run,
            "axes": [{"name": a.label, "kind": a.kind, "values": [point_label(a, v) for v in a.values()]}
                     for a in sweep.spec.axes],
            "plot": {"x": x, "series": series_axes(sweep, x), "flows": flows},
            "points": points,
            "summary": {"points": len(results), "ok": len(results) - errors, "errors": errors,
                        "where": where, "wall_s": wall_s}}


def point_label(axis, value) -> str:
    from .plan import _shown

    return _shown(axis, value)


def write_csv(doc: dict, path: Path) -> None:
    """One row per (point, flow), and one per point with flow ``*`` (its totals)."""
    figures = ("point", "status", "flow", *FIGURES, "intents_pass", "intents_fail", "pairs", "reachable_pairs",
               "wall_s", "error")
    # An axis named like a figure (``offered_kbps``) gets its own column name.
    axes = {a["name"]: f"axis_{a['name']}" if a["name"] in figures else a["name"] for a in doc["axes"]}
    columns = ["point", *axes.values(), "status", "flow", "offered_kbps", "delivered_kbps", "loss", "p99_ms",
               "intents_pass", "intents_fail", "pairs", "reachable_pairs", "wall_s", "error"]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        for p in doc["points"]:
            common = {"point": p["index"], **{axes[k]: v for k, v in p["labels"].items()}, "status": p.get("status"), "wall_s": p.get("wall_s"),
                      "error": p.get("error")}
            intents = p.get("intents") or {}
            writer.writerow({**common, "flow": "*", **{k: p.get(k) for k in FIGURES},
                             "intents_pass": intents.get("pass"), "intents_fail": intents.get("fail"),
                             "pairs": p.get("pairs"), "reachable_pairs": p.get("reachable_pairs")})
            for f in p.get("flows", []):
                writer.writerow({**common, "flow": f["name"], **{k: f.get(k) for k in FIGURES}})


def plot(doc: dict, path: Path) -> None:
    """PNG: delivered throughput, loss and p99 against the x axis, one line per series (a
    matrix sweep: reachable pairs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, series = doc["plot"]["x"], doc["plot"]["series"]
    ok = [p for p in doc["points"] if p.get("status") == "ok"]
    values = [p["values"][x] for p in ok]  # noqa: F841 - kept for the numeric test below
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    order = list(dict.fromkeys(p["labels"][x] for p in doc["points"]))
    if doc["run"] == "matrix":
        panels = [("reachable_pairs", "reachable pairs", 1.0)]
    else:
        panels = [("delivered_kbps", "delivered (kbit/s)", 1.0), ("loss", "loss (%)", 100.0), ("p99_ms", "p99 latency (ms)", 1.0)]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
    lines: dict[str, list] = {}
    for p in ok:
        key = ", ".join(f"{s}={p['labels'][s]}" for s in series) or "all"
        lines.setdefault(key, []).append(p)
    who = doc["plot"]["flows"]
    # Against an offered-load axis the x value is the load actually offered by the flows plotted
    # (all of them, when the axis sets every flow), so that delivered = offered is a true line.
    offered = numeric and _offered_axis(doc, x)
    xlabel = (f"offered load, kbit/s ({', '.join(who) if who else 'all flows'}; axis {x})" if offered else x)

    def x_of(m):
        if offered:
            return _figure(m, "offered_kbps")
        return m["values"][x] if numeric else order.index(m["labels"][x])

    for number, (ax, (figure, title, scale)) in enumerate(zip(axes[0], panels)):
        for key, members in lines.items():
            xs = [x_of(m) for m in members]
            ys = [_figure(m, figure) for m in members]
            pairs = sorted((a, b * scale) for a, b in zip(xs, ys) if b is not None)
            if pairs:
                ax.plot([a for a, _ in pairs], [b for _, b in pairs], marker="o", label=key)
        if figure == "delivered_kbps" and offered:
            top = max((x_of(m) or 0) for m in ok) if ok else 0
            ax.plot([0, top], [0, top], linestyle=":", color="grey", label="delivered = offered")
        ax.set(xlabel=xlabel, ylabel=title, title=title)
        if not numeric:
            ax.set_xticks(range(len(order)), order, rotation=20)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if number == 0:
            ax.legend(fontsize="x-small")
    fig.suptitle(f"sweep {doc['sweep']}: {len(ok)} point(s)")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _figure(point: dict, figure: str):
    source = point.get("focus") or point
    return source.get(figure)


def _offered_axis(doc: dict, x: str) -> bool:
    return any(a["name"] == x and a["kind"] == "offered" for a in doc["axes"])


__all__ = ["document", "write_csv", "plot", "x_axis", "series_axes", "focus_flows", "focus", "FIGURES"]
