"""The knocked-out heads: part of the shared state, saved with a session like a panel option.

They are kept as one panel option (``why.knocked_out``, 'L:H,L:H' counted from 1), so a
session file stores them in its ``view`` and restores them with every other option, and a
change is one ``panel_options.changed`` signal that the window answers by running again.
"""

from __future__ import annotations

from collections.abc import Iterable

from explorer.core.why.gates import Head, KnockOutSpecError, head_label, parse_head_spec
from explorer.gui.state.panel_options import PanelOptions

KNOCK_OUT_KEY = "why.knocked_out"


def knocked_out(options: PanelOptions) -> tuple[Head, ...]:
    """The knocked-out heads, (layer, head) from 0, sorted; a malformed entry is skipped."""
    heads = set()
    for spec in str(options.get(KNOCK_OUT_KEY, "")).split(","):
        try:
            heads.add(parse_head_spec(spec.strip()))
        except KnockOutSpecError:
            continue
    return tuple(sorted(heads))


def set_knocked_out(options: PanelOptions, heads: Iterable[Head]) -> None:
    """Replace the knocked-out heads (an equal set changes nothing)."""
    options.set(KNOCK_OUT_KEY, ",".join(head_label(h) for h in sorted(set(heads))))


def toggle(options: PanelOptions, heads: Iterable[Head]) -> None:
    """Switch ``heads`` off, or back on when every one of them is off already."""
    current = set(knocked_out(options))
    wanted = set(heads)
    set_knocked_out(options, current - wanted if wanted <= current else current | wanted)
