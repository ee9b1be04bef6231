"""Git Data and pull requests of the fake GitHub (:mod:`tests.fakes.github`), as GitHub documents them.

A repository holds real git objects — the ids are git's own SHA-1 of ``blob N\\0…``,
``tree N\\0…`` and ``commit N\\0…`` — so a test can check a commit's list the way git would
store it. What is modelled (docs.github.com/rest/git/… and /rest/pulls/…):

* ``GET /repos/{o}/{r}`` — ``default_branch`` among the usual fields.
* ``POST …/git/blobs`` ``{content, encoding: utf-8|base64}`` → 201 ``{sha, url}``;
  ``GET …/git/blobs/{sha}`` → base64 content.
* ``POST …/git/trees`` ``{base_tree?, tree: [{path, mode, type, sha|content}]}`` → 201
  ``{sha, url, tree, truncated}``; a ``path`` with slashes edits the subtrees; ``sha: null``
  deletes; an unknown ``base_tree`` or blob is 422. ``GET …/git/trees/{sha}``.
* ``POST …/git/commits`` ``{message, tree, parents}`` → 201; an unknown tree or parent is 422.
  ``GET …/git/commits/{sha}``.
* ``GET …/git/ref/{ref}`` (``heads/x``) → the ref or 404; ``POST …/git/refs`` ``{ref, sha}``
  → 201, 422 ``Reference already exists``, 422 for a name that does not start with ``refs/``
  and hold two slashes; ``PATCH …/git/refs/{ref}`` ``{sha, force}`` → 200, 422 ``Update is not
  a fast forward`` without ``force``, 422 ``Reference does not exist``.
* ``GET …/pulls?state=open|closed|all&head=&base=&per_page=&page=`` — ``state`` defaults to
  ``open``; ``head`` filters only in the form ``owner:branch`` (``user:ref-name``): without
  the owner GitHub does not filter at all and lists every pull request.
* ``POST …/pulls`` ``{title, head, base, body}`` → 201; 422 for an unknown head or base, no
  commits between them, an open pull request with the same head and base, a title over 256
  or a body over 65,536 characters.
* ``POST …/pulls/{n}/requested_reviewers`` ``{reviewers, team_reviewers}`` → 201; 422 unless
  every user is a collaborator and every team one of the repository's.
* ``POST …/issues/{n}/labels`` ``{labels}`` → 200, the pull request's labels (new names are created).

Writes need a token that may write: a read-only token (``read_only_tokens``, what a workflow
with ``contents: read`` holds) gets 403 ``Resource not accessible by integration``, and no
token 401 ``Requires authentication``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FakePull", "GitStore", "Answer", "route"]

DOCS = "https://docs.github.com/rest"
Answer = tuple[int, Any]  # (status, JSON body)
_AUTHOR = {"name": "image-mirror tests", "email": "tests@example.invalid", "date": "2026-01-01T00:00:00Z"}
TITLE_LIMIT = 256
BODY_LIMIT = 65_536


@dataclass
class FakePull:
    number: int
    title: str
    body: str
    head: str  # branch in this repository
    base: str
    head_sha: str
    state: str = "open"
    merged: bool = False
    labels: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)


@dataclass
class GitStore:
    """One repository's objects, refs, pull requests, collaborators and teams."""

    owner: str
    name: str
    objects: dict[str, tuple[str, Any]] = field(default_factory=dict)  # sha -> (type, value)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> commit sha
    pulls: list[FakePull] = field(default_factory=list)
    collaborators: set[str] = field(default_factory=set)
    teams: set[str] = field(default_factory=set)
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # -- objects ---------------------------------------------------------------------------------

    def _store(self, kind: str, raw: bytes, value: Any) -> str:
        sha = hashlib.sha1(f"{kind} {len(raw)}\0".encode() + raw).hexdigest()
        self.objects[sha] = (kind, value)
        return sha

    def blob(self, data: bytes) -> str:
        return self._store("blob", data, data)

    def tree(self, entries: dict[str, tuple[str, str]]) -> str:
        """``entries``: name -> (mode, sha); serialised in git's order (a tree sorts as ``name/``)."""
        def order(name: str) -> bytes:
            return (name + "/" if entries[name][0] == "40000" else name).encode()

        raw = b"".join(f"{entries[n][0]} {n}\0".encode() + bytes.fromhex(entries[n][1])
                       for n in sorted(entries, key=order))
        return self._store("tree", raw, dict(entries))

    def commit(self, tree: str, parents: list[str], message: str) -> str:
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents),
                 "author image-mirror tests <tests@example.invalid> 1767225600 +0000",
                 "committer image-mirror tests <tests@example.invalid> 1767225600 +0000", "", message]
        return self._store("commit", "\n".join(lines).encode(), {"tree": tree, "parents": list(parents),
                                                                  "message": message})

    def kind(self, sha: str) -> str | None:
        found = self.objects.get(sha)
        return found[0] if found else None

    def files(self, commit: str) -> dict[str, bytes]:
        """Every file of ``commit`` by path."""
        out: dict[str, bytes] = {}

        def walk(tree: str, prefix: str) -> None:
            for name, (mode, sha) in self.objects[tree][1].items():
                if mode == "40000":
                    walk(sha, f"{prefix}{name}/")
                else:
                    out[prefix + name] = self.objects[sha][1]

        walk(self.objects[commit][1]["tree"], "")
        return out

    def _tree_with(self, tree: str | None, parts: list[str], value: tuple[str, str] | None) -> str:
        entries = dict(self.objects[tree][1]) if tree else {}
        name = parts[0]
        if len(parts) == 1:
            if value is None:
                entries.pop(name, None)
            else:
                entries[name] = value
        else:
            child = entries.get(name)
            entries[name] = ("40000", self._tree_with(child[1] if child and child[0] == "40000" else None,
                                                      parts[1:], value))
        return self.tree(entries)

    def commit_files(self, branch: str, files: dict[str, str | bytes], message: str = "seed") -> str:
        """A commit on ``branch`` (created when missing) that writes ``files``; for test set-up."""
        parent = self.refs.get(f"refs/heads/{branch}")
        tree = self.objects[parent][1]["tree"] if parent else self.tree({})
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            tree = self._tree_with(tree, path.strip("/").split("/"), ("100644", self.blob(data)))
        sha = self.commit(tree, [parent] if parent else [], message)
        self.refs[f"refs/heads/{branch}"] = sha
        return sha

    def resolve(self, ref: str) -> str | None:
        """A commit from a sha, a branch or a tag name (as the contents API's ``ref``)."""
        if self.kind(ref) == "commit":
            return ref
        for name in (ref, f"refs/{ref}", f"refs/heads/{ref}", f"refs/tags/{ref}"):
            if name in self.refs:
                return self.refs[name]
        return None

    def ancestors(self, commit: str) -> set[str]:
        seen: set[str] = set()
        stack = [commit]
        while stack:
            sha = stack.pop()
            if sha not in seen:
                seen.add(sha)
                stack.extend(self.objects[sha][1]["parents"])
        return seen

    # -- pull requests -----------------------------------------------------------------------------

    def close_pull(self, number: int, *, merged: bool = False) -> None:
        pull = next(p for p in self.pulls if p.number == number)
        pull.state, pull.merged = "closed", merged


