#!/bin/sh
# tests/bios/boot-inner.sh: runs inside the test host: boots each VM file
# given with kvm-launch, one after the other, logging to DIR/NAME.log, the
# exit status to DIR/NAME.status and SeaBIOS's debug log to DIR/NAME.debug.
#   boot-inner.sh KVM_LAUNCH DIR TIMEOUT NAME.cfg...
# With a DIR/NAME.keys file the run is typed at: each of its lines is
# "TEXT<tab>KEYS"; once TEXT shows in the log, KEYS (a printf format, e.g.
# \033 for ESC) goes to kvm-launch's standard input, a pipe. Without one,
# standard input is /dev/null.
kl=$1 dir=$2 limit=$3
shift 3
cd "$dir" || exit 1
# A key typed after kvm-launch ended must not end this script.
trap "" PIPE

# plain FILE: the log with CSI sequences removed (sercon moves the cursor
# inside lines, so text may be split by them).
esc=$(printf '\033')
plain() { sed "s/$esc\\[[0-9;?]*[A-Za-z]//g" "$1" 2>/dev/null; }

# type_keys NAME PID: feed NAME.keys to the fifo on fd 3 while PID runs.
type_keys() {
	tab=$(printf '\t')
	while IFS=$tab read -r text keys; do
		until plain "$1.log" | grep -qF -- "$text"; do
			kill -0 "$2" 2>/dev/null || return 0
			sleep 0.2
		done
		# shellcheck disable=SC2059 # KEYS is a printf format by design
		printf "$keys" >&3
	done < "$1.keys"
}

for cfg in "$@"; do
	name=${cfg%.cfg}
	start=$(date +%s.%N)
	if [ -f "$name.keys" ]; then
		fifo=$(mktemp -u /tmp/boot-inner.XXXXXX)
		mkfifo "$fifo" || exit 1
		KVM_LAUNCH_DEBUGCON=$name.debug timeout "$limit" "$kl" "$cfg" < "$fifo" > "$name.log" 2>&1 &
		pid=$!
		exec 3> "$fifo"
		type_keys "$name" $pid
		wait $pid
		echo $? > "$name.status"
		exec 3>&-
		rm -f "$fifo"
	else
		KVM_LAUNCH_DEBUGCON=$name.debug timeout "$limit" "$kl" "$cfg" < /dev/null > "$name.log" 2>&1
		echo $? > "$name.status"
	fi
	end=$(date +%s.%N)
	echo "$start $end" > "$name.time"
done
