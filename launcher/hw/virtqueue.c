/* launcher/hw/virtqueue.c: split virtqueues: chain walking with every guest value checked, used ring, event index. */
#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "virtqueue.h"

/*
 * Ring layout (virtio 1.1, 2.6): descriptors of 16 bytes; avail = flags,
 * idx, ring[size], used_event; used = flags, idx, ring[size] of {id, len},
 * avail_event. All little-endian.
 */
#define DESC_SIZE		16
#define AVAIL_IDX		2
#define AVAIL_RING		4
#define USED_IDX		2
#define USED_RING		4
#define USED_ELEM_SIZE		8
#define PAGE			4096u

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/*
 * The guest writes these words from other CPUs: each is one atomic access,
 * so that the compiler neither tears nor repeats it. Alignment is checked
 * when the queue is enabled.
 */
static uint16_t load16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED));
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELAXED);
}

/* avail->idx: acquire, so that the ring entries and descriptors it covers are read after it. */
static uint16_t avail_idx(const struct virtqueue *vq)
{
	return le16toh(__atomic_load_n((const uint16_t *)(vq->avail + AVAIL_IDX),
				       __ATOMIC_ACQUIRE));
}

static uint16_t used_event(const struct virtqueue *vq)
{
	return load16(vq->avail + AVAIL_RING + 2u * vq->size);
}

static void set_avail_event(struct virtqueue *vq, uint16_t v)
{
	store16(vq->used + USED_RING + USED_ELEM_SIZE * vq->size, v);
}

void virtq_set_broken(struct virtqueue *vq, const char *fmt, ...)
{
	va_list ap;

	if (vq->broken)
		return;
	vq->broken = true;
	fprintf(stderr, "kvm-launch: %s: queue %u: ", vq->name ? vq->name : "virtio", vq->index);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (the device needs a reset)\n", stderr);
	if (vq->ops && vq->ops->broken)
		vq->ops->broken(vq->ctx, vq);
}

void virtq_init(struct virtqueue *vq, unsigned int index, const char *name,
		const struct guest_mem *mem, const struct virtq_ops *ops, void *ctx)
{
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->name = name;
	vq->mem = mem;
	vq->ops = ops;
	vq->ctx = ctx;
}

void virtq_disable(struct virtqueue *vq)
{
	vq->enabled = vq->broken = false;
	vq->size = 0;
	vq->desc = vq->avail = vq->used = NULL;
	vq->desc_addr = vq->avail_addr = vq->used_addr = 0;
	vq->last_avail = vq->avail_shadow = vq->used_idx = vq->signalled_used = 0;
	vq->signalled_valid = false;
}

void virtq_set_features(struct virtqueue *vq, uint64_t features)
{
	vq->event_idx = features >> VIRTIO_RING_F_EVENT_IDX & 1;
	vq->indirect = features >> VIRTIO_RING_F_INDIRECT_DESC & 1;
}

void virtq_legacy_layout(uint16_t size, uint64_t base, uint64_t *desc,
			 uint64_t *avail, uint64_t *used)
{
	uint64_t avail_end;

	*desc = base;
	*avail = base + (uint64_t)DESC_SIZE * size;
	avail_end = *avail + AVAIL_RING + 2u * size + 2;
	*used = (avail_end + VIRTQ_LEGACY_ALIGN - 1) & ~(uint64_t)(VIRTQ_LEGACY_ALIGN - 1);
}

int virtq_enable(struct virtqueue *vq, uint16_t size, uint64_t desc,
		 uint64_t avail, uint64_t used, uint64_t features)
{
	uint64_t dlen = (uint64_t)DESC_SIZE * size;
	uint64_t alen = AVAIL_RING + 2u * size + 2, ulen = USED_RING + USED_ELEM_SIZE * size + 2;

	virtq_disable(vq);
	if (!size || (size & (size - 1))) {
		virtq_set_broken(vq, "size %u is not a power of 2", size);
		return -1;
	}
	/* virtio 1.1, 2.6: descriptors 16-, avail 2-, used 4-byte aligned */
	if ((desc & 15) || (avail & 1) || (used & 3)) {
		virtq_set_broken(vq, "rings misaligned (descriptors %#llx, avail %#llx, used %#llx)",
				 (unsigned long long)desc, (unsigned long long)avail,
				 (unsigned long long)used);
		return -1;
	}
	vq->desc = guest_mem_map(vq->mem, desc, dlen);
	vq->avail = guest_mem_map(vq->mem, avail, alen);
	vq->used = guest_mem_map(vq->mem, used, ulen);
	if (!vq->desc || !vq->avail || !vq->used) {
		virtq_set_broken(vq, "rings outside RAM (descriptors %#llx, avail %#llx, used %#llx, size %u)",
				 (unsigned long long)desc, (unsigned long long)avail,
				 (unsigned long long)used, size);
		vq->desc = vq->avail = vq->used = NULL;
		return -1;
	}
	vq->size = size;
	vq->desc_addr = desc;
	vq->avail_addr = avail;
	vq->used_addr = used;
	virtq_set_features(vq, features);
	vq->enabled = true;
	return 0;
}

