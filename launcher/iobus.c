/* launcher/iobus.c: port and MMIO range registry that every I/O exit goes through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iobus.h"

static int add(struct iobus *bus, uint64_t base, uint64_t len,
	       const struct io_ops *ops, void *opaque, pthread_mutex_t *lock)
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
	bus->r[i] = (struct iobus_range){ base, len, ops, opaque, lock };
	bus->n++;
	return 0;
}

int iobus_add_locked(struct iobus *bus, uint64_t base, uint64_t len,
		     const struct io_ops *ops, void *opaque, pthread_mutex_t *lock)
{
	int ret;

	pthread_rwlock_wrlock(&bus->lock);
	ret = add(bus, base, len, ops, opaque, lock);
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int iobus_add(struct iobus *bus, uint64_t base, uint64_t len,
	      const struct io_ops *ops, void *opaque)
{
	return iobus_add_locked(bus, base, len, ops, opaque, NULL);
}

void iobus_del(struct iobus *bus, uint64_t base, void *opaque)
{
	unsigned int i;

	pthread_rwlock_wrlock(&bus->lock);
	for (i = 0; i < bus->n; i++) {
		if (bus->r[i].base == base && bus->r[i].opaque == opaque) {
			memmove(&bus->r[i], &bus->r[i + 1], (bus->n - i - 1) * sizeof(bus->r[0]));
			bus->n--;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
}

void iobus_free(struct iobus *bus)
{
	free(bus->r);
	bus->r = NULL;
	bus->n = bus->cap = 0;
}

/* A copy of the range that holds addr, taken under the table's lock. */
static bool find(struct iobus *bus, uint64_t addr, struct iobus_range *out)
{
	unsigned int lo, hi;
	bool found = false;

	pthread_rwlock_rdlock(&bus->lock);
	lo = 0;
	hi = bus->n;
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct iobus_range *r = &bus->r[mid];

		if (addr < r->base) {
			hi = mid;
		} else if (addr >= r->base + r->len) {
			lo = mid + 1;
		} else {
			*out = *r;
			found = true;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	return found;
}

__thread pthread_mutex_t *iobus_dispatch_lock;

/* Take the range's device mutex for one callback (nested dispatch restores the outer one). */
static pthread_mutex_t *enter(const struct iobus_range *r)
{
	pthread_mutex_t *outer = iobus_dispatch_lock;

	if (r->lock) {
		pthread_mutex_lock(r->lock);
		iobus_dispatch_lock = r->lock;
	}
	return outer;
}

static void leave(const struct iobus_range *r, pthread_mutex_t *outer)
{
	if (r->lock) {
		iobus_dispatch_lock = outer;
		pthread_mutex_unlock(r->lock);
	}
}

bool iobus_read(struct iobus *bus, uint64_t addr, unsigned int size, uint64_t *val)
{
	struct iobus_range r;
	bool found = find(bus, addr, &r);
	pthread_mutex_t *outer;

	if (!found || !r.ops->read) {
		*val = size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
		return found;
	}
	outer = enter(&r);
	*val = r.ops->read(r.opaque, addr - r.base, size);
	leave(&r, outer);
	if (size < 8)
		*val &= (1ULL << (size * 8)) - 1;
	return true;
}

bool iobus_write(struct iobus *bus, uint64_t addr, unsigned int size, uint64_t val)
{
	struct iobus_range r;
	pthread_mutex_t *outer;

	if (!find(bus, addr, &r))
		return false;
	if (r.ops->write) {
		outer = enter(&r);
		r.ops->write(r.opaque, addr - r.base, size, val);
		leave(&r, outer);
	}
	return true;
}
