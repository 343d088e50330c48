#!/bin/bash
# tests/hostile/hostile.t: the hostile-guest runner and the ioctl fuzzer in
# the test host, once with stock kvm_amd and once with our kvmdrv, as one TAP
# stream; each lane ends with the kernel log check (and rmmod in lane ours).
#   HOSTILE_LONG=1          the long run of `make check-hostile`
#   HOSTILE_SEED=N          first seed (default 1)
#   HOSTILE_LANES='stock ours' (default)
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
if [ "${HOSTILE_LONG:-0}" = 1 ]; then
	hargs="--seed $seed --seeds 16"
	fargs="--seed $seed --seeds 32 --ops 600 --seed-timeout 60"
	limit=3600
else
	hargs="--seed $seed --seeds 1"
	fargs="--seed $seed --seeds 3"
	limit=600
fi

mkdir -p "$BUILD/hostile"
probes=$(mktemp -d "$BUILD/hostile/probe.XXXXXX")
trap 'rm -rf "$probes"' EXIT

all=()
for lane in $lanes; do
	out=$(tests/testhost --lane "$lane" --timeout "$limit" --rw "$probes" \
		--env HOSTILE_ARGS="$hargs" --env IOCTLFUZZ_ARGS="$fargs" \
		--env HOSTILE_TIMEOUT="$limit" --env PROBE_OUT="$probes/$lane" \
		-- tests/hostile/run 2>/dev/null)
	rc=$?
	got=0
	while IFS= read -r line; do
		case $line in
		"ok "*|"not ok "*)
			got=$((got + 1))
			case $line in "ok "*) s=ok ;; *) s="not ok" ;; esac
			all+=("$s - [$lane] ${line#* [0-9]* - }")
			;;
		"# "*totals*|"# "*"exits by reason"*|"# "*"errors by errno"*|"# "*"first failure"*|"# "*Bail*)
			all+=("# [$lane] ${line#"# "}")
			;;
		esac
	done <<< "$out"
	if [ $rc -ne 0 ] || [ $got -eq 0 ]; then
		all+=("not ok - [$lane] test host run ended with status $rc after $got results")
	fi
done
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