/* ---- popping a chain ---- */

static void read_desc(const uint8_t *table, unsigned int i, struct desc *d)
{
	/* one copy: what is checked below is what is used */
	memcpy(d, table + (size_t)DESC_SIZE * i, sizeof(*d));
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* Append a segment; a piece of the same buffer right after the last one extends it. */
static int add_iov(struct virtqueue *vq, struct virtq_elem *e, void *p, size_t len,
		   bool write, bool same_buffer)
{
	unsigned int n = e->out_num + e->in_num;

	if (same_buffer && (uint8_t *)e->iov[n - 1].iov_base + e->iov[n - 1].iov_len == p) {
		e->iov[n - 1].iov_len += len;
		return 0;
	}
	if (n == VIRTQ_MAX_IOV) {
		virtq_set_broken(vq, "chain at %u has more than %d segments", e->head, VIRTQ_MAX_IOV);
		return -1;
	}
	e->iov[n].iov_base = p;
	e->iov[n].iov_len = len;
	if (write)
		e->in_num++;
	else
		e->out_num++;
	return 0;
}

/* One buffer as iovecs: whole if it lies in one RAM slot, else page by page. */
static int map_buffer(struct virtqueue *vq, struct virtq_elem *e, const struct desc *d)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	uint64_t off = 0;
	void *p;

	if (!d->len) {
		virtq_set_broken(vq, "chain at %u has a buffer of length 0", e->head);
		return -1;
	}
	if (!write && e->in_num) {
		virtq_set_broken(vq, "chain at %u has a readable buffer after a writable one", e->head);
		return -1;
	}
	if (d->addr > UINT64_MAX - d->len) {
		virtq_set_broken(vq, "chain at %u: buffer %#llx+%u wraps", e->head,
				 (unsigned long long)d->addr, d->len);
		return -1;
	}
	while (off < d->len) {
		uint64_t gpa = d->addr + off;
		uint64_t chunk = d->len - off;

		p = guest_mem_map(vq->mem, gpa, chunk);
		if (!p) {
			chunk = PAGE - (gpa & (PAGE - 1));
			if (chunk > d->len - off)
				chunk = d->len - off;
			p = guest_mem_map(vq->mem, gpa, chunk);
		}
		if (!p) {
			virtq_set_broken(vq, "chain at %u: buffer %#llx+%u is not in RAM", e->head,
					 (unsigned long long)d->addr, d->len);
			return -1;
		}
		if (add_iov(vq, e, p, chunk, write, off != 0))
			return -1;
		off += chunk;
	}
	if (write)
		e->in_len += d->len;
	else
		e->out_len += d->len;
	return 0;
}

/*
 * Walk the chain at head. Termination: at most `max` descriptors per table
 * (the queue size, or an indirect table's entry count), one indirect table.
 */
static int read_chain(struct virtqueue *vq, uint16_t head, struct virtq_elem *e)
{
	const uint8_t *table = vq->desc;
	unsigned int max = vq->size, i = head, count = 0;
	bool in_indirect = false;
	struct desc d;

	e->head = head;
	e->out_num = e->in_num = 0;
	e->out_len = e->in_len = 0;
	for (;;) {
		if (++count > max) {
			virtq_set_broken(vq, "chain at %u is longer than %u descriptors (a loop?)",
					 head, max);
			return -1;
		}
		read_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (in_indirect) {
				virtq_set_broken(vq, "chain at %u: indirect descriptor inside an indirect table", head);
				return -1;
			}
			if (!vq->indirect) {
				virtq_set_broken(vq, "chain at %u: indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC", head);
				return -1;
			}
			if (d.flags & VIRTQ_DESC_F_NEXT) {
				virtq_set_broken(vq, "chain at %u: indirect descriptor with NEXT", head);
				return -1;
			}
			if (!d.len || d.len % DESC_SIZE || d.len / DESC_SIZE > VIRTQ_MAX_SIZE) {
				virtq_set_broken(vq, "chain at %u: indirect table of %u bytes", head, d.len);
				return -1;
			}
			table = guest_mem_map(vq->mem, d.addr, d.len);
			if (!table) {
				virtq_set_broken(vq, "chain at %u: indirect table %#llx+%u is not in RAM",
						 head, (unsigned long long)d.addr, d.len);
				return -1;
			}
			in_indirect = true;
			max = d.len / DESC_SIZE;
			i = 0;
			count = 0;
			continue;
		}
		if (map_buffer(vq, e, &d))
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= max) {
			virtq_set_broken(vq, "chain at %u: next %u is beyond the %s of %u", head, i,
					 in_indirect ? "indirect table" : "queue", max);
			return -1;
		}
	}
}

