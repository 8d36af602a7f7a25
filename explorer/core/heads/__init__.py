"""The checkpoint's own prediction head: which one it has, and what it predicts.

``choice`` decides the head from the config and the weights present, ``sentence`` reads a
sentence-transformers folder's pooling, ``modules`` finds the head's torch modules of each
family, ``predict`` turns one forward pass into numpy predictions and ``lens`` applies the
masked-LM head to every layer. Numpy-only results live in ``explorer.core.predictions``.
"""
