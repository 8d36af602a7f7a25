"""What the main window needs to build its panels, imported only when it builds them.

pyqtgraph and the panel modules take the GUI thread about 0.25 s to import. The main window
shows first without them, while the worker loads the model (see ``MainWindow``).
"""

from explorer.gui.panels.analysis_docks import add_analysis_docks
from explorer.gui.panels.anatomy import AnatomyPanel
from explorer.gui.panels.attention import AttentionPanel
from explorer.gui.panels.norms import NormsPanel
from explorer.gui.panels.pooled import PooledPanel
from explorer.gui.panels.tokenization import TokenizationPanel
from explorer.gui.panels.tokens import TokensPanel
from explorer.gui.plot_style import set_plot_defaults, style_plots

__all__ = [
    "AnatomyPanel",
    "AttentionPanel",
    "NormsPanel",
    "PooledPanel",
    "TokenizationPanel",
    "TokensPanel",
    "add_analysis_docks",
    "set_plot_defaults",
    "style_plots",
]
