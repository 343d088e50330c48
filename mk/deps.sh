#!/bin/sh
# mk/deps.sh: check for, and as root install, the Debian packages that the
# build, the tests and the demo need.  Usage: mk/deps.sh [--install|--check]
set -eu

# linux-image-amd64 and linux-headers-amd64 go in one apt call so that their
# versions match: the test host boots exactly the kernel the module builds for.
PKGS="build-essential make gcc pkg-config libconfig-dev zlib1g-dev
libarchive-dev libzstd-dev libcmocka-dev kmod cpio bc linux-image-amd64
linux-headers-amd64 qemu-system-x86 qemu-utils busybox-static seabios
mtools dosfstools syslinux syslinux-common isolinux xorriso fdisk e2fsprogs
sparse mandoc util-linux zip zstd bzip2 xz-utils bochs bochsbios bochs-term acpica-tools
vgabios libslirp-dev iperf3 ethtool iproute2 libpng-dev linux-source-6.1
libvncserver-dev vncsnapshot libjpeg-dev"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

mode=${1:---install}
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$mode" = --check ]; then
	echo "missing packages:$missing" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "These Debian packages are missing. As root, run:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# One call, so that linux-image and linux-headers resolve to one version.
apt-get install -y -q --no-install-recommends $PKGS >/dev/null
