/* tests/launcher/test_coalesced.c: replay of the coalesced-write ring: order, PIO and MMIO, wrap, bad entries, no ring. */
#include <string.h>

#include "tap.h"
#include "coalesced.h"

/* Every write a device saw, in order. */
struct write_seen {
	uint64_t off, val;
	unsigned int size;
	char bus;
};

struct log {
	struct write_seen w[16];
	unsigned int n;
};

static struct log seen;

static uint64_t dev_read(void *o, uint64_t off, unsigned int size)
{
	(void)o, (void)off, (void)size;
	return 0;
}

static void dev_write(void *o, uint64_t off, unsigned int size, uint64_t val)
{
	if (seen.n < 16)
		seen.w[seen.n++] = (struct write_seen){ off, val, size, *(const char *)o };
}

static const struct io_ops ops = { dev_read, dev_write };

static void put(struct kvm_coalesced_mmio_ring *r, unsigned int max, uint64_t addr,
		unsigned int len, uint64_t val, int pio)
{
	struct kvm_coalesced_mmio *e = &r->coalesced_mmio[r->last];

	e->phys_addr = addr;
	e->len = len;
	e->pio = pio;
	memcpy(e->data, &val, 8);
	r->last = (r->last + 1) % max;
}

int main(void)
{
	static union {
		struct kvm_coalesced_mmio_ring ring;
		char page[4096];
	} u;
	struct kvm_coalesced_mmio_ring *r = &u.ring;
	struct iobus pio = { .name = "port" }, mmio = { .name = "MMIO" };
	static const char p = 'p', m = 'm';
	struct coalesced c = { .ring = r, .pio = true };
	unsigned int i;

	c.max = (sizeof(u) - sizeof(*r)) / sizeof(r->coalesced_mmio[0]);
	tap_plan(12);
	iobus_add(&pio, 0xcf8, 4, &ops, (void *)&p);
	iobus_add(&mmio, 0xfed00000, 0x1000, &ops, (void *)&m);

	/* Nothing queued: nothing replayed. */
	coalesced_replay(&c, &pio, &mmio);
	tap_ok(seen.n == 0 && r->first == 0, "an empty ring replays nothing");

	put(r, c.max, 0xcf8, 4, 0x80000000, 1);
	put(r, c.max, 0xfed00010, 8, 0x1122334455667788ULL, 0);
	put(r, c.max, 0xcf9, 1, 0x06, 1);
	coalesced_replay(&c, &pio, &mmio);
	tap_ok(seen.n == 3, "three queued writes replayed (%u)", seen.n);
	tap_ok(seen.w[0].bus == 'p' && seen.w[0].off == 0 && seen.w[0].size == 4 &&
	       seen.w[0].val == 0x80000000, "first: PIO dword to 0xcf8");
	tap_ok(seen.w[1].bus == 'm' && seen.w[1].off == 0x10 && seen.w[1].size == 8 &&
	       seen.w[1].val == 0x1122334455667788ULL, "second: MMIO qword, in order");
	tap_ok(seen.w[2].bus == 'p' && seen.w[2].off == 1 && seen.w[2].size == 1 &&
	       seen.w[2].val == 0x06, "third: PIO byte to 0xcf9 (only its byte)");
	tap_ok(r->first == r->last && r->first == 3, "the ring is handed back (first = last = 3)");
	tap_ok(c.replayed == 3, "replayed counted");

	/* Wrap around the end of the ring. */
	seen.n = 0;
	r->first = r->last = c.max - 2;
	for (i = 0; i < 4; i++)
		put(r, c.max, 0xcf8, 4, i, 1);
	coalesced_replay(&c, &pio, &mmio);
	tap_ok(seen.n == 4 && seen.w[3].val == 3 && r->first == 2,
	       "entries across the ring's end, in order (%u, first %u)", seen.n, r->first);

	/* A length no access has is skipped, the rest still replayed. */
	seen.n = 0;
	put(r, c.max, 0xcf8, 3, 1, 1);
	put(r, c.max, 0xcf8, 0, 2, 1);
	put(r, c.max, 0xcf8, 4, 3, 1);
	coalesced_replay(&c, &pio, &mmio);
	tap_ok(seen.n == 1 && seen.w[0].val == 3 && r->first == r->last,
	       "entries of length 3 and 0 dropped, the next one replayed");

	/* Indices outside the ring: nothing read out of bounds, the ring is reset. */
	seen.n = 0;
	r->first = c.max + 5;
	r->last = 1;
	coalesced_replay(&c, &pio, &mmio);
	tap_ok(seen.n == 0 && r->first == 1, "first out of range: dropped, first = last");
	r->first = 0;
	r->last = 0xffffffff;
	coalesced_replay(&c, &pio, &mmio);
	tap_ok(seen.n == 0 && r->first == 0, "last out of range: dropped, first = 0");

	/* No ring (a hypervisor without the capability): a no-op. */
	c.ring = NULL;
	coalesced_replay(&c, &pio, &mmio);
	tap_ok(seen.n == 0 && coalesced_add_pio(&c, -1, 0xcf8, 4) == -1,
	       "without a ring, replay does nothing and zones are refused");
	iobus_free(&pio);
	iobus_free(&mmio);
	return tap_done();
}
