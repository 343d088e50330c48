#!/bin/bash
# tests/driver/cpuhost.t: the guest CPU a VMM sees on each lane's /dev/kvm,
# ours against stock kvm_amd in the same run. In one test host per lane:
# cpu_report (KVM_GET_SUPPORTED_CPUID, the MSR index list, the feature
# MSRs and their values, listed MSRs a new vCPU refuses), then Debian's
# qemu-system-x86_64 -accel kvm -cpu host boots the Debian kernel to
# userspace, where the guest prints its /proc/cpuinfo flags and runs
# avx2_sum, a static x86-64-v3 program, whose checksum must be the build
# host's. The lanes must agree on the flags and on the CPU report (a
# difference fails and is printed); QEMU may not warn on ours where it
# does not on stock.
#   DRIVER_LANES='stock ours' (default), CPUHOST_T_TIMEOUT (s, default 600)
#   CPUHOST_T_LOG=PREFIX: each lane's whole output into PREFIX.LANE
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export BUILD=${BUILD:-$TOP/build}
KVER=${KVER:-$("$TOP/mk/kdir.sh" --version 2>/dev/null)}
KERNEL=/boot/vmlinuz-$KVER
BOOT_TIMEOUT=${CPUHOST_T_TIMEOUT:-600}
AUX=$BUILD/tests/cpuhost

# ---- inside the test host ----
if [ "${1:-}" = --inner ]; then
	initrd=$2
	"$AUX/cpu_report" 2>&1 | sed 's/^/CPUHOST-R /'
	# As qemu.t: qboot when installed, the TSC rate given.
	fw=/usr/share/qemu/qboot.rom
	bios=()
	[ -r "$fw" ] && bios=(-bios "$fw")
	khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
	tsc=""
	[ -n "$khz" ] && [ "$khz" -gt 0 ] && tsc="tsc_early_khz=$khz tsc=reliable"
	timeout "$BOOT_TIMEOUT" qemu-system-x86_64 -accel kvm -cpu host \
		-m 96 -nodefaults -display none -no-reboot -serial stdio "${bios[@]}" \
		-kernel "$KERNEL" -initrd "$initrd" \
		-append "console=ttyS0 quiet $tsc -- kl-cputest" < /dev/null 2> /tmp/qemu.err |
		sed 's/\r$//'
	echo "CPUHOST-STATUS ${PIPESTATUS[0]}"
	sed 's/^/CPUHOST-QEMU-STDERR /' /tmp/qemu.err
	echo "CPUHOST-KERNEL-BAD $(dmesg | grep -cE 'WARNING:|BUG:|Oops|general protection')"
	exit 0
fi

# ---- on the build host ----
cd "$TOP"
lanes=${DRIVER_LANES:-stock ours}
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
[ -x tests/testhost ] || skip_all "no tests/testhost"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -r "$KERNEL" ] || skip_all "$KERNEL missing"
make -s -C tests/driver "$AUX/cpu_report" "$AUX/avx2_sum" >&2 ||
	skip_all "cannot build cpu_report and avx2_sum"
base=$BUILD/tests/launcher/initramfs.cpio.gz
if [ ! -s "$base" ] || [ tests/launcher/mkinitramfs.sh -nt "$base" ]; then
	mkdir -p "$(dirname "$base")"
	tests/launcher/mkinitramfs.sh "$base" "$KVER" >&2 ||
		skip_all "cannot build the test initramfs (tests/launcher/mkinitramfs.sh)"
