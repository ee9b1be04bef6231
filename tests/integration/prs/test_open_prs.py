"""``discover --open-prs`` end to end: a real process, the real registry, the fake GitHub's Git
Data and pull requests. The expectations are literal (see conftest.py for what is found)."""

from __future__ import annotations

import json

from mirror import prnames

from .conftest import BASE_LIST, CONFIG, READ_ONLY, REPO, Setup, plans, valid_and_sorted

BUSYBOX = {("busybox", "rancher/mirrored-library-busybox"): ["1.36.1", "1.37.0"]}
CALICO = {("quay.io/calico/node", "rancher/mirrored-calico-node"): ["v3.29.0"]}
BUNDLE = {("alpine", "rancher/mirrored-library-alpine"): ["3.20.0"],
          ("busybox", "rancher/mirrored-library-busybox"): ["1.37.0"]}

EXPECTED_PLANS = [
    {"entry": "busybox", "branch": prnames.branch_for_images_list("busybox", BUSYBOX),
     "title": "[image-mirror] Add 2 tag(s) for busybox", "labels": ["image-mirror"], "reviewers": [],
     "commits": ["Add tag(s) 1.36.1, 1.37.0 for busybox"], "skip": None},
    {"entry": "calico", "branch": prnames.branch_for_images_list("calico", CALICO),
     "title": "[image-mirror] Add 1 tag(s) for calico", "labels": ["image-mirror", "networking"],
     "reviewers": ["alice", "acme/net"], "commits": ["Add tag(s) v3.29.0 for quay.io/calico/node"], "skip": None},
    {"entry": "bundle", "branch": prnames.branch_for_images_list("bundle", BUNDLE),
     "title": "[image-mirror] Add 2 tag(s) for bundle", "labels": ["image-mirror"], "reviewers": [],
     "commits": ["Add tag(s) 3.20.0 for alpine", "Add tag(s) 1.37.0 for busybox"], "skip": None},
]


def test_a_run_opens_one_branch_and_pull_request_per_entry(setup: Setup) -> None:
    result = setup.run("--label", "image-mirror", "--output", "found.json")
    assert result.returncode == 0, result.stderr
    assert plans(result.stdout) == EXPECTED_PLANS
    assert json.loads((setup.root / "found.json").read_text()) == {
        "busybox": {"images": ["busybox"], "tags": ["1.36.1", "1.37.0"]},
        "calico": {"images": ["quay.io/calico/node"], "tags": ["v3.29.0"]},
        "bundle": {"full_images": ["busybox:1.37.0", "library/alpine:3.20.0"]},
    }
    assert setup.branches() == {plan["branch"] for plan in EXPECTED_PLANS}

    # One commit per image on top of main; the list at every commit validates and is sorted.
    bundle = setup.commits(EXPECTED_PLANS[2]["branch"])
    assert [message for message, _ in bundle] == EXPECTED_PLANS[2]["commits"]
    first, second = (valid_and_sorted(text) for _, text in bundle)
    assert "alpine rancher/mirrored-library-alpine 3.20.0" in [line.text for line in first]
    assert "busybox rancher/mirrored-library-busybox 1.37.0" not in [line.text for line in first]
    assert second.render() == (
        "# Images to mirror.\n# LIST FORMAT: <SOURCE> <DESTINATION> <TAG>\n"
        "alpine rancher/mirrored-library-alpine 3.19.1\n"
        "alpine rancher/mirrored-library-alpine 3.20.0\n"
        "busybox rancher/mirrored-library-busybox 1.36.0\n"
        "busybox rancher/mirrored-library-busybox 1.37.0\n"
        "flannel/flannel rancher/mirrored-flannel-flannel v0.25.1\n"
        "quay.io/calico/node rancher/mirrored-calico-node v3.28.0\n"
    )
    ((message, text),) = setup.commits(EXPECTED_PLANS[0]["branch"])
    assert [line.text for line in valid_and_sorted(text)][1:3] == [
        "busybox rancher/mirrored-library-busybox 1.36.0", "busybox rancher/mirrored-library-busybox 1.36.1"]
    # The other files of the base commit are untouched.
    head = setup.repo.git.refs[f"refs/heads/{EXPECTED_PLANS[0]['branch']}"]
    assert setup.repo.git.files(head)["config.json"] == json.dumps(CONFIG).encode()

    pulls = {pull.head: pull for pull in setup.repo.git.pulls}
    assert set(pulls) == setup.branches()
    for plan in EXPECTED_PLANS:
        pull = pulls[plan["branch"]]
        assert (pull.title, pull.base, pull.state, pull.labels) == (plan["title"], "main", "open", plan["labels"])
    calico = pulls[EXPECTED_PLANS[1]["branch"]]
    assert (calico.reviewers, calico.teams) == (["alice"], ["net"])
    assert calico.body == prnames.body("calico", CALICO)
    # The main branch and the local list are left as they were.
    assert setup.repo.git.files(setup.base_commit)["images-list"].decode() == BASE_LIST
    assert (setup.root / "images-list").read_text() == BASE_LIST


def test_a_second_run_opens_nothing(setup: Setup) -> None:
    assert setup.run().returncode == 0
    writes = len(setup.github.writes)
    second = setup.run()
    assert second.returncode == 0, second.stderr
    assert [plan["skip"] for plan in plans(second.stdout)] == [
        "pull request #1 (open) exists for this branch", "pull request #2 (open) exists for this branch",
        "pull request #3 (open) exists for this branch"]
    assert len(setup.github.writes) == writes
    assert len(setup.repo.git.pulls) == 3


