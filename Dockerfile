# keyless: one static binary on a minimal, non-root base with CA certificates.
#
#   docker build -t keyless .                  # the action / Tekton image
#   docker build --target debug -t keyless:debug .  # + busybox shell, for GitLab's script:
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=devel
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /keyless ./cmd/action

# debug adds busybox (/busybox/sh) for CI systems that run a shell script.
FROM gcr.io/distroless/static-debian12:debug-nonroot AS debug
COPY --from=build /keyless /keyless
ENTRYPOINT ["/keyless"]

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /keyless /keyless
USER nonroot:nonroot
ENTRYPOINT ["/keyless"]
