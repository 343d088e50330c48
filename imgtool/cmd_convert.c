/* imgtool/cmd_convert.c: the convert and compare verbs. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "pipeline.h"

struct conv_src {
	struct img **h;		/* one handle per worker: reads run in parallel */
	size_t chunk;
	struct pipe_extents ext;	/* the source's block status */
	/* convert -B: only what differs from the output's backing file is written */
	struct img **base;	/* that file (and its chain), one handle per worker */
	uint8_t **bbuf;		/* a chunk of it, per worker */
	bool same_chain;	/* it is also the source's own backing file */
	bool *from_base;	/* per worker: the chunk just read comes from it */
	struct pipe_extents bext;	/* its block status */
};

static ssize_t conv_read(void *ctx, int w, uint64_t idx, void *buf, size_t len, bool *zero)
{
	struct conv_src *src = ctx;
	unsigned flags;
	int ret;

	if (pipe_extent(&src->ext, src->h[w], idx * src->chunk, len, &flags) == 0) {
		/* Holes and zero clusters need neither reading nor scanning. */
		if (flags == IMG_EXT_ZERO) {
			*zero = true;
			return (ssize_t)len;
		}
		/* What the source takes from the new backing file, the output will too. */
		if (src->same_chain && (flags & IMG_EXT_BACKING)) {
			src->from_base[w] = true;
			*zero = true;	/* nothing read: conv_sort knows */
			return (ssize_t)len;
		}
	}
	ret = img_pread(src->h[w], buf, len, idx * src->chunk);

	return ret < 0 ? ret : (ssize_t)len;
}

/* convert -B: compare each output cluster with what the backing file holds there. */
static int conv_sort(void *ctx, int w, uint64_t idx, const void *buf, size_t len, size_t g,
		     uint8_t *what)
{
	struct conv_src *src = ctx;
	uint64_t off = idx * src->chunk, bsize = img_get_size(src->base[w]);
	size_t nc = (len + g - 1) / g, blen = off < bsize ? (bsize - off < len ? bsize - off : len) : 0;
	uint8_t *bb = src->bbuf[w];
	unsigned flags;
	bool bzero;

	if (src->from_base[w]) {
		src->from_base[w] = false;
		memset(what, PIPE_SKIP, nc);
		return 0;
	}
	bzero = !blen || (pipe_extent(&src->bext, src->base[w], off, blen, &flags) == 0 &&
			  flags == IMG_EXT_ZERO);
	if (!bzero) {
		int ret = img_pread(src->base[w], bb, blen, off);

		if (ret)
			return ret;
		memset(bb + blen, 0, len - blen);
	}
	for (size_t i = 0; i < nc; i++) {
		size_t a = i * g, n = len - a < g ? len - a : g;
		bool szero = !buf || cli_is_zero((const uint8_t *)buf + a, n);
		bool base_zero = bzero || cli_is_zero(bb + a, n);

		if (szero)
			what[i] = base_zero ? PIPE_SKIP : PIPE_ZERO;
		else
			what[i] = !base_zero && !memcmp((const uint8_t *)buf + a, bb + a, n) ?
				  PIPE_SKIP : PIPE_DATA;
	}
	return 0;
}

/* A backing file name as the image at path sees it: relative to its directory. */
static char *backing_path(const char *name, const char *path)
{
	char *dup, *full = NULL;

	if (name[0] == '/')
		return strdup(name);
	dup = strdup(path);
	if (dup && asprintf(&full, "%s/%s", dirname(dup), name) < 0)
		full = NULL;
	free(dup);
	return full;
}

/*
 * Is the new backing file (as base sees it) also the source's own? Then the
 * clusters the source takes from its backing chain need no comparing.
 */
