/* imgtool/img_snapshot.c: the public internal-snapshot API: read-only and format checks, then dispatch. */
#include <errno.h>
#include <stdlib.h>

#include "img_int.h"

int img_snapshot_list(struct img *img, struct img_snapshot **list, char *err, size_t errlen)
{
	int ret;

	*list = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!img->drv->snapshot_list)
		return 0;
	pthread_mutex_lock(&img->lock);
	ret = img->drv->snapshot_list(img, list, err, errlen);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

void img_snapshot_list_free(struct img_snapshot *list, int n)
{
	if (!list)
		return;
	for (int i = 0; i < n; i++) {
		free(list[i].id);
		free(list[i].name);
	}
	free(list);
}

typedef int (*snapshot_op)(struct img *img, const char *name, char *err, size_t errlen);

static int run_op(struct img *img, snapshot_op op, const char *name, char *err, size_t errlen)
{
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!op)
		return img_seterr(err, errlen, "%s images have no internal snapshots",
				  img_format_name(img->fmt)), -ENOTSUP;
	if (img->ro)
		return img_seterr(err, errlen, "image is read-only"), -EROFS;
	if (!name)
		return img_seterr(err, errlen, "no snapshot name"), -EINVAL;
	pthread_mutex_lock(&img->lock);
	ret = op(img, name, err, errlen);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

int img_snapshot_create(struct img *img, const char *name, char *err, size_t errlen)
{
	return run_op(img, img->drv->snapshot_create, name, err, errlen);
}

int img_snapshot_apply(struct img *img, const char *id_or_name, char *err, size_t errlen)
{
	return run_op(img, img->drv->snapshot_apply, id_or_name, err, errlen);
}

int img_snapshot_delete(struct img *img, const char *name, char *err, size_t errlen)
{
	return run_op(img, img->drv->snapshot_delete, name, err, errlen);
}
