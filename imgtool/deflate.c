/* imgtool/deflate.c: per-thread raw-deflate state for compressed qcow2 clusters. */
#include <stdlib.h>
#include <zlib.h>

#include "img.h"

/* qemu's qcow2 compression: default level, raw deflate, 4 KiB window. */
#define QCOW2_DEFLATE_WBITS	(-12)
#define QCOW2_DEFLATE_MEMLEVEL	9

struct img_deflate {
	z_stream zs;
};

struct img_deflate *img_deflate_new(void)
{
	struct img_deflate *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (deflateInit2(&d->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, QCOW2_DEFLATE_WBITS,
			 QCOW2_DEFLATE_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(d);
		return NULL;
	}
	return d;
}

void img_deflate_free(struct img_deflate *d)
{
	if (!d)
		return;
	deflateEnd(&d->zs);
	free(d);
}

size_t img_deflate_cluster(struct img_deflate *d, const void *in, size_t len,
			   void *out, size_t outlen)
{
	size_t n;
	int ret;

	/* Reset rather than re-init: deflateInit2 allocates ~270 KiB each time. */
	if (deflateReset(&d->zs) != Z_OK)
		return 0;
	d->zs.next_in = (Bytef *)in;
	d->zs.avail_in = (uInt)len;
	d->zs.next_out = out;
	d->zs.avail_out = (uInt)(outlen < len ? outlen : len - 1);
	ret = deflate(&d->zs, Z_FINISH);
	if (ret != Z_STREAM_END)
		return 0;
	n = (size_t)(d->zs.next_out - (Bytef *)out);
	return n < len ? n : 0;
}
