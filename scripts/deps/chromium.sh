# Sourced by scripts/test: installs Debian's chromium and chromium-driver (the dashboard's
# browser test drives headless Chromium through chromedriver's WebDriver endpoint).
#
# PRESCALE_SKIP_CHROMIUM=1 skips this; the browser test then says loudly that it did not run.

prescale_chromium() {
  if [ "${PRESCALE_SKIP_CHROMIUM:-}" = 1 ]; then
    echo "scripts/deps/chromium.sh: PRESCALE_SKIP_CHROMIUM=1 — the dashboard browser test will be SKIPPED" >&2
    return 0
  fi
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    return 0
  fi
  echo "scripts/deps/chromium.sh: installing Debian's chromium and chromium-driver" >&2
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null
  fi
  command -v chromedriver >/dev/null 2>&1 || { echo "scripts/deps/chromium.sh: chromedriver missing after install" >&2; return 1; }
}

prescale_chromium
