#!/bin/bash
# tests/driver/cpuhost.t: the guest CPU a VMM sees on each lane's /dev/kvm,
# ours against stock kvm_amd in the same run. In one test host per lane:
# cpu_report (KVM_GET_SUPPORTED_CPUID, the MSR index list, the feature
# MSRs and their values, listed MSRs a new vCPU refuses), then Debian's
# qemu-system-x86_64 -accel kvm -cpu host boots the Debian kernel to
# userspace, where the guest prints its /proc/cpuinfo flags and runs
# avx2_sum, a static x86-64-v3 program, whose checksum must be the build
# host's. Between the lanes: the supported CPUID, the feature MSRs and
# QEMU's warnings must be the same, the guest's flags too (ours may show
# more only the XSAVE flags a stock guest dropped: under TCG kvm_amd loses
# the guest's XCR0, see TCG_XSAVE below), and ours may list no MSR stock
# does not; any difference fails and is printed.
#   DRIVER_LANES='stock ours' (default), CPUHOST_T_TIMEOUT (s, default 600)
#   CPUHOST_T_LOG=PREFIX: each lane's whole output into PREFIX.LANE
#   CPUHOST_T_REPLAY=PREFIX: judge the outputs saved in PREFIX.LANE instead
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
echo "KL-XSTATE-ON $(dmesg | grep -c 'x86/fpu: Enabled xstate features')"
echo "KL-XSTATE-WARN $(dmesg | grep -c 'fpu/xstate.c')"
dmesg | grep -E 'unchecked MSR|WARNING:|kernel_size|xstate|x86/fpu|SIGILL|invalid opcode|RIP:' | head -n 8 | sed 's/^/KL-DMESG /'
/bin/avx2_sum
EOS
chmod 755 "$stage/bin/"*
(cat "$base"; cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) > "$initrd"
want_sum=$("$AUX/avx2_sum")

# Linux 6.1's cpuid-deps.c: the flags a guest kernel drops with XSAVE.
XSAVE_DEPS=" xsave xsaveopt xsavec xsaves xgetbv1 avx pku mpx fma vaes vpclmulqdq avx2
	avx512f avx512ifma avx512pf avx512er avx512cd avx512dq avx512bw avx512vl
	avx512vbmi avx512_vbmi2 avx512_vnni avx512_bitalg avx512_4vnniw avx512_4fmaps
	avx512_vpopcntdq avx512_vp2intersect avx512_bf16 avx512_fp16 enqcmd xfd amx_tile "
XSAVE_DEPS=" $(echo $XSAVE_DEPS) "	# one space between words, for the matches below
# TCG's nested SVM runs the guest's XSETBV without the intercept KVM asked
# for, and kvm_amd puts its own XCR0 (x87 only) back at every entry: the
# guest kernel then finds CPUID 0xD's size wrong, WARNs and turns XSAVE off.
# Seen in the stock lane's guest log, it explains AVX missing there (ours
# takes the XCR0 the guest wrote, xsave.c).
TCG_XSAVE="TCG's nested SVM does not intercept XSETBV: kvm_amd reloads XCR0 = x87 at each entry, the guest turns XSAVE off"

