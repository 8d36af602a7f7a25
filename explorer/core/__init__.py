"""Qt-free heart of the explorer: model loading, inference and analyses, numpy results only.

Nothing here may import Qt or ``explorer.gui`` (an import-linter contract checks it), so a
notebook, the CLI and the GUI's worker thread all run the same code.
"""
