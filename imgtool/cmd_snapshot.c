/* imgtool/cmd_snapshot.c: the snapshot verb, and the snapshot table that it and info print. */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/*
 * Column for column what qemu-img 7.2 prints, including its truncation of
 * IDs to 127 bytes and names to 255 (the sizes of its QEMUSnapshotInfo).
 */
void cli_print_snapshots(const struct img_snapshot *l, int n)
{
	if (n <= 0)
		return;
	printf("Snapshot list:\n%-10s%-17s%8s%20s%13s%11s\n",
	       "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
	for (int i = 0; i < n; i++) {
		char size[32], date[32] = "", clock[64], icount[32] = "";
		int64_t secs = (int64_t)(l[i].vm_clock_nsec / 1000000000);
		time_t t = (time_t)l[i].date_sec;
		struct tm tm;

		cli_size_str(l[i].vm_state_size, size, sizeof(size));
		if (localtime_r(&t, &tm))
			strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(clock, sizeof(clock), "%02d:%02d:%02d.%03d", (int)(secs / 3600),
			 (int)((secs / 60) % 60), (int)(secs % 60),
			 (int)((l[i].vm_clock_nsec / 1000000) % 1000));
		if (l[i].icount != UINT64_MAX)
			snprintf(icount, sizeof(icount), "%" PRId64, (int64_t)l[i].icount);
		printf("%-9.127s %-16.255s %8s%20s%13s%11s\n", l[i].id, l[i].name, size, date,
		       clock, icount);
	}
}

enum snapshot_action { SNAP_NONE, SNAP_LIST, SNAP_APPLY, SNAP_CREATE, SNAP_DELETE };

int cmd_snapshot(int argc, char **argv)
{
	static const char *const verb[] = {
		[SNAP_APPLY] = "apply", [SNAP_CREATE] = "create", [SNAP_DELETE] = "delete",
	};
	enum snapshot_action action = SNAP_NONE;
	enum img_format fmt = IMG_FMT_AUTO;
	const char *name = NULL, *path;
	struct img_snapshot *list;
	char err[512];
	struct img *img;
	int c, ret = 0;

	while ((c = getopt(argc, argv, "la:c:d:f:q")) != -1) {
		enum snapshot_action a = c == 'l' ? SNAP_LIST : c == 'a' ? SNAP_APPLY :
					 c == 'c' ? SNAP_CREATE : c == 'd' ? SNAP_DELETE : SNAP_NONE;

		if (a != SNAP_NONE) {
			if (action != SNAP_NONE) {
				cli_error("Cannot mix '-l', '-a', '-c', '-d'");
				return 1;
			}
			action = a;
			name = optarg;
		} else if (c == 'f') {
			if (cli_parse_format(optarg, &fmt) < 0)
				return 1;
		} else if (c != 'q') {	/* -q: as in qemu-img, the list prints anyway */
			return 1;
		}
	}
	if (optind + 1 != argc) {
		cli_error("Expecting one image file name");
		return 1;
	}
	path = argv[optind];
	/* Snapshots touch no guest data: the backing chain is not needed. */
	img = img_open(path, fmt, (action == SNAP_LIST || action == SNAP_NONE ? IMG_OPEN_RDONLY : 0) |
		       IMG_OPEN_NO_BACKING, err, sizeof(err));
	if (!img) {
		cli_error("Could not open '%s': %s", path, err);
		return 1;
	}
	switch (action) {
	case SNAP_NONE:
		break;
	case SNAP_LIST:
		ret = img_snapshot_list(img, &list, err, sizeof(err));
		if (ret < 0) {
			cli_error("Could not list the snapshots of '%s': %s", path, err);
			break;
		}
		cli_print_snapshots(list, ret);
		img_snapshot_list_free(list, ret);
		ret = 0;
		break;
	case SNAP_APPLY:
		ret = img_snapshot_apply(img, name, err, sizeof(err));
		break;
	case SNAP_CREATE:
		ret = img_snapshot_create(img, name, err, sizeof(err));
		break;
	case SNAP_DELETE:
		ret = img_snapshot_delete(img, name, err, sizeof(err));
		break;
	}
	if (ret < 0 && action != SNAP_LIST)
		cli_error("Could not %s snapshot '%s' in '%s': %s", verb[action], name, path, err);
	img_close(img);
	return ret < 0 ? 1 : 0;
}
