"""Errors that carry a message meant for the user, never a traceback."""


class ExplorerError(Exception):
    """Base for failures the user caused or can fix; ``str(err)`` is shown as is."""


class ModelLoadError(ExplorerError):
    """A model source could not be turned into a usable BERT-like encoder."""


class InputTextError(ExplorerError):
    """The text cannot be run (for example, it is empty)."""
