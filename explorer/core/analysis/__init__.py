"""Analyses beyond raw weights, each a pure function over an InferenceResult.

``registry.ANALYSES`` maps a name to a function ``(loaded, result, params) -> payload`` that
the worker runs on demand and caches per result; the GUI asks for one by name.
"""
