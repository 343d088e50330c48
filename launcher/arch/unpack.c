/* launcher/arch/unpack.c: decompressing a bzImage's payload with libarchive. */
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
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


/*
 * libarchive, opened when a kernel is first unpacked: linked in, it and its
 * own dependencies (ICU and libstdc++ among them) would be loaded, and stay
 * resident, in every kvm-launch run.
 */
struct libarchive {
	void *handle;
	struct archive *(*read_new)(void);
	int (*support_filter_all)(struct archive *);
	int (*support_format_raw)(struct archive *);
	int (*open_memory)(struct archive *, const void *, size_t);
	int (*next_header)(struct archive *, struct archive_entry **);
	int (*filter_code)(struct archive *, int);
	la_ssize_t (*read_data)(struct archive *, void *, size_t);
	const char *(*error_string)(struct archive *);
	int (*error_no)(struct archive *);
	int (*read_free)(struct archive *);
};

static int libarchive_open(struct libarchive *la, char *err, size_t errlen)
{
	void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		h = dlopen("libarchive.so", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "cannot load libarchive: %s", dlerror());
		return -1;
	}
#define SYM(field, name) (la->field = (__typeof__(la->field))dlsym(h, name))
	if (!SYM(read_new, "archive_read_new") ||
	    !SYM(support_filter_all, "archive_read_support_filter_all") ||
	    !SYM(support_format_raw, "archive_read_support_format_raw") ||
	    !SYM(open_memory, "archive_read_open_memory") ||
	    !SYM(next_header, "archive_read_next_header") ||
	    !SYM(filter_code, "archive_filter_code") ||
	    !SYM(read_data, "archive_read_data") ||
	    !SYM(error_string, "archive_error_string") ||
	    !SYM(error_no, "archive_errno") ||
	    !SYM(read_free, "archive_read_free")) {
		snprintf(err, errlen, "libarchive lacks %s", dlerror());
		dlclose(h);
		return -1;
	}
#undef SYM
	la->handle = h;
	return 0;
}

int unpack_bzimage(const uint8_t *buf, size_t len, uint8_t **out,
		   size_t *out_len, char *err, size_t errlen)
{
	struct archive_entry *entry;
	struct libarchive la;
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
	if (libarchive_open(&la, err, errlen))
		return -1;
	dst = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dst == MAP_FAILED)
		dst = NULL;
	a = la.read_new();
	if (!dst || !a) {
		snprintf(err, errlen, "out of memory for %llu bytes", (unsigned long long)want);
		goto fail;
	}
	la.support_filter_all(a);
	la.support_format_raw(a);
	if (la.open_memory(a, payload, stream_len) != ARCHIVE_OK ||
	    la.next_header(a, &entry) != ARCHIVE_OK) {
		snprintf(err, errlen, "payload: %s", la.error_string(a));
		goto fail;
	}
	if (la.filter_code(a, 0) == ARCHIVE_FILTER_NONE) {
		snprintf(err, errlen, "payload is not in a compression format libarchive reads");
		goto fail;
	}
	while (done < want && (n = la.read_data(a, dst + done, want - done)) > 0)
		done += n;
	if (done == want && la.read_data(a, &extra, 1) != 0)
		done = want + 1;
	if (done != want) {
		if (la.error_no(a) || la.error_string(a))
			snprintf(err, errlen, "payload: %s", la.error_string(a));
		else
			snprintf(err, errlen, "payload unpacks to %s than the %llu bytes it claims",
				 done < want ? "less" : "more", (unsigned long long)want);
		goto fail;
	}
	la.read_free(a);
	dlclose(la.handle);
	*out = dst;
	*out_len = want;
	return 0;
fail:
	if (a)
		la.read_free(a);
	dlclose(la.handle);
	unpack_free(dst, want);
	return -1;
}

void unpack_free(uint8_t *out, size_t out_len)
{
	if (out)
		munmap(out, out_len);
}
