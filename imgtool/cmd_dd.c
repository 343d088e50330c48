/* imgtool/cmd_dd.c: the dd verb: a range of an image copied into a new one, with qemu-img dd's operands. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pipeline.h"

#define DD_BS_MAX	2147483647ull		/* qemu-img's limit: an int */
#define DD_NUM_MAX	9223372036854775807ull	/* count and skip: an int64 */

struct dd_src {
	struct img **h;		/* one handle per worker: reads run in parallel */
	uint64_t start;		/* input offset of the first byte copied */
	uint64_t in_size;	/* what the input holds; past it, up to its last sector, zeros */
	size_t chunk;
	struct pipe_extents ext;	/* the input's block status */
};

static ssize_t dd_read(void *ctx, int w, uint64_t idx, void *buf, size_t len, bool *zero)
{
	struct dd_src *src = ctx;
	uint64_t off = src->start + idx * src->chunk;
	size_t n = off >= src->in_size ? 0 : src->in_size - off < len ? (size_t)(src->in_size - off) : len;
	unsigned flags;
	int ret;

	if (!n || (pipe_extent(&src->ext, src->h[w], off, n, &flags) == 0 && flags == IMG_EXT_ZERO)) {
		*zero = true;
		return (ssize_t)len;
	}
	ret = img_pread(src->h[w], buf, n, off);
	if (ret)
		return ret;
	memset((uint8_t *)buf + n, 0, len - n);
	return (ssize_t)len;
}

/* bs=, count=, skip=: qemu-img's sizes, with its messages. */
static int dd_number(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	int ret = img_parse_size(v, out);

	if (ret < 0 && ret != -ERANGE) {
		cli_error("Invalid %s specified. You may use k, M, G, T, P or E suffixes for", name);
		cli_error("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
		return -1;
	}
	if (ret == -ERANGE || *out < min || *out > max) {
		cli_error("Invalid %s specified. Must be between %llu and %llu.", name,
			  (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	return 0;
}

int cmd_dd(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	struct img_create_opts co = { .format = IMG_FMT_RAW };
	enum img_format ifmt = IMG_FMT_AUTO;
	uint64_t bs = 512, count = 0, skip = 0, size, start;
	bool has_count = false, has_skip = false, skip_past = false;
	const char *in_path = NULL, *out_path = NULL;
	int threads = cli_default_threads(), c, ret = 1;
	struct pipe_opts po = { 0 };
	struct dd_src src = { 0 };
	struct img *out = NULL;
	char err[512], *tmp = NULL;

	while ((c = getopt_long(argc, argv, "f:O:U", lo, NULL)) != -1) {
		if (c == 'f') {
			if (cli_parse_format(optarg, &ifmt) < 0)
				return 1;
		} else if (c == 'O') {
			if (cli_parse_format(optarg, &co.format) < 0)
				return 1;
		} else if (c != 'U') {
			return 1;
		}
	}
	for (int i = optind; i < argc; i++) {
		const char *v = strchr(argv[i], '=');
		size_t klen = v ? (size_t)(v - argv[i]) : strlen(argv[i]);
		int r = 0;

		if (v && klen == 2 && !strncmp(argv[i], "bs", 2)) {
			r = dd_number("bs", v + 1, 1, DD_BS_MAX, &bs);
		} else if (v && klen == 5 && !strncmp(argv[i], "count", 5)) {
			r = dd_number("count", v + 1, 0, DD_NUM_MAX, &count);
			has_count = true;
		} else if (v && klen == 4 && !strncmp(argv[i], "skip", 4)) {
			r = dd_number("skip", v + 1, 0, DD_NUM_MAX, &skip);
			has_skip = true;
		} else if (v && klen == 2 && !strncmp(argv[i], "if", 2)) {
			in_path = v + 1;
		} else if (v && klen == 2 && !strncmp(argv[i], "of", 2)) {
			out_path = v + 1;
		} else {
			cli_error("unrecognized operand %.*s", (int)klen, argv[i]);
			return 1;
		}
		if (r < 0)
			return 1;
	}
	if (!in_path || !out_path) {
		cli_error("Must specify both input and output files");
		return 1;
	}
	src.h = calloc((size_t)threads, sizeof(*src.h));
	if (!src.h)
		return 1;
	pipe_extents_init(&src.ext);
	for (int i = 0; i < threads; i++) {
		src.h[i] = img_open(in_path, ifmt, IMG_OPEN_RDONLY, err, sizeof(err));
		if (!src.h[i]) {
			cli_error("Could not open '%s': %s", in_path, err);
			goto out;
		}
	}
	/*
	 * qemu-img's sizes: the input in whole sectors; count cuts that from
	 * the input's start, and skip then comes off it, so count=2 skip=1
	 * copies one block. A skip past the end gives an empty image.
	 */
	src.in_size = img_get_size(src.h[0]);
	size = (src.in_size + 511) & ~511ull;
	if (has_count && count <= DD_NUM_MAX / bs && count * bs < size)
		size = count * bs;
	if (has_skip && (skip > DD_NUM_MAX / bs || size < skip * bs)) {
		skip_past = true;
		start = size;
	} else {
		start = skip * bs;
	}
	co.size = size - start;
	out = cli_create_temp(out_path, &co, &tmp);
	if (!out)
		goto out;
	if (skip_past)
		cli_error("%s: cannot skip to specified offset", in_path);
	src.start = start;
	po.out = out;
	po.size = size - start;
	po.chunk = cli_chunk_size(out);
	po.threads = threads;
	po.read = dd_read;
	po.ctx = &src;
	src.chunk = po.chunk;
	if (pipe_run(&po) < 0) {
		cli_abort_temp(out, tmp);
		goto out;
	}
	if (cli_commit_temp(out, tmp, out_path) == 0)
		ret = 0;
out:
	for (int i = 0; i < threads; i++)
		img_close(src.h[i]);
	free(src.h);
	pipe_extents_destroy(&src.ext);
	return ret;
}
