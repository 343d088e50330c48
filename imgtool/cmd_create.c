/* imgtool/cmd_create.c: the create, info and resize verbs. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* compression_type=zlib|zstd, shared by create, convert and measure. */
int cli_parse_compression(const char *s, enum img_compression *c)
{
	if (!strcmp(s, "zlib")) {
		*c = IMG_COMPRESSION_ZLIB;
	} else if (!strcmp(s, "zstd")) {
		*c = IMG_COMPRESSION_ZSTD;
	} else {
		cli_error("Parameter 'compression-type' does not accept value '%s'", s);
		return -1;
	}
	return 0;
}

const char *cli_compression_name(enum img_compression c)
{
	return c == IMG_COMPRESSION_ZSTD ? "zstd" : "zlib";
}

/* -o key=value[,key=value...]: the qcow2 creation options qemu-img knows. */
static int parse_create_opts(char *s, struct img_create_opts *o, char **bfmt)
{
	for (char *save = NULL, *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		uint64_t n;

		if (!v) {
			cli_error("Invalid option list: '%s' needs a value", kv);
			return -1;
		}
		*v++ = '\0';
		if (!strcmp(kv, "cluster_size")) {
			if (img_parse_size(v, &n) < 0 || n > (2u << 20)) {
				cli_error("Invalid cluster_size '%s'", v);
				return -1;
			}
			o->cluster_size = (uint32_t)n;
		} else if (!strcmp(kv, "backing") || !strcmp(kv, "backing_file")) {
			o->backing_file = v;
		} else if (!strcmp(kv, "backing_fmt")) {
			*bfmt = v;
		} else if (!strcmp(kv, "size")) {
			if (img_parse_size(v, &o->size) < 0) {
				cli_error("Invalid size '%s'", v);
				return -1;
			}
		} else if (!strcmp(kv, "compat")) {
			if (strcmp(v, "1.1") && strcmp(v, "v3")) {
				cli_error("compat=%s: only compat=1.1 (qcow2 version 3) can be written", v);
				return -1;
			}
		} else if (!strcmp(kv, "refcount_bits")) {
			if (strcmp(v, "16")) {
				cli_error("refcount_bits=%s: only 16 can be written", v);
				return -1;
			}
		} else if (!strcmp(kv, "compression_type")) {
			if (cli_parse_compression(v, &o->compression) < 0)
				return -1;
		} else {
			cli_error("Invalid parameter '%s'", kv);
			return -1;
		}
	}
	return 0;
}

