/* imgtool/cmd_chain.c: the rebase and commit verbs (backing chains). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* The reason, after the image's name unless it names it already. */
void cli_error_in(const char *path, const char *reason)
{
	char quoted[4200];

	snprintf(quoted, sizeof(quoted), "'%s'", path);
	if (strstr(reason, quoted))
		cli_error("%s", reason);
	else
		cli_error("%s: %s", quoted, reason);
}

/* Progress as qemu-img prints it, at most once per percent. */
struct progress {
	bool on;
	double last;
};

static void show_progress(void *opaque, uint64_t done, uint64_t total)
{
	struct progress *p = opaque;
	double pct = total ? 100.0 * (double)done / (double)total : 100.0;

	if (pct - p->last >= 1.0 || done == total) {
		cli_progress(pct, p->on);
		p->last = pct;
	}
}

static void progress_start(struct progress *p, bool on)
{
	p->on = on;
	p->last = 0;
	cli_progress(0, on);
}

static void progress_end(struct progress *p)
{
	if (p->on)
		printf("\n");
}

int cmd_rebase(int argc, char **argv)
{
	enum img_format fmt = IMG_FMT_AUTO, bfmt = IMG_FMT_AUTO;
	const char *backing = NULL, *bfmt_name = NULL;
	bool unsafe = false, quiet = false, prog = false;
	struct progress p;
	char err[1024];
	struct img *img;
	int c, ret;

	while ((c = getopt(argc, argv, "hf:F:b:upq")) != -1) {
		switch (c) {
		case 'f':
			if (cli_parse_format(optarg, &fmt) < 0)
				return 1;
			break;
		case 'F':
			if (cli_parse_format(optarg, &bfmt) < 0)
				return 1;
			bfmt_name = optarg;
			break;
		case 'b':
			backing = optarg;
			break;
		case 'u':
			unsafe = true;
			break;
		case 'p':
			prog = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			printf("usage: imgtool rebase [-q] [-p] [-f FMT] [-u] -b BACKING [-F BACKING_FMT] FILE\n");
			return 0;
		default:
			return 1;
		}
	}
	if (!backing && !unsafe) {
		cli_error("Must specify backing file (-b) or use unsafe mode (-u)");
		return 1;
	}
	if (optind + 1 != argc) {
		cli_error("Expecting one image file name");
		return 1;
	}
	if (!backing)
		backing = "";
	/* As qemu-img since 6.1: a backing file without its format is refused, before any work. */
	if (*backing && !bfmt_name) {
		cli_error("Could not change the backing file to '%s': backing format must be specified",
			  backing);
		return 1;
	}
	img = img_open(argv[optind], fmt, unsafe ? IMG_OPEN_NO_BACKING : 0, err, sizeof(err));
	if (!img) {
		cli_error("Could not open '%s': %s", argv[optind], err);
		return 1;
	}
	if (unsafe) {
		ret = img_set_backing(img, backing, *backing ? bfmt_name : NULL, err, sizeof(err));
	} else {
		progress_start(&p, prog && !quiet);
		ret = img_rebase(img, backing, bfmt, show_progress, &p, err, sizeof(err));
		progress_end(&p);
	}
	if (ret < 0)
		cli_error_in(argv[optind], err);
	img_close(img);
	return ret < 0 ? 1 : 0;
}

/* Is name (as the user wrote it, or as recorded in the image above) the image at depth d? */
static bool names_layer(const char *name, struct img *above, struct img *layer)
{
	struct img_info in;
	struct stat a, b;
	char path[8192];

	img_get_info(above, &in);
	if (!strcmp(name, in.backing_file))
		return true;
	if (stat(img_get_filename(layer), &b) < 0)
		return false;
	if (stat(name, &a) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return true;
	/* Relative to the directory of the top image, as backing names are. */
	return img_backing_path(img_get_filename(above), name, path, sizeof(path)) == 0 &&
	       stat(path, &a) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int cmd_commit(int argc, char **argv)
{
	enum img_format fmt = IMG_FMT_AUTO;
	const char *base = NULL;
	bool keep = false, quiet = false, prog = false;
	struct progress p;
	struct img *img, *l;
	char err[1024];
	int c, depth = 1, ret;

	while ((c = getopt(argc, argv, "hf:b:dpq")) != -1) {
		switch (c) {
		case 'f':
			if (cli_parse_format(optarg, &fmt) < 0)
				return 1;
			break;
		case 'b':
			base = optarg;
			break;
		case 'd':
			keep = true;
			break;
		case 'p':
			prog = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			printf("usage: imgtool commit [-q] [-p] [-f FMT] [-d] [-b BASE] FILE\n");
			return 0;
		default:
			return 1;
		}
	}
	if (optind + 1 != argc) {
		cli_error("Expecting one image file name");
		return 1;
	}
	img = img_open(argv[optind], fmt, 0, err, sizeof(err));
	if (!img) {
		cli_error("Could not open '%s': %s", argv[optind], err);
		return 1;
	}
	if (!img_get_backing(img)) {
		cli_error_in(argv[optind], "Image does not have a backing file");
		img_close(img);
		return 1;
	}
	if (base) {
		/* Layers between the base and the top change under the top: keep the top whole. */
		keep = true;
		for (l = img, depth = 1; img_get_backing(l); l = img_get_backing(l), depth++)
			if (names_layer(base, l, img_get_backing(l)))
				break;
		if (!img_get_backing(l)) {
			cli_error("Did not find '%s' in the backing chain of '%s'", base, argv[optind]);
			img_close(img);
			return 1;
		}
	}
	progress_start(&p, prog && !quiet);
	ret = img_commit(img, depth, !keep, show_progress, &p, err, sizeof(err));
	progress_end(&p);
	img_close(img);
	if (ret < 0) {
		cli_error_in(argv[optind], err);
		return 1;
	}
	if (!quiet)
		printf("Image committed.\n");
	return 0;
}
