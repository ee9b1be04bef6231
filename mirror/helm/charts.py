"""Which chart version to render and where it comes from: a chart repository's ``index.yaml``
(newest by semver, pre-releases only with ``devel``, a Helm constraint as ``versionFilter``) or an
OCI registry. The network is reached only through the :class:`Fetcher` / :class:`OciReader`
protocols, which the registry client satisfies."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import urljoin

import yaml

from .. import ref as imageref
from ..errors import HelmError, InvalidReference
from ..filters import compile_helm_constraint, parse_semver
from ..ref import ImageRef
from ..value import frozen
from .images import YAML_LOADER

__all__ = [
    "CHART_CONFIG_MEDIA_TYPE",
    "CHART_LAYER_MEDIA_TYPE",
    "ChartVersion",
    "Fetcher",
    "ManifestLike",
    "OciReader",
    "chart_url",
    "oci_chart_ref",
    "oci_chart_versions",
    "parse_index",
    "pull_oci_chart",
    "select_version",
]

#: The layer of an OCI Helm chart that holds the chart archive (``helm push`` writes it).
CHART_LAYER_MEDIA_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
#: The config media type of an OCI Helm chart manifest.
CHART_CONFIG_MEDIA_TYPE = "application/vnd.cncf.helm.config.v1+json"


class Fetcher(Protocol):
    """GET a URL that is not a registry API (chart repository files).

    The registry client implements it so that the registries file (endpoint,
    TLS, CA, credentials, rate limits) applies to chart repositories too. It
    raises a :class:`~mirror.errors.MirrorError` (typically ``RegistryError``)
    on failure.
    """

    async def fetch(self, url: str) -> bytes: ...


class ManifestLike(Protocol):
    """The part of a fetched manifest an OCI chart pull reads."""

    @property
    def data(self) -> bytes: ...

    @property
    def media_type(self) -> str: ...


class OciReader(Protocol):
    """The registry operations an OCI chart needs (the registry client has them)."""

    async def list_tags(self, ref: ImageRef) -> list[str]: ...

    async def get_manifest(self, ref: ImageRef) -> ManifestLike: ...

    async def read_blob(self, ref: ImageRef, digest: str) -> bytes: ...


@frozen
class ChartVersion:
    """One version of one chart in a repository index."""

    name: str
    version: str
    urls: tuple[str, ...]


def parse_index(data: bytes, *, source: str = "index.yaml") -> dict[str, list[ChartVersion]]:
    """A chart repository's ``index.yaml`` as ``{chart: [versions]}``.

    Malformed versions are skipped (helm skips them too); a file that is not an
    index at all raises :class:`HelmError` naming ``source``. Indexes of big
    repositories are megabytes: call this in a worker thread.
    """
    try:
        doc = yaml.load(data, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        raise HelmError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), dict):
        raise HelmError(f"{source} is not a Helm chart repository index (no 'entries' map)")
    result: dict[str, list[ChartVersion]] = {}
    for name, items in doc["entries"].items():
        versions: list[ChartVersion] = []
        for item in items if isinstance(items, list) else ():
            if not isinstance(item, dict):
                continue
            version, urls = item.get("version"), item.get("urls")
            if version is None or isinstance(version, bool) or not isinstance(urls, list):
                continue
            clean = tuple(u for u in urls if isinstance(u, str) and u)
            if clean:
                versions.append(ChartVersion(str(name), str(version), clean))
        result[str(name)] = versions
    return result


def chart_url(repo_url: str, url: str) -> str:
    """Resolve a chart URL from the index against the repository URL, as helm does."""
    return urljoin(repo_url.rstrip("/") + "/", url)


def select_version(versions: Iterable[str], *, devel: bool = False, constraint: str | None = None) -> str | None:
    """The newest version helm's ``--version``/``--devel`` would pick, or None.

    Versions that are not semantic versions are ignored. Without a constraint,
    pre-releases count only with ``devel``. ``constraint`` is a Helm
    (Masterminds) constraint such as ``v1.4.*`` — a range to pick the newest
    from, not a regex. As in helm (``--devel`` is ``--version '>0.0.0-0'`` and
    yields to an explicit ``--version``), a constraint decides alone: it
    matches a pre-release only when it names one (``>=1.2.0-rc.0``).
    """
    accepts = compile_helm_constraint(constraint) if constraint else None
    best: tuple[Any, str] | None = None
    for version in versions:
        parsed = parse_semver(version)
        if parsed is None:
            continue
        if accepts is None:
            if parsed.prerelease and not devel:
                continue
        elif not accepts(version):
            continue
        if best is None or parsed > best[0]:
            best = (parsed, version)
    return None if best is None else best[1]


def oci_chart_ref(url: str) -> ImageRef:
    """``oci://host/path/chart`` as an :class:`ImageRef` (the host is always explicit)."""
    text = url.removeprefix("oci://")
    host, _, path = text.partition("/")
    if not url.startswith("oci://") or not host or not path:
        raise HelmError(f"{url!r} is not an OCI chart reference (oci://HOST/PATH/CHART)")
    try:
        # Parse with a placeholder host: in oci:// the first component is always the host,
        # even one without a dot (e.g. "registry:5000" has a colon, "myregistry" has none).
        parsed = imageref.parse(f"host.invalid/{path}")
    except InvalidReference as exc:
        raise HelmError(f"{url!r} is not a valid OCI chart reference: {exc}") from None
    if parsed.tag or parsed.digest:
        raise HelmError(f"{url!r}: name the chart without a tag or digest; versions come from the registry's tags")
    return ImageRef(imageref.normalize_host(host), parsed.repository)


def oci_chart_versions(tags: Iterable[str]) -> dict[str, str]:
    """``{chart version: tag}``: helm stores ``+`` (build metadata) as ``_`` in OCI tags."""
    return {tag.replace("_", "+"): tag for tag in tags}


async def pull_oci_chart(oci: OciReader, ref: ImageRef, tag: str) -> bytes:
    """The chart archive of ``ref:tag``: the manifest's chart-content layer, digest-checked."""
    manifest = await oci.get_manifest(ref.with_tag(tag))
    where = f"oci://{ref.name}:{tag}"
    try:
        doc = json.loads(manifest.data)
    except ValueError:
        raise HelmError(f"{where}: the manifest is not JSON") from None
    layers = doc.get("layers") if isinstance(doc, dict) else None
    if not isinstance(layers, list):
        raise HelmError(f"{where} is not a Helm chart (media type {manifest.media_type}, no layers)")
    for layer in layers:
        if isinstance(layer, dict) and layer.get("mediaType") == CHART_LAYER_MEDIA_TYPE:
            digest = layer.get("digest")
            if not isinstance(digest, str):
                break
            data = await oci.read_blob(ref, digest)
            algorithm, _, expected = digest.partition(":")
            if algorithm == "sha256" and hashlib.sha256(data).hexdigest() != expected:
                raise HelmError(f"{where}: the chart layer does not match its digest {digest}")
            return data
    raise HelmError(f"{where} is not a Helm chart: no layer of type {CHART_LAYER_MEDIA_TYPE}")
