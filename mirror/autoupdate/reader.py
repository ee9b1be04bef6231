"""Read and validate autoupdate.yaml: every problem at once, each naming line, entry and field.

The file is composed into YAML nodes rather than loaded into dicts, because nodes keep their
line numbers (a message says ``autoupdate.yaml:42:``) and show a key written twice, which a
plain load silently resolves to the last one. Regexes and constraints are compiled here, so a
typo fails ``validate`` rather than a discovery run.

Rancher's tool reads the same file with a strict unmarshal: unknown keys are an error, and so
are they here. Its checks are kept (one strategy, reviewers ``user`` or ``org/team``,
``LatestOnly`` excludes ``VersionConstraint``) and a few are added where a bad value would
otherwise fail late: reference syntax of ``SourceArtifact``, names usable in a branch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import ref as imageref
from ..errors import AutoupdateError, InvalidReference
from ..filters import compile_version_constraint
from ..text import excerpt, first_forbidden
from ..userfile import NESTING_LIMIT
from . import strategies
from .model import AutoupdateConfig, AutoupdateEntry, Strategy

__all__ = ["Node", "Problems", "load", "parse"]

Node = yaml.Node

_STRATEGIES = ("GithubRelease", "HelmLatest", "Registry")
_ENTRY_KEYS = ("Name", "Reviewers", *_STRATEGIES)
# Usable in a git branch (autoupdate/<Name>/<hash>) as written: git's ref rules (no "..", no
# part starting with "." or ending in ".lock") on a conservative alphabet.
_NAME = re.compile(r"(?!.*\.\.)(?!.*\.lock(?:/|\Z))[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*\Z")
_NAME_RULE = "a name usable in a branch (letters, digits, '.', '_', '-', parts joined by '/')"
_REVIEWER_PART = re.compile(r"[A-Za-z0-9_.-]+\Z")
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"


@dataclass
class Problems:
    """Collects messages while reading, so one run reports all of them."""

    path: str
    found: list[str] = field(default_factory=list)
    entry: str = ""  # how the current entry is named in messages

    def add(self, node: Node | None, where: str | None, message: str) -> None:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        subject = f"entry {self.entry}" + (f" field {where!r}" if where else "")
        self.found.append(f"{self.path}{line}: {subject}: {message}")

    # ---- typed access to nodes; each reports what is wrong and returns None ----

    def mapping(self, node: Node, where: str | None, known: tuple[str, ...]) -> dict[str, tuple[Node, Node]] | None:
        """A mapping's string keys to (key node, value node); duplicates and unknown keys reported."""
        if not isinstance(node, yaml.MappingNode):
            self.add(node, where, "must be a mapping")
            return None
        result: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR else None
            inner = f"{where}.{key}" if where else key
            if key is None or not key:
                self.add(key_node, where, "keys must be non-empty strings")
            elif key in result:
                first = result[key][0].start_mark.line + 1
                self.add(key_node, inner, f"appears more than once (first on line {first})")
            elif known and key not in known:
                self.add(key_node, inner, f"unknown key (known: {', '.join(known)})")
            else:
                result[key] = (key_node, value_node)
        return result

    def sequence(self, node: Node, where: str, *, empty_ok: bool = False) -> list[Node] | None:
        if isinstance(node, yaml.SequenceNode) and (node.value or empty_ok):
            return list(node.value)
        if empty_ok and _is_null(node):
            return []
        self.add(node, where, "must be a list" if empty_ok else "must be a non-empty list")
        return None

    def string(self, node: Node, where: str, *, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
        if not (isinstance(node, yaml.ScalarNode) and node.tag == _STR and node.value):
            self.add(node, where, "must be a non-empty string")
            return None
        value: str = node.value
        if pattern is not None and not pattern.match(value):
            self.add(node, where, f"'{excerpt(value)}' is not {what}")
            return None
        return value

    def boolean(self, node: Node, where: str) -> bool | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL:
            return bool(_CONSTRUCTOR.construct_object(node))
        self.add(node, where, "must be true or false")
        return None

    def regex(self, node: Node, where: str) -> str | None:
        value = self.string(node, where)
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                self.add(node, where, f"invalid regular expression '{excerpt(value)}': {exc}")
                return None
        return value

    def constraint(self, node: Node, where: str) -> str | None:
        value = self.string(node, where)
        if value is not None:
            try:
                compile_version_constraint(value)
            except ValueError as exc:
                self.add(node, where, f"invalid version constraint '{excerpt(value)}': {exc}")
                return None
        return value

    def reference(self, node: Node, where: str) -> str | None:
        """A repository as config.yaml spells it: no tag, no digest, at least two parts."""
        value = self.string(node, where)
        if value is None:
            return None
        try:
            parsed = imageref.parse(value)
        except InvalidReference as exc:
            self.add(node, where, str(exc))
            return None
        if parsed.tag is not None or parsed.digest is not None:
            self.add(node, where, f"'{excerpt(value)}' must name a repository without tag or digest")
        elif len(value.split("/")) < 2:
            self.add(node, where, f"'{excerpt(value)}' needs at least two parts (library/{value}?)")
        else:
            return value
        return None


def _in_file_order(path: str, messages: list[str]) -> list[str]:
    """Problems in the order of their lines, whatever order the checks ran in."""

    def line(message: str) -> int:
        match = re.match(r":(\d+): ", message[len(path) :])
        return int(match[1]) if match else 0

    return sorted(messages, key=line)


def _is_null(node: Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL


def load(path: str | Path) -> AutoupdateConfig:
    """Read and validate an autoupdate.yaml; raise AutoupdateError naming every problem."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AutoupdateError([f"{name}: file not found"]) from None
    except UnicodeDecodeError as exc:
        raise AutoupdateError([f"{name}: not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        raise AutoupdateError([f"{name}: cannot read: {exc.strerror or exc}"]) from None
    return parse(text, path=name)


def parse(text: str, *, path: str = "autoupdate.yaml") -> AutoupdateConfig:
    forbidden = []
    for number, line in enumerate(text.split("\n"), 1):
        found = first_forbidden(line.removesuffix("\r"))
        if found is not None:
            forbidden.append(f"{path}:{number}:{found[0]}: forbidden character {found[1]}")
    if forbidden:
        raise AutoupdateError(forbidden)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise AutoupdateError([f"{path}{where}: invalid YAML: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise AutoupdateError([f"{path}: invalid YAML: {exc}"]) from None
    except RecursionError:  # the composer recurses per level: "[[[[…" must be bad input, not a crash
        raise AutoupdateError([f"{path}: nested more than {NESTING_LIMIT} levels deep"]) from None
    if root is None or _is_null(root):
        return AutoupdateConfig((), path)
    if not isinstance(root, yaml.SequenceNode):
        raise AutoupdateError([f"{path}:{root.start_mark.line + 1}: the top level must be a list of entries"])
    problems = Problems(path)
    entries: list[AutoupdateEntry] = []
    first_line: dict[str, int] = {}
    for index, node in enumerate(root.value, 1):
        entry = _entry(node, index, problems)
        if entry is None:
            continue
        if entry.name in first_line:
            problems.add(node, "Name", f"is used more than once (first on line {first_line[entry.name]})")
            continue
        first_line[entry.name] = entry.line
        entries.append(entry)
    if problems.found:
        raise AutoupdateError(_in_file_order(path, problems.found))
    return AutoupdateConfig(tuple(entries), path)


def _entry(node: Node, index: int, p: Problems) -> AutoupdateEntry | None:
    p.entry = _label(node, index)
    before = len(p.found)
    fields = p.mapping(node, None, _ENTRY_KEYS)
    if fields is None:
        return None
    name = None
    if "Name" in fields:
        name = p.string(fields["Name"][1], "Name", pattern=_NAME, what=_NAME_RULE)
    else:
        p.add(node, "Name", "is required")
    reviewers = _reviewers(fields["Reviewers"][1], p) if "Reviewers" in fields else None
    if "Reviewers" not in fields:
        p.add(node, "Reviewers", "is required (a user, or org/team)")
    present = [key for key in _STRATEGIES if key in fields]
    strategy: Strategy | None = None
    if not present:
        p.add(node, None, f"needs one strategy: {', '.join(_STRATEGIES)}")
    elif len(present) > 1:
        p.add(fields[present[1]][0], None, f"has {len(present)} strategies ({', '.join(present)}); exactly one is allowed")
    else:
        strategy = strategies.read(present[0], fields[present[0]][1], p)
    if name is None or reviewers is None or strategy is None or len(p.found) > before:
        return None
    return AutoupdateEntry(name, reviewers, strategy, node.start_mark.line + 1)


def _label(node: Node, index: int) -> str:
    """How messages name an entry: its Name when it has a usable one, else its position."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "Name" and isinstance(value, yaml.ScalarNode):
                if value.tag == _STR and _NAME.match(value.value):
                    return f"'{excerpt(value.value)}'"
    return f"#{index}"


def _reviewers(node: Node, p: Problems) -> tuple[str, ...] | None:
    items = p.sequence(node, "Reviewers")
    if items is None:
        return None
    reviewers = []
    for position, item in enumerate(items):
        where = f"Reviewers[{position}]"
        value = p.string(item, where)
        if value is None:
            continue
        parts = value.split("/")
        if len(parts) > 2 or not all(_REVIEWER_PART.match(part) for part in parts):
            p.add(item, where, f"'{excerpt(value)}' is not a user or org/team (both parts non-empty)")
            continue
        reviewers.append(value)
    return tuple(reviewers) if len(reviewers) == len(items) else None
