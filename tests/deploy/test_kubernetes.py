"""deploy/kubernetes: the manifests agree with each other, with the image and with the CLI.

Loaded with pyyaml only (no cluster, no kubectl): these are the mistakes that a cluster
would report late or not at all — a shard count that does not match the Job's completions,
a ``$(VAR)`` that Kubernetes leaves unexpanded, credentials mounted where nothing reads
them, a cache on the throw-away root filesystem, a manifest missing from the kustomization.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from mirror import config as configfile
from mirror import imageslist
from mirror.cli import find_command
from mirror.exitcodes import EXIT_FAILED, EXIT_INPUT, EXIT_INTERNAL

REPO = Path(__file__).resolve().parents[2]
KUBE = REPO / "deploy" / "kubernetes"
DOCKERFILE = REPO / "Dockerfile"
COMPLETION_INDEX_PATH = "metadata.annotations['batch.kubernetes.io/job-completion-index']"

def manifest_files() -> list[Path]:
    return sorted(p for p in KUBE.glob("*.y*ml") if p.name != "kustomization.yaml")


def documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in manifest_files():
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                doc["__file__"] = path.name
                docs.append(doc)
    return docs


def kustomization() -> dict[str, Any]:
    data = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    assert isinstance(data, dict)
    return data


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for d in documents() if d.get("kind") == kind]


def cronjob(name: str) -> dict[str, Any]:
    found = [d for d in by_kind("CronJob") if d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one CronJob {name}, found {len(found)}"
    return found[0]


def pod_spec(job: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def containers(job: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(job)
    return [*spec.get("initContainers", []), *spec["containers"]]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def option(args: list[str], name: str) -> str:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in an argument list."""
    for i, arg in enumerate(args):
        if arg == name:
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"{name} not in {args}")


def subcommand(args: list[str]) -> str:
    """The image-mirror command in ``args``, found as the CLI itself finds it."""
    command = find_command(args)
    assert command is not None, f"no image-mirror command in {args}"
    return command


def mount_for(container: dict[str, Any], path: str) -> dict[str, Any]:
    """The volumeMount whose mountPath contains ``path`` (the deepest one)."""
    target = PurePosixPath(path)
    best: dict[str, Any] | None = None
    for mount in container.get("volumeMounts", []):
        mount_path = PurePosixPath(mount["mountPath"])
        if (target == mount_path or mount_path in target.parents) and (
            best is None or len(mount_path.parts) > len(PurePosixPath(best["mountPath"]).parts)
        ):
            best = mount
    assert best is not None, f"{path} is on no volume of container {container['name']}"
    return best


