# syntax=docker/dockerfile:1

# Fluent Bit with the auditstream output plugin, configured by
# examples/fluent-bit.yaml to tail the kube-apiserver audit log (the image that
# deploy/daemonset.yaml runs).
#
#   docker build -t ghcr.io/auditstream/fluent-bit-auditstream:0.1.0 .
#
# The plugin is a cgo shared object that Fluent Bit dlopen()s, so it must be
# built against a C library the runtime image has: glibc, not musl, and no
# newer than the runtime's, since glibc runs programs built against older
# versions but not newer ones. It needs glibc 2.34 symbols: bookworm builds
# with 2.36, which the official Fluent Bit images from 3.1 on carry (3.1 to
# 4.1 are distroless Debian 12, 4.2 and 5.x Debian 13 with 2.41). The 3.0
# images (Debian 11, glibc 2.31) cannot load it.
ARG GO_VERSION=1.26
# Pinned so that a rebuild gets the same Fluent Bit; the plugin registers
# itself the same way on 3.x, 4.x and 5.x (see plugin/exports.go).
ARG FLUENT_BIT_VERSION=4.2.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# GOTOOLCHAIN=local: build with this image's Go rather than download the one
# go.mod names. -buildvcs=false: .git is not in the build context
# (.dockerignore), so there is no VCS state to stamp.
ENV GOTOOLCHAIN=local \
    GOFLAGS=-buildvcs=false \
    CGO_ENABLED=1
# The modules first, in their own layer, so that a change to the sources does
# not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# build/out_auditstream.so: cgo, -buildmode=c-shared, -trimpath.
RUN make plugin

FROM fluent/fluent-bit:${FLUENT_BIT_VERSION}
LABEL org.opencontainers.image.title="fluent-bit-auditstream" \
      org.opencontainers.image.description="Fluent Bit with the auditstream output plugin: Kubernetes audit events to Kafka, filtered by an audit.k8s.io/v1 Policy" \
      org.opencontainers.image.source="https://github.com/auditstream/auditstream"
# The paths the configurations name: plugins: in fluent-bit.yaml and Path in
# plugins.conf load /fluent-bit/plugins/out_auditstream.so, and policy_file is
# /fluent-bit/etc/policy.yaml. plugins.conf replaces the image's empty one, so
# the classic configuration can load the plugin too.
COPY --from=build /src/build/out_auditstream.so /fluent-bit/plugins/out_auditstream.so
COPY examples/plugins.conf examples/fluent-bit.yaml examples/policy.yaml /fluent-bit/etc/
# The official image's entrypoint is the fluent-bit binary; only its
# arguments change, from the classic fluent-bit.conf to the YAML
# configuration.
ENTRYPOINT ["/fluent-bit/bin/fluent-bit"]
CMD ["-c", "/fluent-bit/etc/fluent-bit.yaml"]
