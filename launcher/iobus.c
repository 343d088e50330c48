/* launcher/iobus.c: port and MMIO range registry that every I/O exit goes through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iobus.h"

int iobus_add(struct iobus *bus, uint64_t base, uint64_t len,
	      const struct io_ops *ops, void *opaque)
{
	unsigned int i;

	if (!len || base + len < base) {
		fprintf(stderr, "kvm-launch: bad %s range 0x%llx+0x%llx\n", bus->name,
			(unsigned long long)base, (unsigned long long)len);
		return -1;
	}
	for (i = 0; i < bus->n; i++) {
		const struct iobus_range *r = &bus->r[i];

		if (base < r->base + r->len && r->base < base + len) {
			fprintf(stderr, "kvm-launch: %s range 0x%llx-0x%llx overlaps 0x%llx-0x%llx\n",
				bus->name, (unsigned long long)base,
				(unsigned long long)(base + len - 1),
				(unsigned long long)r->base,
				(unsigned long long)(r->base + r->len - 1));
			return -1;
		}
	}
	if (bus->n == bus->cap) {
		unsigned int cap = bus->cap ? bus->cap * 2 : 16;
		struct iobus_range *nr = realloc(bus->r, cap * sizeof(*nr));

		if (!nr)
			return -1;
		bus->r = nr;
		bus->cap = cap;
	}
	for (i = bus->n; i > 0 && bus->r[i - 1].base > base; i--)
		bus->r[i] = bus->r[i - 1];
	bus->r[i] = (struct iobus_range){ base, len, ops, opaque };
	bus->n++;
	return 0;
}

void iobus_del(struct iobus *bus, uint64_t base, void *opaque)
{
	unsigned int i;

	for (i = 0; i < bus->n; i++) {
		if (bus->r[i].base == base && bus->r[i].opaque == opaque) {
			memmove(&bus->r[i], &bus->r[i + 1], (bus->n - i - 1) * sizeof(bus->r[0]));
			bus->n--;
			return;
		}
	}
}

void iobus_free(struct iobus *bus)
{
	free(bus->r);
	bus->r = NULL;
	bus->n = bus->cap = 0;
}

static struct iobus_range *find(struct iobus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		struct iobus_range *r = &bus->r[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr >= r->base + r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool iobus_read(struct iobus *bus, uint64_t addr, unsigned int size, uint64_t *val)
{
	struct iobus_range *r = find(bus, addr);

	if (!r || !r->ops->read) {
		*val = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
		return r != NULL;
	}
	*val = r->ops->read(r->opaque, addr - r->base, size);
	if (size < 8)
		*val &= (1ULL << (size * 8)) - 1;
	return true;
}

bool iobus_write(struct iobus *bus, uint64_t addr, unsigned int size, uint64_t val)
{
	struct iobus_range *r = find(bus, addr);

	if (!r)
		return false;
	if (r->ops->write)
		r->ops->write(r->opaque, addr - r->base, size, val);
	return true;
}
