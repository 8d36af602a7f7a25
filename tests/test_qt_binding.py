"""Guards against Qt-binding bugs that crash the app long after they happen."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtGui import QGuiApplication, QImage, QPainter
app = QGuiApplication([])
image = QImage(8, 8, QImage.Format.Format_ARGB32)
painter = QPainter(image)
before = sys.getrefcount(None)
for _ in range(2000):
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
painter.end()
print(sys.getrefcount(None) - before)
"""


def test_painting_does_not_leak_references_to_none():
    # PySide6 6.12.0 decrements None on every setRenderHint call; pyqtgraph calls it on each
    # axis paint, so a long session aborts with "deallocating None". Run in a subprocess so a
    # bad binding fails this test instead of killing the whole run.
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]
    assert int(done.stdout.strip()) > -100
