"""The typed error tree of image-mirror.

Every failure the tool reports is one of these, so the CLI can choose an exit
code from the type alone and library code never has to print::

    MirrorError
    ├── InputError                  bad input from the user: exit code 2
    │   ├── InvalidReference        an image reference that does not parse
    │   ├── ProblemsError           every problem of one input file at once:
    │   │   ├── ImagesListError     bad images-list lines (carry file:line)
    │   │   ├── ConfigError         bad config.json entries (carry key and field)
    │   │   ├── ArtifactsFileError  a bad artifact-mirror config.yaml (file:line and field)
    │   │   └── AutoupdateError     a bad autoupdate.yaml entry, or an entry its source fails
    │   └── RegistriesFileError     a bad registries.yaml
    ├── RegistryError               a registry said no, or could not be reached
    │   ├── AuthError               401/403 after the credentials we have
    │   ├── NotFound                404: repository, manifest or blob unknown
    │   ├── RateLimited             429 (or GitHub quota) that outlasted our patience
    │   └── ProtocolError           the server broke the protocol (pagination loop, bad digest)
    ├── GitHubError                 the GitHub API said no
    │   ├── GitHubNotFound          404: repository, release, file or ref (names OWNER/REPO, path, ref)
    │   └── GitHubRateLimited       quota or secondary limit beyond --max-wait (also a RateLimited)
    ├── HelmError                   helm is missing or a render failed
    ├── CopyError                   a copier failed for one line
    ├── MetricsError                the metrics file or Pushgateway could not be written
    ├── WriteError                  a file could not be written (images-list, --report): exit 1
    └── CacheError                  the state database could not be used

Messages never contain secrets: code that builds an error from a request uses
the URL without credentials and never includes headers.
"""

from __future__ import annotations

__all__ = [
    "ArtifactsFileError",
    "AuthError",
    "AutoupdateError",
    "CacheError",
    "ConfigError",
    "CopyError",
    "GitHubError",
    "GitHubNotFound",
    "GitHubRateLimited",
    "HelmError",
    "ImagesListError",
    "InputError",
    "MirrorError",
    "NotFound",
    "ProblemsError",
    "ProtocolError",
    "RateLimited",
    "InvalidReference",
    "MetricsError",
    "RegistriesFileError",
    "RegistryError",
    "WriteError",
]


class MirrorError(Exception):
    """Base of every error image-mirror raises on purpose."""


class InputError(MirrorError):
    """The user's input (arguments, images-list, config) is wrong: exit code 2."""


class InvalidReference(InputError, ValueError):
    """An image reference could not be parsed; the message quotes the input."""


class ProblemsError(InputError):
    """Every problem of one input file at once, so ``validate`` lists them all instead of
    stopping at the first; ``problems`` holds one ``path:line: …`` or ``entry: field: …``
    string each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ImagesListError(ProblemsError):
    """Bad lines in an images-list file (``path:line[:column]: message``)."""


class ConfigError(ProblemsError):
    """Problems in config.json, each naming the entry key and field."""


class AutoupdateError(ProblemsError):
    """Problems with autoupdate.yaml, each naming the entry and field.

    Also raised when what a source returned cannot be used under an entry's rules (a tag
    that is not semver under ``VersionConstraint``, a chart image no artifact takes): the
    entry, not the tool, must change, so it is the user's input that is wrong.
    """


class ArtifactsFileError(ProblemsError):
    """Problems in Rancher's artifact-mirror ``config.yaml``
    (``path:line: artifact/repository: field: message``)."""


class RegistriesFileError(InputError):
    """The registries file is malformed; the message names the host and field."""


class RegistryError(MirrorError):
    """A registry request failed after retries."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class AuthError(RegistryError):
    """Authentication failed or access was denied (never contains the secret)."""


class NotFound(RegistryError):
    """The repository, manifest, tag or blob does not exist."""


class RateLimited(RegistryError):
    """The server kept rate limiting beyond what we were allowed to wait."""


class ProtocolError(RegistryError):
    """The server's answers break the protocol (pagination loop, digest mismatch, …)."""


class GitHubError(MirrorError):
    """A GitHub API request failed."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class GitHubNotFound(GitHubError):
    """404 from GitHub: the repository, a release, or a file at a ref does not exist.

    GitHub also answers 404 for private repositories the token cannot see, so
    the message says so rather than claiming the repository does not exist.
    """


class GitHubRateLimited(GitHubError, RateLimited):
    """GitHub's quota (or a secondary limit) would outlast ``--max-wait``.

    Also a :class:`RateLimited`, so code that handles rate limiting in general
    catches it. ``reset_at`` is the epoch second the quota resets, when known.
    """

    def __init__(self, message: str, *, status: int | None = None, reset_at: float | None = None) -> None:
        super().__init__(message, status=status)
        # RegistryError's __init__ runs last in the MRO and resets ``status``; set it again.
        self.status = status
        self.reset_at = reset_at


class HelmError(MirrorError):
    """helm is not available, or fetching or rendering a chart failed."""


class CopyError(MirrorError):
    """Copying one image failed; the message says why and what to try."""


class MetricsError(MirrorError):
    """Writing the metrics file or pushing to the Pushgateway failed.

    The message names the file or the Pushgateway URL without credentials.
    """


class WriteError(MirrorError):
    """Writing a file failed (the images-list, ``--report``): disk full, read-only, permission.

    The environment's fault, not the input's, so exit 1, not 2. One short message names the
    file and the reason, never a traceback; list writes are atomic, so the list is intact.
    """


class CacheError(MirrorError):
    """The embedded state database could not be opened or written."""
