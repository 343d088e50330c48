/* launcher/dev-pit.c: the i8254 at 0x40-0x43 and port 0x61, with IRQ0 driven by a VM timer (pit = "user"). */
#include <stdlib.h>

#include "hw/i8254.h"
#include "vmm.h"

struct pit_dev {
	struct pit pit;
	struct vm *vm;
	struct vm_timer timer;
};

static void pit_dev_sync(struct pit_dev *d)
{
	uint64_t next = pit_update(&d->pit, hw_clock_now(vm_clock(d->vm)));

	if (next)
		vm_timer_arm(d->vm, &d->timer, next);
	else
		vm_timer_cancel(d->vm, &d->timer);
}

static void pit_fire(void *opaque, uint64_t now)
{
	struct pit_dev *d = opaque;
	uint64_t next = pit_update(&d->pit, now);

	if (next)
		vm_timer_arm(d->vm, &d->timer, next);
}

static uint64_t pit_io_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pit_dev *d = opaque;

	(void)size;
	return pit_read(&d->pit, off);
}

static void pit_io_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct pit_dev *d = opaque;

	(void)size;
	pit_write(&d->pit, off, val);
	pit_dev_sync(d);
}

static uint64_t p61_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pit_dev *d = opaque;

	(void)off;
	(void)size;
	return pit_port61_read(&d->pit);
}

static void p61_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct pit_dev *d = opaque;

	(void)off;
	(void)size;
	pit_port61_write(&d->pit, val);
}

static const struct io_ops pit_ops = { pit_io_read, pit_io_write };
static const struct io_ops p61_ops = { p61_read, p61_write };

static int pit_create(struct vm *vm, void **state)
{
	struct pit_dev *d;

	/* KVM_CREATE_PIT2 made one in the kernel, with port 0x61. */
	if (vm->kernel_pit)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	d->vm = vm;
	pit_init(&d->pit, vm_clock(vm), vm_irq_line(vm, 0));
	if (vm_register_pio(vm, 0x40, 4, &pit_ops, d) ||
	    vm_register_pio(vm, 0x61, 1, &p61_ops, d)) {
		free(d);
		return -1;
	}
	vm_timer_add(vm, &d->timer, pit_fire, d);
	*state = d;
	return 0;
}

static void pit_destroy(void *state)
{
	struct pit_dev *d = state;

	vm_timer_del(d->vm, &d->timer);
	free(d);
}

static const struct device_type pit_type = {
	.name = "pit", .stage = DEVICE_STAGE_DEVICE,
	.create = pit_create, .destroy = pit_destroy,
};
DEVICE_TYPE(pit_type);
