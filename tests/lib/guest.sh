# tests/lib/guest.sh: sourced by the .t scripts that boot the test
# initramfs under kvm-launch in the test host (boot.t, smp.t, virtio.t):
# paths, lanes, the initramfs, and TAP helpers. Skips the whole script
# (exit 0) when something it needs is missing.
#   plan N        N points per lane: prints the TAP plan
#   ok/nok TEXT   a point; check 'SHELL-CONDITION' TEXT; skip TEXT
# Lanes: KL_LANES (default "stock ours" when kvm-driver/kvmdrv.ko exists).
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
KL=$BUILD/bin/kvm-launch
KVER=${KVER:-$("$TOP/mk/kdir.sh" --version 2>/dev/null)}
KERNEL=/boot/vmlinuz-$KVER
if [ -f "$TOP/kvm-driver/kvmdrv.ko" ]; then LANES=${KL_LANES:-stock ours}; else LANES=${KL_LANES:-stock}; fi

if [ ! -x "$KL" ]; then echo "1..0 # SKIP $KL not built"; exit 0; fi
if [ ! -r "$KERNEL" ]; then echo "1..0 # SKIP no $KERNEL"; exit 0; fi
if [ ! -x "$TOP/tests/testhost" ]; then echo "1..0 # SKIP no tests/testhost"; exit 0; fi

initrd=$BUILD/tests/launcher/initramfs.cpio.gz
mkdir -p "$BUILD/tests/launcher"
if [ ! -s "$initrd" ] || [ "$TOP/tests/launcher/mkinitramfs.sh" -nt "$initrd" ]; then
	"$TOP/tests/launcher/mkinitramfs.sh" "$initrd" || { echo "1..0 # SKIP cannot build the initramfs"; exit 0; }
fi

n=0
plan() { echo "1..$(($1 * $(echo $LANES | wc -w)))"; }
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { if eval "$1"; then ok "$2"; else nok "$2"; fi; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }
