#!/bin/bash
# tests/hostile/hostile.t: the hostile-guest runner and the ioctl fuzzer in
# the test host, once with stock kvm_amd and once with our kvmdrv, as one TAP
# stream; each lane ends with the kernel log check (and rmmod in lane ours).
#   HOSTILE_LONG=1          the long run of `make check-hostile`
#   HOSTILE_SEED=N          first seed (default 1)
#   HOSTILE_LANES='stock ours' (default)
#   HOSTILE_IDLE=SEC        a test host silent this long is hung (default 300)
#   HOSTILE_TCG_HAZARDS=1   run the VMs hostile skips as QEMU TCG hazards
# A test host that hangs (no output for HOSTILE_IDLE seconds: a guest froze
# it) is ended and reported as a failure naming the VM or seed it ran; the
# lane goes on in a fresh test host from the next VM or seed, so every seed
# is run and reported. What each test host printed (every VM's end, each internal
# error with its instruction) stays in $BUILD/hostile/LANE.PART.log.
set -u
export LC_ALL=C
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export BUILD=${BUILD:-$TOP/build}
cd "$TOP"
if [ ! -x tests/testhost ]; then echo "1..0 # SKIP no tests/testhost"; exit 0; fi
make -s -C tests/hostile >&2 || { echo "1..1"; echo "not ok 1 - building tests/hostile"; exit 0; }
lanes=${HOSTILE_LANES:-stock ours}
if [[ " $lanes " == *" ours "* ]] && [ ! -f kvm-driver/kvmdrv.ko ]; then
	echo "1..0 # SKIP kvm-driver/kvmdrv.ko not built"; exit 0
fi
seed=${HOSTILE_SEED:-1}
idle=${HOSTILE_IDLE:-300}
vms_per_seed=84		# hostile's default --iters: 12 scenarios in 7 modes
if [ "${HOSTILE_LONG:-0}" = 1 ]; then
	hseeds=40
	fseeds=64
	fopts="--ops 600 --seed-timeout 60"
	limit=3600
else
	hseeds=1
	fseeds=3
	fopts=""
	limit=600
fi

mkdir -p "$BUILD/hostile"
rm -f "$BUILD"/hostile/*.log
work=$(mktemp -d "$BUILD/hostile/run.XXXXXX")
probes=$work/probes
mkdir -p "$probes"
trap 'rm -rf "$work"' EXIT

# One test host, its stdout and stderr to files; ended (testhost --stall)
# when both stay silent for $idle seconds. Sets rc and hung.
run_host() {
	local lane=$1 out=$2 err=$3
	shift 3
	tests/testhost --lane "$lane" --timeout "$limit" --stall "$idle" --rw "$probes" "$@" \
		>"$out" 2>"$err"
	rc=$?
	hung=0
	grep -q '^testhost: stalled' "$err" && hung=1
}

all=()
for lane in $lanes; do
	# Where the lane stands: hostile from seed hs (VM hv) to he, the
	# fuzzer from fs to fe, the probe; each part resumes past a hang.
	hs=$seed hv=0 he=$((seed + hseeds)) fs=$seed fe=$((seed + fseeds)) probe=1 part=0
	while :; do
		part=$((part + 1))
		tag="[$lane]"
		[ $part -gt 1 ] && tag="[$lane part $part]"
		if [ "$hs" -lt "$he" ]; then
			hargs="--seed $hs --seeds $((he - hs)) --first $hv -v -v"
		else
			hargs=skip
		fi
		if [ "$fs" -lt "$fe" ]; then
			fargs="--seed $fs --seeds $((fe - fs)) $fopts -v"
		else
			fargs=skip
		fi
		popt=()
		[ $probe = 1 ] && popt=(--env PROBE_OUT="$probes/$lane")
		out=$work/$lane.$part.out err=$work/$lane.$part.err
		run_host "$lane" "$out" "$err" \
			--env HOSTILE_ARGS="$hargs" --env IOCTLFUZZ_ARGS="$fargs" \
			--env HOSTILE_TIMEOUT="$limit" ${HOSTILE_TCG_HAZARDS:+--env HOSTILE_TCG_HAZARDS=1} "${popt[@]}" -- tests/hostile/run
		got=0
		while IFS= read -r line; do
			case $line in
			"ok "*|"not ok "*)
				got=$((got + 1))
				case $line in "ok "*) s=ok ;; *) s="not ok" ;; esac
				all+=("$s - $tag ${line#* [0-9]* - }")
				;;
			"# ioctlfuzz: seed "*" ioctls, "*) ;;
			"# "*)
				all+=("# $tag ${line#"# "}")
				;;
			esac
		done < "$out"
		cp "$err" "$BUILD/hostile/$lane.$part.log"
		if [ $hung = 0 ]; then
			if [ $rc -ne 0 ] || [ $got -eq 0 ]; then
				all+=("not ok - $tag test host run ended with status $rc after $got results")
			fi
			break
		fi
		# Hung: name what ran last, and go on past it.
		stepname=$(sed -n 's/^# step \([a-z]*\)$/\1/p' "$err" | tail -n1)
		case $stepname in
		hostile)
			last=$(grep -E '^# seed [0-9]+ vm [0-9]+ .*: start$' "$err" | tail -n1)
			done_vms=$(grep -E '^# seed [0-9]+ vm [0-9]+ .*: [^ ]+$' "$err" | grep -vc ': start$')
			all+=("not ok - $tag hang: $(echo "$last" | sed 's/^# //; s/: start$//') stopped the test host (silent for ${idle} s) after $done_vms VMs of this part; the lane goes on in a fresh test host")
			s=$(echo "$last" | sed -n 's/^# seed \([0-9]*\) vm \([0-9]*\) .*/\1 \2/p')
			if [ -z "$s" ]; then
				hs=$he
			else
				hs=${s% *}
				hv=$((${s#* } + 1))
				if [ $hv -ge $vms_per_seed ]; then hs=$((hs + 1)); hv=0; fi
			fi
			;;
		ioctlfuzz)
			last=$(grep -E '^# seed [0-9]+: start$' "$err" | tail -n1 | sed -n 's/^# seed \([0-9]*\).*/\1/p')
			all+=("not ok - $tag hang: ioctlfuzz seed ${last:-?} stopped the test host (silent for ${idle} s); the lane goes on in a fresh test host")
			hs=$he
			fs=$(( ${last:-$fe} + 1 ))
			;;
		probe)
			all+=("not ok - $tag hang: ioctlfuzz --probe stopped the test host (silent for ${idle} s)")
			hs=$he fs=$fe probe=0
			;;
		*)
			all+=("not ok - $tag hang: the test host went silent for ${idle} s ${stepname:+in step $stepname}${stepname:-before any step}")
			break
			;;
		esac
		if [ $part -ge 20 ]; then
			all+=("not ok - $tag more than 20 hangs: the lane stops here")
			break
		fi
	done