def test_a_pull_request_closed_unmerged_is_not_reopened(setup: Setup) -> None:
    setup.write_config({"calico": CONFIG["calico"]})
    assert setup.run().returncode == 0
    setup.repo.git.close_pull(1)
    writes = len(setup.github.writes)
    again = setup.run()
    assert again.returncode == 0, again.stderr
    (plan,) = plans(again.stdout)
    assert plan["skip"] == "pull request #1 (closed) exists for this branch"
    assert len(setup.github.writes) == writes
    assert [pull.state for pull in setup.repo.git.pulls] == ["closed"]


def test_the_head_filter_names_the_owner(setup: Setup) -> None:
    # GitHub ignores head=branch without "owner:": a client relying on it would see every
    # pull request and skip every entry. Another entry's open pull request must not count.
    setup.write_config({"calico": CONFIG["calico"]})
    assert setup.run().returncode == 0
    setup.write_config({"busybox": CONFIG["busybox"]})
    result = setup.run()
    assert result.returncode == 0, result.stderr
    assert [plan["skip"] for plan in plans(result.stdout)] == [None]
    heads = [r.query.get("head") for r in setup.github.requests if r.path == f"/repos/{REPO}/pulls" and r.method == "GET"]
    assert heads and all(head.startswith("acme:") for head in heads)


def test_a_300_character_entry_name_gives_a_256_character_title(setup: Setup) -> None:
    name = "b" * 300
    setup.write_config({name: CONFIG["busybox"]})
    result = setup.run()
    assert result.returncode == 0, result.stderr
    (plan,) = plans(result.stdout)
    assert len(plan["title"]) == 256 and plan["title"].endswith("…")
    (pull,) = setup.repo.git.pulls
    assert pull.title == plan["title"]


def test_the_same_set_found_in_another_order_gives_the_same_branch(setup: Setup) -> None:
    setup.write_config({"bundle": CONFIG["bundle"]})
    first = setup.run("--dry-run")
    assert first.returncode == 0, first.stderr
    reordered = "busybox:1.37.0\nflannel/flannel:v0.25.1\nlibrary/alpine:3.20.0\n"
    setup.github.repos["acme/bundle"].files["v1.0.0"]["images.txt"] = reordered.encode()
    second = setup.run("--dry-run")
    assert second.returncode == 0, second.stderr
    assert plans(first.stdout) == plans(second.stdout)
    assert plans(first.stdout)[0]["branch"] == EXPECTED_PLANS[2]["branch"]


def test_dry_run_reads_github_and_writes_nothing(setup: Setup) -> None:
    result = setup.run("--dry-run", "--label", "image-mirror", token="")
    assert result.returncode == 0, result.stderr
    assert plans(result.stdout) == EXPECTED_PLANS
    assert setup.github.writes == []
    assert setup.branches() == set() and setup.repo.git.pulls == []
    assert any(r.path == f"/repos/{REPO}/contents/images-list" for r in setup.github.requests)


def test_a_token_that_cannot_write_stops_at_the_first_write_before_any_ref(setup: Setup) -> None:
    result = setup.run(token=READ_ONLY)
    assert result.returncode == 2, result.stderr
    assert "contents: write" in result.stderr and REPO in result.stderr
    assert READ_ONLY not in result.stderr + result.stdout
    assert [(r.method, r.path, r.status) for r in setup.github.writes] == [
        ("POST", f"/repos/{REPO}/git/blobs", 403)]
    assert setup.branches() == set() and setup.repo.git.pulls == []


def test_an_existing_branch_without_a_pull_request_is_updated_then_proposed(setup: Setup) -> None:
    setup.write_config({"calico": CONFIG["calico"]})
    branch = EXPECTED_PLANS[1]["branch"]
    stale = setup.repo.git.commit_files(branch, {"stale.txt": "left by a run that failed"})
    assert setup.repo.git.refs[f"refs/heads/{branch}"] == stale
    result = setup.run()
    assert result.returncode == 0, result.stderr
    assert ("PATCH", f"/repos/{REPO}/git/refs/heads/{branch}") in [(r.method, r.path) for r in setup.github.writes]
    ((message, text),) = setup.commits(branch)
    assert message == "Add tag(s) v3.29.0 for quay.io/calico/node"
    assert "stale.txt" not in setup.repo.git.files(setup.repo.git.refs[f"refs/heads/{branch}"])
    assert [pull.head for pull in setup.repo.git.pulls] == [branch]


def test_a_failed_review_request_is_a_warning_and_the_pull_request_stays(setup: Setup) -> None:
    setup.repo.git.collaborators.clear()
    setup.write_config({"calico": CONFIG["calico"]})
    result = setup.run()
    assert result.returncode == 0, result.stderr
    assert "not a collaborator" in result.stderr and "warning" in result.stderr
    (pull,) = setup.repo.git.pulls
    assert pull.state == "open" and pull.reviewers == []


def test_a_config_yaml_list_needs_an_autoupdate_yaml(setup: Setup) -> None:
    setup.repo.git.commit_files("main", {"images-list": "Repositories: []\nArtifacts: []\n"})
    result = setup.run()
    assert result.returncode == 2
    assert "acme/mirror@main:images-list is a config.yaml" in result.stderr
    assert "--config autoupdate.yaml" in result.stderr
    assert setup.github.writes == []


def test_the_repository_and_token_are_required(setup: Setup) -> None:
    no_repo = setup.run("--dry-run", env={"GITHUB_REPOSITORY": ""})
    assert no_repo.returncode == 2 and "--repo OWNER/NAME or GITHUB_REPOSITORY" in no_repo.stderr
    no_token = setup.run(token="")
    assert no_token.returncode == 2 and "GITHUB_TOKEN" in no_token.stderr
    bad = setup.run("--dry-run", "--repo", "not a repo")
    assert bad.returncode == 2 and "--repo" in bad.stderr
    assert setup.github.writes == []
