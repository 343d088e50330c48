/* launcher/dev-virtio-rng.c: the virtio entropy device at PCI 00:03.0 (rng = true): host randomness behind the shared virtio glue (virtio-dev.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "device.h"
#include "hw/virtio_rng.h"
#include "virtio-dev.h"
#include "vm.h"

#define RNG_DEVFN	PCI_DEVFN(3, 0)		/* 02.0 stays free for a VGA, as on QEMU */
#define RNG_AGAIN_NS	50000			/* a budget used up: the I/O thread's other work first */

struct pc_virtio_rng {
	struct virtio_dev vdev;
	struct virtio_rng rng;
};

static size_t host_random(void *ctx, void *buf, size_t len)
{
	size_t done = 0;

	(void)ctx;
	while (done < len) {
		ssize_t n = getrandom((char *)buf + done, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("kvm-launch: virtio-rng: getrandom");
			break;
		}
		done += (size_t)n;
	}
	return done;
}

static void rng_destroy(void *state)
{
	struct pc_virtio_rng *d = state;

	virtio_dev_destroy(&d->vdev);
	free(d);
}

static int rng_create(struct vm *vm, void **state)
{
	struct pc_virtio_rng *d;

	if (!vm_config(vm)->rng)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	virtio_rng_init(&d->rng, host_random, d);
	if (virtio_dev_create(&d->vdev, vm, "virtio-rng", RNG_DEVFN, &virtio_rng_ops, &d->rng,
			      RNG_AGAIN_NS)) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static const struct device_type virtio_rng_type = {
	.name = "virtio-rng", .stage = DEVICE_STAGE_DEVICE,
	.create = rng_create, .destroy = rng_destroy,
};
DEVICE_TYPE(virtio_rng_type);
