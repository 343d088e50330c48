#!/bin/bash
# tests/imgtool/snapshot.t: internal snapshots made by imgtool and by qemu-img, each listed, applied and deleted by the other.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || skip_all "qemu-img/qemu-io not installed"
I=$IMGTOOL

both_clean() {	# both_clean IMG: qemu-img check and imgtool check find nothing
	qemu-img check -q "$1" && "$I" check -q "$1"
}

same_list() {	# same_list IMG: imgtool snapshot -l prints what qemu-img snapshot -l prints
	"$I" snapshot -l "$1" >"$T/l.imgtool" && qemu-img snapshot -l "$1" >"$T/l.qemu" &&
		diff "$T/l.qemu" "$T/l.imgtool"
}

# imgtool makes the snapshots, qemu reads them; v2 and v3, small and default clusters.
for compat in 1.1 0.10; do
	for cs in 512 65536; do
		tag="compat=$compat cluster_size=$cs"
		img=$T/i.qcow2
		qemu-img create -q -f qcow2 -o compat=$compat,cluster_size=$cs "$img" 16M
		qemu-io -f qcow2 -c "write -P 0x11 0 2M" -c "write -c -P 0x12 4M 256k" -c "write -P 0x13 15M 1M" \
			"$img" >/dev/null
		qemu-img convert -O raw "$img" "$T/one.raw"
		run "$tag: imgtool snapshot -c one" "$I" snapshot -c one "$img"
		qemu-io -f qcow2 -c "write -P 0x21 1M 2M" -c "write -c -P 0x22 4M 64k" -c "discard 15M 1M" \
			-c "write -P 0x23 $((cs / 2)) 1000" "$img" >/dev/null
		qemu-img convert -O raw "$img" "$T/two.raw"
		run "$tag: imgtool snapshot -c 'second one'" "$I" snapshot -c "second one" "$img"
		qemu-io -f qcow2 -c "write -P 0x31 0 5M" "$img" >/dev/null
		qemu-img convert -O raw "$img" "$T/now.raw"
		run "$tag: qemu writes after imgtool's snapshots; both checks clean" both_clean "$img"
		run "$tag: qemu-img snapshot -l prints the same list" same_list "$img"
		qemu-img convert -l one -O raw "$img" "$T/q.raw"
		run "$tag: qemu-img convert -l one reads the state at the snapshot" cmp "$T/q.raw" "$T/one.raw"
		qemu-img convert -l "second one" -O raw "$img" "$T/q.raw"
		run "$tag: qemu-img convert -l 'second one' too" cmp "$T/q.raw" "$T/two.raw"

		cp "$img" "$T/ia.qcow2"
		cp "$img" "$T/qa.qcow2"
		run "$tag: imgtool snapshot -a one" "$I" snapshot -a one "$T/ia.qcow2"
		qemu-img snapshot -a one "$T/qa.qcow2"
		run "$tag: imgtool's apply gives the snapshot's data" same_as "$T/ia.qcow2" "$T/one.raw"
		run "$tag: and qemu-img's apply the same" qemu-img compare -q "$T/ia.qcow2" "$T/qa.qcow2"
		run "$tag: both checks clean after imgtool's apply" both_clean "$T/ia.qcow2"
		qemu-io -f qcow2 -c "write -P 0x41 0 3M" "$T/ia.qcow2" >/dev/null
		run "$tag: qemu writes over imgtool's apply; both checks clean" both_clean "$T/ia.qcow2"
		qemu-img convert -l one -O raw "$T/ia.qcow2" "$T/q.raw"
		run "$tag: the snapshot is untouched by those writes" cmp "$T/q.raw" "$T/one.raw"

		run "$tag: imgtool snapshot -d one" "$I" snapshot -d one "$img"
		run "$tag: both checks clean after the delete" both_clean "$img"
		run "$tag: the data is untouched by the delete" same_as "$img" "$T/now.raw"
		[ "$(qemu-img snapshot -l "$img" | tail -n +3 | awk '{print $1}')" = 2 ]
		ok $? "$tag: qemu-img lists only snapshot 2 after the delete"
		qemu-img convert -l "second one" -O raw "$img" "$T/q.raw"
		run "$tag: the other snapshot is untouched by the delete" cmp "$T/q.raw" "$T/two.raw"
		run "$tag: imgtool snapshot -d 'second one'" "$I" snapshot -d "second one" "$img"
		[ -z "$(qemu-img snapshot -l "$img")" ] && both_clean "$img"
		ok $? "$tag: no snapshots left, both checks clean"
	done
done

