/* imgtool/cmd_measure.c: the measure verb: the file size a new image needs, qemu-img's numbers for the same input. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define QCOW2_L1_MAX_BYTES	(32u << 20)	/* qemu's limit on the L1 table */

/* The qcow2 creation options that change the numbers, as qemu-img measure reads them. */
struct measure_opts {
	uint64_t size;
	bool has_size;
	uint64_t cluster_size;
	int version;			/* 2 or 3 */
	unsigned refcount_bits;
	bool refcount_given;
	bool extended_l2;
	bool full_prealloc;		/* falloc or full: every cluster counts */
	bool backing;
};

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

static uint64_t round_up(uint64_t a, uint64_t b)
{
	return div_up(a, b) * b;
}

static void bad_number(const char *key)
{
	cli_error("Parameter '%s' expects a non-negative number below 2^64", key);
	fprintf(stderr, "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
		"and exabytes, respectively.\n");
}

static int parse_bool(const char *key, const char *v, bool *b)
{
	if (v && (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "y"))) {
		*b = true;
	} else if (v && (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "n"))) {
		*b = false;
	} else {
		cli_error("Parameter '%s' expects 'on' or 'off'", key);
		return -1;
	}
	return 0;
}

/* -o for measure: syntax first, as qemu parses the whole list before any check. */
static int measure_parse(char *s, enum img_format fmt, struct measure_opts *m)
{
	for (char *save = NULL, *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		bool qcow2_only = true, ok = true, b;

		if (v)
			*v++ = '\0';
		if (!strcmp(kv, "size")) {
			qcow2_only = false;
			ok = v && img_parse_size(v, &m->size) == 0;
			m->has_size = ok;
			if (!ok)
				bad_number(kv);
		} else if (!strcmp(kv, "preallocation")) {
			qcow2_only = false;
			if (!v || (strcmp(v, "off") && strcmp(v, "metadata") && strcmp(v, "falloc") &&
				   strcmp(v, "full"))) {
				cli_error("invalid parameter value: %s", v ? v : "");
				return -1;
			}
			m->full_prealloc = !strcmp(v, "falloc") || !strcmp(v, "full");
		} else if (!strcmp(kv, "cluster_size")) {
			ok = v && img_parse_size(v, &m->cluster_size) == 0;
			if (!ok)
				bad_number(kv);
		} else if (!strcmp(kv, "compat")) {
			if (!v || (strcmp(v, "0.10") && strcmp(v, "1.1"))) {
				cli_error("Invalid compatibility level: '%s'", v ? v : "");
				return -1;
			}
			m->version = strcmp(v, "0.10") ? 3 : 2;
		} else if (!strcmp(kv, "refcount_bits")) {
			uint64_t n;

			ok = v && img_parse_size(v, &n) == 0;
			if (!ok)
				bad_number(kv);
			m->refcount_bits = ok && n <= 64 ? (unsigned)n : 0;
			m->refcount_given = true;
		} else if (!strcmp(kv, "extended_l2")) {
			ok = parse_bool(kv, v, &m->extended_l2) == 0;
		} else if (!strcmp(kv, "lazy_refcounts") || !strcmp(kv, "data_file_raw")) {
			ok = parse_bool(kv, v, &b) == 0;
		} else if (!strcmp(kv, "backing_file")) {
			m->backing = v != NULL;
		} else if (!strcmp(kv, "backing_fmt") || !strcmp(kv, "compression_type") ||
			   !strcmp(kv, "data_file")) {
			;	/* no bearing on the numbers; qemu-img takes any value here */
		} else {
			qcow2_only = false;
			ok = false;
			cli_error("Invalid parameter '%s'", kv);
		}
		if (ok && qcow2_only && fmt != IMG_FMT_QCOW2) {
			ok = false;
			cli_error("Invalid parameter '%s'", kv);
		}
		if (!ok) {
			cli_error("Invalid options for file format '%s'", img_format_name(fmt));
			return -1;
		}
	}
	return 0;
}