fi
# The test initramfs and, appended (the kernel unpacks concatenated
# archives), avx2_sum and the guest's command.
initrd=$AUX/initrd.cpio.gz
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin"
cp "$AUX/avx2_sum" "$stage/bin/"
cat > "$stage/bin/kl-cputest" <<'EOS'
#!/bin/sh
echo "KL-FLAGS$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2)"
echo "KL-MSR-WARNINGS $(dmesg | grep -c 'unchecked MSR access')"
dmesg | grep -E 'unchecked MSR|WARNING:|kernel_size|xstate|x86/fpu|SIGILL|invalid opcode|RIP:' | head -n 8 | sed 's/^/KL-DMESG /'
/bin/avx2_sum
EOS
chmod 755 "$stage/bin/"*
(cat "$base"; cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$initrd"
want_sum=$("$AUX/avx2_sum")

n_lane=6
echo "1..$(( $(echo $lanes | wc -w) * n_lane + 3 ))"
i=0
declare -A flags report qwarn
for lane in $lanes; do
	if [ "$lane" = ours ] && [ ! -f kvm-driver/kvmdrv.ko ]; then
		for _ in $(seq $n_lane); do
			i=$((i + 1))
			echo "ok $i - [$lane] # SKIP kvm-driver/kvmdrv.ko not built"
		done
		continue
	fi
	out=$(tests/testhost --lane "$lane" --timeout $((BOOT_TIMEOUT + 180)) -- \
		bash "$TOP/tests/driver/cpuhost.t" --inner "$initrd" 2>&1)
	rc=$?
	[ -n "${CPUHOST_T_LOG:-}" ] && printf '%s\n' "$out" > "$CPUHOST_T_LOG.$lane"
	report[$lane]=$(printf '%s\n' "$out" | sed -n 's/^CPUHOST-R //p')
	flags[$lane]=$(printf '%s\n' "$out" | sed -n 's/^KL-FLAGS *//p' | tail -n1)
	# QEMU's own messages, not the guest's console.
	qwarn[$lane]=$(printf '%s\n' "$out" | sed -n 's/^CPUHOST-QEMU-STDERR //p')
	ok() {	# ok CONDITION-STATUS NAME [WHY]
		i=$((i + 1))
		if [ "$1" = 0 ]; then echo "ok $i - [$lane] $2"; else echo "not ok $i - [$lane] $2: $3"; fi
	}
	printf '%s\n' "${report[$lane]}" | grep -qx "cpu_report done"
	ok $? "cpu_report: supported CPUID, MSR lists, feature MSRs, vCPU MSRs" \
		"$(printf '%s\n' "${report[$lane]}" | grep -E 'error|Bail' | head -n 3 | tr '\n' ' ')"
	booted=0
	printf '%s\n' "$out" | grep -q '^KL-USERSPACE' && [ -n "${flags[$lane]}" ] || booted=1
	ok $booted "qemu -accel kvm -cpu host boots Linux to userspace, /proc/cpuinfo has flags" \
		"test host status $rc, qemu $(printf '%s\n' "$out" | sed -n 's/^CPUHOST-STATUS //p')"
	[ $booted = 0 ] || printf '%s\n' "$out" | grep -v '^CPUHOST-R ' | tail -n 20 | sed 's/^/# /'
	got=$(printf '%s\n' "$out" | sed -n 's/^AVX2-SUM/AVX2-SUM/p' | tail -n1)
	[ -n "$got" ] && [ "$got" = "$want_sum" ]
	ok $? "a static x86-64-v3 program (AVX2, FMA) in the guest prints the host's checksum" \
		"guest '${got:-nothing}', host '$want_sum'"
	[ "$(printf '%s\n' "$out" | sed -n 's/^KL-MSR-WARNINGS //p')" = 0 ]
	ok $? "the guest kernel logs no unchecked MSR access" \
		"$(printf '%s\n' "$out" | sed -n 's/^KL-DMESG //p' | head -n 3 | tr '\n' '|')"
	printf '%s\n' "$out" | grep -q '^KL-EXIT: 0' &&
		[ "$(printf '%s\n' "$out" | sed -n 's/^CPUHOST-STATUS //p')" = 0 ]
	ok $? "the guest command exits 0, QEMU ends with status 0" \
		"$(printf '%s\n' "$out" | grep -E '^KL-EXIT|^CPUHOST-STATUS' | tr '\n' ' ')"
	[ "$(printf '%s\n' "$out" | sed -n 's/^CPUHOST-KERNEL-BAD //p')" = 0 ] && [ $rc = 0 ]
	ok $? "host kernel log clean (no WARNING, BUG or Oops)" "test host status $rc"
done

# Both lanes: the same answers.
cmp_lanes() {	# cmp_lanes NAME ARRAY
	local -n a=$2
	i=$((i + 1))
	if [ -z "${a[stock]+x}" ] || [ -z "${a[ours]+x}" ]; then
		echo "ok $i - $1 # SKIP needs both lanes"
	elif [ "${a[stock]}" = "${a[ours]}" ]; then
		echo "ok $i - $1"
	else
		echo "not ok $i - $1"
		diff <(printf '%s\n' "${a[stock]}" | tr ' ' '\n' | sed '/^$/d' | sort) \
		     <(printf '%s\n' "${a[ours]}" | tr ' ' '\n' | sed '/^$/d' | sort) |
			grep '^[<>]' | sed 's/^</# stock only:/; s/^>/# ours only: /'
	fi
}
cmp_lanes "the guest's /proc/cpuinfo flags under -cpu host: the same on both lanes" flags
i=$((i + 1))
if [ -z "${report[stock]+x}" ] || [ -z "${report[ours]+x}" ]; then
	echo "ok $i - the CPU /dev/kvm reports: the same on both lanes # SKIP needs both lanes"
elif [ "${report[stock]}" = "${report[ours]}" ]; then
	echo "ok $i - the CPU /dev/kvm reports: the same on both lanes"
else
	echo "not ok $i - the CPU /dev/kvm reports: the same on both lanes"
	diff <(printf '%s\n' "${report[stock]}") <(printf '%s\n' "${report[ours]}") |
		grep '^[<>]' | sed 's/^</# stock:/; s/^>/# ours: /'
fi
cmp_lanes "QEMU's warnings under -cpu host: the same on both lanes" qwarn