done
# Each VM's end in both lanes, side by side: the pairs that differ, most
# frequent first, and the whole table in $BUILD/hostile/ends.txt.
ends() {
	cat "$work/$1".*.err 2>/dev/null |
		sed -n 's/^# \(seed [0-9]* vm [0-9]* (.*)\): \([^ ]*\)$/\1\t\2/p' | grep -v '	start$' | sort -u
}
if [[ " $lanes " == *" stock "* ]] && [[ " $lanes " == *" ours "* ]]; then
	join -t "$(printf '\t')" <(ends stock) <(ends ours) > "$BUILD/hostile/ends.txt"
	n=$(wc -l < "$BUILD/hostile/ends.txt")
	d=$(awk -F'\t' '$2 != $3' "$BUILD/hostile/ends.txt" | wc -l)
	all+=("# VM ends, stock against ours: $d of $n VMs differ (table in $BUILD/hostile/ends.txt)")
	while IFS= read -r line; do
		all+=("#   $line")
	done < <(awk -F'\t' '$2 != $3 { sub(/^seed [0-9]+ vm [0-9]+ \(/, "", $1); sub(/,.*/, "", $1); print "stock " $2 ", ours " $3 ": " $1 }' "$BUILD/hostile/ends.txt" |
		sort | uniq -c | sort -rn | head -n 40)
fi
# Same ioctl, same fixed argument, same fresh fds: the same result, but for
# the ioctls of features ours lacks (tests/hostile/probe-exceptions).
if [ -s "$probes/stock" ] && [ -s "$probes/ours" ]; then
	kv() { sed -n 's/^probe \(.*\) -> \(.*\)$/\1\t\2/p' "$1" | sort -u; }
	skip=$(sed -n 's/^\(KVM_[A-Z0-9_]*\).*/\1/p' tests/hostile/probe-exceptions | paste -sd'|')
	diffs=$(join -t "$(printf '\t')" <(kv "$probes/stock") <(kv "$probes/ours") |
		awk -F'\t' '$2 != $3 { print $1 ": stock " $2 ", ours " $3 }')
	n=$(kv "$probes/stock" | wc -l)
	known=$(printf '%s\n' "$diffs" | grep -cE " ($skip) " || true)
	bad=$(printf '%s\n' "$diffs" | grep -vE " ($skip) " | grep -v '^$' || true)
	if [ -z "$bad" ]; then
		all+=("ok - ioctl probe: $n results of each known ioctl on fresh fds agree between lanes ($known differ in ioctls ours lacks)")
	else
		all+=("not ok - ioctl probe: $(printf '%s\n' "$bad" | wc -l) results differ: $(printf '%s\n' "$bad" | head -n 8 | tr '\n' ';')")
	fi
fi

total=0
for r in "${all[@]}"; do case $r in "#"*) ;; *) total=$((total + 1)) ;; esac; done
echo "1..$total"
n=0
for r in "${all[@]}"; do
	case $r in
	"#"*) echo "$r" ;;
	*) n=$((n + 1)); echo "${r%% - *} $n - ${r#* - }" ;;
	esac
done
