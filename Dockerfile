# image-mirror as a one-shot container: Debian's python3 with the package in a venv, skopeo and
# git from Debian, helm at a pinned, checksum-verified version; runs as uid 10001.
#
#   docker build -t image-mirror .
#   docker build --build-arg INSTALL_HELM=false -t image-mirror .    # no download from get.helm.sh
#   docker run --rm -v "$PWD:/work" image-mirror validate
#   docker run --rm -v "$PWD:/work" -v "$HOME/.docker/config.json:/home/mirror/.docker/config.json:ro" \
#       image-mirror sync --missing
#
# Build arguments:
#   BASE_IMAGE    debian:bookworm-slim; pin it by digest in CI (debian:bookworm-slim@sha256:...).
#   INSTALL_HELM  true (default) | false. The Helm version sources (helm-latest, helm-oci,
#                 helm-directory) need helm; everything else works without it.
#   HELM_VERSION  3.17.3
#   HELM_SHA256   sha256 of helm-v$HELM_VERSION-linux-<arch>.tar.gz. Empty: the published sum
#                 for the default version on amd64 or arm64 (below). Another version needs it.
#
# The build reaches deb.debian.org, PyPI and (with INSTALL_HELM=true) get.helm.sh. pip trusts
# the system CA store, so a base image that carries a proxy's CA works (see
# scripts/container-smoke.sh, which builds this offline-style from a debootstrap base).

ARG BASE_IMAGE=debian:bookworm-slim

# --------------------------------------------------------------------------------------------
# build: the venv and helm; nothing of this stage but /opt/image-mirror and /opt/tools is kept
# --------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS build

ARG INSTALL_HELM=true
ARG HELM_VERSION=3.17.3
ARG HELM_SHA256=
# Published sums of the default version (https://get.helm.sh/helm-v3.17.3-linux-<arch>.tar.gz.sha256sum).
ARG HELM_3_17_3_SHA256_AMD64=ee88b3c851ae6466a3de507f7be73fe94d54cbf2987cbaa3d1a3832ea331f2cd
ARG HELM_3_17_3_SHA256_ARM64=7944e3defd386c76fd92d9e6fec5c2d65a323f6fadc19bfb5e704e3eee10348e

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates curl \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*

# helm: pinned version, sha256 verified before anything is unpacked; INSTALL_HELM=false skips it.
RUN set -eu; \
    mkdir -p /opt/tools/bin; \
    case "$INSTALL_HELM" in \
      false) echo "INSTALL_HELM=false: helm not installed"; exit 0 ;; \
      true) ;; \
      *) echo "INSTALL_HELM must be true or false, not '$INSTALL_HELM'" >&2; exit 1 ;; \
    esac; \
    arch="$(dpkg --print-architecture)"; \
    sum="$HELM_SHA256"; \
    if [ -z "$sum" ] && [ "$HELM_VERSION" = 3.17.3 ]; then \
      case "$arch" in \
        amd64) sum="$HELM_3_17_3_SHA256_AMD64" ;; \
        arm64) sum="$HELM_3_17_3_SHA256_ARM64" ;; \
      esac; \
    fi; \
    if [ -z "$sum" ]; then \
      echo "no checksum for helm $HELM_VERSION on $arch: pass --build-arg HELM_SHA256=<sha256 of helm-v$HELM_VERSION-linux-$arch.tar.gz>" >&2; \
      exit 1; \
    fi; \
    tarball="helm-v${HELM_VERSION}-linux-${arch}.tar.gz"; \
    curl -fsSL --retry 3 -o "/tmp/$tarball" "https://get.helm.sh/$tarball"; \
    echo "$sum  /tmp/$tarball" | sha256sum -c -; \
    tar -xzf "/tmp/$tarball" -C /tmp "linux-${arch}/helm"; \
    install -m 0755 "/tmp/linux-${arch}/helm" /opt/tools/bin/helm; \
    rm -rf "/tmp/$tarball" "/tmp/linux-${arch}"; \
    /opt/tools/bin/helm version --short

# The package: dependencies resolve from PyPI; only what `pip install` needs is in the context
# (.dockerignore is an allowlist).
RUN python3 -m venv /opt/image-mirror
COPY pyproject.toml README.md /src/
COPY mirror /src/mirror
RUN /opt/image-mirror/bin/pip install /src \
 && /opt/image-mirror/bin/pip uninstall -y pip setuptools \
 && /opt/image-mirror/bin/image-mirror --version

# --------------------------------------------------------------------------------------------
# runtime
# --------------------------------------------------------------------------------------------
FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="image-mirror" \
      org.opencontainers.image.description="Keep third-party container images mirrored into your own registry" \
      org.opencontainers.image.licenses="Apache-2.0"

# python3 must be the same build as in the build stage: the venv links to /usr/bin/python3.
# skopeo's containers-common needs some "container-network-stack" that skopeo never uses:
# netavark (4 MB) satisfies it instead of containernetworking-plugins + iptables (~50 MB).
# A workspace mounted from the host belongs to another uid, and git refuses such a repository
# as "dubious ownership" (check-new-images runs git): trust every directory in this one-shot image.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 skopeo netavark ca-certificates git \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory '*' \
 && useradd --uid 10001 --user-group --create-home --home-dir /home/mirror \
      --shell /usr/sbin/nologin mirror \
 && install -d -o 10001 -g 10001 /work

COPY --from=build /opt/image-mirror /opt/image-mirror
COPY --from=build /opt/tools/bin/ /usr/local/bin/

ENV PATH=/opt/image-mirror/bin:$PATH \
    HOME=/home/mirror \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /work
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

ENTRYPOINT ["image-mirror"]
CMD ["--help"]
