#!/bin/sh
# tests/fuzz/mkseeds.sh: small valid qcow2 images (512 B clusters) as the fuzzer's starting corpus.
set -e
out=$1
mkdir -p "$out"
command -v qemu-img >/dev/null || { echo "mkseeds: no qemu-img, starting from an empty corpus" >&2; exit 0; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
qemu-img create -q -f qcow2 -o cluster_size=512 "$out/v3-empty.qcow2" 64k
qemu-img create -q -f qcow2 -o cluster_size=512,compat=0.10 "$out/v2-empty.qcow2" 64k
qemu-img create -q -f qcow2 -o cluster_size=512 "$out/v3-data.qcow2" 64k
qemu-io -f qcow2 -c "write -P 1 0 2k" -c "write -c -P 2 4k 512" -c "write -z 8k 1k" "$out/v3-data.qcow2" >/dev/null
qemu-img create -q -f qcow2 -o cluster_size=512,compression_type=zstd "$out/zstd.qcow2" 64k
qemu-io -f qcow2 -c "write -c -P 4 0 2k" -c "write -P 5 4k 512" "$out/zstd.qcow2" >/dev/null
qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=1 "$out/rb1.qcow2" 32k
qemu-io -f qcow2 -c "write -P 3 1k 3k" "$out/rb1.qcow2" >/dev/null
qemu-img create -q -f qcow2 -o cluster_size=512 -b v3-empty.qcow2 -F qcow2 "$out/backing.qcow2"
qemu-img create -q -f qcow2 -o cluster_size=512 "$out/snapshots.qcow2" 64k
qemu-io -f qcow2 -c "write -P 4 0 3k" -c "write -c -P 5 8k 512" "$out/snapshots.qcow2" >/dev/null
qemu-img snapshot -c s1 "$out/snapshots.qcow2"
qemu-io -f qcow2 -c "write -P 6 1k 2k" "$out/snapshots.qcow2" >/dev/null
qemu-img snapshot -c s2 "$out/snapshots.qcow2"
