"""The worker's tables: pure analyses and jobs are separate, and no analysis imports them."""

from __future__ import annotations

import subprocess
import sys

from explorer.core.analysis import registry


def test_the_gui_names_are_in_the_tables_and_jobs_are_no_analyses():
    assert {
        "rollout",
        "flow",
        "head_stats",
        "norm_attention",
        "block_mosaic",
        "tokenization.normalized",
        "tokenization.vocabulary",
        "compare",
    } <= set(registry.ANALYSES)
    assert set(registry.JOBS) == {"write_npz", "write_matrix_csv"}
    assert not set(registry.ANALYSES) & set(registry.JOBS)
    assert not registry.needs_result("tokenization.vocabulary")
    assert registry.needs_result("rollout")


def test_importing_every_analysis_does_not_import_the_registry():
    modules = [
        "explorer.core.analysis.blocks",
        "explorer.core.analysis.flow",
        "explorer.core.analysis.head_stats",
        "explorer.core.analysis.norm_based",
        "explorer.core.analysis.rollout",
        "explorer.core.compare",
        "explorer.core.export",
        "explorer.core.tokenization",
    ]
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules)
    code += "print('explorer.core.analysis.registry' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
