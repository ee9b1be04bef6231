"""Helm charts: find the chart version to render, fetch it, and read images out of it.

The seed ran ``helm repo add``/``helm repo update`` against the user's global helm
configuration and built ``helm template`` command lines as shell strings. Here:

* our own clients fetch everything that travels over the network — a chart
  repository's ``index.yaml`` and ``.tgz`` files through a :class:`Fetcher` (the
  registry client applies the registries file: TLS, CA, credentials, limits),
  OCI charts through an :class:`OciReader` — so helm never touches the network;
* helm only renders local chart files (``helm template``, ``helm show values``),
  with an argument list (never a shell), in isolated ``HELM_*_HOME`` directories
  created per run, bounded by a :class:`anyio.CapacityLimiter` and a timeout;
* version selection (newest by semver, pre-releases only with ``devel``, a Helm
  constraint as ``versionFilter``) is a pure function, tested without helm;
* image extraction from rendered manifests and from ``values.yaml`` is pure too.

The orchestration per config entry lives in :mod:`mirror.sources.helm`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self
from urllib.parse import urljoin

import anyio
import yaml

from . import ref as imageref
from .errors import HelmError, InvalidReference
from .filters import compile_helm_constraint, parse_semver
from .ref import ImageRef

__all__ = [
    "CHART_CONFIG_MEDIA_TYPE",
    "CHART_LAYER_MEDIA_TYPE",
    "DEFAULT_TIMEOUT",
    "ChartVersion",
    "Fetcher",
    "HelmRenderer",
    "ManifestLike",
    "OciReader",
    "chart_url",
    "images_from_manifests",
    "images_from_values",
    "join_image",
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
#: Seconds one ``helm`` invocation may take before it is killed.
DEFAULT_TIMEOUT = 120.0
#: How much of helm's stderr goes into an error message (the end is where the error is).
_STDERR_LIMIT = 2000

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# -- what we need from the network clients ---------------------------------------------------


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


# -- running helm ----------------------------------------------------------------------------


def _trim(stderr: bytes | None) -> str:
    text = (stderr or b"").decode("utf-8", "replace").strip()
    if len(text) > _STDERR_LIMIT:
        text = "…" + text[-_STDERR_LIMIT:]
    return text or "(no output on stderr)"


class HelmRenderer:
    """Runs the ``helm`` binary on local chart files, and nothing else.

    Why a class: one run shares one binary lookup, one set of isolated helm
    home directories (so the user's repositories, registry logins and plugins
    cannot change what we render, and we never write to them) and one limiter
    that bounds how many helm processes run at once.

    Use it as an async context manager; it creates the helm homes in a temporary
    directory and removes them on exit. Pass ``home`` to use (and keep) a given
    directory instead. ``binary`` is a path or a name looked up on ``PATH``
    (default ``helm``); the lookup happens at the first render, so a run
    without Helm entries never needs helm installed.
    """

    def __init__(
        self,
        binary: str | None = None,
        *,
        concurrency: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        home: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._binary_spec = binary or "helm"
        self._binary: str | None = None
        self.timeout = timeout
        self.limiter = anyio.CapacityLimiter(max(1, concurrency or os.cpu_count() or 2))
        self._base_env = dict(os.environ if env is None else env)
        self._home = home
        self._own_home = False

    # -- lifecycle

    async def __aenter__(self) -> Self:
        if self._home is None:
            self._home = Path(await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="image-mirror-helm-")))
            self._own_home = True
        for sub in ("config", "cache", "data", "work"):
            await anyio.Path(self._home / sub).mkdir(parents=True, exist_ok=True)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._own_home and self._home is not None:
            home, self._home, self._own_home = self._home, None, False
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: shutil.rmtree(home, ignore_errors=True))

    @property
    def home(self) -> Path:
        if self._home is None:
            raise RuntimeError("HelmRenderer used outside 'async with'")
        return self._home

    @asynccontextmanager
    async def workdir(self) -> AsyncIterator[Path]:
        """A fresh directory for chart files, removed afterwards (one per config entry)."""
        await anyio.Path(self.home / "work").mkdir(parents=True, exist_ok=True)
        path = Path(await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(dir=self.home / "work")))
        try:
            yield path
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: shutil.rmtree(path, ignore_errors=True))

    # -- the binary

    def locate(self) -> str:
        """The helm executable; raise :class:`HelmError` saying how to get one."""
        if self._binary is not None:
            return self._binary
        spec = self._binary_spec
        path_var = self._base_env.get("PATH", os.defpath)
        if os.sep in spec:
            found = spec if os.path.isfile(spec) and os.access(spec, os.X_OK) else None
            where = spec
        else:
            found = shutil.which(spec, path=path_var)
            where = f"{spec!r} on PATH ({path_var})"
        if found is None:
            raise HelmError(
                f"helm executable not found: looked for {where}. Helm sources need helm 3 "
                "to render charts: install it and put it on PATH (in a checkout of this "
                "project, scripts/install-helm.sh installs one into .tools/bin)"
            )
        self._binary = found
        return found

    def _env(self) -> dict[str, str]:
        # Drop every HELM_* the caller had (namespace, kube context, registry config, plugins…)
        # so a render depends on the chart and our arguments only.
        env = {k: v for k, v in self._base_env.items() if not k.startswith("HELM_")}
        env["HELM_CONFIG_HOME"] = str(self.home / "config")
        env["HELM_CACHE_HOME"] = str(self.home / "cache")
        env["HELM_DATA_HOME"] = str(self.home / "data")
        return env

    async def run(self, args: Sequence[str], *, what: str) -> str:
        """Run ``helm <args>`` and return stdout; ``what`` names the job in errors.

        Arguments are a list handed to the OS as is: no shell ever sees a value.
        """
        binary = self.locate()
        command = [binary, *args]
        env = self._env()
        async with self.limiter:
            try:
                with anyio.fail_after(self.timeout):
                    result = await anyio.run_process(
                        command, check=False, env=env, stdin=subprocess.DEVNULL, cwd=str(self.home)
                    )
            except TimeoutError:
                raise HelmError(f"{what}: helm did not finish within {self.timeout:g} s and was stopped") from None
            except OSError as exc:
                raise HelmError(f"{what}: could not run {binary}: {exc.strerror or exc}") from None
        if result.returncode != 0:
            raise HelmError(f"{what}: helm exited with code {result.returncode}: {_trim(result.stderr)}")
        return result.stdout.decode("utf-8", "replace")

    async def template(
        self, chart: Path, *, values: Sequence[str] = (), kube_version: str | None = None, what: str = ""
    ) -> str:
        """``helm template`` a local chart (archive or directory), offline.

        Each of ``values`` is one ``--set`` (the seed's semantics: ``a.b=true`` is
        a boolean); ``kube_version`` sets ``.Capabilities.KubeVersion`` (helm
        3.17 defaults to v1.32.0). The ``--flag=value`` form keeps a value
        starting with ``-`` from being read as a flag. Release name and
        namespace are fixed so a render never depends on the user's kube context.
        """
        args = ["template", "image-mirror", str(chart), "--namespace=default"]
        if kube_version:
            args.append(f"--kube-version={kube_version}")
        args.extend(f"--set={value}" for value in values)
        return await self.run(args, what=what or f"helm template {chart.name}")

    async def show_values(self, chart: Path, *, what: str = "") -> str:
        """``helm show values`` of a local chart: its default ``values.yaml``."""
        return await self.run(["show", "values", str(chart)], what=what or f"helm show values {chart.name}")


# -- chart repositories (index.yaml) ---------------------------------------------------------


@dataclass(frozen=True)
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
        doc = yaml.load(data, Loader=_Loader)
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


# -- OCI charts ------------------------------------------------------------------------------


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


# -- images in YAML --------------------------------------------------------------------------


def _image_key(key: object) -> bool:
    # The seed's nested_lookup(key="image", wild=True): any key containing "image",
    # case-insensitively (image, initImage, sidecarImage, images …).
    return isinstance(key, str) and "image" in key.lower()


def _looks_like_image(text: str) -> bool:
    try:
        imageref.parse(text.strip())
    except InvalidReference:
        return False
    return True


def _load_all(text: str, what: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise HelmError(f"{what}: output is not valid YAML: {exc}") from None


def images_from_manifests(text: str, *, what: str = "rendered chart") -> list[str]:
    """Every string under an image key anywhere in rendered YAML documents.

    This is the seed's recursive key lookup: the value of every key containing
    ``image`` (``image:`` in containers, initContainers, CRD specs …), a string
    or a list of strings, in every document. Strings that are not image
    references (``imagePullPolicy: Always``) are dropped.
    """
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if _image_key(key):
                    items = value if isinstance(value, list) else [value]
                    found.extend(v for v in items if isinstance(v, str) and _looks_like_image(v))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for doc in _load_all(text, what):
        walk(doc)
    return found


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float)):
        text = str(value).strip()
        return text or None
    return None


def join_image(registry: str | None, repository: str, tag: str) -> str:
    """``registry/repository:tag`` from a values.yaml image block.

    The seed concatenated registry and repository without a separator, which
    only worked for registries written with a trailing ``/``. Join with one
    ``/``, and not at all when the repository already starts with the registry.
    """
    registry = (registry or "").strip().rstrip("/")
    repository = repository.strip().lstrip("/")
    if registry and repository != registry and not repository.startswith(registry + "/"):
        repository = f"{registry}/{repository}"
    return f"{repository}:{tag}"


def images_from_values(text: str, *, what: str = "chart values") -> list[str]:
    """Images named in a chart's ``values.yaml`` (``helm show values``).

    Under every key containing ``image`` (the seed's lookup): a map with
    ``repository`` and ``tag`` (and an optional ``registry``) is one image; any
    other map or list is searched further; a string that is an image reference
    is one image. Values are where charts keep images that only some
    configurations render, so they catch what a plain ``helm template`` misses.
    """
    found: list[str] = []

    def walk(node: Any, under_image: bool) -> None:
        if isinstance(node, dict):
            if under_image and "repository" in node and "tag" in node:
                repository, tag = _scalar(node.get("repository")), _scalar(node.get("tag"))
                if repository and tag:
                    found.append(join_image(_scalar(node.get("registry")), repository, tag))
                    return
            for key, value in node.items():
                walk(value, under_image or _image_key(key))
        elif isinstance(node, list):
            for item in node:
                walk(item, under_image)
        elif under_image and isinstance(node, str) and _looks_like_image(node):
            found.append(node.strip())

    for doc in _load_all(text, what):
        walk(doc, False)
    return found
