/* launcher/iobus.h: port and MMIO range registry that every I/O exit goes through. */
#ifndef LAUNCHER_IOBUS_H
#define LAUNCHER_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/hw.h"

struct iobus_range {
	uint64_t base, len;
	const struct io_ops *ops;
	void *opaque;
};

struct iobus {
	const char *name;		/* "port" or "MMIO", for messages */
	struct iobus_range *r;		/* sorted by base, never overlapping */
	unsigned int n, cap;
};

int iobus_add(struct iobus *bus, uint64_t base, uint64_t len,
	      const struct io_ops *ops, void *opaque);
void iobus_del(struct iobus *bus, uint64_t base, void *opaque);
void iobus_free(struct iobus *bus);

/*
 * Dispatch an access; an access no range claims reads all ones. Returns
 * false for unclaimed accesses (the caller may log them).
 */
bool iobus_read(struct iobus *bus, uint64_t addr, unsigned int size, uint64_t *val);
bool iobus_write(struct iobus *bus, uint64_t addr, unsigned int size, uint64_t val);

#endif