/* Then the values, in qemu's order. */
static int measure_check(struct measure_opts *m)
{
	uint64_t cs = m->cluster_size;

	if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1))) {
		cli_error("Cluster size must be a power of two between 512 and 2048k");
		return -1;
	}
	if (m->extended_l2 && cs < 16384) {
		cli_error("Extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
		return -1;
	}
	if (m->refcount_given && (!m->refcount_bits || (m->refcount_bits & (m->refcount_bits - 1)))) {
		cli_error("Refcount width must be a power of two and may not exceed 64 bits");
		return -1;
	}
	if (m->version == 2 && m->refcount_given && m->refcount_bits != 16) {
		cli_error("Different refcount widths than 16 bits require compatibility level 1.1 or above "
			  "(use compat=1.1 or greater)");
		return -1;
	}
	return 0;
}

/* Refcount table and blocks covering clusters, themselves included. */
static uint64_t refcount_metadata(uint64_t clusters, uint64_t cs, unsigned refcount_bits)
{
	uint64_t per_block = cs * 8 / refcount_bits, per_table = cs / 8;
	uint64_t table = 0, blocks = 0, n = 0, last;

	do {
		last = n;
		blocks = div_up(clusters + table + blocks, per_block);
		table = div_up(blocks, per_table);
		n = clusters + blocks + table;
	} while (n != last);
	return (blocks + table) * cs;
}

/* A qcow2 image of this size with every cluster allocated: header, L2 and L1 tables, refcounts, data. */
static uint64_t qcow2_full_size(uint64_t size, const struct measure_opts *m)
{
	uint64_t cs = m->cluster_size, l2e = m->extended_l2 ? 16 : 8;
	uint64_t data = round_up(size, cs), meta = cs, l2_entries, l1_entries;

	l2_entries = round_up(data / cs, cs / l2e);
	meta += l2_entries * l2e;
	l1_entries = round_up(l2_entries * l2e / cs, cs / 8);
	meta += l1_entries * 8;
	meta += refcount_metadata((meta + data) / cs, cs, m->refcount_bits);
	return meta + data;
}

/*
 * Clusters of the new image that would hold data: every one that a byte of
 * allocated data falls in, the backing chain included; zeros count for
 * nothing. As qemu, a data run is taken to the end of its last cluster.
 */
static int count_data(struct img *img, uint64_t cs, uint64_t *bytes)
{
	uint64_t size = img_get_size(img), off = 0;

	*bytes = 0;
	while (off < size) {
		struct img_extent e;
		int ret = img_block_status(img, off, size - off, &e);

		if (ret)
			return ret;
		if (!e.len)
			return -EIO;
		if (e.flags & IMG_EXT_DATA) {
			uint64_t end = round_up(off + e.len, cs);

			*bytes += end - off + off % cs;
			off = end;
		} else {
			off += e.len;
		}
	}
	return 0;
}

static void print_result(bool json, uint64_t required, uint64_t full, bool has_bitmaps, uint64_t bitmaps)
{
	if (!json) {
		printf("required size: %llu\nfully allocated size: %llu\n",
		       (unsigned long long)required, (unsigned long long)full);
		if (has_bitmaps)
			printf("bitmaps size: %llu\n", (unsigned long long)bitmaps);
		return;
	}
	printf("{\n");
	if (has_bitmaps)
		printf("    \"bitmaps\": %llu,\n", (unsigned long long)bitmaps);
	printf("    \"required\": %llu,\n    \"fully-allocated\": %llu\n}\n",
	       (unsigned long long)required, (unsigned long long)full);
}

