/* tests/imgtool/test_discard.c: a discard frees qcow2 clusters and gives their space back to the host file (holes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "img.h"
#include "tap.h"

#define MiB	(1024 * 1024)

static long long blocks_kib(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long long)st.st_blocks / 2;
}

int main(void)
{
	char dir[] = "/tmp/test_discard.XXXXXX", path[64], err[256];
	struct img_create_opts opts = { .format = IMG_FMT_QCOW2, .size = 64 * MiB };
	struct img_check_result res;
	uint8_t *buf = malloc(8 * MiB), back[4096];
	long long full, after;
	struct img *img;

	if (!buf || !mkdtemp(dir))
		tap_skip_all("no temporary directory");
	snprintf(path, sizeof(path), "%s/d.qcow2", dir);
	tap_plan(6);
	for (size_t i = 0; i < 8 * MiB; i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	img = img_create(path, &opts, err, sizeof(err)) ? NULL :
	      img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	if (!img)
		tap_diag("%s", err);
	tap_ok(img && !img_pwrite(img, buf, 8 * MiB, 4 * MiB) && !img_flush(img),
	       "8 MiB written and flushed");
	full = blocks_kib(path);
	tap_ok(full >= 8 * 1024, "the file holds them (%lld KiB)", full);
	tap_ok(img && !img_discard(img, 4 * MiB, 6 * MiB) && !img_flush(img),
	       "6 MiB of it discarded and flushed");
	after = blocks_kib(path);
	tap_ok(after >= 0 && after <= full - 6 * 1024 + 64,
	       "the freed clusters are holes in the file now (%lld KiB, was %lld)", after, full);
	tap_ok(img && !img_pread(img, back, sizeof(back), 4 * MiB) &&
	       !memcmp(back, (uint8_t[4096]){ 0 }, sizeof(back)) &&
	       !img_pread(img, back, sizeof(back), 10 * MiB) && !memcmp(back, buf + 6 * MiB, sizeof(back)),
	       "the discarded range reads as zeros, the rest as written");
	tap_ok(img && !img_check(img, 0, &res, NULL) && !res.corruptions && !res.leaks,
	       "check: no corruption, no leak");
	if (img)
		img_close(img);
	unlink(path);
	rmdir(dir);
	free(buf);
	return tap_done();
}
