"""One repository's Git Data and pull requests on the GitHub facade: what ``discover --open-prs`` does.

No clone and no ``gh``: a branch is made of API objects (blob → tree → commit → ref) on top
of the base commit, so a run needs only a token and touches no work tree. Every call goes
through :meth:`mirror.github.GitHubClient.call`, i.e. the run's one transport and
:class:`~mirror.github.GitHubPolicy` (quota and secondary limits, retries that never resend
a POST GitHub may have processed).

Writes that GitHub refuses with 403, or 404 for a repository the token could read, mean the
token lacks a permission: that is the user's setting, so it becomes an
:class:`~mirror.errors.InputError` naming the permission (exit 2). The first write of a run
is a blob, so a read-only token stops the run before any ref exists.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from .errors import GitHubError, GitHubRateLimited, InputError
from .github import GitHubClient, JSONObject, split_owner_repo
from .prnames import Reviewers
from .value import frozen

__all__ = ["PullRequest", "Repository"]

CONTENTS = "contents: write"
PULL_REQUESTS = "pull-requests: write"
#: A regular file in a git tree.
_FILE_MODE = "100644"


@frozen
class PullRequest:
    number: int
    state: str  # "open" or "closed"
    merged: bool
    url: str

    @property
    def described(self) -> str:
        state = "merged" if self.merged else self.state
        return f"pull request #{self.number} ({state})"


def _object(data: Any, what: str) -> JSONObject:
    if not isinstance(data, dict):
        raise GitHubError(f"GitHub sent an unexpected answer for {what}: expected an object")
    return data


def _text(data: JSONObject, *keys: str, what: str) -> str:
    value: Any = data
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value:
        raise GitHubError(f"GitHub sent an unexpected answer for {what}: no {'.'.join(keys)}")
    return value


def _pull(data: Any, what: str) -> PullRequest:
    item = _object(data, what)
    number = item.get("number")
    if not isinstance(number, int):
        raise GitHubError(f"GitHub sent an unexpected answer for {what}: no pull request number")
    return PullRequest(number, str(item.get("state", "")), bool(item.get("merged_at")), str(item.get("html_url", "")))


class Repository:
    """``OWNER/NAME`` through ``github``: reads, Git Data writes and pull requests."""

    def __init__(self, github: GitHubClient, owner_repo: str) -> None:
        self.owner, self.name = split_owner_repo(owner_repo)
        self.full_name = f"{self.owner}/{self.name}"
        self._github = github
        self._root = f"/repos/{self.owner}/{self.name}"

    def __repr__(self) -> str:
        return f"Repository({self.full_name!r})"

    # -- reads ---------------------------------------------------------------------------------

    async def default_branch(self) -> str:
        what = f"the repository {self.full_name}"
        not_found = f"GitHub repository {self.full_name} not found (or the token cannot see it)"
        _, data = await self._github.call("GET", self._root, what=what, ok=(200,), not_found=not_found)
        return _text(_object(data, what), "default_branch", what=what)

    async def branch_head(self, branch: str) -> str | None:
        """The commit ``branch`` points at, or None when there is no such branch."""
        what = f"branch {branch} of {self.full_name}"
        status, data = await self._github.call("GET", f"{self._root}/git/ref/heads/{_path(branch)}", what=what,
                                               ok=(200, 404))
        if status == 404:
            return None
        return _text(_object(data, what), "object", "sha", what=what)

    async def commit_tree(self, commit: str) -> str:
        what = f"commit {commit} of {self.full_name}"
        _, data = await self._github.call("GET", f"{self._root}/git/commits/{commit}", what=what, ok=(200,))
        return _text(_object(data, what), "tree", "sha", what=what)

    async def file_at(self, path: str, ref: str) -> str:
        return await self._github.file_at(self.full_name, path, ref)

    async def pulls_with_head(self, branch: str) -> list[PullRequest]:
        """Pull requests from ``OWNER:branch`` in any state, closed ones included.

        The ``OWNER:`` prefix is not decoration: GitHub ignores a ``head`` without it and lists
        every pull request of the repository.
        """
        head = quote(f"{self.owner}:{branch}", safe="")
        what = f"the pull requests of {self.full_name} from {branch}"
        _, data = await self._github.call("GET", f"{self._root}/pulls?state=all&per_page=100&head={head}",
                                          what=what, ok=(200,))
        if not isinstance(data, list):
            raise GitHubError(f"GitHub sent an unexpected answer for {what}: expected a list")
        return [_pull(item, what) for item in data]

    # -- writes --------------------------------------------------------------------------------

    async def create_blob(self, text: str) -> str:
        content = base64.b64encode(text.encode("utf-8")).decode("ascii")
        data = await self._write("POST", "/git/blobs", {"content": content, "encoding": "base64"},
                                 "a blob", CONTENTS)
        return _text(_object(data, "a new blob"), "sha", what=f"a new blob in {self.full_name}")

    async def create_tree(self, base_tree: str, path: str, blob: str) -> str:
        body = {"base_tree": base_tree, "tree": [{"path": path, "mode": _FILE_MODE, "type": "blob", "sha": blob}]}
        data = await self._write("POST", "/git/trees", body, "a tree", CONTENTS)
        return _text(_object(data, "a new tree"), "sha", what=f"a new tree in {self.full_name}")

    async def create_commit(self, message: str, tree: str, parent: str) -> str:
        body = {"message": message, "tree": tree, "parents": [parent]}
        data = await self._write("POST", "/git/commits", body, "a commit", CONTENTS)
        return _text(_object(data, "a new commit"), "sha", what=f"a new commit in {self.full_name}")

    async def set_branch(self, branch: str, commit: str, *, exists: bool) -> None:
        """Create ``branch`` at ``commit``, or move it there (forced: the branch is ours, no pull
        request was ever opened from it, and its content is rebuilt from the base every time)."""
        if exists:
            await self._write("PATCH", f"/git/refs/heads/{_path(branch)}", {"sha": commit, "force": True},
                              f"branch {branch}", CONTENTS)
        else:
            await self._write("POST", "/git/refs", {"ref": f"refs/heads/{branch}", "sha": commit},
                              f"branch {branch}", CONTENTS)

    async def open_pull(self, *, title: str, body: str, head: str, base: str) -> PullRequest:
        payload = {"title": title, "body": body, "head": head, "base": base, "maintainer_can_modify": True}
        data = await self._write("POST", "/pulls", payload, f"a pull request from {head}", PULL_REQUESTS)
        return _pull(data, f"a new pull request in {self.full_name}")

    async def add_labels(self, number: int, labels: Sequence[str]) -> None:
        await self._write("POST", f"/issues/{number}/labels", {"labels": list(labels)},
                          f"labels on pull request #{number}", PULL_REQUESTS)

    async def request_reviewers(self, number: int, reviewers: Reviewers) -> None:
        body = {"reviewers": list(reviewers.users), "team_reviewers": list(reviewers.teams)}
        await self._write("POST", f"/pulls/{number}/requested_reviewers", body,
                          f"reviewers on pull request #{number}", PULL_REQUESTS)

    async def _write(self, method: str, path: str, body: JSONObject, thing: str, permission: str) -> Any:
        what = f"{'writing' if method == 'PATCH' else 'creating'} {thing} in {self.full_name}"
        try:
            _, data = await self._github.call(method, f"{self._root}{path}", what=what, body=body, ok=(200, 201))
        except GitHubRateLimited:
            raise
        except GitHubError as exc:
            if exc.status in (403, 404):
                raise InputError(
                    f"GitHub refused {what} ({exc.status}): the token needs the '{permission}' permission on "
                    f"{self.full_name} (in a workflow: permissions: {permission}; {exc})"
                ) from None
            raise
        return data


def _path(ref: str) -> str:
    """A branch name in a URL path: its slashes stay (GitHub's ``heads/a/b``), anything else is quoted."""
    return quote(ref, safe="/")
