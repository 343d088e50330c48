/* imgtool/cmd_amend.c: the amend verb: change qcow2 options of an existing image in place. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const amend_help =
	"Amend options for 'qcow2':\n"
	"  backing_file=<str>     - File name of a base image (recorded only; see rebase)\n"
	"  backing_fmt=<str>      - Image format of the base image\n"
	"  compat=<str>           - Compatibility level (v2 [0.10] or v3 [1.1])\n"
	"  lazy_refcounts=<bool (on/off)> - Postpone refcount updates\n"
	"  refcount_bits=<num>    - Width of a reference count entry in bits\n"
	"  size=<size>            - Virtual disk size\n";

/* Options qemu-img knows only when creating an image. */
static const char *const create_only[] = {
	"cluster_size", "encryption", "encrypt.format", "preallocation", "compression_type",
	"extended_l2", "data_file_raw",
};

static int parse_bool(const char *k, const char *v, int *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
		*out = 1;
	} else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
		*out = 0;
	} else {
		cli_error("Parameter '%s' expects 'on' or 'off'", k);
		return -1;
	}
	return 0;
}

static int parse_amend_opts(char *s, struct img_amend_opts *o)
{
	for (char *save = NULL, *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '='), *end;
		unsigned long n;

		if (!v) {
			cli_error("Invalid option list: '%s' needs a value", kv);
			return -1;
		}
		*v++ = '\0';
		if (!strcmp(kv, "compat")) {
			if (!strcmp(v, "0.10") || !strcmp(v, "v2")) {
				o->compat = 2;
			} else if (!strcmp(v, "1.1") || !strcmp(v, "v3")) {
				o->compat = 3;
			} else {
				cli_error("Unknown compatibility level %s", v);
				return -1;
			}
		} else if (!strcmp(kv, "lazy_refcounts")) {
			if (parse_bool(kv, v, &o->lazy_refcounts) < 0)
				return -1;
		} else if (!strcmp(kv, "refcount_bits")) {
			errno = 0;
			n = strtoul(v, &end, 10);
			if (errno || *end || !*v || *v == '-' || n > 64 || !n || (n & (n - 1))) {
				cli_error("Refcount width must be a power of two and may not exceed 64 bits");
				return -1;
			}
			o->refcount_bits = (int)n;
		} else if (!strcmp(kv, "size")) {
			if (img_parse_size(v, &o->size) < 0 || !o->size) {
				cli_error("Invalid size '%s'", v);
				return -1;
			}
		} else if (!strcmp(kv, "backing_file") || !strcmp(kv, "backing")) {
			o->set_backing = true;
			o->backing_file = v;
		} else if (!strcmp(kv, "backing_fmt")) {
			enum img_format f;

			if (cli_parse_format(v, &f) < 0)
				return -1;
			o->set_backing = true;
			o->backing_fmt = v;
		} else if (!strcmp(kv, "data_file")) {
			cli_error("data-file can only be set for images that use an external data file");
			return -1;
		} else {
			bool creation = false;

			for (size_t i = 0; i < sizeof(create_only) / sizeof(create_only[0]); i++)
				creation |= !strcmp(kv, create_only[i]);
			cli_error("Invalid parameter '%s'", kv);
			if (creation)
				fprintf(stderr, "This option is only supported for image creation\n");
			return -1;
		}
	}
	return 0;
}

int cmd_amend(int argc, char **argv)
{
	struct img_amend_opts o = { .lazy_refcounts = -1 };
	enum img_format fmt = IMG_FMT_AUTO;
	bool quiet = false, prog = false;
	char *opts = NULL, err[1024];
	struct img *img;
	int c, ret = 1;

	while ((c = getopt(argc, argv, "hf:o:pq")) != -1) {
		switch (c) {
		case 'f':
			if (cli_parse_format(optarg, &fmt) < 0)
				goto out;
			break;
		case 'o': {
			/* Several -o add up, as in qemu-img. */
			char *j;

			if (asprintf(&j, "%s%s%s", opts ? opts : "", opts ? "," : "", optarg) < 0)
				goto out;
			free(opts);
			opts = j;
			break;
		}
		case 'p':
			prog = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			printf("usage: imgtool amend [-q] [-p] [-f FMT] -o OPTS FILE\n");
			ret = 0;
			goto out;
		default:
			goto out;
		}
	}
	if (!opts) {
		cli_error("Must specify options (-o)");
		goto out;
	}
	if (!strcmp(opts, "help") || !strcmp(opts, "?")) {
		fputs(amend_help, stdout);
		ret = 0;
		goto out;
	}
	if (optind + 1 != argc) {
		cli_error("Expecting one image file name");
		goto out;
	}
	if (parse_amend_opts(opts, &o) < 0)
		goto out;
	/* The backing chain plays no part: a missing backing file is no obstacle. */
	img = img_open(argv[optind], fmt, IMG_OPEN_NO_BACKING, err, sizeof(err));
	if (!img) {
		cli_error("Could not open '%s': %s", argv[optind], err);
		goto out;
	}
	cli_progress(0, prog && !quiet);
	if (img_amend(img, &o, err, sizeof(err)) < 0) {
		cli_error_in(argv[optind], err);
	} else {
		cli_progress(100, prog && !quiet);
		ret = 0;
	}
	if (prog && !quiet)
		printf("\n");
	img_close(img);
out:
	free(opts);
	return ret;
}