int cmd_create(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "force", no_argument, NULL, 'Y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct img_create_opts o = { .format = IMG_FMT_QCOW2 };
	char *bfmt = NULL, err[512], sz[32];
	bool quiet = false;
	int c;

	while ((c = getopt_long(argc, argv, "f:b:F:o:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (cli_parse_format(optarg, &o.format) < 0)
				return 1;
			break;
		case 'b':
			o.backing_file = optarg;
			break;
		case 'F':
			bfmt = optarg;
			break;
		case 'o':
			if (parse_create_opts(optarg, &o, &bfmt) < 0)
				return 1;
			break;
		case 'q':
			quiet = true;
			break;
		case 'Y':
			o.force = true;
			break;
		case 'h':
			printf("usage: imgtool create [-q] [-f FMT] [-b BACKING [-F FMT]] [-o OPTS] [--force] FILE [SIZE]\n");
			return 0;
		default:
			return 1;
		}
	}
	if (optind >= argc) {
		cli_error("Expecting image file name");
		return 1;
	}
	if (optind + 1 < argc && img_parse_size(argv[optind + 1], &o.size) < 0) {
		cli_error("Invalid image size specified. You may use k, M, G, T, P or E suffixes for");
		fprintf(stderr, "imgtool: kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.\n");
		return 1;
	}
	if (optind + 2 < argc) {
		cli_error("Unexpected argument: %s", argv[optind + 2]);
		return 1;
	}
	if (optind + 1 >= argc && !o.backing_file) {
		cli_error("Image creation needs a size parameter");
		return 1;
	}
	if (bfmt && cli_parse_format(bfmt, &o.backing_format) < 0)
		return 1;
	if (o.format == IMG_FMT_RAW && (o.backing_file || o.cluster_size || o.compression)) {
		cli_error("raw images take no backing file, cluster size or compression type");
		return 1;
	}
	if (!quiet) {
		cli_size_str(o.size, sz, sizeof(sz));
		printf("Formatting '%s', fmt=%s", argv[optind], img_format_name(o.format));
		if (o.format == IMG_FMT_QCOW2)
			printf(" cluster_size=%u", o.cluster_size ? o.cluster_size : 65536);
		if (o.compression == IMG_COMPRESSION_ZSTD)
			printf(" compression_type=zstd");
		if (o.backing_file)
			printf(" backing_file=%s", o.backing_file);
		printf(" size=%llu\n", (unsigned long long)o.size);
	}
	if (img_create(argv[optind], &o, err, sizeof(err)) < 0) {
		if (!o.force && !strncmp(err, "could not create", 16) && strstr(err, "File exists"))
			cli_error("%s (use --force to overwrite)", err);
		else
			cli_error("%s", err);
		return 1;
	}
	return 0;
}

static struct img *open_or_report(const char *path, enum img_format fmt, unsigned flags)
{
	char err[512];
	struct img *img = img_open(path, fmt, flags, err, sizeof(err));

	if (!img)
		cli_error("Could not open '%s': %s", path, err);
	return img;
}

static void info_human(const char *path, const struct img_info *in,
		       const struct img_snapshot *snaps, int nsnaps)
{
	char a[32], b[32], full[4096];

	cli_size_str(in->virtual_size, a, sizeof(a));
	cli_size_str(in->disk_size, b, sizeof(b));
	printf("image: %s\nfile format: %s\nvirtual size: %s (%llu bytes)\ndisk size: %s\n",
	       path, img_format_name(in->format), a, (unsigned long long)in->virtual_size, b);
	if (in->format != IMG_FMT_QCOW2)
		return;
	printf("cluster_size: %u\n", in->cluster_size);
	if (in->dirty)
		printf("cleanly shut down: no\n");
	if (in->backing_file[0]) {
		cli_backing_path(path, in->backing_file, full, sizeof(full));
		printf("backing file: %s", in->backing_file);
		if (strcmp(full, in->backing_file))
			printf(" (actual path: %s)", full);
		printf("\n");
		if (in->backing_format[0])
			printf("backing file format: %s\n", in->backing_format);
	}
	cli_print_snapshots(snaps, nsnaps);
	printf("Format specific information:\n    compat: %s\n    compression type: %s\n",
	       in->qcow2_version == 2 ? "0.10" : "1.1", cli_compression_name(in->compression));
	if (in->qcow2_version == 2) {
		/* all that qemu-img shows for version 2 */
		printf("    refcount bits: %d\n", in->refcount_bits);
		return;
	}
	printf("    lazy refcounts: %s\n    refcount bits: %d\n    corrupt: %s\n    extended l2: false\n",
	       in->lazy_refcounts ? "true" : "false", in->refcount_bits,
	       in->corrupt ? "true" : "false");
}

/*
 * qemu-img's keys in its order: the order of their buckets in qemu's QDict
 * hash table, which holds for any subset of them. A snapshot's "icount"
 * is there only when the snapshot recorded one.
 */
static void json_snapshots(const struct img_snapshot *l, int n)
{
	printf("\n    \"snapshots\": [");
	for (int i = 0; i < n; i++) {
		printf("%s\n        {\n", i ? "," : "");
		if (l[i].icount != UINT64_MAX)
			printf("            \"icount\": %" PRId64 ",\n", (int64_t)l[i].icount);
		printf("            \"vm-clock-nsec\": %" PRIu64 ",\n            \"name\": ",
		       l[i].vm_clock_nsec % 1000000000);
		cli_json_string(stdout, l[i].name);
		printf(",\n            \"date-sec\": %" PRIu32 ",\n            \"date-nsec\": %" PRIu32
		       ",\n            \"vm-clock-sec\": %" PRIu64 ",\n            \"id\": ",
		       l[i].date_sec, l[i].date_nsec, l[i].vm_clock_nsec / 1000000000);
		cli_json_string(stdout, l[i].id);
		printf(",\n            \"vm-state-size\": %" PRIu64 "\n        }", l[i].vm_state_size);
	}
	printf("\n    ],");
}

static void info_json(const char *path, const struct img_info *in,
		      const struct img_snapshot *snaps, int nsnaps)
{
	bool backing = in->format == IMG_FMT_QCOW2 && in->backing_file[0];
	char full[4096];

	printf("{");
	if (backing && in->backing_format[0])
		printf("\n    \"backing-filename-format\": \"%s\",", in->backing_format);
	if (nsnaps > 0)
		json_snapshots(snaps, nsnaps);
	printf("\n    \"virtual-size\": %llu,\n    \"filename\": ", (unsigned long long)in->virtual_size);
	cli_json_string(stdout, path);
	if (in->format == IMG_FMT_QCOW2)
		printf(",\n    \"cluster-size\": %u", in->cluster_size);
	printf(",\n    \"format\": \"%s\"", img_format_name(in->format));
	printf(",\n    \"actual-size\": %llu", (unsigned long long)in->disk_size);
	if (in->format == IMG_FMT_QCOW2) {
		printf(",\n    \"format-specific\": {\n        \"type\": \"qcow2\",\n        \"data\": {\n"
		       "            \"compat\": \"%s\",\n            \"compression-type\": \"%s\",\n",
		       in->qcow2_version == 2 ? "0.10" : "1.1", cli_compression_name(in->compression));
		if (in->qcow2_version == 2)
			printf("            \"refcount-bits\": %d", in->refcount_bits);
		else
			printf("            \"lazy-refcounts\": %s,\n            \"refcount-bits\": %d,\n"
			       "            \"corrupt\": %s,\n            \"extended-l2\": false",
			       in->lazy_refcounts ? "true" : "false", in->refcount_bits,
			       in->corrupt ? "true" : "false");
		printf("\n        }\n    }");
	}
	if (backing) {
		cli_backing_path(path, in->backing_file, full, sizeof(full));
		printf(",\n    \"full-backing-filename\": ");
		cli_json_string(stdout, full);
		printf(",\n    \"backing-filename\": ");
		cli_json_string(stdout, in->backing_file);
	}
	printf(",\n    \"dirty-flag\": %s\n}\n", in->dirty ? "true" : "false");
}

int cmd_info(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	enum img_format fmt = IMG_FMT_AUTO;
	struct img_snapshot *snaps;
	struct img_info in;
	char err[512];
	int nsnaps;
	struct img *img;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "f:", lo, NULL)) != -1) {
		if (c == 'f') {
			if (cli_parse_format(optarg, &fmt) < 0)
				return 1;
		} else if (c == 'O') {
			if (!strcmp(optarg, "json")) {
				json = true;
			} else if (strcmp(optarg, "human")) {
				cli_error("--output must be used with human or json as argument.");
				return 1;
			}
		} else {
			return 1;
		}
	}
	if (optind + 1 != argc) {
		cli_error("Expecting one image file name");
		return 1;
	}
	img = open_or_report(argv[optind], fmt, IMG_OPEN_RDONLY | IMG_OPEN_NO_BACKING);
	if (!img)
		return 1;
	img_get_info(img, &in);
	nsnaps = img_snapshot_list(img, &snaps, err, sizeof(err));
	if (nsnaps < 0) {
		cli_error("Could not list the snapshots of '%s': %s", argv[optind], err);
		img_close(img);
		return 1;
	}
	if (json)
		info_json(argv[optind], &in, snaps, nsnaps);
	else
		info_human(argv[optind], &in, snaps, nsnaps);
	img_snapshot_list_free(snaps, nsnaps);
	img_close(img);
	return 0;
}

