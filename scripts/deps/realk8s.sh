# Sourced by scripts/test: starts the real Kubernetes control plane of ../shared/realk8s
# (kube-apiserver v1.36.2, etcd, kube-controller-manager; idempotent, loopback only) and
# exports PRESCALE_TEST_KUBECONFIG, its admin kubeconfig, for the real-server tests.
#
# A failure to start fails the test run: CI never skips the real server. A developer may
# opt out with PRESCALE_SKIP_REALK8S=1; the tests then say loudly that they did not run.

prescale_realk8s() {
  if [ "${PRESCALE_SKIP_REALK8S:-}" = 1 ]; then
    echo "scripts/deps/realk8s.sh: PRESCALE_SKIP_REALK8S=1 — real API server tests will be SKIPPED" >&2
    return 0
  fi
  local start="${REALK8S_START:-../shared/realk8s/start}" line started
  if [ ! -x "$start" ]; then
    echo "scripts/deps/realk8s.sh: $start is missing (set REALK8S_START, or PRESCALE_SKIP_REALK8S=1 to opt out)" >&2
    return 1
  fi
  started=$(date +%s)
  # A component that exits at start (a port still held by a process being torn down, a
  # stale pid file) is retried from a clean stop; three failures in a row fail the run.
  local attempt
  for attempt in 1 2 3; do
    if line=$("$start"); then
      break
    fi
    if [ "$attempt" = 3 ]; then
      echo "scripts/deps/realk8s.sh: $start failed 3 times; see its logs above" >&2
      return 1
    fi
    echo "scripts/deps/realk8s.sh: $start failed (attempt $attempt of 3); stopping and retrying" >&2
    "$(dirname "$start")/stop" >&2 || true
    sleep $((attempt * 3))
  done
  PRESCALE_TEST_KUBECONFIG=$(printf '%s\n' "$line" | tail -n 1 | sed -n 's/^export KUBECONFIG=//p')
  if [ -z "$PRESCALE_TEST_KUBECONFIG" ]; then
    echo "scripts/deps/realk8s.sh: unexpected output from $start: $line" >&2
    return 1
  fi
  export PRESCALE_TEST_KUBECONFIG
  echo "scripts/deps/realk8s.sh: real API server up in $(( $(date +%s) - started )) s ($PRESCALE_TEST_KUBECONFIG)" >&2
}

prescale_realk8s || exit 1
