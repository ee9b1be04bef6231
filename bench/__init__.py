"""Benchmarks of image-mirror against its baselines (skopeo sync, the seed's per-line loop).

Run ``python -m bench --quick`` (1–2 minutes) or ``python -m bench`` (the full
1,995-line list). Nothing here runs in CI. Results and how to read them:
bench/RESULTS.md.

Modules: :mod:`.proxy` (latency proxy and request counters), :mod:`.seed`
(the source registry seeded from the images-list, kept between runs),
:mod:`.sync` (cold / warm / --missing and the baselines), :mod:`.discovery`
(config-shaped discovery against local fakes), :mod:`.startup` (start-up of
``--version`` and ``sort --check`` against bare Python), :mod:`.runner`
(processes, wall time, peak RSS), :mod:`.report` (tables and the target check),
:mod:`._cli` (image-mirror under measurement).
"""
