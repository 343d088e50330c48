#!/bin/bash
# tests/imgtool/interop.t: imgtool and qemu-img read each other's images identically, both ways.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || skip_all "qemu-img/qemu-io not installed"

# qemu writes, imgtool reads: cluster sizes 512 B..2 MiB, compat 0.10 and 1.1,
# plain, compressed and zero clusters, partial-cluster writes.
for compat in 0.10 1.1; do
	for cs in 512 4096 65536 2097152; do
		img=$T/q-$compat-$cs.qcow2
		qemu-img create -q -f qcow2 -o compat=$compat,cluster_size=$cs "$img" 16M
		cmds=(-c "write -P 0x11 0 1M" -c "write -P 0x22 $((cs / 2)) 3000" -c "write -P 0x33 5M 200k"
		      -c "write -c -P 0x44 8M $((cs > 1048576 ? cs : 1048576))" -c "write -P 0x55 15M 1M")
		[ $compat = 1.1 ] && cmds+=(-c "write -z 5M 64k" -c "write -z 0 $cs")
		qemu-io -f qcow2 "${cmds[@]}" "$img" >/dev/null
		qemu-img convert -O raw "$img" "$T/ref.raw"
		run "qemu compat=$compat cluster_size=$cs reads identical" same_as "$img" "$T/ref.raw"
		"$IMGTOOL" convert -O raw "$img" "$T/out.raw"
		run "qemu compat=$compat cluster_size=$cs converts bit-identical" cmp "$T/ref.raw" "$T/out.raw"
		run "qemu compat=$compat cluster_size=$cs passes imgtool check" "$IMGTOOL" check -q "$img"
	done
done

# Every refcount width qemu can write is read and checked.
for rb in 1 2 4 8 32 64; do
	img=$T/rb$rb.qcow2
	qemu-img create -q -f qcow2 -o refcount_bits=$rb "$img" 8M
	qemu-io -f qcow2 -c "write -P 0x66 1M 2M" -c "write -c -P 0x77 4M 128k" "$img" >/dev/null
	qemu-img convert -O raw "$img" "$T/ref.raw"
	run "refcount_bits=$rb reads identical" same_as "$img" "$T/ref.raw"
	run "refcount_bits=$rb checks clean" "$IMGTOOL" check -q "$img"
done

# Features qemu can turn on: lazy refcounts read fine; extended L2 and external
# data files are refused with a reason.
qemu-img create -q -f qcow2 -o lazy_refcounts=on "$T/lazy.qcow2" 4M
qemu-io -f qcow2 -c "write -P 0x61 0 100k" "$T/lazy.qcow2" >/dev/null
qemu-img convert -O raw "$T/lazy.qcow2" "$T/ref.raw"
run "lazy_refcounts=on image reads identical" same_as "$T/lazy.qcow2" "$T/ref.raw"
qemu-img create -q -f qcow2 -o extended_l2=on "$T/ext.qcow2" 4M
"$IMGTOOL" info "$T/ext.qcow2" 2>"$T/err"; r=$?
[ $r -ne 0 ] && grep -q "extended L2" "$T/err"; ok $? "extended_l2=on refused: $(cat "$T/err")"
qemu-img create -q -f qcow2 -o data_file="$T/ext.data" "$T/df.qcow2" 4M
"$IMGTOOL" info "$T/df.qcow2" 2>"$T/err"; r=$?
[ $r -ne 0 ] && grep -q "external data file" "$T/err"; ok $? "data_file image refused: $(cat "$T/err")"

# A backing chain raw <- qcow2 (v2) <- qcow2 (v3), written at each level.
mkpayload "$T/base.raw" 8
qemu-img create -q -f qcow2 -o compat=0.10 -b base.raw -F raw "$T/mid.qcow2"
qemu-io -f qcow2 -c "write -P 0xa1 1M 100k" -c "write -c -P 0xa2 3M 64k" "$T/mid.qcow2" >/dev/null
qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 "$T/top.qcow2" 12M
qemu-io -f qcow2 -c "write -P 0xb1 1050k 10k" -c "write -z 6M 64k" -c "write -P 0xb2 10M 1M" "$T/top.qcow2" >/dev/null
qemu-img convert -O raw "$T/top.qcow2" "$T/ref.raw"
run "backing chain raw<-v2<-v3 reads identical" same_as "$T/top.qcow2" "$T/ref.raw"
"$IMGTOOL" convert -O qcow2 "$T/top.qcow2" "$T/flat.qcow2"
run "flattened chain passes qemu-img check" qemu-img check -q "$T/flat.qcow2"
run "flattened chain compares identical in qemu-img" qemu-img compare -q "$T/flat.qcow2" "$T/ref.raw"

# imgtool writes, qemu reads: create with a backing file, then convert.
"$IMGTOOL" create -q -f qcow2 -b mid.qcow2 -F qcow2 "$T/ov.qcow2"
run "imgtool overlay passes qemu-img check" qemu-img check -q "$T/ov.qcow2"
qemu-io -f qcow2 -c "write -P 0xc1 2M 70k" "$T/ov.qcow2" >/dev/null
qemu-img convert -O raw "$T/ov.qcow2" "$T/ref.raw"
run "imgtool overlay written by qemu reads identical" same_as "$T/ov.qcow2" "$T/ref.raw"
info=$("$IMGTOOL" info --output=json "$T/ov.qcow2")
case $info in *'"backing-filename-format": "qcow2"'*'"backing-filename": "mid.qcow2"'*) r=0 ;; *) r=1 ;; esac
[ $r = 0 ] && [ "$info" = "$(qemu-img info --output=json "$T/ov.qcow2")" ]
ok $? "info --output=json names the backing file and format, as qemu-img"

