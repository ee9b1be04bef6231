"""Per-registry credentials from config.yaml: lazy, from an env mapping, never shown."""

from __future__ import annotations

import pytest

from mirror.errors import AuthError
from mirror.lists.artifacts_read import parse_artifacts
from mirror.lists.credentials import Login, registry_concurrency, registry_credentials

CONFIG = """\
Artifacts: []
Repositories:
- BaseUrl: docker.io/rancher
  Registry: docker.io
  Username: '{{ env "HUB_USER" }}'
  Password: '{{ env "HUB_PASSWORD" }}'
  ReqConcurrent: 8
- BaseUrl: index.docker.io/other
  Registry: index.docker.io
  Username: '{{ env "HUB_USER" }}'
  Password: '{{ env "HUB_PASSWORD" }}'
  ReqConcurrent: 3
- BaseUrl: quay.io/org
  Registry: quay.io
  Username: robot
  Password: literal-secret-value
- BaseUrl: open.example.com/m
  Registry: open.example.com
"""


def test_resolved_from_the_given_mapping_per_normalised_host() -> None:
    creds = registry_credentials(parse_artifacts(CONFIG))
    assert sorted(creds) == ["docker.io", "quay.io"]  # no credentials: not listed
    login = creds["docker.io"].resolve({"HUB_USER": "me", "HUB_PASSWORD": "hunter2-secret"})
    assert login == Login("me", "hunter2-secret")
    assert creds["quay.io"].resolve({}) == Login("robot", "literal-secret-value")


def test_unset_variable_fails_only_when_asked_naming_it() -> None:
    creds = registry_credentials(parse_artifacts(CONFIG))  # reading needs no variable
    with pytest.raises(AuthError) as caught:
        creds["docker.io"].resolve({"HUB_USER": "me-secret-user"})
    message = str(caught.value)
    assert "environment variable HUB_PASSWORD is not set" in message
    assert "repository docker.io/rancher: Password" in message
    assert "me-secret-user" not in message


def test_values_never_in_repr_or_str() -> None:
    config = parse_artifacts(CONFIG)
    creds = registry_credentials(config)
    login = creds["docker.io"].resolve({"HUB_USER": "u-secret", "HUB_PASSWORD": "p-secret"})
    shown = " ".join([repr(config), str(config), repr(creds), repr(login), str(login)])
    for secret in ("u-secret", "p-secret", "literal-secret-value", "robot"):
        assert secret not in shown


def test_concurrency_is_the_smallest_given_per_host() -> None:
    assert registry_concurrency(parse_artifacts(CONFIG)) == {"docker.io": 3}
