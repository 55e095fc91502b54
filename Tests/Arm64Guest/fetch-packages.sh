#!/usr/bin/env bash
# The arm64 machine the deployable bootstrap is run in (Arm64BootstrapTests): Debian's cloud kernel, and a userland of
# busybox plus the arm64 libraries the bootstrap and libvips link against (glibc, libstdc++, libgcc) and OpenSSL, which
# .NET loads at start. Lambda's provided.al2023 has those too; nothing else is added. Downloaded with apt (the arm64
# architecture must be known to dpkg: .ci/run adds it), unpacked into $1, once.
set -euo pipefail
out=$(realpath -m "${1:?usage: fetch-packages.sh <directory>}")
[ -f "$out/ready" ] && exit 0
rm -rf "$out" && mkdir -p "$out/debs" "$out/root" "$out/kernel"
cd "$out/debs"
# The meta package names the current kernel; apt-get download takes exact package names only.
kernel=$(apt-cache depends linux-image-cloud-arm64:arm64 | awk '/Depends: linux-image-/ { sub(":arm64", "", $2); print $2; exit }')
apt-get download -q "$kernel:arm64" busybox-static:arm64 libc6:arm64 libssl3:arm64 libstdc++6:arm64 libgcc-s1:arm64 2>&1 \
  | grep -v 'unsandboxed' || true
dpkg-deb -x linux-image-*.deb "$out/kernel"
for deb in busybox-static_*.deb libc6_*.deb libssl3_*.deb libstdc++6_*.deb libgcc-s1_*.deb; do
  dpkg-deb -x "$deb" "$out/root"
done
rm -rf "$out/root/usr/share" "$out/root/usr/lib/aarch64-linux-gnu/gconv" "$out/root/etc"
# virtio's modules (the cloud kernel builds them as modules), in load order, for the serial port the tests talk over.
mkdir -p "$out/root/lib/modules"
for module in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_mmio drivers/char/virtio_console; do
  cp "$out"/kernel/lib/modules/*/kernel/$module.ko "$out/root/lib/modules/"
done
cp "$out"/kernel/boot/vmlinuz-* "$out/vmlinuz"
rm -rf "$out/kernel" "$out/debs"
touch "$out/ready"
