/* tests/launcher/test_ide_image.c: IDE disks on real raw and qcow2 images through libimg, incl. the raw-probe guard and a read-only backing chain. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/ide_image.h"
#include "test_ide_util.h"

static struct ide_channel ch;
static struct ide_image im;
static char dir[] = "/tmp/test_ide_image.XXXXXX";

static int attach_as(const char *file, enum img_format fmt, bool readonly, bool snapshot)
{
	struct ide_backend be;
	char err[256];

	ide_channel_destroy(&ch);
	ide_image_close(&im);
	ide_channel_init(&ch, 0, &test_irq, &test_mem);
	if (snapshot ? ide_image_open_snapshot(&im, file, fmt, &be, err, sizeof(err)) :
	    ide_image_open(&im, file, fmt, readonly, &be, err, sizeof(err))) {
		tap_diag("open %s: %s", file, err);
		return -1;
	}
	if (ide_drive_attach(&ch, 0, IDE_MEDIA_DISK, &be, err, sizeof(err))) {
		tap_diag("attach: %s", err);
		return -1;
	}
	return 0;
}

static int attach(const char *file, enum img_format fmt, bool readonly)
{
	return attach_as(file, fmt, readonly, false);
}

/* Entries in directory path besides . and .. */
static int entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void write_sector(uint32_t lba, const uint8_t *buf)
{
	outb(&ch, ATA_REG_SELECT, 0xe0);
	outb(&ch, ATA_REG_NSECTOR, 1);
	outb(&ch, ATA_REG_SECTOR, lba);
	outb(&ch, ATA_REG_LCYL, lba >> 8);
	outb(&ch, ATA_REG_HCYL, lba >> 16);
	outb(&ch, ATA_REG_STATUS, 0x30);
	for (unsigned int i = 0; i < 512 && (altstatus(&ch) & ATA_DRQ); i += 2)
		outw(&ch, buf[i] | buf[i + 1] << 8);
}

static void read_sector(uint32_t lba, uint8_t *buf)
{
	outb(&ch, ATA_REG_SELECT, 0xe0);
	outb(&ch, ATA_REG_NSECTOR, 1);
	outb(&ch, ATA_REG_SECTOR, lba);
	outb(&ch, ATA_REG_LCYL, lba >> 8);
	outb(&ch, ATA_REG_HCYL, lba >> 16);
	outb(&ch, ATA_REG_STATUS, 0x20);
	pio_in(&ch, buf, 512);
}

static bool ok_status(void)
{
	return altstatus(&ch) == (ATA_DRDY | ATA_DSC);
}

static bool file_has(const char *path, uint64_t off, const uint8_t *want, size_t n)
{
	uint8_t buf[512];
	int fd = open(path, O_RDONLY);
	bool same;

	if (fd < 0)
		return false;
	same = pread(fd, buf, n, off) == (ssize_t)n && !memcmp(buf, want, n);
	close(fd);
	return same;
}

/* Whole file into buf (at most len bytes); the number read, or -1. */
static ssize_t slurp(const char *path, uint8_t *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, buf, len, 0);
	close(fd);
	return n;
}

/*
 * The open descriptors of this process on path: how many, and how many of
 * those can write. Root writes through a mode of 0444, so the file's mode
 * proves nothing: the access mode of each descriptor does.
 */
static void fds_on(const char *path, int *all, int *writable)
{
	char *want = realpath(path, NULL), link[300], target[4096], info[300], line[128];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");

	*all = *writable = 0;
	while (want && d && (e = readdir(d))) {
		ssize_t n;
		FILE *f;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, want))
			continue;
		snprintf(info, sizeof(info), "/proc/self/fdinfo/%s", e->d_name);
		f = fopen(info, "r");
		while (f && fgets(line, sizeof(line), f)) {
			unsigned long flags;

			if (sscanf(line, "flags: %lo", &flags) == 1) {
				(*all)++;
				*writable += (flags & O_ACCMODE) != O_RDONLY;
			}
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	free(want);
}

/*
 * A qcow2 backing chain beneath a writable top, as a disk = { file =
 * "top.qcow2"; } of kvm-launch opens it: base.raw <- mid.qcow2 <- top.qcow2,
 * the two below read-only (mode 0444). The guest's writes land in the top
 * only; the layers below are opened O_RDONLY and stay byte-identical.
 */
