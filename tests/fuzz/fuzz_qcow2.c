/* tests/fuzz/fuzz_qcow2.c: libFuzzer harness: arbitrary bytes as a qcow2 file through open, read, map, write, snapshots and check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "img.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const char *path, unsigned flags)
{
	char err[512];
	struct img *img = img_open(path, IMG_FMT_QCOW2, flags | IMG_OPEN_NO_BACKING, err, sizeof(err));
	struct img_check_result res;
	struct img_extent ext;
	struct img_info info;
	struct img_snapshot *list;
	static uint8_t buf[1 << 16];
	uint64_t size, off = 0;
	int nsnap;

	if (!img) {
		if (!err[0])
			abort();	/* every refusal must carry a reason */
		return;
	}
	size = img_get_size(img);
	img_get_info(img, &info);
	nsnap = img_snapshot_list(img, &list, err, sizeof(err));
	img_snapshot_list_free(list, nsnap);
	for (int i = 0; i < 64 && off < size; i++) {
		if (img_block_status(img, off, size - off, &ext) < 0 || !ext.len)
			break;
		off += ext.len;
	}
	for (uint64_t o = 0; o < size && o < (4u << 20); o += 40000)
		img_pread(img, buf, size - o < sizeof(buf) ? size - o : sizeof(buf), o);
	if (!(flags & IMG_OPEN_RDONLY) && size) {
		memset(buf, 0xa5, sizeof(buf));
		img_pwrite(img, buf, size < 5000 ? size : 5000, 0);
		img_pwrite(img, buf, 1, size - 1);
		img_discard(img, 0, size < 4096 ? size : 4096);
		img_flush(img);
		img_snapshot_create(img, "f", err, sizeof(err));
		img_snapshot_apply(img, "1", err, sizeof(err));
		img_snapshot_delete(img, "s1", err, sizeof(err));
		img_check(img, IMG_CHECK_FIX_LEAKS | IMG_CHECK_FIX_ERRORS, &res, NULL);
	} else {
		img_check(img, 0, &res, NULL);
	}
	img_close(img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = memfd_create("fuzz.qcow2", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		exercise(path, IMG_OPEN_RDONLY);
		exercise(path, 0);
	}
	close(fd);
	return 0;
}
