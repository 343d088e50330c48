/* launcher/hw/hw.h: the small interface between device models and the VMM. */
#ifndef HW_HW_H
#define HW_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * An interrupt line as a device sees it. The VMM supplies set(); the
 * device only raises and lowers its level (edge devices pulse).
 */
struct irq_line {
	void (*set)(void *ctx, unsigned int irq, int level);
	void *ctx;
	unsigned int irq;
};

static inline void irq_line_set(const struct irq_line *line, int level)
{
	if (line && line->set)
		line->set(line->ctx, line->irq, level);
}

/*
 * Port or MMIO accessors. offset is relative to the registered base;
 * size is 1, 2, 4 (or 8 for MMIO). Reads of bytes a device does not
 * implement return all ones.
 */
struct io_ops {
	uint64_t (*read)(void *dev, uint64_t offset, unsigned int size);
	void (*write)(void *dev, uint64_t offset, unsigned int size, uint64_t val);
};

/*
 * Guest physical memory as DMA-capable devices see it: returns a host
 * pointer for [gpa, gpa + len) when that whole range is RAM, else NULL.
 */
struct guest_mem {
	void *(*map)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
};

static inline void *guest_mem_map(const struct guest_mem *mem, uint64_t gpa,
				  uint64_t len)
{
	return mem && mem->map ? mem->map(mem->ctx, gpa, len) : NULL;
}

/* A clock in nanoseconds, injectable so that unit tests control time. */
struct hw_clock {
	uint64_t (*now_ns)(void *ctx);
	void *ctx;
};

static inline uint64_t hw_clock_now(const struct hw_clock *clk)
{
	return clk->now_ns(clk->ctx);
}

#endif
