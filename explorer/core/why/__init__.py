"""Why: how attention is computed, which tokens and heads a prediction rests on, knock-outs."""
