"""Rancher's 2026 artifact-mirror ``config.yaml``: the values, as written.

The file has ``Repositories`` (registries the artifacts are mirrored to, with the credentials
for that registry) and ``Artifacts`` (a source without tag, its tags, an optional target name
and target repositories, ``DoNotMirror``). The field names and rules follow Rancher's Go code
(``tools/internal/config``), because Rancher's checks regenerate files from it and fail on any
difference:

* values keep their spelling: a tag ``3.10`` stays the text ``3.10``, an explicit
  ``TargetArtifactName`` stays even when it equals the default;
* fields with Go's ``omitempty`` have an "absent" value here (``""``, ``()``, ``False``,
  ``0``, ``None``), so the formatter writes back what Go would;
* the default target name is ``appco-<last>`` under ``dp.apps.rancher.io/`` and
  ``mirrored-<second-to-last>-<last>`` otherwise.

Credentials are kept as written (a literal or ``{{ env "NAME" }}``) and never shown: the
dataclasses leave them out of ``repr``. Resolving them is :mod:`mirror.lists.credentials`'s job.
Reading and validating is :mod:`mirror.lists.artifacts_read`'s. Pure values, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import field

from ..text import excerpt
from ..value import frozen

__all__ = [
    "APPCO_HOST",
    "Artifact",
    "ArtifactsConfig",
    "Credential",
    "Repository",
    "default_target_name",
    "quoted",
    "template_problem",
]

APPCO_HOST = "dp.apps.rancher.io"
_ENV_TEMPLATE = re.compile(r'\{\{ env "([A-Za-z_][A-Za-z0-9_]*)" \}\}\Z')


def quoted(text: str) -> str:
    """``text`` for a message: escaped and cut (:func:`mirror.text.excerpt`), in quotes."""
    return f"'{excerpt(text)}'"


def default_target_name(source: str) -> str:
    """The name an artifact's copies get when ``TargetArtifactName`` is not given.

    Only the last one or two ``/``-parts count: ``quay.io/calico/node`` becomes
    ``mirrored-calico-node``, ``dp.apps.rancher.io/containers/grafana`` ``appco-grafana``.
    ``source`` must have at least two parts (the reader checks).
    """
    parts = source.split("/")
    if parts[0] == APPCO_HOST:
        return f"appco-{parts[-1]}"
    return f"mirrored-{parts[-2]}-{parts[-1]}"


@frozen
class Credential:
    """A ``Username`` or ``Password`` exactly as written: literal text or ``{{ env "NAME" }}``.

    The text is compared and hashed (two repositories of one registry must agree) but never
    shown: ``repr`` names the variable or says ``literal``.
    """

    text: str = field(default="", repr=False)

    @property
    def env_name(self) -> str | None:
        """``NAME`` for a ``{{ env "NAME" }}`` template, else None."""
        match = _ENV_TEMPLATE.match(self.text)
        return match.group(1) if match else None

    def __repr__(self) -> str:
        name = self.env_name
        if name is not None:
            return f"Credential(env={name!r})"
        return "Credential(literal)" if self.text else "Credential(empty)"

    __str__ = __repr__


def template_problem(text: str) -> str | None:
    """Why ``text`` is not an acceptable Username/Password, or None.

    Any ``{{`` other than exactly ``{{ env "NAME" }}`` is refused: regsync would run it as a
    Go template, and we would silently use the braces as a password.
    """
    if "{{" not in text or _ENV_TEMPLATE.match(text):
        return None
    return 'a template must be exactly {{ env "NAME" }}'


@frozen
class Repository:
    """One entry of ``Repositories``: where copies go, and the credentials for ``registry``."""

    base_url: str
    registry: str
    username: Credential = Credential()
    password: Credential = Credential()
    default_target: bool = False
    #: 0 when not given (Go's omitempty): the registries file or the default applies.
    req_concurrent: int = 0
    #: Accepted with no effect (tokens are per repository already); written back when true.
    repo_auth: bool = False
    line: int = field(default=0, compare=False)


@frozen
class Artifact:
    """One entry of ``Artifacts``."""

    source: str
    tags: tuple[str, ...] = ()
    #: ``TargetArtifactName`` as written; "" when not given.
    target_name: str = ""
    #: BaseUrls; empty means every repository with ``DefaultTarget: true``.
    target_repositories: tuple[str, ...] = ()
    #: None when absent; True/False; or the tags not to copy.
    do_not_mirror: bool | tuple[str, ...] | None = None
    line: int = field(default=0, compare=False)

    @property
    def default_name(self) -> str:
        return default_target_name(self.source)

    @property
    def name(self) -> str:
        """The effective target name: the explicit one, else the default."""
        return self.target_name or self.default_name

    @property
    def mirrored_tags(self) -> tuple[str, ...]:
        """The tags that are copied, in file order: none for ``DoNotMirror: true``."""
        if self.do_not_mirror is True:
            return ()
        if isinstance(self.do_not_mirror, tuple):
            skipped = set(self.do_not_mirror)
            return tuple(tag for tag in self.tags if tag not in skipped)
        return self.tags

    @property
    def label(self) -> str:
        """How messages name this artifact: the source, and the explicit name when given."""
        if self.target_name:
            return f"artifact {excerpt(self.source)} (TargetArtifactName {excerpt(self.target_name)})"
        return f"artifact {excerpt(self.source)}"


@frozen
class ArtifactsConfig:
    """A whole ``config.yaml``: artifacts and repositories in file order."""

    artifacts: tuple[Artifact, ...] = ()
    repositories: tuple[Repository, ...] = ()
    path: str = field(default="config.yaml", compare=False)

    def repository(self, base_url: str) -> Repository | None:
        """The repository with this BaseUrl, if any."""
        for repository in self.repositories:
            if repository.base_url == base_url:
                return repository
        return None
