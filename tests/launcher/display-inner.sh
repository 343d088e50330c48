#!/bin/bash
# tests/launcher/display-inner.sh: runs inside the test host for display.t:
# the VGA guest (DIR/vga.cfg) with KVM_LAUNCH_SCREENDUMP set, a SIGUSR2
# once it has drawn (the guest then waits for a line on its serial port),
# and the PNGs' sizes and colours (PNGSTAT); then a
# machine without a display (DIR/plain.cfg) sent a SIGUSR2.
#   display-inner.sh KVM_LAUNCH DIR PNGSTAT
KL=$1
dir=$2
pngstat=$3
limit=${KL_BOOT_TIMEOUT:-300}
export KVM_LAUNCH_CACHE=/tmp/klcache
mkdir -p /tmp/kld
rm -f /tmp/kld/*.png

# The guest waits on its serial line (a FIFO here) until the SIGUSR2
# picture is taken, so the poweroff one cannot come first.
rm -f /tmp/kld/in
mkfifo /tmp/kld/in
KVM_LAUNCH_SCREENDUMP=/tmp/kld/screen.png timeout "$limit" "$KL" "$dir/vga.cfg" < /tmp/kld/in > /tmp/vga.out 2>&1 &
pid=$!
exec 3> /tmp/kld/in
while kill -0 "$pid" 2>/dev/null && ! grep -q KL-DRAWN /tmp/vga.out; do sleep 0.5; done
# to kvm-launch itself: timeout would die of it
pkill -USR2 -P "$pid" -x kvm-launch
for _ in $(seq 120); do [ -s /tmp/kld/screen.png ] && break; sleep 0.5; done
mv /tmp/kld/screen.png /tmp/kld/usr2.png 2>/dev/null
echo go >&3
exec 3>&-
wait "$pid"
echo "VGA-STATUS $?"
echo "PNG-USR2 $("$pngstat" /tmp/kld/usr2.png 2>&1)"
echo "PNG-END $("$pngstat" /tmp/kld/screen.png 2>&1)"
tr -d '\r' < /tmp/vga.out | sed 's/^/vga| /'

timeout "$limit" "$KL" "$dir/plain.cfg" > /tmp/plain.out 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null && ! grep -q KL-USERSPACE /tmp/plain.out; do sleep 0.5; done
pkill -USR2 -P "$pid" -x kvm-launch
wait "$pid"
echo "PLAIN-STATUS $?"
tr -d '\r' < /tmp/plain.out | sed 's/^/plain| /'
