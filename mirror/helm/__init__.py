"""Helm charts: find the chart version to render, fetch it, and read images out of it.

The seed ran ``helm repo add``/``helm repo update`` against the user's global helm
configuration and built ``helm template`` command lines as shell strings. Here:

* our own clients fetch everything that travels over the network — a chart
  repository's ``index.yaml`` and ``.tgz`` files through a :class:`Fetcher` (the
  registry client applies the registries file: TLS, CA, credentials, limits),
  OCI charts through an :class:`OciReader` — so helm never touches the network;
* helm only renders local chart files (``helm template``), with an argument list (never a shell), in isolated ``HELM_*_HOME`` directories
  created per run, bounded by a :class:`anyio.CapacityLimiter` and a timeout;
* version selection (newest by semver, pre-releases only with ``devel``, a Helm
  constraint as ``versionFilter``) is a pure function, tested without helm;
* image extraction from rendered manifests and from ``values.yaml`` is pure too; a
  chart's ``values.yaml`` is read from its archive here (:func:`read_values`, the text
  ``helm show values`` prints), so no helm process is started just to print a file.

The orchestration per config entry lives in :mod:`mirror.sources.helm`.
"""

from __future__ import annotations

from .charts import (
    CHART_CONFIG_MEDIA_TYPE,
    CHART_LAYER_MEDIA_TYPE,
    ChartVersion,
    Fetcher,
    ManifestLike,
    OciReader,
    chart_url,
    oci_chart_ref,
    oci_chart_versions,
    parse_index,
    pull_oci_chart,
    select_version,
)
from .images import images_from_manifests, images_from_values, join_image, load_documents
from .renderer import DEFAULT_TIMEOUT, HelmRenderer
from .values import MAX_VALUES_BYTES, read_values

__all__ = [
    "CHART_CONFIG_MEDIA_TYPE",
    "CHART_LAYER_MEDIA_TYPE",
    "DEFAULT_TIMEOUT",
    "MAX_VALUES_BYTES",
    "ChartVersion",
    "Fetcher",
    "HelmRenderer",
    "ManifestLike",
    "OciReader",
    "chart_url",
    "images_from_manifests",
    "images_from_values",
    "join_image",
    "load_documents",
    "oci_chart_ref",
    "oci_chart_versions",
    "parse_index",
    "pull_oci_chart",
    "read_values",
    "select_version",
]
