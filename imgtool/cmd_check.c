/* imgtool/cmd_check.c: the check and map verbs. */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cli.h"

/* Exit codes as qemu-img check documents them. */
#define CHECK_OK		0
#define CHECK_FAILED		1
#define CHECK_CORRUPT		2
#define CHECK_LEAKS		3
#define CHECK_UNSUPPORTED	63

static void json_key(bool *first, const char *key)
{
	printf("%s\n    \"%s\": ", *first ? "{" : ",", key);
	*first = false;
}

/* An optional count: qemu-img leaves out the ones that are 0. */
static void json_count(bool *first, const char *key, uint64_t v)
{
	if (v) {
		json_key(first, key);
		printf("%llu", (unsigned long long)v);
	}
}

/*
 * What qemu-img check prints. In JSON the keys come in the order of qemu's
 * QDict buckets, and every count but check-errors only when it is not 0;
 * corrupt and leaks are what remains, the fixed ones from the repair pass.
 */
static void print_result(const char *path, const struct img_check_result *r, uint64_t corrupt,
			 uint64_t leaks, uint64_t corrupt_fixed, uint64_t leaks_fixed, bool json)
{
	if (json) {
		bool first = true;

		json_count(&first, "image-end-offset", r->image_end_offset);
		json_count(&first, "compressed-clusters", r->compressed_clusters);
		json_count(&first, "total-clusters", r->total_clusters);
		json_count(&first, "corruptions", corrupt);
		json_count(&first, "corruptions-fixed", corrupt_fixed);
		json_key(&first, "check-errors");
		printf("%llu", (unsigned long long)r->check_errors);
		json_count(&first, "leaks", leaks);
		json_count(&first, "leaks-fixed", leaks_fixed);
		json_count(&first, "allocated-clusters", r->allocated_clusters);
		json_key(&first, "filename");
		cli_json_string(stdout, path);
		json_key(&first, "format");
		printf("\"qcow2\"");
		json_count(&first, "fragmented-clusters", r->fragmented_clusters);
		printf("\n}\n");
		return;
	}
	if (!corrupt && !leaks && !r->check_errors)
		printf("No errors were found on the image.\n");
	if (corrupt)
		printf("\n%llu errors were found on the image.\n"
		       "Data may be corrupted, or further writes to the image may corrupt it.\n",
		       (unsigned long long)corrupt);
	if (leaks)
		printf("\n%llu leaked clusters were found on the image.\n"
		       "This means waste of disk space, but no harm to data.\n",
		       (unsigned long long)leaks);
	if (r->check_errors)
		printf("\n%llu internal errors have occurred during the check.\n",
		       (unsigned long long)r->check_errors);
	if (r->total_clusters && r->allocated_clusters)
		printf("%llu/%llu = %.2f%% allocated, %.2f%% fragmented, %.2f%% compressed clusters\n",
		       (unsigned long long)r->allocated_clusters, (unsigned long long)r->total_clusters,
		       100.0 * (double)r->allocated_clusters / (double)r->total_clusters,
		       100.0 * (double)r->fragmented_clusters / (double)r->allocated_clusters,
		       100.0 * (double)r->compressed_clusters / (double)r->allocated_clusters);
	if (r->image_end_offset)
		printf("Image end offset: %llu\n", (unsigned long long)r->image_end_offset);
}

int cmd_check(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'O' },
		{ "repair", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	enum img_format fmt = IMG_FMT_AUTO;
	struct img_check_result r, r2;
	uint64_t fixed_c = 0, fixed_l = 0;
	unsigned fix = 0;
	bool json = false, quiet = false;
	char err[512];
	struct img *img;
	int c, ret;

	while ((c = getopt_long(argc, argv, "f:r:q", lo, NULL)) != -1) {
		if (c == 'f') {
			if (cli_parse_format(optarg, &fmt) < 0)
				return CHECK_FAILED;
		} else if (c == 'r') {
			if (!strcmp(optarg, "leaks")) {
				fix = IMG_CHECK_FIX_LEAKS;
			} else if (!strcmp(optarg, "all")) {
				fix = IMG_CHECK_FIX_LEAKS | IMG_CHECK_FIX_ERRORS;
			} else {
				cli_error("Unknown option value for -r (expecting 'leaks' or 'all'): %s", optarg);
				return CHECK_FAILED;
			}
		} else if (c == 'O') {
			json = !strcmp(optarg, "json");
			if (!json && strcmp(optarg, "human")) {
				cli_error("--output must be used with human or json as argument.");
				return CHECK_FAILED;
			}
		} else if (c == 'q') {
			quiet = true;
		} else {
			return CHECK_FAILED;
		}
	}
	if (optind + 1 != argc) {
		cli_error("Expecting one image file name");
		return CHECK_FAILED;
	}
	img = img_open(argv[optind], fmt, (fix ? 0 : IMG_OPEN_RDONLY) | IMG_OPEN_NO_BACKING,
		       err, sizeof(err));
	if (!img) {
		cli_error("Could not open '%s': %s", argv[optind], err);
		return CHECK_FAILED;
	}
	if (img_get_format(img) != IMG_FMT_QCOW2) {
		cli_error("This image format does not support checks");
		img_close(img);
		return CHECK_UNSUPPORTED;
	}
	/* As qemu-img, what each problem is goes to stderr, whatever the output format. */
	ret = img_check(img, fix, &r, stderr);
	if (ret < 0) {
		cli_error("Check failed: %s", ret == -ENOTSUP ?
			  "images with internal snapshots are not supported" : strerror(-ret));
		img_close(img);
		return CHECK_FAILED;
	}
	if (fix && (r.corruptions_fixed || r.leaks_fixed)) {
		if (!quiet && !json)
			printf("The following inconsistencies were found and repaired:\n\n"
			       "    %llu leaked clusters\n    %llu corruptions\n\n"
			       "Double checking the fixed image now...\n",
			       (unsigned long long)r.leaks_fixed, (unsigned long long)r.corruptions_fixed);
		ret = img_check(img, 0, &r2, stderr);
		if (ret < 0) {
			cli_error("Check failed: %s", strerror(-ret));
			img_close(img);
			return CHECK_FAILED;
		}
		fixed_c = r.corruptions_fixed;
		fixed_l = r.leaks_fixed;
		r = r2;
	}
	img_close(img);
	{
		uint64_t corrupt = r.corruptions - r.corruptions_fixed;
		uint64_t leaks = r.leaks - r.leaks_fixed;

		if (!quiet)
			print_result(argv[optind], &r, corrupt, leaks, fixed_c, fixed_l, json);
		if (r.check_errors)
			return CHECK_FAILED;
		if (corrupt)
			return CHECK_CORRUPT;
		if (leaks)
			return CHECK_LEAKS;
	}
	return CHECK_OK;
}

