#!/bin/sh
# Builds the tests of Arcade.Crypto (sdk/unity/Runtime/Crypto) with Debian's
# Mono and runs them against the vectors in seal/testdata.
#
# Usage: sdk/unity/Tests/Crypto/run.sh [--bench]
#   --bench  run the benchmarks (Ed25519.Verify, AES-GCM, SHA-512, CPace)
#            instead of the tests
#
# Exit status: 0 every check passed; 1 a check failed; 2 the build failed;
# 77 skipped because mcs or mono is not installed (apt-get install
# mono-mcs mono-runtime).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
if ! command -v mcs >/dev/null 2>&1 || ! command -v mono >/dev/null 2>&1; then
  echo "SKIP: Arcade.Crypto tests need mcs and mono (Debian: mono-mcs mono-runtime)" >&2
  exit 77
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/arcade-crypto.XXXXXX")
trap 'rm -rf "$out"' EXIT
if ! mcs -langversion:7.2 -debug -warnaserror+ -r:System.Numerics.dll -out:"$out/CryptoTests.exe" \
  "$root"/sdk/unity/Runtime/Crypto/*.cs "$here"/*.cs; then
  echo "FAIL: Arcade.Crypto tests do not build" >&2
  exit 2
fi
status=0
mono --debug "$out/CryptoTests.exe" "$@" "$root" || status=$?
exit "$status"
