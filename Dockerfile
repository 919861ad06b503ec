# prescale's container image, for builders with a daemon (docker buildx, podman, buildah):
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/prescale:VERSION --push .
#
# Each platform compiles natively in its own build stage (under QEMU emulation when it is
# not the builder's: slow for arm64 on an amd64 machine, so prefer a native arm64 builder).
# Without a daemon, scripts/image builds the same image for this machine's platform as an
# OCI archive. Both give a `FROM scratch` image: prescale linked against the build stage's
# glibc, with exactly the shared objects it loads (its program interpreter and each library
# ldd resolves, at the same paths), the CA bundle, and a non-root user; it runs with a
# read-only root filesystem (the history store lives on a mounted volume, or in PostgreSQL).
# The runtime configuration below is scripts/image's (crates/prescale/tests/image.rs checks).

FROM docker.io/library/rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --locked --release -p prescale \
 && install -D -m 0755 target/release/prescale /out/usr/local/bin/prescale \
 && for object in $(ldd target/release/prescale | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do \
      install -D -m 0755 "$(readlink -f "$object")" "/out$object"; \
    done \
 && install -D -m 0644 /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ca-certificates.crt \
 && cp -a deploy/image/rootfs/. /out/ \
 && chroot /out /usr/local/bin/prescale --version

FROM scratch
LABEL org.opencontainers.image.title=prescale org.opencontainers.image.licenses=Apache-2.0
COPY --from=build /out/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
EXPOSE 8080/tcp
WORKDIR /
ENTRYPOINT ["/usr/local/bin/prescale"]
CMD ["operator"]