int cmd_resize(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "shrink", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	enum img_format fmt = IMG_FMT_AUTO;
	bool shrink = false, quiet = false;
	uint64_t size, delta;
	char err[512], *arg;
	struct img *img;
	int c, sign = 0;

	/* "-1G" is a size, not an option: stop option parsing at the file name. */
	while ((c = getopt_long(argc, argv, "+f:q", lo, NULL)) != -1) {
		if (c == 'f') {
			if (cli_parse_format(optarg, &fmt) < 0)
				return 1;
		} else if (c == 'q') {
			quiet = true;
		} else if (c == 'S') {
			shrink = true;
		} else {
			return 1;
		}
	}
	if (optind + 2 != argc) {
		cli_error("Expecting image file name and size");
		return 1;
	}
	arg = argv[optind + 1];
	if (*arg == '+' || *arg == '-')
		sign = *arg++ == '+' ? 1 : -1;
	if (img_parse_size(arg, &delta) < 0) {
		cli_error("Invalid image size specified: '%s'", argv[optind + 1]);
		return 1;
	}
	img = open_or_report(argv[optind], fmt, 0);
	if (!img)
		return 1;
	size = delta;
	if (sign > 0)
		size = img_get_size(img) + delta;
	else if (sign < 0) {
		if (delta > img_get_size(img)) {
			cli_error("New image size must be positive");
			img_close(img);
			return 1;
		}
		size = img_get_size(img) - delta;
	}
	if (img_resize(img, size, shrink, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		img_close(img);
		return 1;
	}
	img_close(img);
	if (!quiet)
		printf("Image resized.\n");
	return 0;
}
