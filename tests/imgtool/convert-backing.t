#!/bin/bash
# tests/imgtool/convert-backing.t: convert -B: a qcow2 output on a backing file, holding only the clusters that differ from it.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || skip_all "qemu-img/qemu-io not installed"
I=$IMGTOOL

# Clusters the image holds itself: "data" extents at depth 0, in bytes; zero clusters apart.
own_data() { qemu-img map --output=json "$1" | awk -F'"length": ' '/"depth": 0/ && /"data": true/ { split($2, a, ","); s += a[1] } END { print s + 0 }'; }
own_zero() { qemu-img map --output=json "$1" | awk -F'"length": ' '/"depth": 0/ && /"zero": true/ && /"present": true/ { split($2, a, ","); s += a[1] } END { print s + 0 }'; }

# The base, and a source that differs from it in known places: 100 KiB of new
# data at 5 MiB, 1 MiB of zeros at 2 MiB where the base has data, one byte at
# 7 MiB + 3, and 1 MiB past the end of the base.
mkpayload "$T/base.raw" 8
cp "$T/base.raw" "$T/src.raw"
head -c 100000 /usr/bin/bash | dd of="$T/src.raw" bs=1k seek=5120 conv=notrunc status=none
dd if=/dev/zero of="$T/src.raw" bs=1M seek=2 count=1 conv=notrunc status=none
printf '\377' | dd of="$T/src.raw" bs=1 seek=$((7 * 1048576 + 3)) conv=notrunc status=none
head -c 1048576 /usr/bin/bash >>"$T/src.raw"
[ "$(head -c 3145728 "$T/base.raw" | tail -c 1048576 | tr -d '\0' | wc -c)" -gt 0 ]
ok $? "the base has data where the source has zeros"

for cs in 512 65536 2M; do
	o=$T/o-$cs.qcow2
	run "cluster_size=$cs: convert -B" "$I" convert -O qcow2 -o cluster_size=$cs -B base.raw -F raw "$T/src.raw" "$o"
	run "cluster_size=$cs: qemu-img check" qemu-img check -q "$o"
	run "cluster_size=$cs: qemu-img compare with the source identical" qemu-img compare -q "$T/src.raw" "$o"
	run "cluster_size=$cs: imgtool compare identical" "$I" compare "$T/src.raw" "$o"
	qemu-img info --output=json "$o" >"$T/info"
	grep -q '"backing-filename": "base.raw"' "$T/info" && grep -q '"backing-filename-format": "raw"' "$T/info"
	ok $? "cluster_size=$cs: the backing file and its format are recorded"
	c=$(qemu-img info --output=json "$o" | sed -n 's/.*"cluster-size": \([0-9]*\).*/\1/p')
	d=$(own_data "$o") z=$(own_zero "$o")
	# 100000 bytes of new data, a byte, the 1 MiB past the base: at most 4 partial clusters more.
	want=$((100000 + 1 + 1048576))
	# (less where the new bytes happen to equal the old: the base is made of the same files)
	[ "$d" -ge $((want - 65536)) ] && [ "$d" -le $((want + 4 * c)) ]; ok $? "cluster_size=$cs: only the differing clusters hold data ($d bytes)"
	if [ "$c" -le 65536 ]; then
		[ "$z" -ge $((1048576 - 65536)) ] && [ "$z" -le 1048576 ]; ok $? "cluster_size=$cs: the zeroed MiB is zero clusters over the base ($z bytes)"
	fi
done

# The same through qemu-img reads back the same disk.
qemu-img convert -O qcow2 -B base.raw -F raw "$T/src.raw" "$T/q.qcow2"
qemu-img convert -O raw "$T/q.qcow2" "$T/q.raw"
qemu-img convert -O raw "$T/o-65536.qcow2" "$T/o.raw"
run "the disk equals qemu-img convert -B's, bit for bit" cmp "$T/q.raw" "$T/o.raw"

# Compressed, zlib and zstd.
for ct in zlib zstd; do
	o=$T/c-$ct.qcow2
	run "-c -o compression_type=$ct -B" "$I" convert -c -O qcow2 -o compression_type=$ct -B base.raw -F raw "$T/src.raw" "$o"
	run "-c $ct -B: qemu-img check" qemu-img check -q "$o"
	run "-c $ct -B: compare identical" qemu-img compare -q "$T/src.raw" "$o"
	na=$(qemu-img check --output=json "$o" | sed -n 's/.*"allocated-clusters": \([0-9]*\).*/\1/p')
	[ "${na:-0}" -le 20 ] && [ "${na:-0}" -ge 18 ]; ok $? "-c $ct -B: only the differing clusters are allocated ($na)"
