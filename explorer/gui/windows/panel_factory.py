"""What the main window needs to build its panels, imported only when it builds them.

pyqtgraph and the panel modules take the GUI thread about 0.25 s to import. The main window
shows first without them, while the worker loads the model (see ``MainWindow``).
"""

from explorer.gui.panels.main.anatomy import AnatomyPanel
from explorer.gui.panels.main.attention import AttentionPanel
from explorer.gui.panels.main.norms import NormsPanel
from explorer.gui.panels.main.pooled import PooledPanel
from explorer.gui.panels.main.tokenization import TokenizationPanel
from explorer.gui.panels.main.tokens import TokensPanel
from explorer.gui.style.plot_style import set_plot_defaults, style_plots
from explorer.gui.windows.analysis_docks import add_analysis_docks, raise_predictions

__all__ = [
    "AnatomyPanel",
    "AttentionPanel",
    "NormsPanel",
    "PooledPanel",
    "TokenizationPanel",
    "TokensPanel",
    "add_analysis_docks",
    "raise_predictions",
    "set_plot_defaults",
    "style_plots",
]