# Internal snapshots: the active layer reads identical; it can be resized and written.
qemu-img create -q -f qcow2 "$T/snap.qcow2" 8M
qemu-io -f qcow2 -c "write -P 0x71 0 1M" "$T/snap.qcow2" >/dev/null
qemu-img snapshot -c s1 "$T/snap.qcow2"
qemu-io -f qcow2 -c "write -P 0x72 512k 1M" "$T/snap.qcow2" >/dev/null
qemu-img convert -O raw "$T/snap.qcow2" "$T/ref.raw"
run "image with an internal snapshot reads identical" same_as "$T/snap.qcow2" "$T/ref.raw"
run "an image with internal snapshots can be resized" "$IMGTOOL" resize -q "$T/snap.qcow2" 16M
run "the resized image passes qemu-img check" qemu-img check -q "$T/snap.qcow2"
qemu-io -f qcow2 -c "write -c -P 0x74 4M 64k" "$T/snap.qcow2" >/dev/null
qemu-img snapshot -c s2 "$T/snap.qcow2"
run "check counts the references of every snapshot" "$IMGTOOL" check "$T/snap.qcow2"

mkpayload "$T/p.raw" 24
for cs in 512 65536 2M; do
	for c in "" -c; do
		out=$T/o-$cs$c.qcow2
		"$IMGTOOL" convert $c -O qcow2 -o cluster_size=$cs "$T/p.raw" "$out"
		run "convert $c cluster_size=$cs passes qemu-img check" qemu-img check -q "$out"
		run "convert $c cluster_size=$cs qemu-img compare identical" qemu-img compare -q "$T/p.raw" "$out"
		qemu-img convert -O raw "$out" "$T/back.raw"
		run "convert $c cluster_size=$cs round trip through qemu bit-identical" cmp "$T/p.raw" "$T/back.raw"
		"$IMGTOOL" convert -O raw "$out" "$T/back2.raw"
		run "convert $c cluster_size=$cs round trip through imgtool bit-identical" cmp "$T/p.raw" "$T/back2.raw"
	done
done
# Sparse: zero runs stay unallocated in both output formats.
alloc=$(du -k "$T/back2.raw" | cut -f1)
[ "$alloc" -lt 20000 ]; ok $? "raw output is sparse (${alloc} KiB of 24 MiB)"
"$IMGTOOL" convert -O qcow2 "$T/p.raw" "$T/sp.qcow2"
sz=$(stat -c %s "$T/sp.qcow2")
[ "$sz" -lt 20000000 ]; ok $? "qcow2 output leaves zero clusters unallocated ($sz bytes)"

# A raw file that is not whole sectors: the size rounds up to 512 as in
# qemu-img, and qemu reads every byte back (it counts qcow2 sizes in sectors).
head -c 3000100 "$T/p.raw" >"$T/odd.raw"
"$IMGTOOL" convert -c -O qcow2 "$T/odd.raw" "$T/odd.qcow2"
qemu-img convert -q -c -O qcow2 "$T/odd.raw" "$T/odd-q.qcow2"
[ "$(qemu-img info --output=json "$T/odd.qcow2" | grep -o '"virtual-size": [0-9]*')" = \
  "$(qemu-img info --output=json "$T/odd-q.qcow2" | grep -o '"virtual-size": [0-9]*')" ]
ok $? "odd-sized raw converts to qemu-img's virtual size"
run "odd-sized raw reads identical in qemu-img" qemu-img compare -q "$T/odd.raw" "$T/odd.qcow2"

# resize: grow past the L1 table, then shrink back; qemu agrees.
"$IMGTOOL" create -q -o cluster_size=512 "$T/r.qcow2" 1M
qemu-io -f qcow2 -c "write -P 0x5a 0 1000" "$T/r.qcow2" >/dev/null
run "resize grows a 512 B-cluster image to 1 GiB" "$IMGTOOL" resize -q "$T/r.qcow2" 1G
run "grown image passes qemu-img check" qemu-img check -q "$T/r.qcow2"
vs=$(qemu-img info --output=json "$T/r.qcow2" | sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')
[ "$vs" = 1073741824 ]; ok $? "qemu sees the new size ($vs)"
qemu-io -f qcow2 -c "write -P 0x5b 1000M 64k" "$T/r.qcow2" >/dev/null
"$IMGTOOL" resize -q "$T/r.qcow2" 2M 2>/dev/null
[ $? -ne 0 ]; ok $? "shrink without --shrink is refused"
"$IMGTOOL" resize -q --shrink "$T/r.qcow2" 2M 2>/dev/null
[ $? -ne 0 ]; ok $? "shrink over allocated data is refused"
qemu-io -f qcow2 -c "discard 1000M 64k" "$T/r.qcow2" >/dev/null
run "shrink with --shrink over an unused tail works" "$IMGTOOL" resize -q --shrink "$T/r.qcow2" 2M
run "shrunk image passes qemu-img check" qemu-img check -q "$T/r.qcow2"

done_testing
