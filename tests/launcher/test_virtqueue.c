/* tests/launcher/test_virtqueue.c: split virtqueues over a fake guest RAM: chains, indirect tables, the used ring, event index, and every way a driver can break a queue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/virtqueue.h"
#include "tap.h"

/*
 * Guest RAM: two slots whose host buffers are not adjacent, so that a
 * buffer across the boundary needs two iovecs: [0, 64K) and [64K, 128K).
 */
#define SLOT		0x10000u
#define DESC		0x1000u
#define AVAIL		0x2000u
#define USED		0x3000u
#define BUF		0x8000u
#define QSIZE		8

static uint8_t *slot[2];
static unsigned int interrupts, broken_calls;

static void *ram_map(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	for (unsigned int i = 0; i < 2; i++)
		if (gpa >= i * SLOT && len <= SLOT && gpa - i * SLOT <= SLOT - len)
			return slot[i] + (gpa - i * SLOT);
	return NULL;
}

static const struct guest_mem mem = { ram_map, NULL };

static void on_interrupt(void *ctx, struct virtqueue *vq)
{
	(void)ctx;
	(void)vq;
	interrupts++;
}

static void on_broken(void *ctx, struct virtqueue *vq)
{
	(void)ctx;
	(void)vq;
	broken_calls++;
}

static const struct virtq_ops ops = { on_interrupt, on_broken, NULL };

static uint8_t *gpa(uint64_t a)
{
	return ram_map(NULL, a, 1);
}

static void put16(uint64_t a, uint16_t v) { memcpy(gpa(a), &v, 2); }
static uint16_t get16(uint64_t a) { uint16_t v; memcpy(&v, gpa(a), 2); return v; }
static uint32_t get32(uint64_t a) { uint32_t v; memcpy(&v, gpa(a), 4); return v; }

