/* launcher/arch/unpack.c: decompressing a bzImage's payload with libarchive. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/unpack.h"

#define HDR_SETUP_SECTS		0x1f1
#define HDR_VERSION		0x206
#define HDR_PAYLOAD_OFFSET	0x248
#define HDR_PAYLOAD_LENGTH	0x24c

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

int unpack_bzimage(const uint8_t *buf, size_t len, uint8_t **out,
		   size_t *out_len, char *err, size_t errlen)
{
	struct archive_entry *entry;
	const uint8_t *payload;
	uint64_t start, plen, want;
	size_t done = 0, stream_len;
	struct archive *a;
	uint8_t *dst, extra;
	la_ssize_t n;

	*out = NULL;
	if (len < 0x260 || (buf[HDR_VERSION] | buf[HDR_VERSION + 1] << 8) < 0x0208) {
		snprintf(err, errlen, "boot protocol before 2.08 does not locate its payload");
		return -1;
	}
	start = (uint64_t)((buf[HDR_SETUP_SECTS] ? buf[HDR_SETUP_SECTS] : 4) + 1) * 512 +
		get32(buf + HDR_PAYLOAD_OFFSET);
	plen = get32(buf + HDR_PAYLOAD_LENGTH);
	if (plen < 8 || start > len || plen > len - start) {
		snprintf(err, errlen, "payload outside the file");
		return -1;
	}
	payload = buf + start;
	/* The unpacked size, appended by the kernel's build (gzip's own ISIZE). */
	want = get32(payload + plen - 4);
	if (!want || want > UNPACK_MAX) {
		snprintf(err, errlen, "payload claims %llu bytes unpacked",
			 (unsigned long long)want);
		return -1;
	}
	/* Only gzip carries the size inside its stream; elsewhere it trails it. */
	stream_len = payload[0] == 0x1f && payload[1] == 0x8b ? plen : plen - 4;

	/* Mapped: a large malloc would leave glibc's heap thresholds raised. */
	dst = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dst == MAP_FAILED)
		dst = NULL;
	a = archive_read_new();
	if (!dst || !a) {
		snprintf(err, errlen, "out of memory for %llu bytes", (unsigned long long)want);
		goto fail;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_memory(a, payload, stream_len) != ARCHIVE_OK ||
	    archive_read_next_header(a, &entry) != ARCHIVE_OK) {
		snprintf(err, errlen, "payload: %s", archive_error_string(a));
		goto fail;
	}
	if (archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE) {
		snprintf(err, errlen, "payload is not in a compression format libarchive reads");
		goto fail;
	}
	while (done < want && (n = archive_read_data(a, dst + done, want - done)) > 0)
		done += n;
	if (done == want && archive_read_data(a, &extra, 1) != 0)
		done = want + 1;
	if (done != want) {
		if (archive_errno(a) || archive_error_string(a))
			snprintf(err, errlen, "payload: %s", archive_error_string(a));
		else
			snprintf(err, errlen, "payload unpacks to %s than the %llu bytes it claims",
				 done < want ? "less" : "more", (unsigned long long)want);
		goto fail;
	}
	archive_read_free(a);
	*out = dst;
	*out_len = want;
	return 0;
fail:
	if (a)
		archive_read_free(a);
	unpack_free(dst, want);
	return -1;
}

void unpack_free(uint8_t *out, size_t out_len)
{
	if (out)
		munmap(out, out_len);
}