def volume(job: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [v for v in pod_spec(job).get("volumes", []) if v["name"] == name]
    assert len(found) == 1, f"volume {name}"
    return found[0]


def dockerfile_user() -> tuple[int, str]:
    text = DOCKERFILE.read_text()
    uid = int(re.findall(r"^USER\s+(\d+)", text, re.MULTILINE)[-1])
    home = re.search(r"--home-dir\s+(\S+)", text)
    assert home, "the Dockerfile creates the user with --home-dir"
    return uid, home.group(1)


def all_cronjobs() -> Iterator[dict[str, Any]]:
    yield from by_kind("CronJob")


# --------------------------------------------------------------------------------------------


def test_every_manifest_parses_and_has_kind_and_name() -> None:
    assert manifest_files(), "no manifests"
    for doc in documents():
        assert doc.get("apiVersion") and doc.get("kind"), doc["__file__"]
        assert doc["metadata"]["name"], doc["__file__"]


def test_kustomization_lists_exactly_the_manifests_and_generator_files_exist() -> None:
    data = kustomization()
    assert sorted(data["resources"]) == [p.name for p in manifest_files()]
    for generator in data.get("configMapGenerator", []) + data.get("secretGenerator", []):
        for item in generator.get("files", []):
            source = item.split("=", 1)[-1]
            assert (KUBE / source).is_file(), f"{generator['name']}: {source} does not exist"


def test_sync_is_an_indexed_job_whose_shards_match_completions() -> None:
    job = cronjob("image-mirror-sync")
    spec = job["spec"]["jobTemplate"]["spec"]
    assert spec["completionMode"] == "Indexed"
    n = spec["completions"]
    assert isinstance(n, int) and n > 1
    assert spec["parallelism"] == n
    assert spec["backoffLimitPerIndex"] >= 1
    assert pod_spec(job)["restartPolicy"] == "Never"  # required by backoffLimitPerIndex

    shard_args = []
    for container in containers(job):
        args = container.get("args", [])
        if "--shard" in args or any(a.startswith("--shard=") for a in args):
            shard_args.append((container, option(args, "--shard")))
    assert shard_args, "no container runs sync --shard"
    for container, shard in shard_args:
        assert shard == f"$(JOB_COMPLETION_INDEX)/{n}", f"--shard {shard} with completions={n}"
        index = env_of(container)["JOB_COMPLETION_INDEX"]
        assert index["valueFrom"]["fieldRef"]["fieldPath"] == COMPLETION_INDEX_PATH
        args = container["args"]
        assert subcommand(args) == "sync"
        assert "--no-cache" in args
        assert option(args, "--images-list").startswith("/config/")
        assert option(args, "--log-format") == "json"
        # The run ends itself (and reports what was not done) before Kubernetes kills the pod.
        deadline = job["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]
        assert 0 < float(option(args, "--timeout")) <= deadline - 60, (option(args, "--timeout"), deadline)


def test_both_cronjobs_forbid_concurrent_runs() -> None:
    names = {job["metadata"]["name"] for job in all_cronjobs()}
    assert names == {"image-mirror-sync", "image-mirror-discover"}
    for job in all_cronjobs():
        assert job["spec"]["concurrencyPolicy"] == "Forbid", job["metadata"]["name"]


def test_every_var_reference_in_args_is_defined_in_the_container() -> None:
    # Kubernetes expands $(VAR) only for variables in the container's env; others stay literal.
    for job in all_cronjobs():
        for container in containers(job):
            defined = set(env_of(container))
            for arg in [*container.get("command", []), *container.get("args", [])]:
                for name in re.findall(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)", arg):
                    assert name in defined, f"{container['name']}: $({name}) is not defined in env"


def test_commands_exist_in_the_cli() -> None:
    for job in all_cronjobs():
        for container in containers(job):
            subcommand(container["args"])


def test_bad_input_and_internal_errors_fail_at_once_other_failures_are_retried() -> None:
    # Exit 2 (bad input) and 3 (a bug) give the same result on every retry; 1 (some items
    # failed) may not. An Indexed Job with per-index retries fails the index, others the Job.
    for job in all_cronjobs():
        name = job["metadata"]["name"]
        spec = job["spec"]["jobTemplate"]["spec"]
        action = "FailIndex" if "backoffLimitPerIndex" in spec else "FailJob"
        rules = [r for r in spec["podFailurePolicy"]["rules"] if r["action"] in ("FailIndex", "FailJob")]
        assert len(rules) == 1, f"{name}: {rules}"
        (rule,) = rules
        assert rule["action"] == action, name
        codes = rule["onExitCodes"]
        assert codes["operator"] == "In"
        assert sorted(codes["values"]) == [EXIT_INPUT, EXIT_INTERNAL], name
        assert EXIT_FAILED not in codes["values"]
        (container,) = [c for c in containers(job) if c["name"] == codes["containerName"]]
        subcommand(container["args"])  # the container the rule names runs image-mirror


def test_docker_credentials_are_the_secret_mounted_read_only_where_the_tool_looks() -> None:
    uid, home = dockerfile_user()
    for job in all_cronjobs():
        for container in containers(job):
            env = env_of(container)
            docker_config = env["DOCKER_CONFIG"]["value"] if "DOCKER_CONFIG" in env else f"{home}/.docker"
            config_json = f"{docker_config}/config.json"
            mount = mount_for(container, config_json)
            assert mount.get("readOnly") is True, f"{container['name']}: credentials mount is writable"
            source = volume(job, mount["name"])
            assert "secret" in source, f"{container['name']}: {config_json} is not from a Secret"
            # The file must be named config.json inside the mounted directory.
            relative = PurePosixPath(config_json).relative_to(mount["mountPath"]) if mount.get("subPath") is None \
                else PurePosixPath(mount["subPath"])
            items = source["secret"].get("items")
            if items is not None:
                assert str(relative) in {item["path"] for item in items}
            # ...and readable by the container user (via fsGroup when the mode has no "other" bits).
            mode = source["secret"].get("defaultMode", 0o644)
            pod = pod_spec(job)["securityContext"]
            assert mode & 0o004 or (mode & 0o040 and pod.get("fsGroup") is not None), oct(mode)
            # A mount at ~/.docker must be the image user's home.
            if docker_config.endswith("/.docker"):
                assert docker_config == f"{home}/.docker"
            assert pod["runAsUser"] == uid


def test_discover_keeps_its_cache_and_outputs_on_the_persistent_volume() -> None:
    job = cronjob("image-mirror-discover")
    claims = {d["metadata"]["name"] for d in by_kind("PersistentVolumeClaim")}
    (container,) = containers(job)
    args = container["args"]
    assert subcommand(args) == "discover"
    for flag in ("--cache", "--output", "--metrics-file"):
        path = option(args, flag)
        mount = mount_for(container, path)
        source = volume(job, mount["name"])
        assert "persistentVolumeClaim" in source, f"{flag} {path} is not on the PVC"
        assert source["persistentVolumeClaim"]["claimName"] in claims
        assert not mount.get("readOnly")
    token = env_of(container)["GITHUB_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token["name"] and token["key"]


def test_pods_are_locked_down() -> None:
    uid, _home = dockerfile_user()
    accounts = {d["metadata"]["name"] for d in by_kind("ServiceAccount")}
    for job in all_cronjobs():
        pod = pod_spec(job)
        assert pod["serviceAccountName"] in accounts
        assert pod.get("automountServiceAccountToken") is False
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == uid
        assert security["seccompProfile"]["type"] == "RuntimeDefault"
        for container in containers(job):
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            tmp = mount_for(container, "/tmp")
            assert tmp["mountPath"] == "/tmp" and "emptyDir" in volume(job, tmp["name"])
            # Everything the tool writes must be on a writable volume, not the read-only root.
            for name in ("TMPDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
                if name in env_of(container):
                    assert not mount_for(container, env_of(container)[name]["value"]).get("readOnly")


def test_resources_are_sized_from_the_benchmark() -> None:
    for job in all_cronjobs():
        for container in containers(job):
            resources = container["resources"]
            assert resources["requests"] == {"cpu": "250m", "memory": "192Mi"}
            assert resources["limits"] == {"memory": "256Mi"}


def test_config_paths_come_from_the_generated_configmap_and_are_valid() -> None:
    generator = {g["name"]: g for g in kustomization()["configMapGenerator"]}
    keys = {}
    for name, gen in generator.items():
        for item in gen["files"]:
            key, _, source = item.partition("=")
            keys[(name, key if source else Path(key).name)] = KUBE / (source or key)
    for job in all_cronjobs():
        for container in containers(job):
            for flag in ("--images-list", "--config", "--registries"):
                if flag not in container["args"]:
                    continue
                path = option(container["args"], flag)
                mount = mount_for(container, path)
                source = volume(job, mount["name"])
                cm = source["configMap"]["name"]
                key = str(PurePosixPath(path).relative_to(mount["mountPath"]))
                assert (cm, key) in keys, f"{flag} {path}: no key {key} in ConfigMap {cm}"
    # The examples themselves pass validation.
    images = imageslist.load(str(KUBE / "config" / "images-list"))
    assert images is not None
    configfile.load(str(KUBE / "config" / "config.json"))
    loaded = yaml.safe_load((KUBE / "config" / "registries.yaml").read_text())
    assert isinstance(loaded, dict) and loaded


@pytest.mark.parametrize("path", sorted(p.name for p in KUBE.glob("cronjob-*.yaml")))
def test_the_image_is_the_one_kustomize_pins(path: str) -> None:
    pinned = {i["name"] for i in kustomization()["images"]}
    for doc in yaml.safe_load_all((KUBE / path).read_text()):
        for container in doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]:
            assert container["image"].split("@")[0].rsplit(":", 1)[0] in pinned


def test_secret_creation_commands_in_comments_match_the_references() -> None:
    # The manifests tell the operator how to create the Secrets; the names must match.
    text = (KUBE / "cronjob-sync.yaml").read_text() + (KUBE / "cronjob-discover.yaml").read_text()
    created = set(re.findall(r"kubectl .*create secret [\w-]+ ([\w.-]+)", text))
    referenced = set()
    for job in all_cronjobs():
        for v in pod_spec(job).get("volumes", []):
            if "secret" in v:
                referenced.add(v["secret"]["secretName"])
        for container in containers(job):
            for e in container.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    referenced.add(ref["name"])
    assert referenced == created