n_lane=6
echo "1..$(( $(echo $lanes | wc -w) * n_lane + 5 ))"
i=0
declare -A flags cpuid feature msrlist qwarn xsave_off
for lane in $lanes; do
	if [ "$lane" = ours ] && [ ! -f kvm-driver/kvmdrv.ko ]; then
		for _ in $(seq $n_lane); do
			i=$((i + 1))
			echo "ok $i - [$lane] # SKIP kvm-driver/kvmdrv.ko not built"
		done
		continue
	fi
	if [ -n "${CPUHOST_T_REPLAY:-}" ]; then
		out=$(cat "$CPUHOST_T_REPLAY.$lane")
	else
		out=$(tests/testhost --lane "$lane" --timeout $((BOOT_TIMEOUT + 180)) -- \
			bash "$TOP/tests/driver/cpuhost.t" --inner "$initrd" 2>&1)
	fi
	rc=$?
	[ -n "${CPUHOST_T_LOG:-}" ] && printf '%s\n' "$out" > "$CPUHOST_T_LOG.$lane"
	val() { printf '%s\n' "$out" | sed -n "s/^$1 *//p"; }
	report=$(val CPUHOST-R)
	cpuid[$lane]=$(printf '%s\n' "$report" | grep '^cpuid ')
	feature[$lane]=$(printf '%s\n' "$report" | grep '^feature_msr ')
	msrlist[$lane]=$(printf '%s\n' "$report" | sed -n 's/^msr_index //p')
	flags[$lane]=$(val KL-FLAGS | tail -n1)
	# QEMU's own messages, not the guest's console.
	qwarn[$lane]=$(val CPUHOST-QEMU-STDERR)
	xsave_off[$lane]=0
	[ "$(val KL-XSTATE-ON)" = 0 ] && [ "$(val KL-XSTATE-WARN)" != 0 ] && xsave_off[$lane]=1
	ok() {	# ok STATUS NAME WHY [TODO]: TODO marks a known failure of the lane
		i=$((i + 1))
		if [ "$1" = 0 ]; then
			echo "ok $i - [$lane] $2"
		elif [ -n "${4:-}" ]; then
			echo "not ok $i - [$lane] $2: $3 # TODO $4"
		else
			echo "not ok $i - [$lane] $2: $3"
		fi
	}
	# Known on stock only: ours must never need it.
	todo=""
	[ "$lane" = stock ] && [ "${xsave_off[$lane]}" = 1 ] && todo=$TCG_XSAVE

	refused=$(printf '%s\n' "$report" | grep '^vcpu_msr ')
	printf '%s\n' "$report" | grep -qx "cpu_report done" && [ -z "$refused" ]
	ok $? "cpu_report: a vCPU reads and writes back every MSR of KVM_GET_MSR_INDEX_LIST" \
		"$(printf '%s\n' "$report" | grep -E 'error|Bail|refused' | head -n 4 | tr '\n' ' ')"
	booted=0
	printf '%s\n' "$out" | grep -q '^KL-USERSPACE' && [ -n "${flags[$lane]}" ] || booted=1
	ok $booted "qemu -accel kvm -cpu host boots Linux to userspace, /proc/cpuinfo has flags" \
		"test host status $rc, qemu $(val CPUHOST-STATUS)"
	[ $booted = 0 ] || printf '%s\n' "$out" | grep -v '^CPUHOST-R ' | tail -n 20 | sed 's/^/# /'
	got=$(printf '%s\n' "$out" | grep '^AVX2-SUM' | tail -n1)
	[ -n "$got" ] && [ "$got" = "$want_sum" ]
	ok $? "a static x86-64-v3 program (AVX2, FMA) in the guest prints the host's checksum" \
		"guest '${got:-nothing}', host '$want_sum'" "$todo"
	[ "$(val KL-MSR-WARNINGS)" = 0 ]
	ok $? "the guest kernel logs no unchecked MSR access" \
		"$(val KL-DMESG | grep 'MSR' | head -n 3 | tr '\n' '|')"
	printf '%s\n' "$out" | grep -q '^KL-EXIT: 0' && [ "$(val CPUHOST-STATUS)" = 0 ]
	ok $? "the guest command exits 0, QEMU ends with status 0" \
		"$(printf '%s\n' "$out" | grep -E '^KL-EXIT|^CPUHOST-STATUS' | tr '\n' ' ')" "$todo"
	[ "$(val CPUHOST-KERNEL-BAD)" = 0 ] && [ $rc = 0 ]
	ok $? "host kernel log clean (no WARNING, BUG or Oops)" "test host status $rc"
	val KL-DMESG | grep -E 'WARNING|kernel_size' | sed "s/^/# [$lane] guest: /"
done

# ---- both lanes: the same answers ----
both() {	# both NAME: prints the SKIP line and fails when a lane is missing
	i=$((i + 1))
	if [ -z "${flags[stock]+x}" ] || [ -z "${flags[ours]+x}" ]; then
		echo "ok $i - $1 # SKIP needs both lanes"
		return 1
	fi
}
words() { printf '%s\n' "$1" | tr ' \t' '\n\n' | sed '/^$/d' | sort -u; }

name="the guest's /proc/cpuinfo flags under -cpu host: the same on both lanes"
if both "$name"; then
	stock_only=$(comm -23 <(words "${flags[stock]}") <(words "${flags[ours]}"))
	ours_only=$(comm -13 <(words "${flags[stock]}") <(words "${flags[ours]}"))
	# Ours may have more only where stock's guest turned XSAVE off (TCG).
	extra=""
	for f in $ours_only; do
		[ "${xsave_off[stock]}" = 1 ] && [[ $XSAVE_DEPS == *" $f "* ]] || extra="$extra $f"
	done
	if [ -z "$stock_only" ] && [ -z "$extra" ]; then
		echo "ok $i - $name${ours_only:+ (but for the XSAVE flags the stock guest dropped)}"
	else
		echo "not ok $i - $name"
	fi
	[ -n "$stock_only" ] && echo "# stock only:" $stock_only
	[ -n "$ours_only" ] && echo "# ours only:" $ours_only
	[ -n "$ours_only" ] && [ "${xsave_off[stock]}" = 1 ] && echo "# stock: $TCG_XSAVE"
fi

# diff_lanes NAME ARRAY: one line per fact; any difference fails and is printed.
diff_lanes() {
	local -n a=$2
	both "$1" || return
	if [ "${a[stock]}" = "${a[ours]}" ]; then
		echo "ok $i - $1"
	else
		echo "not ok $i - $1"
		diff <(printf '%s\n' "${a[stock]}") <(printf '%s\n' "${a[ours]}") |
			grep '^[<>]' | sed 's/^</# stock:/; s/^>/# ours: /'
	fi
}
diff_lanes "KVM_GET_SUPPORTED_CPUID: the same on both lanes" cpuid
diff_lanes "KVM_GET_MSR_FEATURE_INDEX_LIST and the feature MSRs' values: the same on both lanes" feature
diff_lanes "QEMU's warnings under -cpu host: the same on both lanes" qwarn

# The MSR index list: ours lists nothing stock does not; what stock lists
# beyond it (MSRs ours does not have yet) is printed.
name="KVM_GET_MSR_INDEX_LIST: every MSR ours lists, stock lists too"
if both "$name"; then
	ours_only=$(comm -13 <(words "${msrlist[stock]}") <(words "${msrlist[ours]}"))
	if [ -z "$ours_only" ]; then echo "ok $i - $name"; else echo "not ok $i - $name: ours only:" $ours_only; fi
	stock_only=$(comm -23 <(words "${msrlist[stock]}") <(words "${msrlist[ours]}"))
	[ -n "$stock_only" ] && echo "# stock lists, ours not yet:" $stock_only
fi
