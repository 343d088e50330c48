/* launcher/arch/unpack.h: unpacking a bzImage's compressed kernel in the launcher. */
#ifndef ARCH_UNPACK_H
#define ARCH_UNPACK_H

#include <stddef.h>
#include <stdint.h>

/* The unpacked kernel is at most this large (the decompressor's own limit is lower). */
#define UNPACK_MAX	(1ULL << 30)

/*
 * Locate the payload of the bzImage held in buf (payload_offset/length of
 * boot protocol 2.08+) and decompress it with libarchive (gzip, xz, lzma,
 * bzip2, lzo, lz4 and zstd, as the kernel's build makes them). The kernel
 * appends the unpacked size to the payload; the result must match it.
 * Returns 0 and *out of *out_len bytes (mapped, not malloc'd), or -1 with err.
 */
int unpack_bzimage(const uint8_t *buf, size_t len, uint8_t **out,
		   size_t *out_len, char *err, size_t errlen);

/* Give back what unpack_bzimage returned (NULL is fine). */
void unpack_free(uint8_t *out, size_t out_len);

#endif
