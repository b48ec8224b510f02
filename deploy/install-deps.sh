#!/usr/bin/env bash
# install-deps.sh - install nicraft's build and test dependencies on Debian 12.
#
# Idempotent: when every package is already installed it prints nothing and
# touches nothing. Otherwise it runs `apt-get update` once and installs only
# the missing packages, non-interactively. Needs nothing but the Debian
# archive. Runs as root, or through sudo when not root.
#
# Usage: deploy/install-deps.sh
set -euo pipefail

# One package a line, with the reason it is here.
packages=(
    build-essential     # gcc, libc headers, make
    gcc                 # the default compiler; ships ASan/UBSan runtimes
    clang               # second compiler; libFuzzer for fuzz targets to come
    libclang-rt-14-dev  # clang's sanitizer and libFuzzer runtimes (clang 14 on Debian 12)
    meson               # build system
    ninja-build         # meson's backend
    pkg-config          # meson finds libraries through it
    libdpdk-dev         # dataplane/: DPDK poll-mode drivers, rings, mempools
    liburing-dev        # storage/: io_uring WAL writes
    libisal-dev         # storage/: ISA-L CRC32C
    libnuma-dev         # dataplane/: memory on the NIC's NUMA node
    libjansson-dev      # bench/ and control/: JSON output and requests
    gnuplot-nox         # bench/: throughput and latency plots as PNG
    iproute2            # tests: network namespaces, veth pairs, tc netem
)

missing=()
for pkg in "${packages[@]}"; do
    # db:Status-Abbrev is "ii " for an installed package; anything else
    # (absent, removed with config left, half-installed) counts as missing.
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "ii "* ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "install-deps: missing packages (${missing[*]}); run this script as root" \
        "or install sudo" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
log=$(mktemp "${TMPDIR:-/tmp}/nicraft-install-deps.XXXXXX")
trap 'rm -f "$log"' EXIT

# Wait for a dpkg lock held by another apt run rather than failing at once.
apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false -o DPkg::Lock::Timeout=300)
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update \
        >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps: apt-get update failed (output above)" >&2
    exit 1
fi
if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install \
        "${missing[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps: apt-get install ${missing[*]} failed (output above)" >&2
    exit 1
fi

# Confirm, so that a package apt silently skipped is reported here and not
# as a confusing build error later.
still_missing=()
for pkg in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "ii "* ]] || still_missing+=("$pkg")
done
if [[ ${#still_missing[@]} -gt 0 ]]; then
    echo "install-deps: still not installed after apt-get: ${still_missing[*]}" >&2
    exit 1
fi
echo "install-deps: installed ${#missing[@]} package(s)"
