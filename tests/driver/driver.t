#!/bin/bash
# tests/driver/driver.t: the driver test programs in the test host, once with
# stock kvm_amd (proving the tests) and once with our kvmdrv, as one TAP stream.
#   DRIVER_LANES='stock ours' (default)
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export BUILD=${BUILD:-$TOP/build}
cd "$TOP"
if [ ! -x tests/testhost ]; then echo "1..0 # SKIP no tests/testhost"; exit 0; fi
make -s -C tests/driver >&2 || { echo "1..1"; echo "not ok 1 - building tests/driver"; exit 0; }
lanes=${DRIVER_LANES:-stock ours}
if [[ " $lanes " == *" ours "* ]] && [ ! -f kvm-driver/kvmdrv.ko ]; then
	echo "1..0 # SKIP kvm-driver/kvmdrv.ko not built"; exit 0
fi

all=()
for lane in $lanes; do
	out=$(tests/testhost --lane "$lane" --timeout "${DRIVER_LANE_TIMEOUT:-900}" -- tests/driver/run 2>/dev/null)
	rc=$?
	got=0
	while IFS= read -r line; do
		case $line in
		"ok "*|"not ok "*)
			got=$((got + 1))
			case $line in "ok "*) s=ok ;; *) s="not ok" ;; esac
			all+=("$s - [$lane] ${line#* [0-9]* - }")
			;;
		esac
	done <<< "$out"
	if [ $rc -ne 0 ] || [ $got -eq 0 ]; then
		all+=("not ok - [$lane] test host run ended with status $rc after $got results")
	fi
done
echo "1..${#all[@]}"
n=0
for r in "${all[@]}"; do n=$((n + 1)); echo "${r%% - *} $n - ${r#* - }"; done
