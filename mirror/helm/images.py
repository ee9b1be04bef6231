"""Images named in Helm YAML: every ``image:`` value of rendered manifests, and image dicts
(``registry`` + ``repository`` + ``tag``) or strings in ``values.yaml``. Pure: no I/O."""

from __future__ import annotations

from typing import Any

import yaml

from .. import ref as imageref
from ..errors import HelmError, InvalidReference

__all__ = ["YAML_LOADER", "images_from_manifests", "images_from_values", "join_image", "load_documents"]

#: libyaml's loader when available (charts' YAML can be large), the pure-Python one otherwise.
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def load_documents(text: str, what: str) -> list[Any]:
    """Every YAML document of helm's output; bad YAML is a HelmError naming ``what``."""
    try:
        return list(yaml.load_all(text, Loader=YAML_LOADER))
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

    for doc in load_documents(text, what):
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

    for doc in load_documents(text, what):
        walk(doc, False)
    return found
