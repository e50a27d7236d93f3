"""What-if, second half: compare answers before and after a set of changes.

``xloudnet.control.changes.apply_changes`` produces the forked plane; this module diffs what the
data plane says about the two.
"""

from __future__ import annotations

from collections.abc import Callable


def diff_matrices(before: dict, after: dict, describe: Callable[[str, str], dict]) -> dict:
    """Pairs whose reachability flipped between two ``matrix()`` answers over the same ends."""
    newly_allowed, newly_blocked = [], []
    index_after = {s: i for i, s in enumerate(after["sources"])}
    column_after = {d: j for j, d in enumerate(after["destinations"])}
    for i, source in enumerate(before["sources"]):
        if source not in index_after:
            continue
        ia = index_after[source]
        for j, destination in enumerate(before["destinations"]):
            ja = column_after.get(destination)
            if ja is None:
                continue
            was, now = before["reachable"][i][j], after["reachable"][ia][ja]
            if was == now:
                continue
            item = dict(describe(source, destination))
            item["before"] = before["dispositions"][i][j]
            item["after"] = after["dispositions"][ia][ja]
            (newly_allowed if now else newly_blocked).append(item)
    return {"newly_allowed": newly_allowed, "newly_blocked": newly_blocked}
