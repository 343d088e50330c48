# tests/lib/qemu-monitor.sh: sourced by scripts that run a qemu-system
# which may hang (tests/testhost, tests/driver/qemu.t). Before such a QEMU
# is killed, its human monitor is asked where each CPU is, and each RIP is
# named from the kernel's symbols (/proc/kallsyms of a test host: Debian's
# System.map is empty; the kernels booted run with nokaslr), so that a CI
# log says where a hung machine was.
#   mon_open DIR          FIFOs DIR/mon.in and DIR/mon.out, the replies
#                         read into DIR/mon.log; sets mon_args, the QEMU
#                         options for it. Opens fd 7 on the monitor's input.
#   mon_ask               ask the monitor for the CPUs' state now
#   mon_watch SECONDS     mon_ask in SECONDS (background; sets mon_wpid)
#   mon_unwatch           cancel it
#   mon_close             the monitor's input closed, its reader waited for
#   mon_where MAP [BIAS]  one line per CPU of DIR/mon.log: RIP, its symbol
#                         in MAP (at RIP + BIAS), whether the CPU is halted; the
#                         first CPU's local APIC: interrupts in service and
#                         requested

mon_open() {
	mon_dir=$1
	mkfifo "$mon_dir/mon.in" "$mon_dir/mon.out"
	cat "$mon_dir/mon.out" > "$mon_dir/mon.log" 2>/dev/null &
	mon_rpid=$!
	# Read-write so that neither QEMU's open nor ours blocks.
	exec 7<> "$mon_dir/mon.in"
	mon_args=(-chardev "pipe,id=hmon,path=$mon_dir/mon" -mon chardev=hmon)
}

mon_ask() {
	printf 'info registers -a\ninfo lapic\n' >&7
}

mon_watch() {
	(
		trap 'kill $s 2>/dev/null; exit 0' TERM
		sleep "$1" &
		s=$!
		wait $s
		mon_ask
	) > /dev/null 2>&1 &
	mon_wpid=$!
}

mon_unwatch() {
	if [ -n "${mon_wpid:-}" ]; then
		kill "$mon_wpid" 2>/dev/null || true
		wait "$mon_wpid" 2>/dev/null || true
	fi
	mon_wpid=""
}

# After QEMU has ended: a reader still blocked in open() (QEMU never
# started) gets EOF too.
mon_close() {
	exec 7>&-
	exec 3<> "$mon_dir/mon.out"
	exec 3>&-
	wait "$mon_rpid" 2>/dev/null || true
}

# symbol_of MAP HEX: "name+0xoff" of the symbol at or below address HEX in
# MAP, a System.map or /proc/kallsyms (16-digit lower-case hex compares as
# text; kallsyms lists modules after the kernel, so no early end).
symbol_of() {
	local a b s
	a=$(printf '%016x' "0x$2" 2>/dev/null) || { echo "?"; return; }
	[ -r "$1" ] || { echo "?"; return; }
	read -r b s < <(awk -v a="$a" 'length($1) == 16 && $1 <= a && $1 >= b {
		b = $1; s = $3 } END { print b, s }' "$1")
	if [ -n "$s" ]; then
		printf '%s+0x%x\n' "$s" $((16#$a - 16#$b))
	else
		echo "?"
	fi
}

mon_where() {
	local cpu="" line rip hlt sym
	tr -d '\r' < "$mon_dir/mon.log" | while IFS= read -r line; do
		case $line in
		CPU#*) cpu=${line#CPU#} ;;
		RIP=*|EIP=*)
			rip=${line#?IP=}
			rip=${rip%% *}
			hlt=$(printf '%s\n' "$line" | sed -n 's/.*\(HLT=[01]\).*/\1/p')
			sym=-	# kernel addresses only
			case $rip in ffffffff*)
				sym=$(symbol_of "$1" "$(printf '%x' $((16#$rip + ${2:-0})))") ;;
			esac
			echo "cpu${cpu} rip=$rip $sym $hlt"
			;;
		IRR*|ISR*) echo "cpu0 lapic $(printf '%s\n' "$line" | tr -s ' \t' ' ')" ;;
		esac
	done
	return 0
}
