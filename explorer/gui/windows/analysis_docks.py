"""Where the analysis views go in the window: tabs beside the panels they extend.

Rollout, flow and norm-based attention are tabs behind the attention panel; the head
statistics, the context of a word and the geometry of the input behind the hidden-state
norms; top-k, the head's predictions and the logit lens behind the pooled vector. Tabs that
are not raised stay hidden and so ask the worker for nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from explorer.gui.panels.analysis.context import ContextPanel
from explorer.gui.panels.analysis.flow import FlowPanel
from explorer.gui.panels.analysis.geometry import GeometryPanel
from explorer.gui.panels.analysis.head_stats import HeadStatsPanel
from explorer.gui.panels.analysis.norm_based import NormPanel
from explorer.gui.panels.analysis.rollout import RolloutPanel
from explorer.gui.panels.analysis.topk import TopKPanel
from explorer.gui.panels.predictions.lens import LogitLensPanel
from explorer.gui.panels.predictions.panel import PredictionsPanel
from explorer.gui.panels.why.attribution import AttributionPanel
from explorer.gui.panels.why.importance import HeadImportancePanel
from explorer.gui.panels.why.walk_through import WalkThroughPanel
from explorer.gui.state.knock_outs import KNOCK_OUT_KEY
from explorer.gui.windows.knock_out_clicks import knock_out_from_overview

if TYPE_CHECKING:
    from explorer.gui.windows.main_window import MainWindow

# key, dock title, panel class, the panel it is tabbed with
ANALYSIS_DOCKS = (
    ("rollout", "Rollout", RolloutPanel, "attention"),
    ("flow", "Flow", FlowPanel, "rollout"),
    ("norm_attention", "Norm-based", NormPanel, "flow"),
    ("head_stats", "Head statistics", HeadStatsPanel, "norms"),
    ("context", "Context", ContextPanel, "head_stats"),
    ("geometry", "Geometry", GeometryPanel, "context"),
    ("topk", "Top-k", TopKPanel, "pooled"),
    ("predictions", "Predictions", PredictionsPanel, "topk"),
    ("logit_lens", "Logit lens", LogitLensPanel, "predictions"),
    ("walk_through", "How attention is computed", WalkThroughPanel, "norm_attention"),
    ("attribution", "Attribution", AttributionPanel, "logit_lens"),
    ("head_importance", "Head importance", HeadImportancePanel, "context"),
)


def add_analysis_docks(window: MainWindow) -> dict[str, QWidget]:
    """Create every analysis panel on the window's state and dock it; returns key → panel."""
    panels: dict[str, QWidget] = {}
    for key, title, panel_class, beside in ANALYSIS_DOCKS:
        panel = panel_class(window.state)
        window.add_panel(key, title, panel, Qt.DockWidgetArea.RightDockWidgetArea, beside)
        panels[key] = panel
    window.state.model_changed.connect(lambda: raise_predictions(window))
    window.state.panel_options.changed.connect(lambda key: _on_option_changed(window, key))
    window.controller.analysis_progress.connect(window.state.analysis_progress)
    knock_out_from_overview(window)
    return panels


def _on_option_changed(window: MainWindow, key: str) -> None:
    """Heads knocked out or restored: run the input again, so every panel follows."""
    if key == KNOCK_OUT_KEY and window.state.result is not None:
        window.run_now()


def raise_predictions(window: MainWindow) -> None:
    """A model with a prediction head shows what it predicts first; others the pooled vector."""
    info = window.state.model_info
    has_head = info is not None and info.head != "none"
    window.docks["predictions" if has_head else "pooled"].raise_()
