"""Import every shipped analysis module so each registers itself with the registry."""

import explorer.core.analysis.blocks  # the overview mosaic of one sentence-pair block
import explorer.core.analysis.flow  # attention flow (networkx max-flow)
import explorer.core.analysis.head_stats  # per-head statistics and pattern labels
import explorer.core.analysis.norm_based  # norm-based attention (needs the weights)
import explorer.core.analysis.rollout  # attention rollout
import explorer.core.compare  # the compare window's comparison, in its worker
import explorer.core.export  # the GUI's npz export, written in the worker
import explorer.core.tokenization  # noqa: F401 - normalized text, vocabulary look-up