static void backing_chain(void)
{
	enum { SZ = 1 << 20 };
	char base[80], mid[80], top[80], err[256];
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = SZ };
	static uint8_t base0[SZ], mid0[SZ], after[SZ];
	uint8_t a[512], b[512], back[512];
	ssize_t nb = -1, nm = -1;
	int fd, all_b, wr_b, all_m, wr_m;
	struct img *img;
	bool made;

	snprintf(base, sizeof(base), "%s/base.raw", dir);
	snprintf(mid, sizeof(mid), "%s/mid.qcow2", dir);
	snprintf(top, sizeof(top), "%s/top.qcow2", dir);
	for (size_t i = 0; i < SZ; i++)
		base0[i] = (uint8_t)(i * 7 / 512);
	fd = open(base, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	made = fd >= 0 && pwrite(fd, base0, SZ, 0) == SZ;
	if (fd >= 0)
		close(fd);
	o.backing_file = "base.raw";
	o.backing_format = IMG_FMT_RAW;
	made = made && !img_create(mid, &o, err, sizeof(err));
	img = made ? img_open(mid, IMG_FMT_QCOW2, 0, err, sizeof(err)) : NULL;
	memset(a, 0x3c, sizeof(a));
	made = img && !img_pwrite(img, a, sizeof(a), 200 * 512);	/* mid has sector 200 */
	if (img)
		img_close(img);
	o.backing_file = "mid.qcow2";
	o.backing_format = IMG_FMT_QCOW2;
	made = made && !img_create(top, &o, err, sizeof(err)) && !chmod(base, 0444) && !chmod(mid, 0444);
	if (made) {
		nb = slurp(base, base0, SZ);
		nm = slurp(mid, mid0, SZ);
	}
	if (!tap_ok(made && nm > 0 && nb == SZ && !attach(top, IMG_FMT_AUTO, false) &&
		    !ch.drive[0].be.readonly,
		    "chain base.raw <- mid.qcow2 <- top.qcow2, the two below mode 0444: top attached writable")) {
		tap_diag("set-up: %s", made ? "attach failed" : err);
		for (int i = 0; i < 4; i++)
			tap_ok(0, "backing chain (not set up)");
		return;
	}
	fds_on(base, &all_b, &wr_b);
	fds_on(mid, &all_m, &wr_m);
	tap_ok(all_b > 0 && all_m > 0 && !wr_b && !wr_m,
	       "the backing files are open, every descriptor O_RDONLY (base %d of %d, mid %d of %d writable)",
	       wr_b, all_b, wr_m, all_m);
	read_sector(200, back);
	tap_ok(!memcmp(back, a, 512) && (read_sector(3, back), !memcmp(back, base0 + 3 * 512, 512)),
	       "reads come from the layer that has the data (mid, base)");
	memset(b, 0xc3, sizeof(b));
	write_sector(200, b);	/* over mid's data */
	write_sector(3, b);	/* over base's */
	write_sector(2047, b);
	read_sector(200, back);
	tap_ok(ok_status() && !memcmp(back, b, 512) && (read_sector(3, back), !memcmp(back, b, 512)),
	       "the guest's writes over both layers read back");
	ide_channel_destroy(&ch);
	ide_image_close(&im);
	memset(&im, 0, sizeof(im));
	tap_ok(slurp(base, after, SZ) == nb && !memcmp(after, base0, SZ) &&
	       slurp(mid, after, SZ) == nm && !memcmp(after, mid0, (size_t)nm),
	       "after the disk is closed, base.raw and mid.qcow2 are byte-identical");
	img = img_open(top, IMG_FMT_AUTO, IMG_OPEN_RDONLY, err, sizeof(err));
	tap_ok(img && !img_pread(img, back, 512, 3 * 512) && !memcmp(back, b, 512) &&
	       !img_pread(img, back, 512, 2047 * 512) && !memcmp(back, b, 512),
	       "the writes are in top.qcow2");
	if (img)
		img_close(img);
	unlink(base);
	unlink(mid);
	unlink(top);
}

