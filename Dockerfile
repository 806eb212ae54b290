# keyless: one static binary on distroless's static base, with CA
# certificates. Releases are built by scripts/image (no Docker engine,
# reproducible, linux/amd64 and linux/arm64) and pinned by digest in
# action.yml; this Dockerfile builds the same image with Docker, and is what
# `image: Dockerfile` in action.yml runs between releases. Same rules:
#
# - no USER: the image runs as root, the default user GitHub requires of
#   container actions (the runner's mounts belong to its own user, uid 1001,
#   and a non-root image cannot write its outputs). Tekton's Task runs it as
#   uid 65532 with its securityContext instead.
# - the base pinned by digest (the same digests as scripts/image);
# - the toolchain go.mod names, -trimpath, the version from VERSION.
#
#   docker build --build-arg VERSION=v0.1.0 -t keyless .          # GitHub, Tekton
#   docker build --target debug -t keyless:debug .                 # + busybox shell, for GitLab
FROM golang:1.26.8-bookworm AS build
# The golang image sets GOTOOLCHAIN=local; auto follows go.mod's toolchain line.
ENV GOTOOLCHAIN=auto CGO_ENABLED=0
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=devel
RUN go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /keyless ./cmd/action

# debug adds busybox (/busybox/sh, on PATH) for CI systems that run a shell script.
FROM gcr.io/distroless/static-debian12:debug@sha256:ea6a51495f94a482dc431cd247bbace8f9a096ed6397005995245520ce5afcfe AS debug
COPY --from=build /keyless /keyless
ENTRYPOINT ["/keyless"]

FROM gcr.io/distroless/static-debian12@sha256:4b2a093ef4649bccd586625090a3c668b254cfe180dee54f4c94f3e9bd7e381e
COPY --from=build /keyless /keyless
ENTRYPOINT ["/keyless"]
