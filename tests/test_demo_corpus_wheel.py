"""The demo corpus ships inside the wheel, where resources.resource_path finds it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_the_demo_corpus(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    archive = zipfile.ZipFile(wheel)
    shipped = archive.read("explorer/resources/demo_corpus.txt").decode("utf-8")
    assert shipped == (REPO / "resources" / "demo_corpus.txt").read_text(encoding="utf-8")
    assert len([line for line in shipped.splitlines() if line.strip()]) >= 200
