/* launcher/dev-i8042.c: the keyboard controller at 0x60/0x64 (IRQ1, IRQ12), fed by display frontends; its reset pulse resets the VM. */
#include <stdlib.h>

#include "dev-i8042.h"
#include "hw/i8042.h"
#include "vmm.h"

struct i8042_dev {
	struct i8042 kbc;
	struct vm *vm;
	pthread_mutex_t *lock;		/* the device's, for frontends' input */
};

static void kbc_reset(void *ctx)
{
	struct i8042_dev *d = ctx;

	vm_request_reset(d->vm);
}

static uint64_t kbc_read(void *opaque, uint64_t off, unsigned int size)
{
	struct i8042_dev *d = opaque;

	(void)size;
	return i8042_read(&d->kbc, off);
}

static void kbc_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct i8042_dev *d = opaque;

	(void)size;
	i8042_write(&d->kbc, off, val);
}

/* 0x60 and 0x64 only: 0x61 is the PIT's speaker port. */
static uint64_t data_read(void *o, uint64_t off, unsigned int s) { (void)off; return kbc_read(o, 0, s); }
static void data_write(void *o, uint64_t off, unsigned int s, uint64_t v) { (void)off; kbc_write(o, 0, s, v); }
static uint64_t cmd_read(void *o, uint64_t off, unsigned int s) { (void)off; return kbc_read(o, 4, s); }
static void cmd_write(void *o, uint64_t off, unsigned int s, uint64_t v) { (void)off; kbc_write(o, 4, s, v); }
static const struct io_ops data_ops = { data_read, data_write };
static const struct io_ops cmd_ops = { cmd_read, cmd_write };

static int i8042_create(struct vm *vm, void **state)
{
	struct i8042_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	d->vm = vm;
	d->lock = vm_creating_lock(vm);
	i8042_init(&d->kbc, vm_irq_line(vm, 1), vm_irq_line(vm, 12), kbc_reset, d);
	if (vm_register_pio(vm, 0x60, 1, &data_ops, d) ||
	    vm_register_pio(vm, 0x64, 1, &cmd_ops, d)) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static void i8042_destroy(void *state)
{
	free(state);
}

static const struct device_type i8042_type = {
	.name = "i8042", .stage = DEVICE_STAGE_DEVICE,
	.create = i8042_create, .destroy = i8042_destroy,
};
DEVICE_TYPE(i8042_type);

void pc_kbd_key(struct i8042_dev *d, uint16_t code, bool down)
{
	pthread_mutex_lock(d->lock);
	i8042_key(&d->kbc, code, down);
	pthread_mutex_unlock(d->lock);
}

void pc_mouse_event(struct i8042_dev *d, int dx, int dy, int dz, uint8_t buttons)
{
	pthread_mutex_lock(d->lock);
	i8042_mouse(&d->kbc, dx, dy, dz, buttons);
	pthread_mutex_unlock(d->lock);
}
