"""Generate ``regsync.yaml`` from an artifact-mirror ``config.yaml``, as Rancher's tool does.

A repository that still runs regsync keeps a generated ``regsync.yaml`` beside
``config.yaml``, and Rancher's CI regenerates it and fails on any difference; every write we
make to ``config.yaml`` regenerates it with these rules (``ToRegsyncConfig`` and
``regsync.WriteConfig`` in Rancher's Go code):

* a fixed header comment, then ``creds``, ``defaults``, ``sync`` (go-yaml's key order);
* ``creds``: one entry per distinct (registry, user, pass, repoAuth, reqConcurrent) among the
  repositories, stably sorted by registry; ``repoAuth``/``reqConcurrent`` only when set;
  credentials written as in ``config.yaml`` (the ``{{ env }}`` templates regsync expands);
* ``defaults``: the user agent ``rancher-artifact-mirror``;
* ``sync``: one ``type: image`` entry per copy of :func:`mirror.lists.expand.copies`, in its
  order (artifacts as given: callers that write sort ``config.yaml`` first, as Rancher does).

Pure: returns text, writes nothing.
"""

from __future__ import annotations

from .artifacts import ArtifactsConfig
from .expand import copies
from .goyaml import Node, dump

__all__ = ["HEADER", "USER_AGENT", "render_regsync"]

HEADER = (
    "##################################################\n"
    "# THIS FILE IS AUTO-GENERATED. DO NOT MODIFY IT.\n"
    "##################################################\n"
)
USER_AGENT = "rancher-artifact-mirror"


def _creds(config: ArtifactsConfig) -> list[Node]:
    distinct: dict[tuple[str, str, str, bool, int], None] = {}
    for repo in config.repositories:
        key = (repo.registry, repo.username.text, repo.password.text, repo.repo_auth, repo.req_concurrent)
        distinct.setdefault(key)
    creds: list[Node] = []
    for registry, user, password, repo_auth, req_concurrent in sorted(distinct, key=lambda key: key[0]):
        cred: dict[str, Node] = {"registry": registry, "user": user, "pass": password}
        if repo_auth:
            cred["repoAuth"] = True
        if req_concurrent:
            cred["reqConcurrent"] = req_concurrent
        creds.append(cred)
    return creds


def render_regsync(config: ArtifactsConfig) -> str:
    """The text of the ``regsync.yaml`` Rancher's generator makes from ``config``."""
    sync: list[Node] = [
        {"source": source, "target": target, "type": "image"} for source, target in copies(config)
    ]
    document: dict[str, Node] = {
        "creds": _creds(config),
        "defaults": {"userAgent": USER_AGENT},
        "sync": sync,
    }
    return HEADER + dump(document)
