#!/bin/sh
# tests/vmx/smoke.t: the `make check` share of the VMX suite: one Bochs boot, our driver on Intel VMX+EPT, the real-mode smoke client.
top=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
build=${BUILD:-$top/build}
command -v bochs >/dev/null 2>&1 || { echo "1..0 # SKIP bochs not installed"; exit 0; }
[ -f kvm-driver/kvmdrv.ko ] || { echo "1..0 # SKIP kvm-driver/kvmdrv.ko not built"; exit 0; }
make -s -C tests/vmx >&2 || { echo "1..0 # SKIP cannot build tests/vmx"; exit 0; }
# The client prints its own TAP; its status is the number of failures.
exec tests/vmxhost --lane ours --timeout "${VMX_TIMEOUT:-900}" \
	--stage "$build/tests/vmx/test_vmx_smoke" -- "$build/tests/vmx/test_vmx_smoke"
