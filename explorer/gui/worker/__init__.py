"""The worker thread that owns the model, and the controller that talks to it."""