def _error(status: int, message: str, docs: str, errors: list[dict[str, Any]] | None = None) -> Answer:
    body: dict[str, Any] = {"message": message, "documentation_url": f"{DOCS}/{docs}", "status": str(status)}
    if errors:
        body["errors"] = errors
    return status, body


def _invalid(docs: str, **error: Any) -> Answer:
    return _error(422, "Validation Failed", docs, [error])


def route(store: GitStore, method: str, rest: str, query: dict[str, str], body: Any, api: str) -> Answer | None:
    """The answer for ``method`` on ``/repos/{o}/{r}/{rest}``, or None when ``rest`` is not one of ours."""
    base = f"{api}/repos/{store.owner}/{store.name}"
    handlers = (
        (r"git/blobs", _blobs), (r"git/blobs/(\w+)", _blobs), (r"git/trees", _trees), (r"git/trees/(\w+)", _trees),
        (r"git/commits", _commits), (r"git/commits/(\w+)", _commits), (r"git/ref/(.+)", _ref),
        (r"git/refs", _refs), (r"git/refs/(.+)", _refs), (r"pulls", _pulls), (r"pulls/(\d+)", _pulls),
        (r"pulls/(\d+)/requested_reviewers", _reviewers), (r"issues/(\d+)/labels", _labels),
    )
    for pattern, handler in handlers:
        match = re.fullmatch(pattern, rest)
        if match:
            return handler(store, method, match.group(1) if match.groups() else None, query, body, base)
    return None


def _not_found(docs: str) -> Answer:
    return _error(404, "Not Found", docs)


