"""The main window's linked panels: tokens, attention, norms, pooled vector and more."""
