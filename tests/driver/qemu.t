#!/bin/bash
# tests/driver/qemu.t: a real KVM client on each lane's /dev/kvm: Debian's
# qemu-system-x86_64 -accel kvm boots the Debian kernel and the test
# initramfs to userspace and runs one command in the guest, in four
# machines: interrupt controllers in userspace (kernel_irqchip=off, one
# vCPU), and with -smp 2 QEMU's default (the whole irqchip in the kernel:
# KVM_CREATE_IRQCHIP, in-kernel PIT, irqfds), q35, and kernel_irqchip=split
# (LAPICs in the kernel, IOAPIC and PIC in QEMU). The guest must see both
# CPUs (nproc). All boots of a lane share one test host (firmware: qboot
# when installed, else SeaBIOS; both were seen booting on both lanes). A
# boot that fails is tried again in a fresh test host, showing its whole
# console, up to QEMU_T_TRIES times in all; every failure is printed (on
# stderr too), with, for a boot that ran out of time, where its vCPUs were.
#   DRIVER_LANES='stock ours' (default), QEMU_T_TIMEOUT (s, per boot,
#   default 240; boots take 10-30 s), QEMU_T_TRIES (default 3)
#   QEMU_T_MACHINES (default below: machine,smp pairs)
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export BUILD=${BUILD:-$TOP/build}
KVER=${KVER:-$("$TOP/mk/kdir.sh" --version 2>/dev/null)}
KERNEL=/boot/vmlinuz-$KVER
RAM_MB=96
BOOT_TIMEOUT=${QEMU_T_TIMEOUT:-240}
TRIES=${QEMU_T_TRIES:-3}
MACHINES=${QEMU_T_MACHINES:-"pc,kernel_irqchip=off/1 pc/2 q35/2 pc,kernel_irqchip=split/2"}

