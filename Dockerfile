# prescale's container image, for builders with a daemon (docker buildx, podman, buildah):
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/prescale:VERSION --push .
#
# Each platform compiles natively in its own build stage (under QEMU emulation when it is
# not the builder's: slow for arm64 on an amd64 machine, so prefer a native arm64 builder).
# Without a daemon, scripts/image builds the same image for this machine's platform as an
# OCI archive. Both give a `FROM scratch` image: a statically linked prescale (glibc,
# crt-static), the CA bundle, and a non-root user; it runs with a read-only root
# filesystem (the history store lives on a mounted volume, or in PostgreSQL).
# The runtime configuration below is scripts/image's (crates/prescale/tests/image.rs checks).

FROM docker.io/library/rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,sharing=locked \
    triple="$(rustc -vV | sed -n 's/^host: //p')" \
 && RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --locked --release -p prescale --target "$triple" \
 && install -D -m 0755 "target/$triple/release/prescale" /out/usr/local/bin/prescale \
 && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ca-certificates.crt \
 && cp -a deploy/image/rootfs/. /out/ \
 && ! readelf -lW /out/usr/local/bin/prescale | grep -q 'program interpreter' \
 && /out/usr/local/bin/prescale --version

FROM scratch
LABEL org.opencontainers.image.title=prescale org.opencontainers.image.licenses=Apache-2.0
COPY --from=build /out/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
EXPOSE 8080/tcp
WORKDIR /
ENTRYPOINT ["/usr/local/bin/prescale"]
CMD ["operator"]
