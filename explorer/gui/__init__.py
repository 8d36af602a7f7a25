"""The Qt side: main window, worker controller, the shared selection state and the panels.

Importing anything here must not import torch or transformers: the window paints first, and the
worker thread imports them when it loads the model.
"""
