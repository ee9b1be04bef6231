"""Read and validate an artifact-mirror ``config.yaml``; tell it from an images-list.

The reader walks PyYAML's node tree instead of loading Python objects, for two reasons:

* **spellings survive.** A YAML 1.1 loader turns an unquoted ``3.10`` into the float 3.1;
  Go's go-yaml v2, decoding into a string field, keeps the text ``3.10``. Every string field
  here takes the scalar's text; only ``DefaultTarget``/``RepoAuth``/``DoNotMirror`` (bools) and
  ``ReqConcurrent`` (an int) resolve plain scalars, with go-yaml's own rule
  (:func:`mirror.lists.goyaml.resolve`), so ``yes`` means true to us as it does to Rancher;
* **every problem at once, with its line.** Nodes carry marks, so a bad tag is reported as
  ``config.yaml:812: artifact foo/bar: Tags: invalid tag …`` and ``validate`` lists all of them
  in one :class:`~mirror.errors.ArtifactsFileError`.

Unknown keys are errors (a misspelt ``TargetRepository`` would otherwise mirror to every default
target). A forbidden character (see :mod:`mirror.text`) anywhere in the file is an error naming
line and column, before YAML sees it. The cross-entry rules are in
:mod:`mirror.lists.artifacts_check`; telling this layout from an images-list is
:mod:`mirror.sniff`'s.
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from pathlib import Path

import yaml

from ..errors import ArtifactsFileError, InvalidReference
from ..ref import ImageRef, parse
from ..userfile import UserFileError, read_text
from ..text import excerpt, first_forbidden
from .artifacts import Artifact, ArtifactsConfig, Credential, Repository, quoted, template_problem
from .artifacts_check import check_config
from .yaml11 import resolve

__all__ = ["parse_artifacts", "read_artifacts"]

_TOP_KEYS = ("Artifacts", "Repositories")
_ARTIFACT_KEYS = ("DoNotMirror", "SourceArtifact", "Tags", "TargetArtifactName", "TargetRepositories")
_REPOSITORY_KEYS = (
    "BaseUrl", "DefaultTarget", "Password", "Registry", "RepoAuth", "ReqConcurrent", "Username",
)  # fmt: skip
_TRUE = frozenset("y Y yes Yes YES true True TRUE on On ON".split())
_DIGITS = re.compile(r"[0-9]+\Z")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_artifacts(path: str | Path) -> ArtifactsConfig:
    """Read, parse and validate ``path``; raise :class:`ArtifactsFileError` with every problem."""
    try:
        text = read_text(path)
    except UserFileError as exc:
        raise ArtifactsFileError(exc.problems) from None
    return parse_artifacts(text, str(path))


def parse_artifacts(text: str, path: str = "config.yaml") -> ArtifactsConfig:
    """Parse and validate the text of a ``config.yaml``; ``path`` only names it in messages."""
    problems = []
    for lineno, line in enumerate(text.split("\n"), 1):
        found = first_forbidden(line.removesuffix("\r"))
        if found is not None:
            problems.append(f"{path}:{lineno}:{found[0]}: forbidden character {found[1]}")
    if problems:
        raise ArtifactsFileError(problems)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise ArtifactsFileError([f"{where}: invalid YAML: {excerpt(str(exc.problem))}"]) from None
    except yaml.YAMLError as exc:
        raise ArtifactsFileError([f"{path}: invalid YAML: {excerpt(str(exc))}"]) from None
    reader = _Reader(path)
    config = reader.config(root)
    ordered = sorted(reader.problems + check_config(config), key=lambda problem: problem[0])
    if ordered:
        raise ArtifactsFileError([message for _, message in ordered])
    return config


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return "a list" if isinstance(node, yaml.SequenceNode) else "text"


def _suggest(key: str, keys: tuple[str, ...]) -> list[str]:
    same_letters = [known for known in keys if known.lower() == key.lower()]
    return same_letters or get_close_matches(key, keys, 1, 0.75)


def _label(node: yaml.Node, kind: str, key: str) -> str:
    """``artifact foo/bar: `` from the entry's naming field, before the entry is checked."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value in node.value:
            if key_node.value == key and isinstance(value, yaml.ScalarNode) and value.value:
                return f"{kind} {excerpt(str(value.value))}: "
    return f"{kind}: "


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and not node.style and resolve(node.value) == "null"