done

# A source whose backing file is the new one: what comes from it is not even read.
qemu-img create -q -f qcow2 -b base.raw -F raw "$T/top.qcow2"
qemu-io -f qcow2 -c "write -P 0x11 1M 100k" -c "write -z 2M 64k" -c "write -P 0 3M 64k" "$T/top.qcow2" >/dev/null
run "overlay on the same base: convert -B" "$I" convert -O qcow2 -B base.raw -F raw "$T/top.qcow2" "$T/o-top.qcow2"
run "overlay on the same base: compare identical" qemu-img compare -q "$T/top.qcow2" "$T/o-top.qcow2"
d=$(own_data "$T/o-top.qcow2")
[ "$d" -le 196608 ] && [ "$d" -ge 102400 ]; ok $? "overlay on the same base: only the overlay's data is copied ($d bytes)"
reads=$(strace -f -c -e trace=pread64 "$I" convert -O qcow2 -B base.raw -F raw "$T/top.qcow2" "$T/o-top2.qcow2" 2>&1 >/dev/null |
	awk '$NF == "pread64" { print $4 }')
[ -n "$reads" ] && [ "$reads" -lt 200 ]; ok $? "and the base is not read through the source (${reads:-?} reads)"

# A chain base <- mid <- top, converted onto the base: mid's data is copied.
qemu-img create -q -f qcow2 -b base.raw -F raw "$T/mid.qcow2"
qemu-io -f qcow2 -c "write -P 0x22 4M 64k" "$T/mid.qcow2" >/dev/null
qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 "$T/top2.qcow2"
qemu-io -f qcow2 -c "write -P 0x33 6M 64k" "$T/top2.qcow2" >/dev/null
run "chain base<-mid<-top onto base: convert -B" "$I" convert -O qcow2 -B base.raw -F raw "$T/top2.qcow2" "$T/o-chain.qcow2"
run "chain onto base: compare identical" qemu-img compare -q "$T/top2.qcow2" "$T/o-chain.qcow2"
d=$(own_data "$T/o-chain.qcow2")
[ "$d" = 131072 ]; ok $? "chain onto base: mid's and top's clusters are copied ($d bytes)"

# Backing format probed when -F is not given; a relative name is relative to the output.
mkdir -p "$T/sub"
cp "$T/base.raw" "$T/sub/b.raw"
run "-B without -F, output in another directory" "$I" convert -O qcow2 -B b.raw "$T/src.raw" "$T/sub/o.qcow2"
run "it resolves next to the output" qemu-img compare -q "$T/src.raw" "$T/sub/o.qcow2"

# An odd-sized source: the sector tail reads as zeros, as in qemu-img's output.
head -c 300000 "$T/base.raw" >"$T/ob.raw"
head -c 200000 "$T/base.raw" >"$T/os.raw"
printf 'Q' | dd of="$T/os.raw" bs=1 seek=150000 conv=notrunc status=none
"$I" convert -O qcow2 -B ob.raw -F raw "$T/os.raw" "$T/o-odd.qcow2"
qemu-img convert -O qcow2 -B ob.raw -F raw "$T/os.raw" "$T/q-odd.qcow2"
qemu-img convert -O raw "$T/o-odd.qcow2" "$T/a.raw"
qemu-img convert -O raw "$T/q-odd.qcow2" "$T/b.raw"
run "odd-sized source over a longer base: same disk as qemu-img's" cmp "$T/a.raw" "$T/b.raw"

# Refusals leave nothing behind.
"$I" convert -O qcow2 -B nonexistent.raw -F raw "$T/src.raw" "$T/e1.qcow2" 2>"$T/err"; r=$?
[ $r -eq 1 ] && [ ! -e "$T/e1.qcow2" ] && grep -q nonexistent "$T/err"; ok $? "missing backing file: $(cat "$T/err")"
ls "$T"/e1.qcow2.* >/dev/null 2>&1; [ $? -ne 0 ]; ok $? "and no temporary file is left"
"$I" convert -B base.raw "$T/src.raw" "$T/e2.raw" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "Backing file not supported for file format 'raw'" "$T/err"; ok $? "raw output refused: $(cat "$T/err")"
"$I" convert -O qcow2 -F raw "$T/src.raw" "$T/e3.qcow2" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "Backing format cannot be used without backing file" "$T/err"; ok $? "-F without -B refused: $(cat "$T/err")"

done_testing