def _read(store: GitStore, method: str, sha: str, kind: str, docs: str, render: Callable[[], Any]) -> Answer:
    """``GET …/git/{kind}s/{sha}``: the object, or 404 when there is none of that kind."""
    if method != "GET" or store.kind(sha) != kind:
        return _not_found(docs)
    return 200, render()


def _blob_json(store: GitStore, sha: str, base: str) -> dict[str, Any]:
    data = store.objects[sha][1]
    return {"sha": sha, "size": len(data), "encoding": "base64", "url": f"{base}/git/blobs/{sha}",
            "content": base64.encodebytes(data).decode()}


def _blobs(store: GitStore, method: str, sha: str | None, query: dict[str, str], body: Any, base: str) -> Answer:
    docs = "git/blobs"
    if sha is not None:
        return _read(store, method, sha, "blob", f"{docs}#get-a-blob", lambda: _blob_json(store, sha, base))
    if method != "POST":
        return _not_found(docs)
    if not isinstance(body, dict) or not isinstance(body.get("content"), str):
        return _invalid(f"{docs}#create-a-blob", resource="Blob", field="content", code="missing_field")
    encoding = body.get("encoding", "utf-8")
    if encoding == "base64":
        try:
            data = base64.b64decode(body["content"], validate=False)
        except (binascii.Error, ValueError):
            return _error(400, "Problems parsing JSON", f"{docs}#create-a-blob")
    elif encoding == "utf-8":
        data = body["content"].encode()
    else:
        return _invalid(f"{docs}#create-a-blob", resource="Blob", field="encoding", code="invalid")
    sha = store.blob(data)
    return 201, {"sha": sha, "url": f"{base}/git/blobs/{sha}"}


def _tree_json(store: GitStore, sha: str, base: str) -> dict[str, Any]:
    entries = [{"path": name, "mode": mode, "type": "tree" if mode == "40000" else "blob", "sha": child,
                "url": f"{base}/git/{'trees' if mode == '40000' else 'blobs'}/{child}"}
               for name, (mode, child) in sorted(store.objects[sha][1].items())]
    return {"sha": sha, "url": f"{base}/git/trees/{sha}", "tree": entries, "truncated": False}


def _trees(store: GitStore, method: str, sha: str | None, query: dict[str, str], body: Any, base: str) -> Answer:
    docs = "git/trees"
    if sha is not None:
        return _read(store, method, sha, "tree", f"{docs}#get-a-tree", lambda: _tree_json(store, sha, base))
    if method != "POST":
        return _not_found(docs)
    if not isinstance(body, dict) or not isinstance(body.get("tree"), list):
        return _invalid(f"{docs}#create-a-tree", resource="Tree", field="tree", code="missing_field")
    tree = body.get("base_tree")
    if tree is not None and store.kind(tree) != "tree":
        return _error(422, "Invalid tree info", f"{docs}#create-a-tree")
    tree = tree or store.tree({})
    for item in body["tree"]:
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, str) or not path or item.get("mode") not in ("100644", "100755", "040000", "120000"):
            return _error(422, "Invalid tree info", f"{docs}#create-a-tree")
        if "content" in item:
            value: tuple[str, str] | None = (item["mode"], store.blob(str(item["content"]).encode()))
        elif item.get("sha") is None:
            value = None
        elif store.kind(item["sha"]) == "blob":
            value = (item["mode"], item["sha"])
        else:
            return _error(422, "Invalid tree info", f"{docs}#create-a-tree")
        tree = store._tree_with(tree, path.split("/"), value)
    return 201, _tree_json(store, tree, base)


def _commit_json(store: GitStore, sha: str, base: str) -> dict[str, Any]:
    value = store.objects[sha][1]
    return {"sha": sha, "url": f"{base}/git/commits/{sha}", "author": _AUTHOR, "committer": _AUTHOR,
            "message": value["message"], "tree": {"sha": value["tree"], "url": f"{base}/git/trees/{value['tree']}"},
            "parents": [{"sha": p, "url": f"{base}/git/commits/{p}"} for p in value["parents"]],
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None}}


