#!/bin/sh
# mk/kdir.sh: print the kernel build tree to build the module against, and
# with --version the kernel version. /lib/modules/$(uname -r)/build when it
# exists, else the newest /usr/src/linux-headers-V with /boot/vmlinuz-V.
set -eu
kdir=""
kver=""
if [ -d "/lib/modules/$(uname -r)/build" ]; then
	kdir=/lib/modules/$(uname -r)/build
	kver=$(uname -r)
else
	for d in $(ls -d /usr/src/linux-headers-* 2>/dev/null | sort -V -r); do
		v=${d#/usr/src/linux-headers-}
		if [ -f "/boot/vmlinuz-$v" ] && [ -f "$d/Makefile" ] && [ -e "$d/.config" ]; then
			kdir=$d
			kver=$v
			break
		fi
	done
fi
[ -n "$kdir" ] || { echo "no kernel build tree found" >&2; exit 1; }
if [ "${1:-}" = --version ]; then echo "$kver"; else echo "$kdir"; fi