# ---- inside the test host: each boot, timed, its console on stdout ----
if [ "${1:-}" = --inner ]; then
	initrd=$2
	shift 2
	. "$TOP/tests/lib/qemu-monitor.sh"
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
	# Quiet boots; a second try shows the guest's whole console.
	quiet=quiet
	[ "${QEMU_T_VERBOSE:-0}" = 1 ] && quiet=""
	# The guest runs the test host's kernel without KASLR: a hung boot's
	# RIPs are named from this kernel's symbols, its own base taken out.
	ktext=$(awk '$3 == "_text" { print $1; exit }' /proc/kallsyms)
	bias=$((16#${ktext:-ffffffff81000000} - 16#ffffffff81000000))
	# The guest's one command: arithmetic, the kernel's release and the
	# CPUs it sees, all computed in the guest.
	cmd='echo QEMU-T-CMD $((6 * 7)) $(uname -r) cpus=$(nproc)'
	# A line every 30 s while this test host runs: one that stops printing
	# (frozen by TCG) is ended by testhost --stall, not its whole timeout.
	(while sleep 30; do echo "QEMU-T alive"; done) &
	alive=$!
	for m in "$@"; do
		echo "QEMU-T begin $m"
		t0=$(uptime_cs)
		mdir=$(mktemp -d)
		mon_open "$mdir"
		mon_watch $((BOOT_TIMEOUT - 5))
		timeout "$BOOT_TIMEOUT" qemu-system-x86_64 -accel kvm \
			-machine "${m%/*}" -smp "${m#*/}" -m $RAM_MB -nodefaults \
			-display none -no-reboot -serial stdio "${bios[@]}" \
			"${mon_args[@]}" -kernel "$KERNEL" -initrd "$initrd" \
			-append "console=ttyS0 $quiet nokaslr $tsc -- $cmd" < /dev/null 2>&1 |
		while IFS= read -r line; do
			line=${line%$'\r'}
			case $line in
			*KL-USERSPACE*) echo "QEMU-T userspace_cs $(($(uptime_cs) - t0))" ;;
			esac
			printf '%s\n' "$line"
		done
		rc=${PIPESTATUS[0]}
		mon_unwatch
		mon_close
		# Where a boot that ran out of time was.
		[ "$rc" = 124 ] && mon_where /proc/kallsyms $bias | sed 's/^/QEMU-T stuck /'
		rm -rf "$mdir"
		echo "QEMU-T end_cs $(($(uptime_cs) - t0))"
		echo "QEMU-T status $rc"
	done
	kill $alive
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
	t=$(printf '%s\n' "$sec" | grep -v "host doesn't support\|^QEMU-T alive" |
		tail -n 25 | sed 's/^/# /')
	printf '%s\n' "$t"
	printf '%s\n' "$t" >&2
}
run_lane() {	# run_lane LANE TRY MACHINES...: sets out and rc
	local lane=$1 verbose=0
	[ "$2" -gt 1 ] && verbose=1
	shift 2
	# Time for the test host's boot, one boot that runs out of time and
	# the others at 90 s each; a test host silent for 150 s is frozen.
	out=$(tests/testhost --lane "$lane" --timeout $((150 + BOOT_TIMEOUT + 90 * $#)) --stall 150 \
		--env QEMU_T_TIMEOUT="$BOOT_TIMEOUT" --env QEMU_T_VERBOSE=$verbose -- \
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
	# A boot that failed is tried again in a fresh test host: on a machine
	# running the rest of make check beside it, the guest's clock runs on
	# while the test host starves, so a timeout inside the guest (an AP
	# that does not answer in 10 s) can fire on either lane, and QEMU's TCG
	# has been seen to freeze a whole test host running stock kvm_amd.
	# Every failure is printed; the last try's verdict counts.
	outs=() rcs=() tried=()
	pending=$MACHINES
	t=0
	while [ -n "$pending" ] && [ $t -lt "$TRIES" ]; do
		t=$((t + 1))
		run_lane "$lane" $t $pending
		outs[t]=$out rcs[t]=$rc tried[t]=" $pending "
		again=""
		for m in $pending; do
			verdict "$out" "$rc" "$m"
			[ -n "$why" ] && again="$again $m"
		done
		pending=$again
	done
	for m in $MACHINES; do
		i=$((i + 1))
		name="[$lane] qemu -accel kvm -machine ${m%/*} -smp ${m#*/} boots Linux, nproc ${m#*/}"
		for k in $(seq 1 $t); do
			case ${tried[k]} in *" $m "*) ;; *) continue ;; esac
			verdict "${outs[k]}" "${rcs[k]}" "$m"
			[ -z "$why" ] && break
			case ${tried[k + 1]:-} in *" $m "*) ;; *) break ;; esac
			msg="# [$lane] ${m%/*} -smp ${m#*/}: boot $k of $TRIES failed: $why; booting it again"
			echo "$msg"
			echo "$msg" >&2
			show
		done
		if [ -z "$why" ]; then
			echo "ok $i - $name"
			echo "# [$lane] ${m%/*} -smp ${m#*/}: qemu start to first userspace line: $((us / 100)).$(printf '%02d' $((us % 100))) s"
		else
			echo "not ok $i - $name: $why (boot $k of $TRIES)"
			show
		fi
	done
	# The host kernel's log, from every test host that got to read it; a
	# test host that timed out is shown, and fails the point only when it
	# was the last try.
	i=$((i + 1))
	bad=$(printf '%s\n' "${outs[@]}" | sed -n 's/^QEMU-T kernel_bad //p' | sort -n | tail -n1)
	for k in $(seq 1 $t); do
		[ "${rcs[k]}" = 0 ] && continue
		msg="# [$lane] test host $k of $t ended with status ${rcs[k]}"
		echo "$msg"
		echo "$msg" >&2
		printf '%s\n' "${outs[k]}" | grep '^testhost: ' | sed 's/^/# /' | tee /dev/stderr
	done
	if [ "$bad" = 0 ] && [ "${rcs[t]}" = 0 ]; then
		echo "ok $i - [$lane] host kernel log clean (no WARNING, BUG or Oops)"
	else
		echo "not ok $i - [$lane] host kernel log clean: ${bad:-no} bad lines, last test host status ${rcs[t]}"
	fi
done
