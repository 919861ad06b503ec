# Sourced by scripts/test: installs Debian's chromium and chromium-driver (the dashboard's
# browser test drives headless Chromium through chromedriver's WebDriver endpoint).
#
# When they cannot be installed this says why and goes on: the other tests run, and the
# browser test fails, naming what is missing (it is never skipped).

prescale_chromium_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null 2>&1 && return 0
  apt-get update -q >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null
}

prescale_chromium() {
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    return 0
  fi
  echo "scripts/deps/chromium.sh: installing Debian's chromium and chromium-driver" >&2
  if ! prescale_chromium_install || ! command -v chromedriver >/dev/null 2>&1; then
    echo "scripts/deps/chromium.sh: could not install chromium and chromium-driver;" \
      "the dashboard browser test (crates/prescale/tests/dashboard_browser.rs) will FAIL" >&2
  fi
  return 0
}

prescale_chromium