int cmd_measure(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'J' },
		{ "size", required_argument, NULL, 'S' },
		{ "force-share", no_argument, NULL, 'U' },
		{ NULL, 0, NULL, 0 },
	};
	struct measure_opts m = { .cluster_size = 65536, .version = 3, .refcount_bits = 16 };
	enum img_format ofmt = IMG_FMT_RAW, sfmt = IMG_FMT_AUTO;
	uint64_t size = 0, required, full, bitmaps = 0, in_size = 0;
	bool json = false, has_size = false, sfmt_given = false, has_bitmaps = false;
	char *opts = NULL, err[512];
	struct img *in = NULL;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "f:O:o:U", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (cli_parse_format(optarg, &sfmt) < 0)
				goto out;
			sfmt_given = true;
			break;
		case 'O':
			if (cli_parse_format(optarg, &ofmt) < 0)
				goto out;
			break;
		case 'o':	/* several -o add up, as in qemu-img */
			if (opts) {
				char *j = NULL;

				if (asprintf(&j, "%s,%s", opts, optarg) < 0)
					j = NULL;
				free(opts);
				opts = j;
			} else {
				opts = strdup(optarg);
			}
			if (!opts) {
				cli_error("out of memory");
				goto out;
			}
			break;
		case 'J':
			if (!strcmp(optarg, "json")) {
				json = true;
			} else if (strcmp(optarg, "human")) {
				cli_error("--output must be used with human or json as argument.");
				goto out;
			}
			break;
		case 'S':
			if (img_parse_size(optarg, &size) < 0) {
				cli_error("Invalid image size specified. You may use k, M, G, T, P or E suffixes for");
				cli_error("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
				goto out;
			}
			has_size = true;
			break;
		case 'U':
			break;	/* images are opened read-only without locks anyway */
		default:
			goto out;
		}
	}
	if (argc - optind > 1) {
		cli_error("At most one filename argument is allowed.");
		goto out;
	}
	if (optind == argc && sfmt_given) {
		cli_error("--image-opts, -f, and -l require a filename argument.");
		goto out;
	}
	if (optind < argc && has_size) {
		cli_error("--size N cannot be used together with a filename.");
		goto out;
	}
	if (optind == argc && !has_size) {
		cli_error("Either --size N or one filename must be specified.");
		goto out;
	}
	if (optind < argc) {
		in = img_open(argv[optind], sfmt, IMG_OPEN_RDONLY, err, sizeof(err));
		if (!in) {
			cli_error("Could not open '%s': %s", argv[optind], err);
			goto out;
		}
		/* qemu counts a raw file in whole sectors */
		in_size = round_up(img_get_size(in), 512);
	}
	if (opts && measure_parse(opts, ofmt, &m) < 0)
		goto out;
	if (has_size)
		m.size = size;
	if (ofmt == IMG_FMT_RAW) {
		required = in ? in_size : round_up(m.size, 512);
		print_result(json, required, required, false, 0);
		ret = 0;
		goto out;
	}
	if (measure_check(&m) < 0)
		goto out;
	{
		uint64_t cs = m.cluster_size, vsize = round_up(m.size, cs);
		uint64_t l2_tables = div_up(vsize / cs, cs / (m.extended_l2 ? 16 : 8)), data = 0;

		if (l2_tables * 8 > QCOW2_L1_MAX_BYTES) {
			cli_error("The image size is too large (try using a larger cluster size)");
			goto out;
		}
		if (in) {
			vsize = round_up(in_size, cs);
			if (m.backing) {
				data = vsize;	/* the new backing file may share nothing with the input */
			} else if (count_data(in, cs, &data) < 0) {
				cli_error("Unable to get block status");
				goto out;
			}
		}
		if (m.full_prealloc)
			data = vsize;
		full = qcow2_full_size(vsize, &m);
		required = full - vsize + data;
		/* Shown when both the input and the output could hold persistent bitmaps. */
		if (in && m.version >= 3 && img_get_format(in) == IMG_FMT_QCOW2) {
			struct img_info info;

			img_get_info(in, &info);
			has_bitmaps = info.qcow2_version >= 3;
			if (has_bitmaps && img_bitmaps_size(in, (uint32_t)cs, &bitmaps) < 0) {
				cli_error("Could not read the bitmap directory of '%s'", argv[optind]);
				goto out;
			}
		}
	}
	print_result(json, required, full, has_bitmaps, bitmaps);
	ret = 0;
out:
	img_close(in);
	free(opts);
	return ret;
}
