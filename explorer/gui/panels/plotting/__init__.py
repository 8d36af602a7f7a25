"""pyqtgraph building blocks shared by every panel: heatmaps, token axes, ticks."""
