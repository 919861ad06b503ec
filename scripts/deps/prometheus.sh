# Sourced by scripts/test: installs Prometheus (and promtool) from Debian's packages if they
# are missing. The backfill tests start their own Prometheus on a free loopback port, on
# blocks they build with `promtool tsdb create-blocks-from openmetrics`.
#
# PRESCALE_SKIP_PROMETHEUS=1 skips this; the tests then say loudly that they did not run.

prescale_prometheus() {
  if [ "${PRESCALE_SKIP_PROMETHEUS:-}" = 1 ]; then
    echo "scripts/deps/prometheus.sh: PRESCALE_SKIP_PROMETHEUS=1 — Prometheus tests will be SKIPPED" >&2
    return 0
  fi
  if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    return 0
  fi
  echo "scripts/deps/prometheus.sh: installing Debian's prometheus" >&2
  # The package's post-install tries to start a service; without an init system that
  # fails harmlessly, and the tests start their own servers anyway.
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null
  fi
  command -v promtool >/dev/null 2>&1 || { echo "scripts/deps/prometheus.sh: promtool missing after install" >&2; return 1; }
}

prescale_prometheus
