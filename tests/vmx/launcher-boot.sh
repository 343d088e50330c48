#!/bin/sh
# tests/vmx/launcher-boot.sh: inside the vmxhost guest: kvm-launch boots the Debian kernel and a minimal initramfs to userspace (TAP).
#   launcher-boot.sh KVM_LAUNCH DIR   (DIR holds hello.cfg and initrd.img)
kl=$1
dir=$2
echo "1..2"
out=$dir/hello.$TESTHOST_LANE.out
t0=$(date +%s)
timeout -k 5 "${KL_BOOT_TIMEOUT:-2400}" "$kl" "$dir/hello.cfg" > "$out" 2>&1
st=$?
# The Bochs guest's clock runs on emulated instructions (vmxhost's ips).
echo "# kvm-launch ran $(($(date +%s) - t0)) s on the Bochs guest's clock"
if [ $st = 0 ]; then echo "ok 1 - kvm-launch exits 0 after the guest's reset"; else echo "not ok 1 - kvm-launch status $st"; fi
if grep -q 'KL-HELLO-42' "$out"; then
	echo "ok 2 - the guest's userspace ran its command"
else
	echo "not ok 2 - no KL-HELLO-42 from the guest"
	tail -20 "$out" | sed 's/^/# /'
fi
