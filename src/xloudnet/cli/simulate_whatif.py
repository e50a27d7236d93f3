"""``xloudnet simulate FILE --change '...'``: a QoS what-if — the same traffic before and after
Neutron API changes (raise a policy's limit, move ports to another policy), one row per flow.

The changes come from ``--change 'METHOD /v2.0/path [JSON]'`` (repeatable), ``--changes FILE``
(a YAML/JSON list of ``{method, path, body}``) and the request file's own ``changes:``, in that
order: file, ``--changes``, ``--change``. Names and id prefixes in their paths and id fields are
resolved as everywhere else (``resolve``). The server applies them to a fork as the caller would;
the live cloud is untouched.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .resolve import Resolver, humanize, resolve_change


def read_data_file(path: Path):
    """A YAML (or, by its suffix, JSON) file's data; ``ValueError`` with ``file:line: what`` when
    it cannot be read or parsed."""
    import yaml

    from ..settings import yaml_error_line

    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: {exc.msg}") from None
    except yaml.MarkedYAMLError as exc:
        raise ValueError(yaml_error_line(path, exc)) from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_changes(path: Path) -> list:
    """A YAML or JSON list of changes (``ValueError`` with ``file:line: what`` when it is not)."""
    data = read_data_file(path)
    if isinstance(data, dict) and "changes" in data:
        data = data["changes"]
    if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
        raise ValueError(f"{path}: expected a list of changes, each {{method, path, body}}")
    return data


def gather_changes(request: dict, extra_file: Path | None, flags: list | None) -> list | None:
    """Every change the run asks for (file's, ``--changes``, ``--change``), or None for none."""
    changes = list(request.get("changes") or [])
    if extra_file is not None:
        changes += load_changes(extra_file)
    changes += list(flags or [])
    return changes or None


def resolve_changes(changes: list, resolver: Resolver) -> list:
    """Names and prefixes in each well-formed change resolved (malformed ones go as they are:
    the server says what is wrong with them)."""
    return [resolve_change(resolver, c) if isinstance(c.get("path"), str) else c for c in changes]


def _pair(row: dict, key: str, fmt) -> str:
    a, b = row["before"].get(key), row["after"].get(key)
    return f"{'-' if a is None else fmt(a)} → {'-' if b is None else fmt(b)}"


def render_whatif(console: Console, job: dict, names: dict | None = None, changes: list = ()) -> None:
    """The changes, then one row per flow: delivered, its change, loss, p99 and disposition."""
    result, names = job["result"], names or {}
    for number, change in enumerate(changes, 1):
        body = change.get("body")
        console.print(f"change {number}: {change.get('method')} {humanize(str(change.get('path')), names)}"
                      + (f" {humanize(json.dumps(body), names)}" if body is not None else ""), highlight=False)
    before = result["before"]
    table = Table(title=f"QoS what-if: {result['changes_applied']} change(s), {before['duration_s']:g} s "
                        f"(seed {before.get('seed', 0)}), before → after")
    for column in ("flow", "delivered kbps", "change kbps", "loss %", "p99 ms", "disposition"):
        table.add_column(column, justify="left" if column in ("flow", "disposition") else "right")
    for row in result["flows"]:
        change = row["delivered_kbps_change"]
        style = "green" if change > 0.5 else "red" if change < -0.5 else ""
        table.add_row(humanize(row["name"], names), _pair(row, "delivered_kbps", lambda v: f"{v:.1f}"),
                      f"[{style}]{change:+.1f}[/]" if style else f"{change:+.1f}",
                      _pair(row, "loss_ratio", lambda v: f"{100 * v:.2f}"),
                      _pair(row, "p99_ms", lambda v: f"{v:.3f}"), _pair(row, "disposition", str))
    console.print(table)


def plot_whatif(result: dict, path: Path, names: dict | None = None) -> None:
    """PNG: per flow, delivered throughput, loss and p99 before (grey) and after (colour)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = names or {}
    rows = result["flows"]
    labels = [humanize(r["name"], names) for r in rows]
    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 3, figsize=(max(12, 1.2 * len(rows) + 6), 4.8))
    panels = (("delivered_kbps", "delivered kbit/s", 1.0), ("loss_ratio", "loss %", 100.0),
              ("p99_ms", "p99 latency (ms)", 1.0))
    for ax, (key, title, scale) in zip(axes, panels):
        top = 0.0
        for offset, side, color in ((-0.2, "before", "#9e9e9e"), (0.2, "after", "#1f77b4")):
            values = [scale * (r[side][key] or 0.0) for r in rows]
            ax.bar(x + offset, values, width=0.4, label=side, color=color)
            top = max(top, *values)
        ax.set_xticks(x, labels, rotation=30 if len(rows) > 3 else 0, ha="right" if len(rows) > 3 else "center",
                      fontsize="small")
        ax.set_title(title)
        ax.set_ylim(0, top * 1.25 if top > 0 else 1.0)  # headroom: the legend never covers a bar
        ax.ticklabel_format(axis="y", style="plain", useOffset=False)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize="small", loc="upper left", ncol=2)
    fig.suptitle(f"QoS what-if: {result['changes_applied']} change(s), before → after per flow")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["load_changes", "gather_changes", "resolve_changes", "render_whatif", "plot_whatif"]