bool virtq_pop(struct virtqueue *vq, struct virtq_elem *e)
{
	uint16_t head;

	if (!vq->enabled || vq->broken)
		return false;
	if (vq->last_avail == vq->avail_shadow) {
		uint16_t idx = avail_idx(vq);

		if ((uint16_t)(idx - vq->last_avail) > vq->size) {
			virtq_set_broken(vq, "avail idx %u is %u entries ahead of %u, the queue holds %u",
					 idx, (uint16_t)(idx - vq->last_avail), vq->last_avail, vq->size);
			return false;
		}
		vq->avail_shadow = idx;
		if (idx == vq->last_avail)
			return false;
	}
	head = load16(vq->avail + AVAIL_RING + 2u * (vq->last_avail & (vq->size - 1)));
	if (head >= vq->size) {
		virtq_set_broken(vq, "avail entry %u names descriptor %u of %u", vq->last_avail,
				 head, vq->size);
		return false;
	}
	if (read_chain(vq, head, e))
		return false;
	vq->last_avail++;
	return true;
}

/* ---- used ring and notifications ---- */

void virtq_unpop(struct virtqueue *vq, unsigned int n)
{
	vq->last_avail -= (uint16_t)n;
}

/* One used element at used_idx + k, not yet published. */
static void put_used(struct virtqueue *vq, uint16_t k, uint16_t head, uint32_t len)
{
	uint8_t *u = vq->used + USED_RING + USED_ELEM_SIZE * ((uint16_t)(vq->used_idx + k) & (vq->size - 1));
	uint32_t v[2] = { htole32(head), htole32(len) };

	memcpy(u, v, sizeof(v));
}

/* release: the elements (and the data written to the buffers) before the index */
static void publish_used(struct virtqueue *vq, uint16_t n)
{
	vq->used_idx += n;
	__atomic_store_n((uint16_t *)(vq->used + USED_IDX), htole16(vq->used_idx), __ATOMIC_RELEASE);
}

void virtq_push(struct virtqueue *vq, const struct virtq_elem *e, uint32_t len)
{
	if (!vq->enabled || vq->broken)
		return;
	if (len > e->in_len)
		len = (uint32_t)e->in_len;
	put_used(vq, 0, e->head, len);
	publish_used(vq, 1);
}

void virtq_push_many(struct virtqueue *vq, const struct virtq_used *used, unsigned int n)
{
	if (!vq->enabled || vq->broken || !n)
		return;
	for (unsigned int k = 0; k < n; k++)
		put_used(vq, (uint16_t)k, used[k].head, used[k].len);
	publish_used(vq, (uint16_t)n);
}

/* virtio 1.1, 2.6.7.2: interrupt when used_event lies in (old, new]. */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

void virtq_interrupt(struct virtqueue *vq)
{
	uint16_t old = vq->signalled_used;
	bool valid = vq->signalled_valid;

	if (!vq->enabled || vq->broken || old == vq->used_idx)
		return;
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	/*
	 * The used index is out before the driver's suppression is read: the
	 * driver does the reverse (writes used_event or clears NO_INTERRUPT,
	 * then reads used->idx), so one of us sees the other.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		if (valid && !need_event(used_event(vq), vq->used_idx, old))
			return;
	} else if (load16(vq->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT) {
		return;
	}
	if (vq->ops && vq->ops->interrupt)
		vq->ops->interrupt(vq->ctx, vq);
}

void virtq_disable_notify(struct virtqueue *vq)
{
	if (!vq->enabled || vq->broken || vq->event_idx)
		return;
	store16(vq->used, load16(vq->used) | VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_enable_notify(struct virtqueue *vq)
{
	if (!vq->enabled || vq->broken)
		return false;
	if (vq->event_idx)
		set_avail_event(vq, vq->last_avail);
	else
		store16(vq->used, load16(vq->used) & ~VIRTQ_USED_F_NO_NOTIFY);
	/* the flag or avail_event out before avail->idx is read again */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail_idx(vq) != vq->last_avail;
}

bool virtq_notify_on_more(struct virtqueue *vq)
{
	uint16_t idx;

	if (!vq->enabled || vq->broken)
		return false;
	idx = avail_idx(vq);
	/* the event index past what is there now: the driver's next buffer notifies */
	if (vq->event_idx)
		set_avail_event(vq, idx);
	else
		store16(vq->used, load16(vq->used) & ~VIRTQ_USED_F_NO_NOTIFY);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail_idx(vq) != idx;
}

bool virtq_again(struct virtqueue *vq)
{
	return vq->ops && vq->ops->again && vq->ops->again(vq->ctx, vq);
}

/* ---- copying to and from an element ---- */

static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t off, void *buf,
		       size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t chunk;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		chunk = iov[i].iov_len - off;
		if (chunk > len - done)
			chunk = len - done;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, (uint8_t *)buf + done, chunk);
		else
			memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, chunk);
		done += chunk;
		off = 0;
	}
	return done;
}

size_t virtq_elem_write(const struct virtq_elem *e, size_t off, const void *buf, size_t len)
{
	return iov_copy(e->iov + e->out_num, e->in_num, off, (void *)buf, len, true);
}

size_t virtq_elem_read(const struct virtq_elem *e, size_t off, void *buf, size_t len)
{
	return iov_copy(e->iov, e->out_num, off, buf, len, false);
}