int main(void)
{
	char raw[64], qcow[64], err[256];
	uint8_t sec[512], magic[512], back[512];
	struct img_create_opts opts = { .format = IMG_FMT_QCOW2, .size = 1 << 20 };
	int fd;

	ram = calloc(1, RAM_SIZE);
	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	snprintf(raw, sizeof(raw), "%s/disk.raw", dir);
	snprintf(qcow, sizeof(qcow), "%s/disk.qcow2", dir);
	fd = open(raw, O_CREAT | O_RDWR, 0644);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		tap_skip_all("cannot create a raw image");
	close(fd);
	tap_plan(28);

	memset(sec, 0x5a, sizeof(sec));
	memset(magic, 0, sizeof(magic));
	memcpy(magic, "QFI\xfb", 4);

	tap_ok(!attach(raw, IMG_FMT_AUTO, false), "raw image (probed) attached");
	tap_ok(ch.drive[0].nsectors == 2048, "2048 sectors");
	write_sector(5, sec);
	tap_ok(ok_status() && file_has(raw, 5 * 512, sec, 512), "WRITE SECTORS reaches the file");
	read_sector(5, back);
	tap_ok(!memcmp(back, sec, 512), "and reads back");
	write_sector(0, magic);
	tap_ok((altstatus(&ch) & ATA_ERR) && inb(&ch, ATA_REG_ERROR) == ATA_ABRT,
	       "probed raw: writing a qcow2 magic to sector 0 aborts");
	tap_ok(!file_has(raw, 0, magic, 4), "the magic never reached the file");
	write_sector(0, sec);
	tap_ok(ok_status() && file_has(raw, 0, sec, 512), "other data in sector 0 is fine");
	{
		/* the vectored calls keep the guard, wherever the list splits the magic */
		struct ide_backend *be = &ch.drive[0].be;
		uint8_t a[256], b[768];
		struct iovec split[2] = { { magic, 2 }, { magic + 2, 510 } };
		struct iovec rd[2] = { { a, sizeof(a) }, { b, sizeof(b) } };

		tap_ok(be->pwritev && be->pwritev(be->ctx, split, 2, 0) == -EPERM &&
		       !file_has(raw, 0, magic, 4),
		       "probed raw: a magic split over two buffers is refused too");
		tap_ok(be->pwritev(be->ctx, split, 2, 512) == 0 && file_has(raw, 512, magic, 4),
		       "the guard is for sector 0 only");
		tap_ok(be->preadv && be->preadv(be->ctx, rd, 2, 5 * 512 - 256) == 0 &&
		       !memcmp(b, sec, 512) && file_has(raw, 5 * 512 - 256, a, 256),
		       "preadv reads the file into both buffers");
	}
	outb(&ch, ATA_REG_STATUS, 0xe7);
	tap_ok(ok_status(), "FLUSH CACHE through img_flush");

	tap_ok(!attach(raw, IMG_FMT_RAW, false), "raw image with format = raw");
	write_sector(0, magic);
	tap_ok(ok_status() && file_has(raw, 0, magic, 4), "explicit raw: the guest may write any bytes");

	tap_ok(!attach(raw, IMG_FMT_RAW, true), "read-only attach");
	write_sector(7, sec);
	tap_ok((altstatus(&ch) & ATA_ERR) && !file_has(raw, 7 * 512, sec, 512),
	       "read-only: WRITE SECTORS aborts, file untouched");

	if (img_create(qcow, &opts, err, sizeof(err)) || attach(qcow, IMG_FMT_AUTO, false)) {
		tap_diag("qcow2: %s", err);
		tap_ok(0, "qcow2 image attached");
		tap_ok(0, "qcow2 write/read");
	} else {
		tap_ok(1, "qcow2 image attached");
		write_sector(0, magic);
		write_sector(100, sec);
		read_sector(100, back);
		tap_ok(ok_status() && !memcmp(back, sec, 512), "qcow2: writes allocate and read back (no guard)");
	}


	/* snapshot = true: an overlay in $TMPDIR, gone at once; the image only read */
	{
		char ovl[80], before[512], pat[512];

		snprintf(ovl, sizeof(ovl), "%s/ovl", dir);
		mkdir(ovl, 0700);
		setenv("TMPDIR", ovl, 1);
		memset(pat, 0xa5, sizeof(pat));
		fd = open(raw, O_RDONLY);
		if (fd < 0 || pread(fd, before, 512, 9 * 512) != 512)
			memset(before, 0, sizeof(before));
		if (fd >= 0)
			close(fd);
		tap_ok(!attach_as(raw, IMG_FMT_RAW, false, true) && !ch.drive[0].be.readonly &&
		       entries(ovl) == 0, "snapshot: attached writable, the overlay already unlinked");
		write_sector(9, (uint8_t *)pat);
		read_sector(9, back);
		tap_ok(ok_status() && !memcmp(back, pat, 512), "snapshot: the write reads back");
		tap_ok(file_has(raw, 9 * 512, (uint8_t *)before, 512), "snapshot: the image itself is unchanged");
		tap_ok(attach_as(qcow, IMG_FMT_AUTO, false, true) == 0, "snapshot over a qcow2 image");
		read_sector(100, back);
		tap_ok(!memcmp(back, sec, 512), "snapshot: reads go through to the qcow2 below");
		unsetenv("TMPDIR");
	}
	backing_chain();
	ide_channel_destroy(&ch);
	ide_image_close(&im);
	unlink(raw);
	unlink(qcow);
	snprintf(err, sizeof(err), "%s/ovl", dir);
	rmdir(err);
	rmdir(dir);
	free(ram);
	return tap_done();
}
