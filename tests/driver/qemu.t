#!/bin/bash
# tests/driver/qemu.t: a real KVM client on each lane's /dev/kvm: Debian's
# qemu-system-x86_64 -accel kvm boots the Debian kernel and the test
# initramfs to userspace and runs one command in the guest, in four
# machines: interrupt controllers in userspace (kernel_irqchip=off, one
# vCPU), and with -smp 2 QEMU's default (the whole irqchip in the kernel:
# KVM_CREATE_IRQCHIP, in-kernel PIT, irqfds), q35, and kernel_irqchip=split
# (LAPICs in the kernel, IOAPIC and PIC in QEMU). The guest must see both
# CPUs (nproc). All boots of a lane share one test host (firmware: qboot
# when installed, else SeaBIOS; both were seen booting on both lanes); a
# boot that fails gets one more try in a fresh test host, its first
# failure printed (on stderr too).
#   DRIVER_LANES='stock ours' (default), QEMU_T_TIMEOUT (s, per boot, default 420)
#   QEMU_T_MACHINES (default below: machine,smp pairs)
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export BUILD=${BUILD:-$TOP/build}
KVER=${KVER:-$("$TOP/mk/kdir.sh" --version 2>/dev/null)}
KERNEL=/boot/vmlinuz-$KVER
RAM_MB=96
BOOT_TIMEOUT=${QEMU_T_TIMEOUT:-420}
MACHINES=${QEMU_T_MACHINES:-"pc,kernel_irqchip=off/1 pc/2 q35/2 pc,kernel_irqchip=split/2"}

# ---- inside the test host: each boot, timed, its console on stdout ----
if [ "${1:-}" = --inner ]; then
	initrd=$2
	shift 2
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
	# The guest's one command: arithmetic, the kernel's release and the
	# CPUs it sees, all computed in the guest.
	cmd='echo QEMU-T-CMD $((6 * 7)) $(uname -r) cpus=$(nproc)'
	for m in "$@"; do
		echo "QEMU-T begin $m"
		t0=$(uptime_cs)
		timeout "$BOOT_TIMEOUT" qemu-system-x86_64 -accel kvm \
			-machine "${m%/*}" -smp "${m#*/}" -m $RAM_MB -nodefaults \
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
	done
	# The host kernel's word on all of it (lane ours: our module's).
	echo "QEMU-T kernel_bad $(dmesg | grep -cE 'WARNING:|BUG:|Oops|general protection')"
	exit 0
fi

# ---- on the build host: one test-host run per lane ----
cd "$TOP"
lanes=${DRIVER_LANES:-stock ours}
n_machines=$(echo $MACHINES | wc -w)
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

# get KEY: the last "QEMU-T KEY value" of the boot in sec.
get() { printf '%s\n' "$sec" | sed -n "s/^QEMU-T $1 //p" | tail -n1; }
# verdict OUT RC M: machine M's boot in OUT, a test-host run that ended
# with RC; sets why (empty when it passed), us and sec.
verdict() {
	local out=$1 rc=$2 m=$3 st
	# This boot's lines: from its begin marker to the next one.
	sec=$(printf '%s\n' "$out" | awk -v m="QEMU-T begin $m" '
		$0 == m { on = 1; next } /^QEMU-T begin / { on = 0 } on')
	us=$(get userspace_cs)
	st=$(get status)
	why=""
	if [ -z "$sec" ]; then
		why="no output for this machine (test host status $rc)"
	elif [ -z "$us" ]; then
		why="no userspace line"
	elif ! printf '%s\n' "$sec" | grep -qx "QEMU-T-CMD 42 $KVER cpus=${m#*/}"; then
		why="the guest command's output is missing or wrong"
	elif ! printf '%s\n' "$sec" | grep -q "^KL-EXIT: 0"; then
		why="the guest command did not exit 0"
	elif [ "$st" != 0 ]; then
		why="qemu-system-x86_64 ended with status ${st:-?}"
	fi
}
# The failing boot's last console lines, on stderr too: prove shows them.
show() {
	local t
	t=$(printf '%s\n' "$sec" | grep -v "host doesn't support" | tail -n 25 | sed 's/^/# /')
	printf '%s\n' "$t"
	printf '%s\n' "$t" >&2
}
run_lane() {	# run_lane LANE MACHINES...: sets out and rc
	local lane=$1
	shift
	out=$(tests/testhost --lane "$lane" --timeout $(((BOOT_TIMEOUT + 60) * $# + 120)) -- \
		bash "$TOP/tests/driver/qemu.t" --inner "$initrd" "$@" 2>&1)
	rc=$?
}

echo "1..$(( $(echo $lanes | wc -w) * (n_machines + 1) ))"
i=0
for lane in $lanes; do
	if [ "$lane" = ours ] && [ ! -f kvm-driver/kvmdrv.ko ]; then
		for m in $MACHINES; do
			i=$((i + 1))
			echo "ok $i - [$lane] qemu -machine ${m%/*} -smp ${m#*/} # SKIP kvm-driver/kvmdrv.ko not built"
		done
		i=$((i + 1))
		echo "ok $i - [$lane] host kernel log clean # SKIP kvm-driver/kvmdrv.ko not built"
		continue
	fi
	run_lane "$lane" $MACHINES
	first_out=$out first_rc=$rc
	# A boot that failed gets one more try in a fresh test host: on a
	# machine running the rest of make check beside it, the guest's
	# clock runs on while the test host starves, and a timeout inside the
	# guest (an AP that does not answer in 10 s) can fire on either lane.
	# The first failure is printed either way; a second one fails.
	again=""
	for m in $MACHINES; do
		verdict "$first_out" "$first_rc" "$m"
		[ -n "$why" ] && again="$again $m"
	done
	again_rc=0
	if [ -n "$again" ]; then
		run_lane "$lane" $again
		again_rc=$rc
	fi
	for m in $MACHINES; do
		i=$((i + 1))
		name="[$lane] qemu -accel kvm -machine ${m%/*} -smp ${m#*/} boots Linux, nproc ${m#*/}"
		verdict "$first_out" "$first_rc" "$m"
		if [ -n "$why" ]; then
			msg="# [$lane] ${m%/*} -smp ${m#*/}: first boot failed: $why; booting it again"
			echo "$msg"
			echo "$msg" >&2
			show
			verdict "$out" "$again_rc" "$m"
		fi
		if [ -z "$why" ]; then
			echo "ok $i - $name"
			echo "# [$lane] ${m%/*} -smp ${m#*/}: qemu start to first userspace line: $((us / 100)).$(printf '%02d' $((us % 100))) s"
		else
			echo "not ok $i - $name: $why"
			show
		fi
	done
	i=$((i + 1))
	bad=$(printf '%s\n' "$first_out" "$out" | sed -n 's/^QEMU-T kernel_bad //p' | sort -n | tail -n1)
	if [ "$bad" = 0 ] && [ $first_rc -eq 0 ] && [ $again_rc -eq 0 ]; then
		echo "ok $i - [$lane] host kernel log clean (no WARNING, BUG or Oops)"
	else
		echo "not ok $i - [$lane] host kernel log clean: ${bad:-no} bad lines, test host status $first_rc/$again_rc"
	fi
done
