#!/bin/bash
# tests/launcher/vnc-inner.sh: runs inside the test host for vnc.t, results
# in DIR (the test reads them on the build machine):
#  1. DIR/bios-vnc.cfg (SeaBIOS, syslinux waiting at boot:) with a VNC
#     display: the text screen (a .txt screendump) once "boot:" shows, a
#     vncsnapshot of it, and a second kvm-launch on the same listen address;
#  2. DIR/bios-term.cfg, the same disk on the terminal display under
#     script(1): its typescript, and Ctrl-A x typed there; DIR/crash.cfg
#     (Linux) on the terminal display, killed by SIGSEGV;
#  3. DIR/keys.cfg (Linux, a shell reading tty1): a command typed through
#     VNC by VNCCLIENT, which then reads the PS/2 mouse while VNCCLIENT
#     moves the pointer; the guest's serial output.
#   vnc-inner.sh KVM_LAUNCH DIR VNCCLIENT
KL=$1
dir=$2
client=$3
limit=${KL_BOOT_TIMEOUT:-300}
export KVM_LAUNCH_CACHE=/tmp/klcache
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
cd "$dir" || exit 1

# wait_for FILE PATTERN PID SECONDS: until PATTERN is in FILE; 1 if PID ended or time ran out
wait_for() {
	local t=0
	until grep -q -- "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || return 1
		[ $t -ge $(($4 * 5)) ] && return 1
		sleep 0.2
		t=$((t + 1))
	done
}

# ---- 1: BIOS text on VNC ----
esc=$(printf '\033')

# the serial console without CSI sequences (sercon moves the cursor inside lines)
plain() { sed "s/$esc\\[[0-9;?]*[A-Za-z]//g; s/\r//g" "$1" 2>/dev/null; }
rm -f screen.txt screen.txt.tmp snap.jpg
KVM_LAUNCH_SCREENDUMP=$dir/screen.txt timeout "$limit" "$KL" bios-vnc.cfg < /dev/null > bios-vnc.log 2>&1 &
pid=$!
start=$(date +%s)
# SeaBIOS's serial console shows the prompt too; SIGUSR2 only then (until
# kvm-launch has set its signals up, SIGUSR2 would end it)
while kill -0 "$pid" 2>/dev/null && [ $(($(date +%s) - start)) -lt "$limit" ]; do
	plain bios-vnc.log | grep -q "boot:" && break
	sleep 0.5
done
for _ in $(seq 30); do
	pkill -USR2 -P "$pid" -x kvm-launch
	sleep 1
	grep -q "boot:" screen.txt 2>/dev/null && break
done
echo "BIOS-PROMPT-AFTER $(($(date +%s) - start))"
vncsnapshot -quiet -allowblank 127.0.0.1:1 snap.jpg > snap.log 2>&1
echo "SNAPSHOT-STATUS $?"
timeout 60 "$KL" bios-vnc.cfg < /dev/null > second.log 2>&1
echo "SECOND-STATUS $?"
"$client" watch 127.0.0.1:5901 2 > watch.log 2>&1
pkill -TERM -P "$pid" -x kvm-launch
wait "$pid"
echo "BIOS-VNC-STATUS $?"

# ---- 2: the terminal display ----
rm -f term.log
# the FIFO in the test host's own /tmp: 9p refuses special files
fifo=/tmp/vnc-term.in
rm -f "$fifo"
mkfifo "$fifo"
# script's input: held open by fd 3, so its pty stays open until we type
script -qfec "timeout --foreground $limit $KL bios-term.cfg" term.log < "$fifo" > /dev/null 2>&1 &
spid=$!
exec 3> "$fifo"

t=0
until plain term.log | grep -q "boot:"; do
	kill -0 "$spid" 2>/dev/null || break
	[ $t -ge $((limit * 5)) ] && break
	sleep 0.2
	t=$((t + 1))
done
# Ctrl-A x: quit
printf '\001x' >&3
wait "$spid"
echo "TERM-STATUS $?"
exec 3>&-

# ---- 2b: a crash gives the terminal back too ----
rm -f crash.log crash.serial
script -qfec "$KL crash.cfg" crash.log < "$fifo" > /dev/null 2>&1 &
spid=$!
exec 3> "$fifo"
wait_for crash.serial KL-USERSPACE "$spid" "$limit"
pkill -SEGV -x kvm-launch
wait "$spid"
echo "CRASH-STATUS $?"
exec 3>&-

# ---- 3: keys and the pointer through VNC reach the guest ----
timeout "$limit" "$KL" keys.cfg < /dev/null > keys.log 2>&1 &
pid=$!
if wait_for keys.log KL-READING "$pid" "$limit"; then
	sleep 1
	"$client" type 127.0.0.1:5902 'echo KL-RAN-$((6*7)); od -An -N3 -tx1 /dev/input/mice
'
	echo "TYPE-STATUS $?"
	# od reads the mouse: move it, a button held
	if wait_for keys.log KL-RAN-42 "$pid" 60; then
		sleep 1
		"$client" point 127.0.0.1:5902 40,20
		echo "POINT-STATUS $?"
	fi
fi
wait_for keys.log "KL-EXIT" "$pid" 60
sleep 1
kill "$pid" 2>/dev/null
wait "$pid"
echo "KEYS-STATUS $?"
