/* launcher/hw/virtio_rng.h: the virtio entropy device (type 4): one queue whose writable buffers it fills with random bytes. */
#ifndef HW_VIRTIO_RNG_H
#define HW_VIRTIO_RNG_H

#include <stddef.h>

#include "virtio_pci.h"
#include "virtqueue.h"

#define VIRTIO_ID_RNG		4
#define VIRTIO_RNG_QUEUE_SIZE	64
/* At most this much per buffer (the device may fill less than offered). */
#define VIRTIO_RNG_MAX_FILL	65536
/* Buffers per notification before other work gets its turn (virtq_again). */
#define VIRTIO_RNG_BUDGET	VIRTIO_RNG_QUEUE_SIZE

/*
 * fill() writes up to len random bytes to buf and returns how many it
 * wrote (fewer: the source ran dry, the buffer goes back partly filled).
 */
struct virtio_rng {
	size_t (*fill)(void *ctx, void *buf, size_t len);
	void *ctx;
	struct virtq_elem elem;
};

void virtio_rng_init(struct virtio_rng *r, size_t (*fill)(void *ctx, void *buf, size_t len),
		     void *ctx);

/* The model for a transport, with dev = the struct virtio_rng. */
extern const struct virtio_dev_ops virtio_rng_ops;

#endif
