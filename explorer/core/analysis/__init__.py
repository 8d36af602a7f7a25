"""Analyses beyond raw weights, each a pure function over an InferenceResult.

``registry.ANALYSES`` maps a name to a pure function ``(loaded, result, params) -> payload``
that the worker runs on demand and caches per result; the GUI asks for one by name.
``registry.JOBS`` holds the file writers, which are never cached. The analysis modules do not
import the registry: it imports them.
"""
