/* launcher/iobus.h: port and MMIO range registry that every I/O exit goes through. */
#ifndef LAUNCHER_IOBUS_H
#define LAUNCHER_IOBUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/hw.h"

struct iobus_range {
	uint64_t base, len;
	const struct io_ops *ops;
	void *opaque;
	pthread_mutex_t *lock;		/* the device's, held around ops; or NULL */
};

struct iobus {
	const char *name;		/* "port" or "MMIO", for messages */
	struct iobus_range *r;		/* sorted by base, never overlapping */
	unsigned int n, cap;
	/* Held while the table is read or changed, not across ops (zeroed = ready). */
	pthread_rwlock_t lock;
};

int iobus_add(struct iobus *bus, uint64_t base, uint64_t len,
	      const struct io_ops *ops, void *opaque);
/* The same, with ops called under lock (the owning device's mutex). */
int iobus_add_locked(struct iobus *bus, uint64_t base, uint64_t len,
		     const struct io_ops *ops, void *opaque, pthread_mutex_t *lock);
void iobus_del(struct iobus *bus, uint64_t base, void *opaque);
void iobus_free(struct iobus *bus);

/* The device mutex held by this thread's iobus_read/iobus_write call, or NULL. */
extern __thread pthread_mutex_t *iobus_dispatch_lock;

/*
 * Dispatch an access; an access no range claims reads all ones. Returns
 * false for unclaimed accesses (the caller may log them).
 */
bool iobus_read(struct iobus *bus, uint64_t addr, unsigned int size, uint64_t *val);
bool iobus_write(struct iobus *bus, uint64_t addr, unsigned int size, uint64_t val);

#endif
