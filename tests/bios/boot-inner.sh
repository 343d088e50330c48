#!/bin/sh
# tests/bios/boot-inner.sh: runs inside the test host: boots each VM file
# given with kvm-launch, one after the other, logging to DIR/NAME.log and
# the exit status to DIR/NAME.status.
#   boot-inner.sh KVM_LAUNCH DIR TIMEOUT NAME.cfg...
kl=$1 dir=$2 limit=$3
shift 3
cd "$dir" || exit 1
for cfg in "$@"; do
	name=${cfg%.cfg}
	start=$(date +%s.%N)
	timeout "$limit" "$kl" "$cfg" < /dev/null > "$name.log" 2>&1
	echo $? > "$name.status"
	end=$(date +%s.%N)
	echo "$start $end" > "$name.time"
done
