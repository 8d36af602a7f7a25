"""Top-level windows: layout and wiring of panels, controllers and the worker."""
