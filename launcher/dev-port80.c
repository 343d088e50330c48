/* launcher/dev-port80.c: port 0x80, the POST code port Linux writes to as an I/O delay. */
#include <stdlib.h>

#include "vmm.h"

struct port80 {
	uint8_t last;		/* the last POST code, read back as a real card would */
};

static uint64_t p80_read(void *opaque, uint64_t off, unsigned int size)
{
	struct port80 *p = opaque;

	(void)off;
	(void)size;
	return p->last;
}

static void p80_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct port80 *p = opaque;

	(void)off;
	(void)size;
	p->last = val;
}

static const struct io_ops p80_ops = { p80_read, p80_write };

static int port80_create(struct vm *vm, void **state)
{
	struct port80 *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	if (vm_register_pio(vm, 0x80, 1, &p80_ops, p)) {
		free(p);
		return -1;
	}
	*state = p;
	return 0;
}

static void port80_destroy(void *state)
{
	free(state);
}

static const struct device_type port80_type = {
	.name = "port80", .stage = DEVICE_STAGE_DEVICE,
	.create = port80_create, .destroy = port80_destroy,
};
DEVICE_TYPE(port80_type);