def _commits(store: GitStore, method: str, sha: str | None, query: dict[str, str], body: Any, base: str) -> Answer:
    docs = "git/commits"
    if sha is not None:
        return _read(store, method, sha, "commit", f"{docs}#get-a-commit-object",
                     lambda: _commit_json(store, sha, base))
    if method != "POST":
        return _not_found(docs)
    if not isinstance(body, dict) or not isinstance(body.get("message"), str) or not isinstance(body.get("tree"), str):
        return _invalid(f"{docs}#create-a-commit", resource="Commit", field="message", code="missing_field")
    if store.kind(body["tree"]) != "tree":
        return _error(422, "Tree SHA does not exist", f"{docs}#create-a-commit")
    parents = body.get("parents", [])
    if not isinstance(parents, list) or any(store.kind(p) != "commit" for p in parents):
        return _error(422, "Parent SHA does not exist or is not a commit object", f"{docs}#create-a-commit")
    return 201, _commit_json(store, store.commit(body["tree"], parents, body["message"]), base)


def _ref_json(store: GitStore, name: str, base: str) -> dict[str, Any]:
    sha = store.refs[name]
    return {"ref": name, "node_id": "REF_" + hashlib.sha1(name.encode()).hexdigest()[:12],
            "url": f"{base}/git/{name}", "object": {"type": "commit", "sha": sha, "url": f"{base}/git/commits/{sha}"}}


def _ref(store: GitStore, method: str, ref: str | None, query: dict[str, str], body: Any, base: str) -> Answer:
    name = f"refs/{ref}"
    if method != "GET" or name not in store.refs:
        return _not_found("git/refs#get-a-reference")
    return 200, _ref_json(store, name, base)


def _refs(store: GitStore, method: str, ref: str | None, query: dict[str, str], body: Any, base: str) -> Answer:
    docs = "git/refs"
    if not isinstance(body, dict):
        body = {}
    if ref is None:
        if method != "POST":
            return _not_found(docs)
        name, sha = body.get("ref"), body.get("sha")
        if not isinstance(name, str) or not name.startswith("refs/") or name.count("/") < 2:
            return _error(422, f"{name} is not a valid ref name.", f"{docs}#create-a-reference")
        if name in store.refs:
            return _error(422, "Reference already exists", f"{docs}#create-a-reference")
        if not isinstance(sha, str) or store.kind(sha) != "commit":
            return _error(422, "Object does not exist", f"{docs}#create-a-reference")
        store.refs[name] = sha
        return 201, _ref_json(store, name, base)
    name = f"refs/{ref}"
    if method != "PATCH":
        return _not_found(docs)
    if name not in store.refs:
        return _error(422, "Reference does not exist", f"{docs}#update-a-reference")
    sha = body.get("sha")
    if not isinstance(sha, str) or store.kind(sha) != "commit":
        return _error(422, "Object does not exist", f"{docs}#update-a-reference")
    if not body.get("force") and store.refs[name] not in store.ancestors(sha):
        return _error(422, "Update is not a fast forward", f"{docs}#update-a-reference")
    store.refs[name] = sha
    return 200, _ref_json(store, name, base)


def _pull_json(store: GitStore, pull: FakePull, base: str) -> dict[str, Any]:
    html = f"https://github.com/{store.owner}/{store.name}/pull/{pull.number}"
    repo = {"full_name": f"{store.owner}/{store.name}", "name": store.name, "owner": {"login": store.owner}}
    base_sha = store.refs.get(f"refs/heads/{pull.base}", "")
    return {"url": f"{base}/pulls/{pull.number}", "id": 10_000 + pull.number, "number": pull.number,
            "html_url": html, "state": pull.state, "title": pull.title, "body": pull.body, "draft": False,
            "user": {"login": "github-actions[bot]", "type": "Bot"},
            "head": {"label": f"{store.owner}:{pull.head}", "ref": pull.head, "sha": pull.head_sha, "repo": repo},
            "base": {"label": f"{store.owner}:{pull.base}", "ref": pull.base, "sha": base_sha, "repo": repo},
            "merged_at": "2026-01-02T00:00:00Z" if pull.merged else None,
            "closed_at": "2026-01-02T00:00:00Z" if pull.state == "closed" else None,
            "labels": [{"name": name} for name in pull.labels],
            "requested_reviewers": [{"login": login} for login in pull.reviewers],
            "requested_teams": [{"slug": slug} for slug in pull.teams]}


