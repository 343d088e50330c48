/* imgtool/format.c: format names. */
#include <errno.h>
#include <string.h>

#include "img.h"

const char *img_format_name(enum img_format fmt)
{
	switch (fmt) {
	case IMG_FMT_RAW:
		return "raw";
	case IMG_FMT_QCOW2:
		return "qcow2";
	default:
		return "auto";
	}
}

int img_parse_format(const char *name, enum img_format *fmt)
{
	if (!strcmp(name, "raw"))
		*fmt = IMG_FMT_RAW;
	else if (!strcmp(name, "qcow2"))
		*fmt = IMG_FMT_QCOW2;
	else
		return -EINVAL;
	return 0;
}
