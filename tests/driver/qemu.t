#!/bin/bash
# tests/driver/qemu.t: a real KVM client on each lane's /dev/kvm: Debian's
# qemu-system-x86_64 -accel kvm, with its interrupt controllers in userspace
# (kernel_irqchip=off: neither driver is asked for an in-kernel irqchip),
# boots the Debian kernel and the test initramfs to userspace and runs one
# command in the guest. One boot per lane, inside the test host (firmware:
# qboot when installed, else SeaBIOS; both were seen booting on both lanes).
#   DRIVER_LANES='stock ours' (default), QEMU_T_TIMEOUT (s, per boot, default 420)
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export BUILD=${BUILD:-$TOP/build}
KVER=${KVER:-$("$TOP/mk/kdir.sh" --version 2>/dev/null)}
KERNEL=/boot/vmlinuz-$KVER
RAM_MB=96
BOOT_TIMEOUT=${QEMU_T_TIMEOUT:-420}

# ---- inside the test host: one boot, timed, its console on stdout ----
if [ "${1:-}" = --inner ]; then
	initrd=$2
	uptime_cs() { local up _; read -r up _ < /proc/uptime; echo $((${up%.*} * 100 + 10#${up#*.})); }
	# Cheaper boots, same guest: qboot instead of SeaBIOS when installed,
	# and the TSC rate given (calibrating it against the PIT fails this deep
	# in emulation; without kvmclock the guest then reads the HPET, an MMIO
	# exit, for the time).
	fw=/usr/share/qemu/qboot.rom
	bios=()
	[ -r "$fw" ] && bios=(-bios "$fw")
	khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
	tsc=""
	[ -n "$khz" ] && [ "$khz" -gt 0 ] && tsc="tsc_early_khz=$khz tsc=reliable"
	t0=$(uptime_cs)
	# The guest's one command: arithmetic and the kernel's release, both
	# computed in the guest (the host cannot print them by accident).
	cmd='echo QEMU-T-CMD $((6 * 7)) $(uname -r)'
	timeout "$BOOT_TIMEOUT" qemu-system-x86_64 -accel kvm \
		-machine pc,kernel_irqchip=off -m $RAM_MB -nodefaults \
		-display none -no-reboot -serial stdio "${bios[@]}" \
		-kernel "$KERNEL" -initrd "$initrd" \
		-append "console=ttyS0 quiet $tsc -- $cmd" < /dev/null 2>&1 |
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		*KL-USERSPACE*) echo "QEMU-T userspace_cs $(($(uptime_cs) - t0))" ;;
		esac
		printf '%s\n' "$line"
	done
	rc=${PIPESTATUS[0]}
	echo "QEMU-T end_cs $(($(uptime_cs) - t0))"
	echo "QEMU-T status $rc"
	exit 0
fi

# ---- on the build host: one test-host run per lane ----
cd "$TOP"
lanes=${DRIVER_LANES:-stock ours}
n_lanes=$(echo $lanes | wc -w)
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
[ -x tests/testhost ] || skip_all "no tests/testhost"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -r "$KERNEL" ] || skip_all "$KERNEL missing"
initrd=$BUILD/tests/launcher/initramfs.cpio.gz
if [ ! -s "$initrd" ] || [ tests/launcher/mkinitramfs.sh -nt "$initrd" ]; then
	mkdir -p "$(dirname "$initrd")"
	tests/launcher/mkinitramfs.sh "$initrd" "$KVER" >&2 ||
		skip_all "cannot build the test initramfs (tests/launcher/mkinitramfs.sh)"
fi

echo "1..$n_lanes"
i=0
for lane in $lanes; do
	i=$((i + 1))
	if [ "$lane" = ours ] && [ ! -f kvm-driver/kvmdrv.ko ]; then
		echo "ok $i - [$lane] qemu -accel kvm boots Linux # SKIP kvm-driver/kvmdrv.ko not built"
		continue
	fi
	out=$(tests/testhost --lane "$lane" --timeout $((BOOT_TIMEOUT + 180)) -- \
		bash "$TOP/tests/driver/qemu.t" --inner "$initrd" 2>&1)
	rc=$?
	get() { printf '%s\n' "$out" | sed -n "s/^QEMU-T $1 //p" | tail -n1; }
	us=$(get userspace_cs)
	st=$(get status)
	why=""
	if [ -z "$us" ]; then
		why="no userspace line"
	elif ! printf '%s\n' "$out" | grep -qx "QEMU-T-CMD 42 $KVER"; then
		why="the guest command's output is missing"
	elif ! printf '%s\n' "$out" | grep -q "^KL-EXIT: 0"; then
		why="the guest command did not exit 0"
	elif [ "$st" != 0 ]; then
		why="qemu-system-x86_64 ended with status ${st:-?}"
	elif [ $rc -ne 0 ]; then
		why="test host ended with status $rc"
	fi
	if [ -z "$why" ]; then
		echo "ok $i - [$lane] qemu -accel kvm,kernel_irqchip=off boots Linux and runs a command"
		echo "# [$lane] qemu start to first userspace line: $((us / 100)).$(printf '%02d' $((us % 100))) s"
	else
		echo "not ok $i - [$lane] qemu -accel kvm,kernel_irqchip=off boots Linux and runs a command: $why"
		printf '%s\n' "$out" | tail -n 25 | sed 's/^/# /'
	fi
done