class _Reader:
    """One pass over the node tree, collecting problems instead of stopping at the first."""

    def __init__(self, path: str) -> None:
        self.path = path
        #: (line, message): sorted by line with the cross-entry problems at the end.
        self.problems: list[tuple[int, str]] = []

    def problem(self, node: yaml.Node, where: str, message: str) -> None:
        line = node.start_mark.line + 1
        self.problems.append((line, f"{self.path}:{line}: {where}{message}"))

    def mapping(self, node: yaml.Node, where: str, keys: tuple[str, ...]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, where, f"must be a mapping, not {_kind(node)}")
            return {}
        fields: dict[str, yaml.Node] = {}
        for key_node, value in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key in fields:
                self.problem(key_node, where, f"{key}: given twice")
            elif key in keys:
                fields[key] = value
            else:
                shown = excerpt(key) if key is not None else _kind(key_node)
                hint = _suggest(key, keys) if key is not None else []
                also = f" (did you mean {hint[0]}?)" if hint else f"; known keys: {', '.join(keys)}"
                self.problem(key_node, where, f"unknown key {shown}{also}")
        return fields

    def sequence(self, node: yaml.Node | None, where: str) -> list[yaml.Node]:
        if node is None or _is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, where, f"must be a list, not {_kind(node)}")
            return []
        return list(node.value)

    def text(self, node: yaml.Node | None, where: str) -> str | None:
        """The scalar's text (a plain null reads as "", as Go leaves a string field)."""
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode):
            self.problem(node, where, f"must be text, not {_kind(node)}")
            return None
        if _is_null(node):
            return ""
        found = first_forbidden(node.value)
        if found is not None:
            self.problem(node, where, f"forbidden character {found[1]} in {quoted(node.value)}")
            return None
        return str(node.value)

    def flag(self, node: yaml.Node | None, where: str, expected: str = "true or false") -> bool | None:
        if node is None or _is_null(node):
            return None
        if isinstance(node, yaml.ScalarNode) and not node.style and resolve(node.value) == "bool":
            return node.value in _TRUE
        self.problem(node, where, f"must be {expected}")
        return None

    def texts(self, node: yaml.Node | None, where: str) -> list[tuple[yaml.Node, str]]:
        items = ((item, self.text(item, where)) for item in self.sequence(node, where))
        return [(item, value) for item, value in items if value is not None]

    def config(self, root: yaml.Node | None) -> ArtifactsConfig:
        if root is None:
            self.problems.append((0, f"{self.path}: empty; expected Artifacts and Repositories"))
            return ArtifactsConfig(path=self.path)
        top = self.mapping(root, "", _TOP_KEYS)
        artifacts = [self.artifact(node) for node in self.sequence(top.get("Artifacts"), "Artifacts: ")]
        repos = [self.repository(node) for node in self.sequence(top.get("Repositories"), "Repositories: ")]
        return ArtifactsConfig(
            tuple(a for a in artifacts if a is not None),
            tuple(r for r in repos if r is not None),
            self.path,
        )

    def artifact(self, node: yaml.Node) -> Artifact | None:
        where = _label(node, "artifact", "SourceArtifact")
        fields = self.mapping(node, where, _ARTIFACT_KEYS)
        source = self.text(fields.get("SourceArtifact"), where + "SourceArtifact: ")
        if source is None:
            if "SourceArtifact" not in fields and isinstance(node, yaml.MappingNode):
                self.problem(node, where, "SourceArtifact: missing")
            return None
        self.source(fields["SourceArtifact"], source, where)
        tags = self.tags(fields.get("Tags"), where)
        name = self.text(fields.get("TargetArtifactName"), where + "TargetArtifactName: ") or ""
        if name:
            self.target_name(fields["TargetArtifactName"], name, where)
        targets = self.texts(fields.get("TargetRepositories"), where + "TargetRepositories: ")
        return Artifact(
            source=source,
            tags=tags,
            target_name=name,
            target_repositories=tuple(value for _, value in targets),
            do_not_mirror=self.do_not_mirror(fields.get("DoNotMirror"), where + "DoNotMirror: "),
            line=node.start_mark.line + 1,
        )

    def source(self, node: yaml.Node, source: str, where: str) -> None:
        where += "SourceArtifact: "
        if len(source.split("/")) < 2:
            self.problem(node, where, f"{quoted(source)} has fewer than two /-separated parts "
                         "(Docker Hub's official images are library/NAME)")  # fmt: skip
            return
        try:
            ref = parse(source)
        except InvalidReference as exc:
            self.problem(node, where, excerpt(str(exc), 200))  # it quotes the whole input
            return
        if ref.tag or ref.digest:
            self.problem(node, where, "a source takes no tag or digest; list tags under Tags")

    def tags(self, node: yaml.Node | None, where: str) -> tuple[str, ...]:
        seen: set[str] = set()
        tags = []
        for item, tag in self.texts(node, where + "Tags: "):
            if tag in seen:
                self.problem(item, where + "Tags: ", f"tag {quoted(tag)} listed twice")
                continue
            try:
                ImageRef("example.com", "x").with_tag(tag)
            except InvalidReference:
                self.problem(item, where + "Tags: ", f"invalid tag {quoted(tag)}")
            seen.add(tag)
            tags.append(tag)
        return tuple(tags)

    def target_name(self, node: yaml.Node, name: str, where: str) -> None:
        try:
            ref = parse(f"example.com/{name}")
        except InvalidReference:
            ref = None
        if ref is None or ref.tag or ref.digest:
            self.problem(node, where + "TargetArtifactName: ", f"{quoted(name)} is not a repository name")

    def do_not_mirror(self, node: yaml.Node | None, where: str) -> bool | tuple[str, ...] | None:
        if node is None or _is_null(node):
            return None
        if isinstance(node, yaml.SequenceNode):
            seen: list[str] = []
            for item, tag in self.texts(node, where):
                if tag in seen:
                    self.problem(item, where, f"tag {quoted(tag)} listed twice")
                else:
                    seen.append(tag)
            return tuple(seen)
        return self.flag(node, where, "true, false or a list of tags")

    def repository(self, node: yaml.Node) -> Repository | None:
        where = _label(node, "repository", "BaseUrl")
        fields = self.mapping(node, where, _REPOSITORY_KEYS)
        base_url = self.text(fields.get("BaseUrl"), where + "BaseUrl: ")
        if base_url is None:
            if "BaseUrl" not in fields and isinstance(node, yaml.MappingNode):
                self.problem(node, where, "BaseUrl: missing")
            return None
        registry = self.text(fields.get("Registry"), where + "Registry: ")
        if registry is None and "Registry" not in fields:
            self.problem(node, where, "Registry: missing")
        return Repository(
            base_url=base_url,
            registry=registry or "",
            username=self.credential(fields.get("Username"), where + "Username: "),
            password=self.credential(fields.get("Password"), where + "Password: "),
            default_target=self.flag(fields.get("DefaultTarget"), where + "DefaultTarget: ") or False,
            req_concurrent=self.count(fields.get("ReqConcurrent"), where + "ReqConcurrent: "),
            repo_auth=self.flag(fields.get("RepoAuth"), where + "RepoAuth: ") or False,
            line=node.start_mark.line + 1,
        )

    def credential(self, node: yaml.Node | None, where: str) -> Credential:
        text = self.text(node, where) or ""
        problem = template_problem(text)
        if problem is not None and node is not None:
            self.problem(node, where, problem)  # the value itself is never quoted
        return Credential(text)

    def count(self, node: yaml.Node | None, where: str) -> int:
        if node is None or _is_null(node):
            return 0
        if isinstance(node, yaml.ScalarNode) and not node.style and _DIGITS.match(node.value):
            return int(node.value)
        self.problem(node, where, "must be a whole number (requests in flight)")
        return 0