#define MAP_MAX_DEPTH	64

/*
 * The file name of each layer as qemu-img map names it: the image as given,
 * then each backing file relative to the one above. -1 if a layer cannot be opened.
 */
static int layer_names(const char *path, enum img_format fmt, char names[][4096], int max)
{
	int n = 0;

	snprintf(names[0], sizeof(names[0]), "%s", path);
	while (n + 1 < max) {
		char err[256];
		struct img_info in;
		struct img *img = img_open(names[n], n ? IMG_FMT_AUTO : fmt,
					   IMG_OPEN_RDONLY | IMG_OPEN_NO_BACKING, err, sizeof(err));

		if (!img)
			return -1;
		img_get_info(img, &in);
		img_close(img);
		if (in.format != IMG_FMT_QCOW2 || !in.backing_file[0])
			break;
		cli_backing_path(names[n], in.backing_file, names[n + 1], sizeof(names[n + 1]));
		n++;
	}
	return n + 1;
}

/* qemu-img's entry_mergeable(): same state, same file, and the offsets run on. */
static bool map_mergeable(const struct img_extent *a, const struct img_extent *b)
{
	return a->len && !!(a->flags & IMG_EXT_ZERO) == !!(b->flags & IMG_EXT_ZERO) &&
	       !!(a->flags & IMG_EXT_DATA) == !!(b->flags & IMG_EXT_DATA) &&
	       a->depth == b->depth && a->unallocated == b->unallocated &&
	       a->offset_valid == b->offset_valid &&
	       (!a->offset_valid || a->host_off + a->len == b->host_off);
}

/* One merged entry, as qemu-img's dump_map_entry(); -1 where qemu-img gives up. */
static int map_entry(const struct img_extent *e, uint64_t start, bool json, bool first,
		     char names[][4096], int nnames)
{
	bool data = e->flags & IMG_EXT_DATA, zero = e->flags & IMG_EXT_ZERO;

	if (json) {
		printf("%s{ \"start\": %llu, \"length\": %llu, \"depth\": %d, \"present\": %s, "
		       "\"zero\": %s, \"data\": %s", first ? "" : ",\n", (unsigned long long)start,
		       (unsigned long long)e->len, e->depth, e->unallocated ? "false" : "true",
		       zero ? "true" : "false", data ? "true" : "false");
		if (e->offset_valid)
			printf(", \"offset\": %llu", (unsigned long long)e->host_off);
		printf("}");
		return 0;
	}
	if (data && !e->offset_valid) {
		cli_error("File contains external, encrypted or compressed clusters.");
		return -1;
	}
	if (data && !zero)
		printf("%#-16llx%#-16llx%#-16llx%s\n", (unsigned long long)start,
		       (unsigned long long)e->len, (unsigned long long)e->host_off,
		       e->depth < nnames ? names[e->depth] : "");
	return 0;
}

int cmd_map(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	static char names[MAP_MAX_DEPTH][4096];
	enum img_format fmt = IMG_FMT_AUTO;
	struct img_extent e, cur = { 0 };
	uint64_t cur_off = 0, off = 0, size;
	bool json = false, first = true, have = false;
	char err[512];
	struct img *img;
	int c, nnames, ret = 0;

	while ((c = getopt_long(argc, argv, "f:", lo, NULL)) != -1) {
		if (c == 'f') {
			if (cli_parse_format(optarg, &fmt) < 0)
				return 1;
		} else if (c == 'O') {
			json = !strcmp(optarg, "json");
			if (!json && strcmp(optarg, "human")) {
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
	img = img_open(argv[optind], fmt, IMG_OPEN_RDONLY, err, sizeof(err));
	if (!img) {
		cli_error("%s", err);
		return 1;
	}
	nnames = layer_names(argv[optind], fmt, names, MAP_MAX_DEPTH);
	size = img_get_size(img);
	if (json)
		printf("[");
	else
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
	while (!ret && off <= size) {
		bool done = off == size;

		if (!done && img_block_status(img, off, size - off, &e) < 0) {
			cli_error("error while mapping offset %llu", (unsigned long long)off);
			ret = -1;
			break;
		}
		if (have && (done || !map_mergeable(&cur, &e))) {
			ret = map_entry(&cur, cur_off, json, first, names, nnames);
			first = false;
			have = false;
		}
		if (done || ret)
			break;
		if (!have) {
			cur = e;
			cur_off = off;
			have = true;
		} else {
			cur.len += e.len;
		}
		off += e.len;
	}
	if (json && !ret)
		printf("]\n");
	img_close(img);
	return ret ? 1 : 0;
}