# qemu makes the snapshots, imgtool lists, applies and deletes them.
img=$T/q.qcow2
qemu-img create -q -f qcow2 "$img" 32M
qemu-io -f qcow2 -c "write -P 0x51 0 4M" -c "write -c -P 0x52 8M 1M" "$img" >/dev/null
qemu-img snapshot -c q1 "$img"
qemu-img convert -O raw "$img" "$T/q1.raw"
qemu-io -f qcow2 -c "write -P 0x53 2M 4M" -c "write -z 8M 512k" "$img" >/dev/null
qemu-img snapshot -c q2 "$img"
qemu-img convert -O raw "$img" "$T/q2.raw"
qemu-io -f qcow2 -c "write -P 0x54 20M 4M" "$img" >/dev/null
qemu-img convert -O raw "$img" "$T/q3.raw"
run "qemu's snapshots: imgtool lists what qemu-img lists" same_list "$img"
run "qemu's snapshots: imgtool check is clean" "$I" check -q "$img"
"$I" info "$img" | sed -n '/^Snapshot list:/,/^Format/p' | sed '$d' >"$T/info.imgtool"
qemu-img info "$img" | sed -n '/^Snapshot list:/,/^Format/p' | sed '$d' >"$T/info.qemu"
run "imgtool info lists the snapshots as qemu-img info does" diff "$T/info.qemu" "$T/info.imgtool"
cp "$img" "$T/q-a.qcow2"
run "imgtool snapshot -a q1 on qemu's image" "$I" snapshot -a q1 "$T/q-a.qcow2"
run "it holds q1's data" same_as "$T/q-a.qcow2" "$T/q1.raw"
run "qemu-img check is clean after it" qemu-img check -q "$T/q-a.qcow2"
run "imgtool snapshot -a 2 (by ID) on qemu's image" "$I" snapshot -a 2 "$T/q-a.qcow2"
run "it holds q2's data" same_as "$T/q-a.qcow2" "$T/q2.raw"
qemu-io -f qcow2 -c "write -P 0x55 0 8M" "$T/q-a.qcow2" >/dev/null
run "qemu writes over it; qemu-img check is clean" qemu-img check -q "$T/q-a.qcow2"
run "imgtool snapshot -d q1 on qemu's image" "$I" snapshot -d q1 "$img"
run "qemu-img check is clean after it" qemu-img check -q "$img"
qemu-img convert -l q2 -O raw "$img" "$T/q.raw"
run "q2 still holds its data for qemu" cmp "$T/q.raw" "$T/q2.raw"
run "the current state is untouched" same_as "$img" "$T/q3.raw"
run "imgtool snapshot -d q2 on qemu's image" "$I" snapshot -d q2 "$img"
[ -z "$(qemu-img snapshot -l "$img")" ] && both_clean "$img"
ok $? "no snapshots left, both checks clean"
qemu-img snapshot -c q4 "$img"
run "qemu-img snapshot -c after imgtool's deletes" both_clean "$img"

# Many snapshots: the table grows past a cluster and shrinks again.
img=$T/m.qcow2
"$I" create -q -o cluster_size=4K "$img" 4M
for k in $(seq 1 60); do
	qemu-io -f qcow2 -c "write -P $k $((k * 4096)) 4k" "$img" >/dev/null
	"$I" snapshot -c "snapshot number $k with a name long enough to fill the table" "$img" || break
done
[ "$(qemu-img snapshot -l "$img" | tail -n +3 | wc -l)" = 60 ] && both_clean "$img"
ok $? "60 snapshots, their table over 4 KiB: qemu lists them all, both checks clean"
for k in $(seq 1 2 59); do
	"$I" snapshot -d "snapshot number $k with a name long enough to fill the table" "$img" || break
done
[ "$(qemu-img snapshot -l "$img" | tail -n +3 | wc -l)" = 30 ] && both_clean "$img" && same_list "$img"
ok $? "30 deleted: both checks clean, the lists agree"

# Options, messages and exit codes, against qemu-img's where it has them.
img=$T/c.qcow2
"$I" create -q "$img" 1M
out=$("$I" snapshot -l "$img"); r=$?
[ $r -eq 0 ] && [ -z "$out" ]; ok $? "-l without snapshots prints nothing, exit 0"
out=$("$I" snapshot -q -c quiet "$img"); r=$?
[ $r -eq 0 ] && [ -z "$out" ]; ok $? "-q -c prints nothing, exit 0"
"$I" snapshot -c x -l "$img" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "Cannot mix" "$T/err"; ok $? "two actions: exit 1, $(cat "$T/err")"
"$I" snapshot -l 2>/dev/null; [ $? -eq 1 ]; ok $? "no file name: exit 1"
"$I" snapshot -a nosuch "$img" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "nosuch" "$T/err" && grep -q "$img" "$T/err"
ok $? "-a of a missing snapshot: exit 1, $(cat "$T/err")"
"$I" snapshot -d nosuch "$img" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "nosuch" "$T/err"; ok $? "-d of a missing snapshot: exit 1, $(cat "$T/err")"
"$I" snapshot -l "$T/nothere.qcow2" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "nothere" "$T/err"; ok $? "missing file: exit 1, $(cat "$T/err")"
"$I" create -q -f raw "$T/r.raw" 1M
"$I" snapshot -c x "$T/r.raw" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "raw" "$T/err" && grep -q "r.raw" "$T/err"; ok $? "raw image: -c refused, $(cat "$T/err")"
"$I" snapshot -f raw -c x "$img" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "raw" "$T/err"; ok $? "-f raw on a qcow2 file: -c refused, $(cat "$T/err")"
out=$("$I" snapshot -l "$T/r.raw"); r=$?
[ $r -eq 0 ] && [ -z "$out" ]; ok $? "raw image: -l lists nothing, exit 0 (as qemu-img)"
"$I" snapshot "$img"; [ $? -eq 0 ]; ok $? "no action: exit 0 (as qemu-img)"

# A 1-bit refcount has no room for a second reference: refused, image unchanged.
qemu-img create -q -f qcow2 -o refcount_bits=1 "$T/rb1.qcow2" 1M
qemu-io -f qcow2 -c "write -P 1 0 64k" "$T/rb1.qcow2" >/dev/null
cp "$T/rb1.qcow2" "$T/rb1.orig"
"$I" snapshot -c x "$T/rb1.qcow2" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "refcount" "$T/err" && cmp -s "$T/rb1.qcow2" "$T/rb1.orig"
ok $? "refcount_bits=1: refused, file unchanged: $(cat "$T/err")"

done_testing
