"""``make bench`` (``python -m explorer.bench``): is everything but the forward pass cheap.

Every figure is the median of several runs, taken in three places:

- in this process, a real ``MainWindow`` (offscreen) per model: the bare forward pass, the
  edit → worker → panels-painted time, the GUI heartbeat's longest stall, selection switches;
- in fresh child processes (``explorer.bench.probes``): first paint and model-ready times of
  the app as ``bert-explorer`` starts it, the bare ``from_pretrained`` time, and the peak RSS
  growth of one 512-token inference.

The figures go to a readable table on stdout and to ``bench-results.json``.
"""
