#!/bin/bash
# tests/imgtool/measure.t: imgtool measure prints what qemu-img measure prints, for sizes, options and real inputs.
. "$(dirname "$0")/lib.sh"
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || skip_all "qemu-img/qemu-io not installed"
I=$IMGTOOL

same() {	# same ARGS...: output and exit status equal to qemu-img's (message prefix aside)
	local q o
	q=$(cd "$T" && qemu-img measure "$@" 2>&1; echo "exit $?")
	o=$(cd "$T" && "$I" measure "$@" 2>&1; echo "exit $?")
	if [ "${q//qemu-img: /}" = "${o//imgtool: /}" ]; then
		ok 0 "measure $*"
	else
		ok 1 "measure $*"
		diff <(echo "${q//qemu-img: /}") <(echo "${o//imgtool: /}") | sed 's/^/# /'
	fi
}

# --size alone, across sizes and every option that changes the numbers.
for size in 0 1 512 1M 1073741825 100G 7T; do
	for o in "" cluster_size=512 cluster_size=4k cluster_size=2M refcount_bits=1 refcount_bits=64 \
		 compat=0.10 extended_l2=on preallocation=full preallocation=metadata backing_file=x; do
		same --size $size -O qcow2 ${o:+-o $o}
	done
	same --size $size
	same --size $size -O qcow2 --output=json
done

# Inputs: sparse and full raw files, odd sizes, qcow2 with data, zeros,
# compressed clusters and a backing chain, version 2, zstd, and bitmaps.
mkpayload "$T/full.raw" 8
truncate -s 64M "$T/sparse.raw"
for at in 0 3 1000 4096 65535 65536 1048577 20000000 67108863; do
	printf 'x' | dd of="$T/sparse.raw" bs=1 seek=$at conv=notrunc status=none
done
head -c 1000001 "$T/full.raw" >"$T/odd.raw"
qemu-img create -q -f qcow2 -o cluster_size=4k "$T/q.qcow2" 64M
qemu-io -f qcow2 -c "write -P 1 0 100k" -c "write -z 1M 64k" -c "write -c -P 2 2M 64k" \
	-c "write -P 3 63M 1" "$T/q.qcow2" >/dev/null
qemu-img create -q -f qcow2 -b q.qcow2 -F qcow2 "$T/top.qcow2" 80M
qemu-io -f qcow2 -c "write -P 4 10M 300k" -c "write -z 0 4k" "$T/top.qcow2" >/dev/null
qemu-img create -q -f qcow2 -o compat=0.10 "$T/v2.qcow2" 16M
qemu-io -f qcow2 -c "write -P 5 5M 1M" "$T/v2.qcow2" >/dev/null
qemu-img convert -c -O qcow2 -o compression_type=zstd "$T/full.raw" "$T/z.qcow2"
qemu-img create -q -f qcow2 "$T/bm.qcow2" 1G
qemu-img bitmap --add "$T/bm.qcow2" b0
qemu-img bitmap --add -g 4096 "$T/bm.qcow2" a-longer-bitmap-name
qemu-img bitmap --add -g 2M "$T/bm.qcow2" big
for f in full.raw sparse.raw odd.raw q.qcow2 top.qcow2 v2.qcow2 z.qcow2 bm.qcow2; do
	same "$f"
	for o in "" cluster_size=512 cluster_size=4k cluster_size=2M refcount_bits=8 compat=0.10 \
		 extended_l2=on preallocation=falloc backing_file=x size=1T; do
		same -O qcow2 ${o:+-o $o} "$f"
	done
	same -O qcow2 --output=json "$f"
done
same -f raw -O qcow2 q.qcow2
same -O qcow2 -o cluster_size=4k -o refcount_bits=1 sparse.raw

# Refusals, with qemu-img's words and status.
same
same --size 1G q.qcow2
same q.qcow2 v2.qcow2
same -f qcow2
"$I" measure -O qcow2 "$T/nonexistent.qcow2" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "Could not open '$T/nonexistent.qcow2': .*No such file" "$T/err"; ok $? "a missing input: $(cat "$T/err")"
same --size 1G --output=xml
same --size abc
same --size 1G -O qcow2 -o foo=bar
same --size 1G -O raw -o cluster_size=4k
same --size 1G -O qcow2 -o cluster_size=1000
same --size 1G -O qcow2 -o cluster_size=4M
same --size 1G -O qcow2 -o cluster_size=abc
same --size 1G -O qcow2 -o refcount_bits=3
same --size 1G -O qcow2 -o compat=0.10,refcount_bits=8
same --size 1G -O qcow2 -o compat=0.9
same --size 1G -O qcow2 -o lazy_refcounts=maybe
same --size 1G -O qcow2 -o preallocation=bogus
same --size 1G -O qcow2 -o extended_l2=on,cluster_size=4k
same --size 100T -O qcow2 -o cluster_size=512

done_testing
