# Shared by the tools/install-*.sh scripts: installs Debian packages that
# the tests need, idempotently and within bounded time. Sourced, not run.
#
# apt_install WHO WHY PKG...: installs the PKGs not yet installed. WHO names
# the calling script in messages; WHY says what skips without them. Without
# apt-get, or without root or passwordless sudo, it only says what to
# install and returns 0, so the tests that need the packages skip with their
# own message instead of CI failing here. APT_PRESEED, if set, is fed to
# debconf-set-selections first so no install waits for a prompt.

apt_missing() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

apt_install() {
  local who=$1 why=$2
  shift 2
  local missing
  missing=$(apt_missing "$@" | tr '\n' ' ')
  if [ -z "$missing" ]; then
    echo "$who: all present ($*)"
    return 0
  fi
  if ! command -v apt-get >/dev/null; then
    echo "$who: no apt-get; please install: $missing($why)" >&2
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      echo "$who: not root; please install: $missing($why)" >&2
      return 0
    fi
  fi
  echo "$who: installing $missing"
  export DEBIAN_FRONTEND=noninteractive
  if [ -n "${APT_PRESEED:-}" ]; then
    echo "$APT_PRESEED" | $sudo debconf-set-selections
  fi
  # Bounded: a stuck mirror must not hang CI. Another install running at
  # the same time holds dpkg's lock: wait for it (bounded) instead of
  # failing at once.
  local lock="-o DPkg::Lock::Timeout=240"
  # shellcheck disable=SC2086 # word splitting of the option and the package list is intended
  timeout 300 $sudo apt-get $lock update -q
  # shellcheck disable=SC2086
  timeout 900 $sudo apt-get $lock install -y -q --no-install-recommends $missing
}
