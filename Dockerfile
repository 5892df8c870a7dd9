# syntax=docker/dockerfile:1
# Container image of migration-exporter: a build stage that compiles both binaries with the
# locked dependencies, and a distroless runtime stage (glibc, libgcc, CA certificates, no shell)
# that runs the exporter as an unprivileged numeric user on a read-only root filesystem.
# Checked by hadolint and checkov (scripts/check-deploy); the build stage's commands and the
# runtime stage's needs (shared libraries, empty environment, unprivileged user, read-only working
# directory) are checked there too, on this machine, since no container engine is available.
#
#   docker build -t migration-exporter:0.1.0 \
#     --build-arg SOURCE=https://example.com/your/repository .
#
# checkov:skip=CKV_DOCKER_2: no HEALTHCHECK: the runtime has no shell or curl to run one, and the
#   orchestrators this image is for probe /-/healthy and /-/ready themselves (deploy/kubernetes).

# Debian 12 on both sides, so the binaries find the glibc they were linked against.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Only what `cargo build` reads: the manifests, the lock file, the workspace's crates, the
# binaries, and the benches that Cargo.toml declares (cargo refuses a manifest whose declared
# targets are missing).
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY src ./src
COPY benches ./benches
# BuildKit cache mounts keep the registry and the target directory between builds, so a change
# of the sources recompiles this workspace's crates only, never the AWS SDK and the other
# dependencies (a cold build compiles them once). The binaries leave the cached target through
# /out in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bins \
    && install -D -m 0755 -t /out target/release/migration-exporter target/release/migration-monitor

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
ARG SOURCE=unknown
# The repository declares no licence yet (Cargo.toml has no `license`); NOASSERTION is the SPDX
# value for that. Pass --build-arg LICENSES=<SPDX expression> once it does.
ARG LICENSES=NOASSERTION
LABEL org.opencontainers.image.title="migration-exporter" \
      org.opencontainers.image.description="Prometheus exporter and CLI for the migration-progress DynamoDB table" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="${LICENSES}"
COPY --from=build /out/migration-exporter /out/migration-monitor /usr/local/bin/
# distroless's "nonroot" user, by number so that Kubernetes can verify runAsNonRoot.
USER 65532:65532
EXPOSE 10940
ENTRYPOINT ["/usr/local/bin/migration-exporter"]
CMD ["--web.listen-address=:10940"]
