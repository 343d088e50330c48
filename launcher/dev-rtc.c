/* launcher/dev-rtc.c: the MC146818 at 0x70/0x71 on IRQ8, CMOS filled with the memory sizes. */
#include <stdlib.h>
#include <time.h>

#include "arch/layout.h"
#include "firmware.h"
#include "hw/mc146818.h"
#include "vmm.h"

struct rtc_dev {
	struct rtc rtc;
	struct vm *vm;
	struct vm_timer timer;
};

static void rtc_dev_sync(struct rtc_dev *d, uint64_t now)
{
	uint64_t next = rtc_update(&d->rtc, now);

	if (next)
		vm_timer_arm(d->vm, &d->timer, next);
	else
		vm_timer_cancel(d->vm, &d->timer);
}

static void rtc_fire(void *opaque, uint64_t now)
{
	rtc_dev_sync(opaque, now);
}

static uint64_t rtc_io_read(void *opaque, uint64_t off, unsigned int size)
{
	struct rtc_dev *d = opaque;
	uint8_t v = rtc_read(&d->rtc, off);

	(void)size;
	rtc_dev_sync(d, hw_clock_now(vm_clock(d->vm)));
	return v;
}

static void rtc_io_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct rtc_dev *d = opaque;

	(void)size;
	rtc_write(&d->rtc, off, val);
	rtc_dev_sync(d, hw_clock_now(vm_clock(d->vm)));
}

static const struct io_ops rtc_ops = { rtc_io_read, rtc_io_write };

static int rtc_create(struct vm *vm, void **state)
{
	struct rtc_dev *d = calloc(1, sizeof(*d));
	const struct e820_entry *e820;
	uint64_t below = 0, above = 0;
	unsigned int i, n = vm_e820(vm, &e820);
	struct cmos_field f[4];
	unsigned int nf;

	if (!d)
		return -1;
	d->vm = vm;
	rtc_init(&d->rtc, vm_clock(vm), vm_irq_line(vm, 8), time(NULL));
	for (i = 0; i < n; i++) {
		if (e820[i].type != E820_RAM)
			continue;
		if (e820[i].addr >= HIGH_RAM_START)
			above += e820[i].size;
		else if (e820[i].addr + e820[i].size > below)
			below = e820[i].addr + e820[i].size;
	}
	rtc_set_memory(&d->rtc, below, above);
	/* BIOS boot: boot order and CPU count for SeaBIOS (firmware.c). */
	for (i = 0, nf = firmware_cmos_fields(vm_config(vm), f, 4); i < nf; i++)
		rtc_cmos_set(&d->rtc, f[i].index, f[i].value);
	if (vm_register_pio(vm, 0x70, 2, &rtc_ops, d)) {
		free(d);
		return -1;
	}
	vm_timer_add(vm, &d->timer, rtc_fire, d);
	*state = d;
	return 0;
}

static void rtc_destroy(void *state)
{
	struct rtc_dev *d = state;

	vm_timer_del(d->vm, &d->timer);
	free(d);
}

static const struct device_type rtc_type = {
	.name = "rtc", .stage = DEVICE_STAGE_DEVICE,
	.create = rtc_create, .destroy = rtc_destroy,
};
DEVICE_TYPE(rtc_type);
