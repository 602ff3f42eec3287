#!/usr/bin/env bash
# Fetches the target builds of the libraries behind lwai's XNNPACK backend (libxnnpack0,
# libpthreadpool0, libcpuinfo0) for a Debian cross target, at the versions the host has, from
# Debian's package pool, and unpacks them into DEST (a sysroot overlay the cross toolchain files
# search: cmake -DLWAI_CROSS_LIBS=DEST). Headers are the host's (the same for every arch).
# Idempotent; a package Debian does not build for the target is reported, never an error.
# Usage: scripts/fetch_cross_libs.sh TRIPLE DEST
set -euo pipefail
triple=$1 dest=$2
case "$triple" in
  aarch64-linux-gnu) arch=arm64 ;;
  arm-linux-gnueabihf) arch=armhf ;;
  *) echo "fetch_cross_libs: unknown triple $triple" >&2; exit 2 ;;
esac
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
libdir="$dest/usr/lib/$triple"
mkdir -p "$dest/debs" "$libdir"
missing=()
for spec in xnnpack:libxnnpack0:libXNNPACK pthreadpool:libpthreadpool0:libpthreadpool \
            cpuinfo:libcpuinfo0:libcpuinfo; do
  IFS=: read -r source package soname <<<"$spec"
  version=$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null || true)
  if [ -z "$version" ]; then
    missing+=("$package (not installed on the host: no version to match)")
    continue
  fi
  deb="$dest/debs/${package}_${version}_${arch}.deb"
  # Fetched before at this version (a host upgrade fetches the matching one again).
  if [ -f "$deb" ] && [ -e "$libdir/$soname.so.0" ]; then continue; fi
  url="$mirror/pool/main/${source:0:1}/$source/${package}_${version/\~/%7E}_${arch}.deb"
  if ! curl -fsSL --retry 2 -o "$deb" "$url"; then
    rm -f "$deb"
    missing+=("$package $version for $arch (not in Debian's pool)")
    continue
  fi
  dpkg-deb -x "$deb" "$dest"
  ln -sf "$soname.so.0" "$libdir/$soname.so"
  echo "fetch_cross_libs: $package $version ($arch)"
done
if ((${#missing[@]})); then
  printf 'fetch_cross_libs: %s: missing %s\n' "$triple" "${missing[@]}"
fi
