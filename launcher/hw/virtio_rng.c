/* launcher/hw/virtio_rng.c: the virtio entropy device: each request's writable buffers filled from a random source. */
#include "virtio_rng.h"

void virtio_rng_init(struct virtio_rng *r, size_t (*fill)(void *ctx, void *buf, size_t len),
		     void *ctx)
{
	r->fill = fill;
	r->ctx = ctx;
}

/* Fill e's writable part (readable buffers have no meaning here). */
static size_t rng_fill(struct virtio_rng *r, const struct virtq_elem *e)
{
	size_t done = 0;

	for (unsigned int i = e->out_num; i < e->out_num + e->in_num; i++) {
		size_t want = e->iov[i].iov_len, got;

		if (want > VIRTIO_RNG_MAX_FILL - done)
			want = VIRTIO_RNG_MAX_FILL - done;
		got = r->fill(r->ctx, e->iov[i].iov_base, want);
		done += got;
		if (got < want || done == VIRTIO_RNG_MAX_FILL)
			break;
	}
	return done;
}

static void rng_queue_notify(void *dev, struct virtqueue *vq)
{
	struct virtio_rng *r = dev;
	unsigned int budget = VIRTIO_RNG_BUDGET;

	do {
		virtq_disable_notify(vq);
		while (virtq_pop(vq, &r->elem)) {
			virtq_push(vq, &r->elem, (uint32_t)rng_fill(r, &r->elem));
			if (--budget == 0 && virtq_again(vq)) {
				/* notifications stay off: the transport runs the queue again */
				virtq_interrupt(vq);
				return;
			}
		}
	} while (virtq_enable_notify(vq));
	virtq_interrupt(vq);
}

const struct virtio_dev_ops virtio_rng_ops = {
	.type = VIRTIO_ID_RNG,
	.pci_class = 0xff0000,		/* "other", as QEMU's */
	.features = 1ull << VIRTIO_RING_F_INDIRECT_DESC | 1ull << VIRTIO_RING_F_EVENT_IDX,
	.num_queues = 1,
	.queue_size = VIRTIO_RNG_QUEUE_SIZE,
	.queue_notify = rng_queue_notify,
};
