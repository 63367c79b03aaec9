#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` once into a cache outside the checkout, for the serving
# tests and benchmarks (docs/serving.md). Prints the binary's path on the last line.
#
# Where the sources come from: the llama-cpp-python sdist on PyPI vendors llama.cpp
# (vendor/llama.cpp, tools/server included), so a pinned sdist with a pinned sha256 gives a
# reproducible llama.cpp without reaching any other host. The same version is the `bench` extra.
#
# Why these flags:
# - GGML_NATIVE=OFF and an explicit x86-64-v3 set (AVX2/FMA/F16C) where the CPU has AVX2: no
#   -march=native, so no AVX-512/AMX kernels. llama.cpp's native build crashed on this machine in
#   the AMX / extra-buffer (repack) path for Q4_1; GGML_CPU_REPACK=OFF turns the run-time weight
#   repacking off for the same reason (numbers are the plain ggml CPU kernels').
# - BUILD_SHARED_LIBS=OFF: one self-contained executable in the cache.
# - No OpenSSL/CURL, no web UI (LLAMA_USE_PREBUILT_UI would download it): a loopback test server
#   needs neither, and the build must not reach the network.
# Usage: packaging/build-llama-server.sh [--print-path]   (REVERIE_LLAMA_SERVER_CACHE overrides
# the cache root, default ~/.cache/reverie). Takes ~10 min on 2 cores; later runs return at once.
set -euo pipefail

VERSION=0.3.36
SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
CACHE_ROOT="${REVERIE_LLAMA_SERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/reverie}"
DEST="$CACHE_ROOT/llama-server-$VERSION"
BIN="$DEST/bin/llama-server"

if [ "${1:-}" = "--print-path" ]; then echo "$BIN"; exit 0; fi
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

PY="${PYTHON:-python3}"
for tool in cmake g++ make; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "Installing build tools (cmake, g++, make) for llama-server"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq || true
      apt-get install -y -qq --no-install-recommends cmake g++ make >/dev/null
      break
    fi
    echo "build-llama-server: '$tool' is missing; install cmake, g++ and make" >&2
    exit 1
  fi
done

mkdir -p "$CACHE_ROOT"
WORK="$(mktemp -d "$CACHE_ROOT/llama-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

SDIST="$WORK/llama_cpp_python-$VERSION.tar.gz"
if [ -n "${REVERIE_LLAMA_SDIST:-}" ]; then
  cp "$REVERIE_LLAMA_SDIST" "$SDIST"
else
  "$PY" -m pip download --quiet --no-deps --no-binary llama-cpp-python \
    "llama-cpp-python==$VERSION" -d "$WORK"
fi
echo "$SHA256  $SDIST" | sha256sum -c --quiet - || {
  echo "build-llama-server: sha256 of the llama-cpp-python $VERSION sdist does not match" >&2
  exit 1
}
tar xzf "$SDIST" -C "$WORK"
SRC="$WORK/llama_cpp_python-$VERSION/vendor/llama.cpp"
[ -f "$SRC/tools/server/server.cpp" ] || { echo "build-llama-server: no tools/server in sdist" >&2; exit 1; }

CPU_FLAGS=(-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF)
if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
  CPU_FLAGS+=(-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON)
fi

JOBS="${REVERIE_BUILD_JOBS:-2}"
cmake -S "$SRC" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  "${CPU_FLAGS[@]}" -DGGML_CPU_REPACK=OFF -DGGML_OPENMP=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_TOOLS=ON >"$WORK/configure.log" 2>&1 || { tail -30 "$WORK/configure.log" >&2; exit 1; }
cmake --build "$WORK/build" --target llama-server -j "$JOBS" >"$WORK/build.log" 2>&1 \
  || { tail -40 "$WORK/build.log" >&2; exit 1; }

# Install atomically: a half-copied binary must never look finished to the next run.
mkdir -p "$DEST"
STAGE="$(mktemp -d "$DEST/.stage.XXXXXX")"
mkdir -p "$STAGE/bin"
cp "$WORK/build/bin/llama-server" "$STAGE/bin/llama-server"
echo "llama-cpp-python $VERSION sha256 $SHA256; flags: ${CPU_FLAGS[*]} GGML_CPU_REPACK=OFF" \
  >"$STAGE/BUILD-INFO"
rm -rf "$DEST/bin" "$DEST/BUILD-INFO"
mv "$STAGE/BUILD-INFO" "$DEST/BUILD-INFO"
mv "$STAGE/bin" "$DEST/bin"
rmdir "$STAGE"
echo "$BIN"
