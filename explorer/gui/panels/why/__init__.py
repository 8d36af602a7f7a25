"""Why: how attention is computed, attribution, head importance and knock-out."""