static bool same_backing(struct img *src, const char *src_path, struct img *base, const char *base_path)
{
	struct img_info info;
	struct stat a, b;
	struct img *sb;
	char *p, err[256];
	bool same = false;

	img_get_info(src, &info);
	if (!info.backing_file[0] || !(p = backing_path(info.backing_file, src_path)))
		return false;
	if (stat(p, &a) == 0 && stat(base_path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		enum img_format f = IMG_FMT_AUTO;

		/* Read as the same format, too. */
		if (!info.backing_format[0] || img_parse_format(info.backing_format, &f) == 0) {
			sb = img_open(p, f, IMG_OPEN_RDONLY | IMG_OPEN_NO_BACKING, err, sizeof(err));
			same = sb && img_get_format(sb) == img_get_format(base);
			img_close(sb);
		}
	}
	free(p);
	return same;
}

/* convert -B: per-worker handles on the output's backing file, as the output will see it. */
static int open_base(struct conv_src *src, int threads, const struct img_create_opts *co,
		     const char *src_path, const char *dst)
{
	char *p = backing_path(co->backing_file, dst), err[512];

	src->base = calloc((size_t)threads, sizeof(*src->base));
	src->bbuf = calloc((size_t)threads, sizeof(*src->bbuf));
	src->from_base = calloc((size_t)threads, sizeof(*src->from_base));
	if (!p || !src->base || !src->bbuf || !src->from_base) {
		free(p);
		cli_error("out of memory");
		return -1;
	}
	for (int i = 0; i < threads; i++) {
		src->base[i] = img_open(p, co->backing_format, IMG_OPEN_RDONLY, err, sizeof(err));
		src->bbuf[i] = malloc(src->chunk);
		if (!src->base[i] || !src->bbuf[i]) {
			cli_error("Could not open backing file '%s': %s", p, src->base[i] ? "out of memory" : err);
			free(p);
			return -1;
		}
	}
	src->same_chain = same_backing(src->h[0], src_path, src->base[0], p);
	free(p);
	return 0;
}

static void close_base(struct conv_src *src, int threads)
{
	for (int i = 0; src->base && i < threads; i++) {
		img_close(src->base[i]);
		if (src->bbuf)
			free(src->bbuf[i]);
	}
	free(src->base);
	free(src->bbuf);
	free(src->from_base);
}

/* Shared by convert and import: -o for the output image. */
int cli_out_opts(char *s, struct img_create_opts *o)
{
	for (char *save = NULL, *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		uint64_t n;

		if (v)
			*v++ = '\0';
		if (v && !strcmp(kv, "cluster_size") && img_parse_size(v, &n) == 0 && n <= (2u << 20)) {
			o->cluster_size = (uint32_t)n;
		} else if (v && !strcmp(kv, "compression_type")) {
			if (cli_parse_compression(v, &o->compression) < 0)
				return -1;
		} else if (v && !strcmp(kv, "compat") && !strcmp(v, "1.1")) {
			continue;
		} else {
			cli_error("Invalid option '%s'%s", kv, v ? "" : " (needs a value)");
			return -1;
		}
	}
	return 0;
}

int cmd_convert(int argc, char **argv)
{
	enum img_format sfmt = IMG_FMT_AUTO;
	struct img_create_opts co = { .format = IMG_FMT_RAW };
	struct pipe_opts po = { 0 };
	struct conv_src src = { 0 };
	int threads = cli_default_threads(), c, ret = 1;
	bool compress = false, progress = false, quiet = false;
	char err[512], *tmp = NULL, *end, *bfmt = NULL;
	struct img *out = NULL;

	while ((c = getopt(argc, argv, "f:O:o:cpj:qm:WB:F:")) != -1) {
		switch (c) {
		case 'f':
			if (cli_parse_format(optarg, &sfmt) < 0)
				return 1;
			break;
		case 'O':
			if (cli_parse_format(optarg, &co.format) < 0)
				return 1;
			break;
		case 'o':
			if (cli_out_opts(optarg, &co) < 0)
				return 1;
			break;
		case 'c':
			compress = true;
			break;
		case 'p':
			progress = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'j':
		case 'm':	/* qemu-img's "coroutines": here, threads */
			threads = (int)strtol(optarg, &end, 10);
			if (*end || threads < 1 || threads > 64) {
				cli_error("Invalid number of threads: '%s' (1..64)", optarg);
				return 1;
			}
			break;
		case 'W':
			break;	/* out-of-order writes: ours are always ordered */
		case 'B':
			co.backing_file = optarg;
			break;
		case 'F':
			bfmt = optarg;
			break;
		default:
			return 1;
		}
	}
	if (optind + 2 != argc) {
		cli_error("Expecting a source and a destination file name");
		return 1;
	}
	if (compress && co.format != IMG_FMT_QCOW2) {
		cli_error("Compression not supported for this file format");
		return 1;
	}
	if (co.compression && co.format != IMG_FMT_QCOW2) {
		cli_error("Invalid parameter 'compression_type'");
		return 1;
	}
	if (co.backing_file && co.format != IMG_FMT_QCOW2) {
		cli_error("Backing file not supported for file format '%s'", img_format_name(co.format));
		return 1;
	}
	if (bfmt && !co.backing_file) {
		cli_error("Backing format cannot be used without backing file");
		return 1;
	}
	if (bfmt && cli_parse_format(bfmt, &co.backing_format) < 0)
		return 1;
	src.h = calloc((size_t)threads, sizeof(*src.h));
	if (!src.h)
		return 1;
	pipe_extents_init(&src.ext);
	pipe_extents_init(&src.bext);
	for (int i = 0; i < threads; i++) {
		src.h[i] = img_open(argv[optind], sfmt, IMG_OPEN_RDONLY, err, sizeof(err));
		if (!src.h[i]) {
			cli_error("Could not open '%s': %s", argv[optind], err);
			goto out;
		}
	}
	co.size = img_get_size(src.h[0]);
	out = cli_create_temp(argv[optind + 1], &co, &tmp);
	if (!out)
		goto out;
	po.out = out;
	po.size = co.size;
	po.chunk = cli_chunk_size(out);
	po.compress = compress;
	po.threads = threads;
	po.progress = progress && !quiet && isatty(STDOUT_FILENO);
	po.read = conv_read;
	po.ctx = &src;
	src.chunk = po.chunk;
	if (co.backing_file) {
		if (open_base(&src, threads, &co, argv[optind], argv[optind + 1]) < 0) {
			cli_abort_temp(out, tmp);
			goto out;
		}
		po.sort = conv_sort;
	}
	if (pipe_run(&po) < 0) {
		cli_abort_temp(out, tmp);
		goto out;
	}
	if (cli_commit_temp(out, tmp, argv[optind + 1]) == 0)
		ret = 0;
out:
	close_base(&src, threads);
	pipe_extents_destroy(&src.ext);
	pipe_extents_destroy(&src.bext);
	for (int i = 0; i < threads; i++)
		img_close(src.h[i]);
	free(src.h);
	return ret;
}

/* Is [off, end) of img all zeros? Sets *where to the first non-zero byte. */
static int tail_is_zero(struct img *img, uint64_t off, uint64_t end, uint8_t *buf, size_t blen,
			uint64_t *where)
{
	while (off < end) {
		size_t n = end - off < blen ? (size_t)(end - off) : blen;
		int ret = img_pread(img, buf, n, off);

		if (ret)
			return ret;
		for (size_t i = 0; i < n; i++) {
			if (buf[i]) {
				*where = off + i;
				return 1;
			}
		}
		off += n;
	}
	return 0;
}

int cmd_compare(int argc, char **argv)
{
	enum img_format fa = IMG_FMT_AUTO, fb = IMG_FMT_AUTO;
	bool strict = false, quiet = false;
	const size_t blen = 1u << 20;
	uint8_t *ba = NULL, *bb = NULL;
	struct img *a = NULL, *b = NULL;
	uint64_t sa, sb, common, where = 0;
	char err[512];
	int c, ret = 2;

	while ((c = getopt(argc, argv, "f:F:sq")) != -1) {
		if (c == 'f' || c == 'F') {
			if (cli_parse_format(optarg, c == 'f' ? &fa : &fb) < 0)
				return 2;
		} else if (c == 's') {
			strict = true;
		} else if (c == 'q') {
			quiet = true;
		} else {
			return 2;
		}
	}
	if (optind + 2 != argc) {
		cli_error("Expecting two image file names");
		return 2;
	}
	a = img_open(argv[optind], fa, IMG_OPEN_RDONLY, err, sizeof(err));
	if (!a) {
		cli_error("Could not open '%s': %s", argv[optind], err);
		return 2;
	}
	b = img_open(argv[optind + 1], fb, IMG_OPEN_RDONLY, err, sizeof(err));
	if (!b) {
		cli_error("Could not open '%s': %s", argv[optind + 1], err);
		goto out;
	}
	ba = malloc(blen);
	bb = malloc(blen);
	if (!ba || !bb)
		goto out;
	sa = img_get_size(a);
	sb = img_get_size(b);
	if (sa != sb && strict) {
		if (!quiet)
			printf("Strict mode: Image size mismatch!\n");
		ret = 1;
		goto out;
	}
	common = sa < sb ? sa : sb;
	for (uint64_t off = 0; off < common;) {
		size_t n = common - off < blen ? (size_t)(common - off) : blen;
		struct img_extent ea, eb;

		/* Ranges that read as zeros in both need no reading: sparse disks. */
		if (img_block_status(a, off, common - off, &ea) == 0 && img_block_status(b, off, common - off, &eb) == 0 &&
		    ea.flags == IMG_EXT_ZERO && eb.flags == IMG_EXT_ZERO) {
			off += ea.len < eb.len ? ea.len : eb.len;
			continue;
		}
		if (img_pread(a, ba, n, off) || img_pread(b, bb, n, off)) {
			cli_error("Error while reading offset %llu", (unsigned long long)off);
			goto out;
		}
		if (memcmp(ba, bb, n)) {
			size_t i = 0;

			while (ba[i] == bb[i])
				i++;
			if (!quiet)
				printf("Content mismatch at offset %llu!\n", (unsigned long long)(off + i));
			ret = 1;
			goto out;
		}
		off += n;
	}
	if (sa != sb) {
		struct img *big = sa > sb ? a : b;
		int z;

		if (!quiet)
			printf("Warning: Image size mismatch!\n");
		z = tail_is_zero(big, common, sa > sb ? sa : sb, ba, blen, &where);
		if (z < 0) {
			cli_error("Error while reading offset %llu", (unsigned long long)common);
			goto out;
		}
		if (z) {
			if (!quiet)
				printf("Content mismatch at offset %llu!\n", (unsigned long long)where);
			ret = 1;
			goto out;
		}
	}
	if (!quiet)
		printf("Images are identical.\n");
	ret = 0;
out:
	free(ba);
	free(bb);
	img_close(a);
	img_close(b);
	return ret;
}
