#!/usr/bin/env bash
# The lab's build step, run in a checkout of a lab history (deploy/lab/make-history): compiles the
# module against the cached Debian kernel headers in an out-of-tree build directory and packs an
# initramfs (busybox + the module + the reproducer + an init that loads the module, runs the
# reproducer, prints a completion marker and powers off).
#
#   cd <checkout> && deploy/lab/build.sh <build-dir>        (or MULTISECT_BUILD_DIR=<build-dir>)
#
# Headers: $MULTISECT_LAB_HEADERS, else <cache>/current from deploy/lab/setup
# ($MULTISECT_LAB_CACHE, default ~/.cache/multisect/lab). Output: <build-dir>/initramfs.cpio.gz
# (and multisect_lab.ko). Exit status: 0 built; 1 the tree does not build (a skip); 3 the host is
# not set up (no headers, busybox or cpio: an infra problem, not the commit's fault).
set -euo pipefail

src="$(pwd)"
out="${1:-${MULTISECT_BUILD_DIR:-}}"
[ -n "$out" ] || { echo "build.sh: give the build directory as an argument or MULTISECT_BUILD_DIR" >&2; exit 3; }
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cache="${MULTISECT_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/multisect/lab}"
headers="${MULTISECT_LAB_HEADERS:-}"
if [ -z "$headers" ]; then
  release="$(basename "$(readlink "$cache/current" 2>/dev/null || echo none)")"
  headers="$cache/current/root/usr/src/linux-headers-$release"
fi
[ -f "$headers/Makefile" ] || { echo "build.sh: no kernel headers at $headers: run deploy/lab/setup" >&2; exit 3; }
busybox="${MULTISECT_LAB_BUSYBOX:-/bin/busybox}"
[ -x "$busybox" ] || { echo "build.sh: no busybox at $busybox: run deploy/lab/setup" >&2; exit 3; }
command -v cpio >/dev/null || { echo "build.sh: cpio is missing: run deploy/lab/setup" >&2; exit 3; }
[ -f "$src/Kbuild" ] && [ -f "$src/repro.sh" ] || { echo "build.sh: $src is not a lab tree (no Kbuild/repro.sh)" >&2; exit 1; }

# kbuild builds external modules in their source directory: mirror the sources into the build
# directory, copying only files whose content changed so unchanged objects are not rebuilt.
mod="$out/module"
mkdir -p "$mod"
# Sources copied by the previous build (kbuild generates other .c files, e.g. *.mod.c: keep those).
if [ -f "$mod/.sources" ]; then
  while IFS= read -r name; do
    [ -e "$src/$name" ] || rm -f "$mod/$name" "$mod/${name%.c}.o"
  done < "$mod/.sources"
fi
: > "$mod/.sources.new"
for f in "$src"/Kbuild "$src"/*.c "$src"/*.h; do
  [ -e "$f" ] || continue
  name="$(basename "$f")"
  echo "$name" >> "$mod/.sources.new"
  cmp -s "$f" "$mod/$name" 2>/dev/null || cp "$f" "$mod/"
done
mv "$mod/.sources.new" "$mod/.sources"
echo "build.sh: make -C $headers M=$mod modules"
if ! make -C "$headers" M="$mod" -j"${MULTISECT_BUILD_JOBS:-$(nproc)}" modules; then
  echo "build.sh: the module does not build" >&2
  exit 1
fi
cp "$mod/multisect_lab.ko" "$out/multisect_lab.ko"

# The initramfs. No device nodes can be made without root, so init mounts devtmpfs and reopens
# the console itself.
root="$out/initramfs"
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp}
cp "$busybox" "$root/bin/busybox"
cp "$out/multisect_lab.ko" "$root/multisect_lab.ko"
cp "$src/repro.sh" "$root/repro.sh"
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
exec 0</dev/console 1>/dev/console 2>&1
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "multisect-lab: init started"
if insmod /multisect_lab.ko; then
  echo "multisect-lab: running the reproducer"
  sh /repro.sh
  echo "multisect-lab: reproducer finished"
else
  echo "multisect-lab: insmod failed"
fi
poweroff -f
INIT
chmod +x "$root/init" "$root/repro.sh"
# Fixed mtimes and sorted names make the archive a function of its content (artifact hashes).
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --reproducible) | gzip -n -6 > "$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
echo "build.sh: built $out/initramfs.cpio.gz"
