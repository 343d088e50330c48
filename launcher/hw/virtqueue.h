/* launcher/hw/virtqueue.h: split virtqueues in guest RAM: descriptor chains popped as iovecs, used elements pushed, notification suppression. */
#ifndef HW_VIRTQUEUE_H
#define HW_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hw.h"

/* Descriptor flags. */
#define VIRTQ_DESC_F_NEXT		1
#define VIRTQ_DESC_F_WRITE		2
#define VIRTQ_DESC_F_INDIRECT		4
/* avail->flags and used->flags (without VIRTIO_RING_F_EVENT_IDX). */
#define VIRTQ_AVAIL_F_NO_INTERRUPT	1
#define VIRTQ_USED_F_NO_NOTIFY		1

/* Feature bits the ring itself implements (bit numbers). */
#define VIRTIO_RING_F_INDIRECT_DESC	28
#define VIRTIO_RING_F_EVENT_IDX		29

#define VIRTQ_MAX_SIZE		32768	/* the largest queue size virtio allows */
#define VIRTQ_MAX_IOV		1024	/* segments of one popped chain */
#define VIRTQ_LEGACY_ALIGN	4096	/* legacy PCI: used ring on a page of its own */

/*
 * One popped chain: the device-readable buffers (driver to device) first,
 * then the device-writable ones, as host pointers into guest RAM. The
 * driver owns them again once the element is pushed.
 */
struct virtq_elem {
	uint16_t head;			/* the chain's first descriptor */
	unsigned int out_num;		/* iov[0, out_num): readable */
	unsigned int in_num;		/* iov[out_num, out_num + in_num): writable */
	size_t out_len, in_len;		/* bytes in each part */
	struct iovec iov[VIRTQ_MAX_IOV];
};

struct virtqueue;

/*
 * The transport's side, called from whatever thread drives the queue (the
 * device's lock held): interrupt the driver for this queue; the queue
 * broke (the transport sets DEVICE_NEEDS_RESET and tells the driver); the
 * device stopped with buffers left, to let other work run, and wants to
 * be called for this queue again soon, as if notified.
 */
struct virtq_ops {
	void (*interrupt)(void *ctx, struct virtqueue *vq);
	void (*broken)(void *ctx, struct virtqueue *vq);
	bool (*again)(void *ctx, struct virtqueue *vq);
};

/*
 * A split virtqueue. The guest changes the rings under our feet, from
 * other CPUs: every field read from them is read once, and indices are
 * checked before use. A driver that breaks the rules breaks the queue: it
 * stops, with one message on stderr, until the transport resets it.
 */
struct virtqueue {
	/* set by virtq_init */
	const struct guest_mem *mem;
	const struct virtq_ops *ops;
	void *ctx;
	const char *name;		/* the device, for messages */
	unsigned int index;
	/* the rings, from virtq_enable */
	bool enabled, broken;
	bool event_idx, indirect;	/* negotiated ring features */
	uint16_t size;
	uint64_t desc_addr, avail_addr, used_addr;
	uint8_t *desc, *avail, *used;	/* host pointers */
	uint16_t last_avail;		/* the next avail entry to pop */
	uint16_t avail_shadow;		/* avail->idx as last read */
	uint16_t used_idx;		/* as last published in used->idx */
	uint16_t signalled_used;	/* used_idx when interrupts were last decided */
	bool signalled_valid;
};

void virtq_init(struct virtqueue *vq, unsigned int index, const char *name,
		const struct guest_mem *mem, const struct virtq_ops *ops, void *ctx);
/*
 * Start using the rings at these guest-physical addresses with size
 * entries (a power of 2 up to VIRTQ_MAX_SIZE) and the negotiated feature
 * bits. 0; -1 when size, alignment or placement (outside RAM) is wrong:
 * the queue is then broken.
 */
int virtq_enable(struct virtqueue *vq, uint16_t size, uint64_t desc,
		 uint64_t avail, uint64_t used, uint64_t features);
/* Where the rings of a legacy queue at page-aligned base are. */
void virtq_legacy_layout(uint16_t size, uint64_t base, uint64_t *desc,
			 uint64_t *avail, uint64_t *used);
/* Follow a change of the negotiated features (event index, indirect). */
void virtq_set_features(struct virtqueue *vq, uint64_t features);
/* Stop using the rings: disabled, indices 0, no longer broken. */
void virtq_disable(struct virtqueue *vq);

/*
 * Take the next available chain: true with e filled; false when there is
 * none, the queue is not enabled, or the chain is bad (the queue breaks).
 */
bool virtq_pop(struct virtqueue *vq, struct virtq_elem *e);
/* Return e to the driver with len bytes written (at most e->in_len). */
void virtq_push(struct virtqueue *vq, const struct virtq_elem *e, uint32_t len);
/*
 * Give back the last n popped elements, not pushed: the next pops return
 * them again (a device that found too little room and waits for more).
 */
void virtq_unpop(struct virtqueue *vq, unsigned int n);
/*
 * Return several elements at once: each to the used ring, the index
 * published once, so that the driver sees all of them or none (a frame
 * spread over mergeable rx buffers). Each len at most its element's in_len.
 */
struct virtq_used {
	uint16_t head;
	uint32_t len;
};
void virtq_push_many(struct virtqueue *vq, const struct virtq_used *used, unsigned int n);
/*
 * After pushing: interrupt the driver for the elements pushed since the
 * last call, unless it asked not to be (NO_INTERRUPT, or used_event).
 */
void virtq_interrupt(struct virtqueue *vq);
/*
 * While the device works through the queue, the driver need not notify
 * (NO_NOTIFY; nothing to do with the event index). virtq_enable_notify
 * asks for notifications again and returns true when buffers arrived in
 * the meantime: pop again, or one would be left without a notification.
 */
void virtq_disable_notify(struct virtqueue *vq);
bool virtq_enable_notify(struct virtqueue *vq);
/*
 * The device waits for more buffers than are available now (a frame
 * larger than the rx buffers it has): ask for a notification when the
 * driver adds any beyond them, whatever the suppression scheme. true:
 * some arrived meanwhile, look again.
 */
bool virtq_notify_on_more(struct virtqueue *vq);

/*
 * A device that worked through its budget with buffers still available:
 * have the transport run the queue again soon (a guest that keeps the
 * queue full must not keep the device's thread to itself). false: the
 * transport cannot, carry on.
 */
bool virtq_again(struct virtqueue *vq);

/* Break the queue (a message with the reason), as a bad driver does. */
void virtq_set_broken(struct virtqueue *vq, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copy into e's writable part from byte off; returns the bytes copied. */
size_t virtq_elem_write(const struct virtq_elem *e, size_t off, const void *buf, size_t len);
/* Copy out of e's readable part from byte off; returns the bytes copied. */
size_t virtq_elem_read(const struct virtq_elem *e, size_t off, void *buf, size_t len);

#endif