static void desc_at(uint64_t table, unsigned int i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	uint8_t *d = gpa(table + 16 * i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc_at(DESC, i, addr, len, flags, next);
}

/* The driver's side of the avail ring. */
static uint16_t avail_idx;

static void avail_add(uint16_t head)
{
	put16(AVAIL + 4 + 2 * (avail_idx % QSIZE), head);
	avail_idx++;
	put16(AVAIL + 2, avail_idx);
}

static struct virtqueue vq;
static struct virtq_elem e;
static char errbuf[4096];
static FILE *errfile;
static int saved_stderr = -1;

/* Collect stderr, to check the messages of a breaking queue. */
static void capture(void)
{
	fflush(stderr);
	errfile = tmpfile();
	saved_stderr = dup(2);
	dup2(fileno(errfile), 2);
}

static const char *captured(void)
{
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	rewind(errfile);
	n = fread(errbuf, 1, sizeof(errbuf) - 1, errfile);
	errbuf[n] = 0;
	if (n && errbuf[n - 1] == '\n')
		errbuf[n - 1] = 0;
	fclose(errfile);
	return errbuf;
}

/* A fresh queue of QSIZE over zeroed RAM, with these features. */
static void fresh(uint64_t features)
{
	memset(slot[0], 0, SLOT);
	memset(slot[1], 0, SLOT);
	avail_idx = 0;
	interrupts = broken_calls = 0;
	virtq_init(&vq, 2, "test-dev", &mem, &ops, NULL);
	virtq_enable(&vq, QSIZE, DESC, AVAIL, USED, features);
}

/* Expect the next pop to break the queue with a message containing why. */
static void expect_broken(const char *what, const char *why)
{
	const char *msg;
	bool popped;

	capture();
	popped = virtq_pop(&vq, &e);
	msg = captured();
	tap_ok(!popped && vq.broken && broken_calls == 1 && strstr(msg, why) &&
	       strstr(msg, "test-dev: queue 2:"), "%s: queue broken, transport told, message (%s)",
	       what, msg);
}

static void test_enable(void)
{
	const char *msg;
	uint64_t d, a, u;

	fresh(0);
	tap_ok(vq.enabled && !vq.broken && vq.size == QSIZE, "enable: size 8 at 0x1000/0x2000/0x3000");
	tap_ok(!virtq_pop(&vq, &e) && !vq.broken, "empty queue: nothing popped");
	capture();
	tap_ok(virtq_enable(&vq, 6, DESC, AVAIL, USED, 0) == -1 && vq.broken && !vq.enabled &&
	       broken_calls == 1, "size 6 (not a power of 2) breaks the queue");
	msg = captured();
	tap_ok(strstr(msg, "size 6 is not a power of 2") != NULL, "with a message (%s)", msg);
	capture();
	tap_ok(virtq_enable(&vq, 0, DESC, AVAIL, USED, 0) == -1 && vq.broken, "size 0 breaks it");
	tap_ok(virtq_enable(&vq, QSIZE, DESC + 8, AVAIL, USED, 0) == -1 &&
	       virtq_enable(&vq, QSIZE, DESC, AVAIL + 1, USED, 0) == -1 &&
	       virtq_enable(&vq, QSIZE, DESC, AVAIL, USED + 2, 0) == -1, "misaligned rings break it");
	tap_ok(virtq_enable(&vq, QSIZE, 2 * SLOT, AVAIL, USED, 0) == -1 &&
	       virtq_enable(&vq, QSIZE, DESC, AVAIL, SLOT - 16, 0) == -1 &&
	       virtq_enable(&vq, QSIZE, DESC, ~0ull - 15, USED, 0) == -1, "rings outside RAM break it");
	captured();
	tap_ok(!virtq_pop(&vq, &e), "a broken queue pops nothing");
	virtq_disable(&vq);
	tap_ok(!vq.broken && !vq.enabled && !virtq_pop(&vq, &e), "disable: not broken, not enabled");
	virtq_legacy_layout(64, 0x5000, &d, &a, &u);
	tap_ok(d == 0x5000 && a == 0x5400 && u == 0x6000, "legacy layout, 64 entries: used on the next page");
	virtq_legacy_layout(256, 0x10000, &d, &a, &u);
	tap_ok(a == 0x11000 && u == 0x12000, "legacy layout, 256 entries: avail after 4 KiB, used page aligned");
}

static void test_chain(void)
{
	uint8_t out[4] = { 1, 2, 3, 4 }, in[8];

	fresh(0);
	memcpy(gpa(BUF), out, 4);
	desc(3, BUF, 4, VIRTQ_DESC_F_NEXT, 5);
	desc(5, BUF + 0x100, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF + 0x300, 28, VIRTQ_DESC_F_WRITE, 0);
	avail_add(3);
	tap_ok(virtq_pop(&vq, &e) && e.head == 3 && e.out_num == 1 && e.in_num == 2 &&
	       e.out_len == 4 && e.in_len == 128, "chain 3 -> 5 -> 1: one readable, two writable");
	tap_ok(e.iov[0].iov_base == gpa(BUF) && e.iov[1].iov_base == gpa(BUF + 0x100) &&
	       e.iov[2].iov_base == gpa(BUF + 0x300) && e.iov[2].iov_len == 28,
	       "iovecs point into guest RAM");
	tap_ok(virtq_elem_read(&e, 1, in, 8) == 3 && in[0] == 2 && in[2] == 4, "read the readable part");
	memset(in, 0xab, sizeof(in));
	tap_ok(virtq_elem_write(&e, 98, in, 8) == 8 && gpa(BUF + 0x100)[99] == 0xab &&
	       gpa(BUF + 0x300)[5] == 0xab && gpa(BUF + 0x300)[6] == 0,
	       "a write across two writable buffers");
	tap_ok(virtq_elem_write(&e, 120, in, 8) == 8 && virtq_elem_write(&e, 127, in, 8) == 1 &&
	       virtq_elem_write(&e, 200, in, 8) == 0, "writes stop at the end");
	tap_ok(!virtq_pop(&vq, &e), "one chain was available");
	virtq_push(&vq, &e, 50);
	tap_ok(get16(USED + 2) == 1 && get32(USED + 4) == 3 && get32(USED + 8) == 50,
	       "push: used idx 1, element { id 3, len 50 }");
	avail_add(1);
	virtq_pop(&vq, &e);
	virtq_push(&vq, &e, 1000);
	tap_ok(get16(USED + 2) == 2 && get32(USED + 12) == 1 && get32(USED + 16) == 28,
	       "a written length beyond the writable part is cut to it");

	/* adjacent buffers stay apart: a readable one and a writable one */
	fresh(0);
	desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF + 16, 16, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	tap_ok(virtq_pop(&vq, &e) && e.out_num == 1 && e.in_num == 1 && e.iov[0].iov_len == 16,
	       "adjacent readable and writable buffers: two iovecs");
	/* the longest chain: the queue size */
	for (unsigned int i = 0; i < QSIZE; i++)
		desc(i, BUF + 64 * i, 16, i < QSIZE - 1 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	avail_add(0);
	tap_ok(virtq_pop(&vq, &e) && e.out_num == QSIZE && e.out_len == 16 * QSIZE,
	       "a chain of all 8 descriptors");

	/* across RAM slots: two iovecs; a buffer inside a slot: one */
	fresh(0);
	desc(0, SLOT - 0x1800, 0x3000, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	tap_ok(virtq_pop(&vq, &e) && e.in_num == 2 && e.iov[0].iov_len == 0x1800 &&
	       e.iov[1].iov_base == slot[1] && e.iov[1].iov_len == 0x1800 && e.in_len == 0x3000,
	       "a buffer across two RAM slots: two iovecs");
}

static void test_indirect(void)
{
	fresh(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	desc_at(0x4000, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	desc_at(0x4000, 2, BUF + 0x100, 32, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc_at(0x4000, 1, BUF + 0x200, 64, VIRTQ_DESC_F_WRITE, 0);
	desc(4, 0x4000, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	avail_add(4);
	tap_ok(virtq_pop(&vq, &e) && e.head == 4 && e.out_num == 1 && e.in_num == 2 &&
	       e.out_len == 16 && e.in_len == 96, "indirect table of 3: head 4, 16 readable, 96 writable");
	desc(6, BUF + 0x400, 8, VIRTQ_DESC_F_NEXT, 7);
	desc(7, 0x4000, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(6);
	tap_ok(virtq_pop(&vq, &e) && e.out_num == 2 && e.in_num == 2 && e.out_len == 24,
	       "a direct descriptor, then an indirect table");

	fresh(0);
	desc(0, 0x4000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("indirect without VIRTIO_RING_F_INDIRECT_DESC", "without VIRTIO_RING_F_INDIRECT_DESC");

	fresh(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	desc_at(0x4000, 0, 0x4100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	desc(0, 0x4000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("nested indirect table", "indirect descriptor inside an indirect table");

	fresh(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	desc(0, 0x4000, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	avail_add(0);
	expect_broken("indirect with NEXT", "indirect descriptor with NEXT");

	fresh(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	desc(0, 0x4000, 24, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("indirect table of 24 bytes", "indirect table of 24 bytes");

	fresh(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	desc(0, 0x4000, 0, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("indirect table of 0 bytes", "indirect table of 0 bytes");

	fresh(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	desc(0, 0x4000, 0xfffffff0, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("huge indirect table", "indirect table of 4294967280 bytes");

	fresh(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	desc(0, 3 * SLOT, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("indirect table outside RAM", "is not in RAM");

	fresh(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	desc_at(0x4000, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	desc(0, 0x4000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("next beyond the indirect table", "next 2 is beyond the indirect table of 2");

	/* more segments than an element holds: 1025 scattered buffers */
	fresh(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	for (unsigned int i = 0; i <= VIRTQ_MAX_IOV; i++)
		desc_at(SLOT, i, BUF + 32 * (i % 512), 16, i < VIRTQ_MAX_IOV ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	desc(0, SLOT, 16 * (VIRTQ_MAX_IOV + 1), VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("1025 segments", "more than 1024 segments");

	fresh(1ull << VIRTIO_RING_F_INDIRECT_DESC);
	desc_at(0x4000, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc_at(0x4000, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	desc(0, 0x4000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(0);
	expect_broken("a loop inside an indirect table", "longer than 2 descriptors");
}

static void test_hostile(void)
{
	fresh(0);
	desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	avail_add(0);
	expect_broken("a loop 0 -> 1 -> 0", "longer than 8 descriptors (a loop?)");

	fresh(0);
	for (unsigned int i = 0; i < QSIZE; i++)
		desc(i, BUF, 16, VIRTQ_DESC_F_NEXT, i);
	avail_add(3);
	expect_broken("a descriptor naming itself", "longer than 8 descriptors");

	fresh(0);
	desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 8);
	avail_add(0);
	expect_broken("next beyond the queue", "next 8 is beyond the queue of 8");

	fresh(0);
	avail_add(9);
	expect_broken("avail entry naming descriptor 9 of 8", "names descriptor 9 of 8");

	fresh(0);
	put16(AVAIL + 2, QSIZE + 1);
	expect_broken("avail idx 9 entries ahead", "avail idx 9 is 9 entries ahead of 0, the queue holds 8");

	fresh(0);
	put16(AVAIL + 2, 0xffff);
	expect_broken("avail idx going back", "avail idx 65535 is 65535 entries ahead");

	fresh(0);
	desc(0, 2 * SLOT + 0x100, 16, 0, 0);
	avail_add(0);
	expect_broken("a buffer outside RAM", "buffer 0x20100+16 is not in RAM");

	fresh(0);
	desc(0, SLOT + 0x8000, 0x10000, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	expect_broken("a buffer running off the end of RAM", "is not in RAM");

	fresh(0);
	desc(0, BUF, 0xffffffff, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	expect_broken("a 4 GiB buffer", "buffer 0x8000+4294967295 is not in RAM");

	fresh(0);
	desc(0, ~0ull - 7, 16, 0, 0);
	avail_add(0);
	expect_broken("a buffer wrapping the address space", "wraps");

	fresh(0);
	desc(0, BUF, 0, 0, 0);
	avail_add(0);
	expect_broken("a buffer of length 0", "a buffer of length 0");

	fresh(0);
	desc(0, BUF, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF + 16, 16, 0, 0);
	avail_add(0);
	expect_broken("a readable buffer after a writable one", "readable buffer after a writable one");

	/* once broken: nothing pops, nothing is pushed, no interrupt */
	avail_add(1);
	virtq_push(&vq, &e, 1);
	virtq_interrupt(&vq);
	tap_ok(!virtq_pop(&vq, &e) && get16(USED + 2) == 0 && interrupts == 0 && broken_calls == 1 &&
	       !virtq_enable_notify(&vq), "a broken queue stays still, and reports once");
}

static void test_notifications(void)
{
	fresh(0);
	desc(0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	virtq_pop(&vq, &e);
	virtq_interrupt(&vq);
	tap_ok(interrupts == 0, "nothing pushed: no interrupt");
	virtq_push(&vq, &e, 4);
	virtq_interrupt(&vq);
	tap_ok(interrupts == 1, "pushed: interrupt");
	virtq_interrupt(&vq);
	tap_ok(interrupts == 1, "nothing new since: no second interrupt");
	put16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	avail_add(0);
	virtq_pop(&vq, &e);
	virtq_push(&vq, &e, 4);
	virtq_interrupt(&vq);
	tap_ok(interrupts == 1, "VIRTQ_AVAIL_F_NO_INTERRUPT: suppressed");
	virtq_disable_notify(&vq);
	tap_ok(get16(USED) == VIRTQ_USED_F_NO_NOTIFY, "disable_notify sets VIRTQ_USED_F_NO_NOTIFY");
	tap_ok(!virtq_enable_notify(&vq) && get16(USED) == 0, "enable_notify clears it; nothing new");
	virtq_disable_notify(&vq);
	avail_add(0);
	tap_ok(virtq_enable_notify(&vq), "a buffer added while notifications were off: pop again");

	/* event index: used_event and avail_event */
	fresh(1ull << VIRTIO_RING_F_EVENT_IDX);
	desc(0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	virtq_disable_notify(&vq);
	tap_ok(get16(USED) == 0, "event index: disable_notify leaves the flags alone");
	for (unsigned int i = 0; i < 3; i++)
		avail_add(0);
	tap_ok(virtq_enable_notify(&vq) && get16(USED + 4 + 8 * QSIZE) == 0,
	       "enable_notify: avail_event = 0 (the next to pop), and 3 are waiting");
	for (unsigned int i = 0; i < 3; i++)
		virtq_pop(&vq, &e);
	tap_ok(!virtq_enable_notify(&vq) && get16(USED + 4 + 8 * QSIZE) == 3,
	       "after popping 3: avail_event = 3, none waiting");
	put16(AVAIL + 4 + 2 * QSIZE, 5);	/* used_event: interrupt after the 6th */
	virtq_push(&vq, &e, 1);
	virtq_interrupt(&vq);
	tap_ok(interrupts == 1, "event index: the first interrupt is always sent");
	virtq_push(&vq, &e, 1);
	virtq_interrupt(&vq);
	tap_ok(interrupts == 1, "used idx 2, used_event 5: none");
	for (unsigned int i = 0; i < 3; i++)
		virtq_push(&vq, &e, 1);
	virtq_interrupt(&vq);
	tap_ok(interrupts == 1, "used idx 5: none yet");
	virtq_push(&vq, &e, 1);
	virtq_interrupt(&vq);
	tap_ok(interrupts == 2, "used idx 6 passes used_event 5: interrupt");
	for (unsigned int i = 0; i < 4; i++)
		virtq_push(&vq, &e, 1);
	virtq_interrupt(&vq);
	tap_ok(interrupts == 2, "used idx 10 with used_event still 5: none");
	put16(AVAIL + 4 + 2 * QSIZE, 10);
	for (unsigned int i = 0; i < 3; i++)
		virtq_push(&vq, &e, 1);
	virtq_interrupt(&vq);
	tap_ok(interrupts == 3, "used_event 10 inside the batch 10..12: one interrupt for the batch");

	/* 16-bit indices wrap */
	fresh(1ull << VIRTIO_RING_F_EVENT_IDX);
	desc(0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	bool all = true;
	for (unsigned int i = 0; i < 70000; i++) {
		avail_add(0);
		all &= virtq_pop(&vq, &e);
		virtq_push(&vq, &e, 2);
	}
	tap_ok(all && !vq.broken && get16(USED + 2) == (uint16_t)70000 && vq.last_avail == (uint16_t)70000,
	       "70000 requests: avail and used indices wrap at 65536");
}

/* A device that waits for more room: unpop, push_many, notify_on_more. */
static void test_wait_for_room(void)
{
	struct virtq_used u[3];

	fresh(0);
	for (unsigned int i = 0; i < 3; i++) {
		desc(i, BUF + 0x100 * i, 64, VIRTQ_DESC_F_WRITE, 0);
		avail_add((uint16_t)i);
	}
	virtq_pop(&vq, &e);
	virtq_pop(&vq, &e);
	virtq_unpop(&vq, 2);
	tap_ok(vq.last_avail == 0 && virtq_pop(&vq, &e) && e.head == 0,
	       "unpop 2: the next pop returns the first chain again");
	virtq_pop(&vq, &e);
	virtq_pop(&vq, &e);
	u[0] = (struct virtq_used){ 0, 64 };
	u[1] = (struct virtq_used){ 1, 64 };
	u[2] = (struct virtq_used){ 2, 10 };
	virtq_push_many(&vq, u, 3);
	tap_ok(get16(USED + 2) == 3 && get32(USED + 4) == 0 && get32(USED + 12) == 1 &&
	       get32(USED + 20) == 2 && get32(USED + 24) == 10,
	       "push_many: three elements, in order, published as one index step");
	virtq_disable_notify(&vq);
	tap_ok(!virtq_notify_on_more(&vq) && get16(USED) == 0,
	       "notify_on_more without event index: NO_NOTIFY cleared, nothing new");

	fresh(1ull << VIRTIO_RING_F_EVENT_IDX);
	desc(0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	avail_add(0);
	avail_add(0);
	virtq_pop(&vq, &e);
	virtq_unpop(&vq, 1);
	tap_ok(!virtq_notify_on_more(&vq) && get16(USED + 4 + 8 * QSIZE) == 2,
	       "notify_on_more with event index: avail_event 2, past the 2 available (enable_notify would say 0)");
}

int main(void)
{
	tap_plan(68);
	/* a hole between the slots, so that their host buffers are not adjacent */
	slot[0] = aligned_alloc(4096, 3 * SLOT);
	slot[1] = slot[0] + 2 * SLOT;
	test_enable();
	test_chain();
	test_indirect();
	test_hostile();
	test_notifications();
	test_wait_for_room();
	free(slot[0]);
	return tap_done();
}
