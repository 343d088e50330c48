/* launcher/dev-pic.c: the i8259 pair on ports 0x20/0xa0 and the ELCR at 0x4d0 (irqchip = "user" or "split"). */
#include <stdio.h>
#include <stdlib.h>

#include "hw/i8259.h"
#include "vmm.h"

static uint64_t pic_io_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pic *p = opaque;

	(void)size;
	return pic_read(p, off >= 0x80, off & 1);
}

static void pic_io_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	(void)size;
	pic_write(opaque, off >= 0x80, off & 1, val);
}

/* Registered at 0x20 and 0xa0 with distinct opaque offsets. */
static uint64_t master_read(void *o, uint64_t off, unsigned int s) { return pic_io_read(o, off, s); }
static void master_write(void *o, uint64_t off, unsigned int s, uint64_t v) { pic_io_write(o, off, s, v); }
static uint64_t slave_read(void *o, uint64_t off, unsigned int s) { return pic_io_read(o, off + 0x80, s); }
static void slave_write(void *o, uint64_t off, unsigned int s, uint64_t v) { pic_io_write(o, off + 0x80, s, v); }

static uint64_t elcr_read(void *opaque, uint64_t off, unsigned int size)
{
	uint64_t v = pic_elcr_read(opaque, off & 1);

	if (size == 2 && off == 0)
		v |= (uint64_t)pic_elcr_read(opaque, 1) << 8;
	return v;
}

static void elcr_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	pic_elcr_write(opaque, off & 1, val);
	if (size == 2 && off == 0)
		pic_elcr_write(opaque, 1, val >> 8);
}

static const struct io_ops master_ops = { master_read, master_write };
static const struct io_ops slave_ops = { slave_read, slave_write };
static const struct io_ops elcr_ops = { elcr_read, elcr_write };

static void chip_set(void *chip, unsigned int irq, int level) { pic_set_irq(chip, irq, level); }
static bool chip_pending(void *chip) { return pic_pending(chip); }
static int chip_ack(void *chip) { return pic_ack(chip); }

static const struct vm_irqchip pic_chip = { chip_set, chip_pending, chip_ack };

static int pic_create(struct vm *vm, void **state)
{
	struct pic *p;

	/* irqchip = "kernel": the kernel has the 8259s (and the ELCR). */
	if (vm->irqchip_mode == CFG_IRQCHIP_KERNEL)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	pic_reset(p);
	if (vm_register_pio(vm, 0x20, 2, &master_ops, p) ||
	    vm_register_pio(vm, 0xa0, 2, &slave_ops, p) ||
	    vm_register_pio(vm, 0x4d0, 2, &elcr_ops, p)) {
		free(p);
		return -1;
	}
	vm_set_irqchip(vm, &pic_chip, p);
	*state = p;
	return 0;
}

static void pic_destroy(void *state)
{
	free(state);
}

static const struct device_type pic_type = {
	.name = "pic", .stage = DEVICE_STAGE_CORE,
	.create = pic_create, .destroy = pic_destroy,
};
DEVICE_TYPE(pic_type);
