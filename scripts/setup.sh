#!/bin/bash
# Install everything guestkit needs on Debian 12, as root, into ./.venv.
#   scripts/setup.sh        system packages + guestkit (with libvirt support)
#   scripts/setup.sh test   the same, plus the test tools and libguestfs (the tests' oracle)
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  # the appliance: hypervisor, kernel, and the tools the daemon drives
  qemu-system-x86 qemu-utils qemu-block-extra linux-image-cloud-amd64 kmod
  util-linux mount e2fsprogs parted gdisk fdisk dosfstools xfsprogs btrfs-progs ntfs-3g
  lvm2 cryptsetup-bin mdadm file attr acl libcap2-bin rsync zerofree bsdextrautils
  tar cpio gzip xz-utils zstd bzip2 lzop lz4 ncompress binutils sleuthkit libhivex0
  scrub squashfs-tools syslinux extlinux mtools grub-pc-bin f2fs-tools
  libaugeas0 augeas-lenses libsystemd0 yara policycoreutils
  ldmtool
  # guestkit rescue's shell: ps/free/kill, less, clear and the terminal descriptions
  procps less ncurses-bin ncurses-base
  # building the Python package and libvirt-python
  python3 python3-venv python3-dev gcc pkg-config libvirt-dev
  # libvirt backend
  libvirt-daemon-system libvirt-clients
  # mount_local / guestkit mount: libfuse 3 and fusermount3
  fuse3
)
if [ "${1:-}" = test ]; then
  PKGS+=(libguestfs-tools libguestfs-xfs python3-guestfs busybox-static debootstrap sasl2-bin
        openssh-server openssh-client openssl rpm db5.3-util groff-base
        systemd-journal-remote)
fi

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip >/dev/null
if [ "${1:-}" = test ]; then
  .venv/bin/pip install -q -e '.[libvirt,test]'
else
  .venv/bin/pip install -q '.[libvirt,mount,fleet,parquet]'
fi
echo "guestkit installed in $(pwd)/.venv"
