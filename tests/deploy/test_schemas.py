"""deploy/kubernetes: every resource is valid against the Kubernetes API's own schemas.

test_kubernetes.py checks that the manifests agree with each other; this checks what the API
server would refuse at ``kubectl apply`` time: a misspelt or misplaced field, a wrong type, a
field the API version does not have. kubernetes-validate ships the API's OpenAPI schemas per
Kubernetes release; the strict ones reject unknown fields (which a non-strict check, and a
cluster applying with ``--validate=false``, would silently drop).

Versions: the oldest the manifests support (1.29: ``backoffLimitPerIndex`` on the sync Job
is beta, and on by default, from 1.29) and the newest the installed package knows.

The resources are the kustomization's, loaded as test_kubernetes.py loads them (that file
checks that the kustomization lists exactly these manifests). They are validated as written,
not as ``kubectl kustomize`` renders them: the project does not install kubectl, and what
kustomize adds (namespace, labels, image tag, the generated ConfigMap) it writes itself.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.test_kubernetes import documents

OLDEST = "1.29.0"
NEWEST = kubernetes_validate.latest_version()
VERSIONS = [OLDEST, NEWEST]


def resources() -> list[tuple[str, dict[str, Any]]]:
    """(test id, resource) for every resource, without the loader's ``__file__`` note."""
    found = []
    for doc in documents():
        resource = {k: v for k, v in doc.items() if k != "__file__"}
        found.append((f"{doc['__file__']}:{doc['kind']}/{doc['metadata']['name']}", resource))
    return found


def validate(resource: dict[str, Any], version: str, strict: bool = True) -> None:
    """Validate, and check that the package used that release's schemas, not an older one's."""
    used = kubernetes_validate.validate(resource, version, strict=strict)
    assert used == ".".join(version.split(".")[:2]), f"validated against {used}, not {version}"


def test_the_newest_version_is_newer_than_the_oldest() -> None:
    newest = tuple(int(part) for part in NEWEST.split("."))
    assert newest > (1, 29, 0), NEWEST


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "resource"), resources(), ids=[name for name, _ in resources()])
def test_every_resource_is_valid_strictly(name: str, resource: dict[str, Any], version: str) -> None:
    try:
        validate(resource, version)
    except kubernetes_validate.ValidationError as e:
        path = ".".join(str(part) for part in e.path)
        pytest.fail(f"{name} is not valid for Kubernetes {version}: {path}: {e.message}")


def sync_cronjob() -> dict[str, Any]:
    (job,) = [r for _, r in resources() if r["kind"] == "CronJob" and r["metadata"]["name"] == "image-mirror-sync"]
    return copy.deepcopy(job)


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unknown_field_fails_and_is_named(version: str) -> None:
    job = sync_cronjob()
    container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    container["securityContex"] = container.pop("securityContext")  # a typo a cluster would drop
    validate(job, version, strict=False)  # the lenient schemas let it through...
    with pytest.raises(kubernetes_validate.ValidationError) as caught:
        validate(job, version)  # ...the strict ones do not
    assert "'securityContex' was unexpected" in caught.value.message
    assert list(caught.value.path) == ["spec", "jobTemplate", "spec", "template", "spec", "containers", 0]


def test_the_schemas_are_those_of_each_release() -> None:
    # A Job field added after 1.29 (successPolicy, 1.30) is valid for the newest release only,
    # so a manifest relying on a newer release than it claims fails at OLDEST.
    job = sync_cronjob()
    job["spec"]["jobTemplate"]["spec"]["successPolicy"] = {"rules": [{"succeededCount": 1}]}
    validate(job, NEWEST)
    with pytest.raises(kubernetes_validate.ValidationError) as caught:
        validate(job, OLDEST)
    assert "'successPolicy' was unexpected" in caught.value.message
