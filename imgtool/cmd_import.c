/* imgtool/cmd_import.c: the import verb: a disk image streamed out of an archive or a compressed file. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pipeline.h"

/* Anything larger is not a disk image we should be writing out. */
#define IMPORT_MAX_SIZE	(64ull << 40)

struct import_src {
	struct archive *a;
	uint64_t limit;
	uint64_t done;
	const char *name;
};

static ssize_t import_read(void *ctx, int w, uint64_t idx, void *buf, size_t len, bool *zero)
{
	struct import_src *src = ctx;
	size_t got = 0;

	(void)w;
	(void)idx;
	(void)zero;
	while (got < len) {
		la_ssize_t n = archive_read_data(src->a, (char *)buf + got, len - got);

		if (n < 0) {
			cli_error("%s: %s", src->name, archive_error_string(src->a));
			return -EIO;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	src->done += got;
	if (src->done > src->limit) {
		cli_error("%s: the image is larger than its archive entry claims or than %llu bytes",
			  src->name, (unsigned long long)src->limit);
		return -EFBIG;
	}
	return (ssize_t)got;
}

/* Names a disk image would have inside a cloud image archive. */
static bool looks_like_disk(const char *name)
{
	static const char *ext[] = { ".raw", ".img", ".qcow2", ".vmdk", ".vhd", ".bin" };
	const char *base = strrchr(name, '/');
	size_t n;

	base = base ? base + 1 : name;
	n = strlen(base);
	if (!strncmp(base, "disk", 4))
		return true;
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t e = strlen(ext[i]);

		if (n > e && !strcmp(base + n - e, ext[i]))
			return true;
	}
	return false;
}

static int entry_is_safe(struct archive_entry *ent, const char *arch)
{
	const char *name = archive_entry_pathname(ent);
	mode_t type = archive_entry_filetype(ent);

	if (!name || !*name) {
		cli_error("%s: an entry has no name", arch);
		return 0;
	}
	if (name[0] == '/') {
		cli_error("%s: refusing entry with an absolute path: %s", arch, name);
		return 0;
	}
	for (const char *p = name; (p = strstr(p, "..")); p += 2) {
		if ((p == name || p[-1] == '/') && (p[2] == '\0' || p[2] == '/')) {
			cli_error("%s: refusing entry with '..' in its path: %s", arch, name);
			return 0;
		}
	}
	if (archive_entry_hardlink(ent) || archive_entry_symlink(ent) || type == AE_IFLNK) {
		cli_error("%s: refusing link entry: %s", arch, name);
		return 0;
	}
	return 1;
}

int cmd_import(int argc, char **argv)
{
	struct img_create_opts co = { .format = IMG_FMT_RAW };
	struct import_src src = { 0 };
	struct pipe_opts po = { 0 };
	struct archive_entry *ent;
	struct img *out = NULL;
	bool compress = false, progress = false, quiet = false, raw_stream, found = false;
	int threads = cli_default_threads(), c, ret = 1, r;
	char *tmp = NULL, *end, err[256];
	uint64_t size = UINT64_MAX;

	while ((c = getopt(argc, argv, "O:o:cpj:q")) != -1) {
		switch (c) {
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
			threads = (int)strtol(optarg, &end, 10);
			if (*end || threads < 1 || threads > 64) {
				cli_error("Invalid number of threads: '%s' (1..64)", optarg);
				return 1;
			}
			break;
		default:
			return 1;
		}
	}
	if (optind + 2 != argc) {
		cli_error("Expecting an archive and a destination file name");
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
	src.name = argv[optind];
	src.a = archive_read_new();
	if (!src.a)
		return 1;
	archive_read_support_filter_all(src.a);
	archive_read_support_format_tar(src.a);
	archive_read_support_format_zip(src.a);
	archive_read_support_format_raw(src.a);	/* a lone .gz/.xz/.zst/.bz2 stream */
	if (archive_read_open_filename(src.a, argv[optind], 1 << 20) != ARCHIVE_OK) {
		cli_error("%s: %s", argv[optind], archive_error_string(src.a));
		goto out;
	}
	while ((r = archive_read_next_header(src.a, &ent)) == ARCHIVE_OK) {
		raw_stream = archive_format(src.a) == ARCHIVE_FORMAT_RAW;
		if (raw_stream) {
			if (archive_filter_count(src.a) < 2) {
				cli_error("%s: neither an archive nor a compressed stream", argv[optind]);
				goto out;
			}
			found = true;
			break;
		}
		if (!entry_is_safe(ent, argv[optind]))
			goto out;
		if (archive_entry_filetype(ent) != AE_IFREG || !looks_like_disk(archive_entry_pathname(ent)))
			continue;
		if (!archive_entry_size_is_set(ent) || archive_entry_size(ent) <= 0 ||
		    (uint64_t)archive_entry_size(ent) > IMPORT_MAX_SIZE) {
			cli_error("%s: entry %s has an implausible size (%lld bytes)", argv[optind],
				  archive_entry_pathname(ent), (long long)archive_entry_size(ent));
			goto out;
		}
		size = (uint64_t)archive_entry_size(ent);
		found = true;
		break;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_EOF) {
		cli_error("%s: %s", argv[optind], archive_error_string(src.a));
		goto out;
	}
	if (!found) {
		cli_error("%s: no disk image (*.raw, *.img, disk*) found in the archive", argv[optind]);
		goto out;
	}
	src.limit = size == UINT64_MAX ? IMPORT_MAX_SIZE : size;
	co.size = size == UINT64_MAX ? 0 : size;
	out = cli_create_temp(argv[optind + 1], &co, &tmp);
	if (!out)
		goto out;
	po.out = out;
	po.size = size;
	po.chunk = cli_chunk_size(out);
	po.compress = compress;
	po.serial_read = true;
	po.threads = threads;
	po.progress = progress && !quiet && isatty(STDOUT_FILENO);
	po.read = import_read;
	po.ctx = &src;
	if (pipe_run(&po) < 0) {
		cli_abort_temp(out, tmp);
		goto out;
	}
	if (size == UINT64_MAX) {
		if (!po.total) {
			cli_error("%s: the stream is empty", argv[optind]);
			cli_abort_temp(out, tmp);
			goto out;
		}
		if (img_resize(out, po.total, true, err, sizeof(err)) < 0) {
			cli_error("%s", err);
			cli_abort_temp(out, tmp);
			goto out;
		}
	}
	if (cli_commit_temp(out, tmp, argv[optind + 1]) == 0)
		ret = 0;
out:
	archive_read_free(src.a);
	return ret;
}