def _pulls(store: GitStore, method: str, number: str | None, query: dict[str, str], body: Any, base: str) -> Answer:
    docs = "pulls/pulls"
    if number is not None:
        pull = next((p for p in store.pulls if p.number == int(number)), None)
        if method != "GET" or pull is None:
            return _not_found(f"{docs}#get-a-pull-request")
        return 200, _pull_json(store, pull, base)
    if method == "GET":
        state = query.get("state", "open")
        pulls = [p for p in store.pulls if state == "all" or p.state == state]
        owner, colon, branch = query.get("head", "").partition(":")
        if colon:  # GitHub: "user:ref-name"; a bare branch name does not filter
            pulls = [p for p in pulls if owner.lower() == store.owner.lower() and p.head == branch]
        if "base" in query:
            pulls = [p for p in pulls if p.base == query["base"]]
        per_page = min(max(int(query.get("per_page", "30") or 30), 1), 100)
        page = max(int(query.get("page", "1") or 1), 1)
        pulls.sort(key=lambda p: p.number, reverse=True)
        return 200, [_pull_json(store, p, base) for p in pulls[(page - 1) * per_page: page * per_page]]
    if method != "POST":
        return _not_found(docs)
    return _create_pull(store, body if isinstance(body, dict) else {}, base)


def _create_pull(store: GitStore, body: dict[str, Any], base: str) -> Answer:
    docs = "pulls/pulls#create-a-pull-request"
    title, head, target = body.get("title"), body.get("head"), body.get("base")
    text = body.get("body") or ""
    if not isinstance(title, str) or not title:
        return _invalid(docs, resource="PullRequest", field="title", code="missing_field")
    if len(title) > TITLE_LIMIT:
        return _invalid(docs, resource="Issue", code="custom", field="title",
                        message=f"title is too long (maximum is {TITLE_LIMIT} characters)")
    if len(text) > BODY_LIMIT:
        return _invalid(docs, resource="Issue", code="custom", field="body",
                        message=f"body is too long (maximum is {BODY_LIMIT} characters)")
    if isinstance(head, str) and ":" in head:
        owner, _, head = head.partition(":")
        if owner.lower() != store.owner.lower():
            return _invalid(docs, resource="PullRequest", field="head", code="invalid")
    head_sha = store.refs.get(f"refs/heads/{head}")
    if head_sha is None:
        return _invalid(docs, resource="PullRequest", field="head", code="invalid")
    base_sha = store.refs.get(f"refs/heads/{target}")
    if base_sha is None:
        return _invalid(docs, resource="PullRequest", field="base", code="invalid")
    if head_sha in store.ancestors(base_sha):
        return _invalid(docs, resource="PullRequest", code="custom", message=f"No commits between {target} and {head}")
    if any(p.head == head and p.base == target and p.state == "open" for p in store.pulls):
        return _invalid(docs, resource="PullRequest", code="custom",
                        message=f"A pull request already exists for {store.owner}:{head}.")
    pull = FakePull(next(store._numbers), title, text, str(head), str(target), head_sha)
    store.pulls.append(pull)
    return 201, _pull_json(store, pull, base)


def _reviewers(store: GitStore, method: str, number: str | None, query: dict[str, str], body: Any,
               base: str) -> Answer:
    pull = next((p for p in store.pulls if p.number == int(number or 0)), None)
    if method != "POST" or pull is None:
        return _not_found("pulls/review-requests")
    users = list(body.get("reviewers", [])) if isinstance(body, dict) else []
    teams = list(body.get("team_reviewers", [])) if isinstance(body, dict) else []
    if not set(users) <= store.collaborators or not set(teams) <= store.teams:
        return _error(422, "Reviews may only be requested from collaborators. One or more of the users or teams you "
                      f"specified is not a collaborator of the {store.owner}/{store.name} repository.",
                      "pulls/review-requests#request-reviewers-for-a-pull-request")
    pull.reviewers.extend(u for u in users if u not in pull.reviewers)
    pull.teams.extend(t for t in teams if t not in pull.teams)
    return 201, _pull_json(store, pull, base)


def _labels(store: GitStore, method: str, number: str | None, query: dict[str, str], body: Any, base: str) -> Answer:
    pull = next((p for p in store.pulls if p.number == int(number or 0)), None)
    if method != "POST" or pull is None:
        return _not_found("issues/labels")
    labels = body.get("labels") if isinstance(body, dict) else None
    if not isinstance(labels, list) or not all(isinstance(name, str) and name for name in labels):
        return _invalid("issues/labels#add-labels-to-an-issue", resource="Label", field="name", code="invalid")
    pull.labels.extend(name for name in labels if name not in pull.labels)
    return 200, [{"name": name, "url": f"{base}/labels/{name}"} for name in pull.labels]
