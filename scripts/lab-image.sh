#!/usr/bin/env bash
# Builds the lab's base image locally: a Debian 12 root file system made by debootstrap, with systemd as
# PID 1 and python3 for Ansible, imported into Docker. No registry is needed. The image is tagged with a
# hash of this script, so a second run reuses it and a change to the package list rebuilds it.
set -euo pipefail

name="${LAB_IMAGE_NAME:-radiology-lab/debian12}"
packages="systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,procps,ca-certificates,locales,less"
tag="$(sha256sum "$0" | cut -c1-12)"
image="${name}:${tag}"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "lab image ${image} already built: reusing it"
  docker tag "$image" "${name}:latest"
  exit 0
fi

workdir="$(mktemp -d /var/tmp/lab-rootfs.XXXXXX)"
trap 'rm -rf "$workdir"' EXIT
echo "building lab image ${image} with debootstrap (about a minute)"
debootstrap --variant=minbase --include="$packages" bookworm "$workdir/rootfs" >"$workdir/debootstrap.log" 2>&1 || {
  echo "debootstrap failed; last lines of its log:" >&2
  tail -n 30 "$workdir/debootstrap.log" >&2
  exit 1
}
root="$workdir/rootfs"
# A container has no consoles or hardware to manage: mask the units that would only fail or hang.
for unit in getty@tty1.service console-getty.service systemd-udevd.service systemd-udev-trigger.service \
            systemd-firstboot.service systemd-remount-fs.service sys-kernel-debug.mount dev-hugepages.mount \
            systemd-logind.service apt-daily.timer apt-daily-upgrade.timer; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
echo 'container' > "$root/etc/container"
: > "$root/etc/machine-id"
# Keep images small and apt quiet inside the lab.
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$root/etc/apt/apt.conf.d/90lab"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/cache/apt/"*.bin "$root/var/lib/apt/lists/"*
# The image ships no package lists: make them look stale so `apt: cache_valid_time` refreshes them.
mkdir -p "$root/var/lib/apt/lists/partial"
touch -d @0 "$root/var/lib/apt/lists"

tar -C "$root" -c . | docker import \
  -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' \
  - "$image" >/dev/null  # containers are run with --stop-signal SIGRTMIN+3 (systemd halts on it)
docker tag "$image" "${name}:latest"
echo "lab image ${image} built"
