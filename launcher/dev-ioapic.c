/* launcher/dev-ioapic.c: the IOAPIC at 0xfec00000 in kvm-launch (irqchip = "split"), its pins delivered as MSIs by KVM. */
#include <stdlib.h>

#include "hw/ioapic.h"
#include "vmm.h"

/*
 * Pin p is GSI p, routed to the MSI its redirection entry describes:
 * KVM learns the level-triggered vectors from those routes (and exits
 * with KVM_EXIT_IOAPIC_EOI when one is EOIed), so a route changes
 * whenever the guest changes an entry's message, before it is delivered.
 * Everything here runs under this device's mutex.
 */
struct ioapic_dev {
	struct vm *vm;
	struct ioapic *chip;
	uint64_t addr[IOAPIC_NUM_PINS];
	uint32_t data[IOAPIC_NUM_PINS];
	bool routed[IOAPIC_NUM_PINS];
};

static int update_route(struct ioapic_dev *d, unsigned int pin)
{
	uint64_t addr;
	uint32_t data;

	ioapic_pin_msi(d->chip, pin, &addr, &data);
	/* Guests toggle masks often; the message itself changes rarely. */
	if (d->routed[pin] && d->addr[pin] == addr && d->data[pin] == data)
		return 0;
	d->addr[pin] = addr;
	d->data[pin] = data;
	d->routed[pin] = !vm_ioapic_route(d->vm, pin, addr, data);
	return d->routed[pin] ? 0 : -1;
}

static void entry_changed(void *ctx, unsigned int pin)
{
	update_route(ctx, pin);
}

static void send_msi(void *ctx, unsigned int pin, uint64_t addr, uint32_t data)
{
	(void)addr;
	(void)data;
	vm_ioapic_deliver(((struct ioapic_dev *)ctx)->vm, pin);
}

static void chip_set(void *chip, unsigned int pin, int level)
{
	ioapic_set_irq(((struct ioapic_dev *)chip)->chip, pin, level);
}

static void chip_eoi(void *chip, unsigned int vector)
{
	ioapic_eoi(((struct ioapic_dev *)chip)->chip, vector);
}

static const struct vm_ioapic ioapic_chip = { chip_set, chip_eoi };

static void ioapic_dev_destroy(void *state)
{
	struct ioapic_dev *d = state;

	ioapic_destroy(d->chip);
	free(d);
}

static int ioapic_dev_create(struct vm *vm, void **state)
{
	struct ioapic_dev *d;

	if (vm->irqchip_mode != CFG_IRQCHIP_SPLIT)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	d->vm = vm;
	d->chip = ioapic_create(send_msi, entry_changed, d);
	if (!d->chip) {
		free(d);
		return -1;
	}
	for (unsigned int pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		if (update_route(d, pin)) {
			ioapic_dev_destroy(d);
			return -1;
		}
	if (vm_register_mmio(vm, IOAPIC_BASE, IOAPIC_MMIO_SIZE, &ioapic_mmio_ops, d->chip)) {
		ioapic_dev_destroy(d);
		return -1;
	}
	vm_set_ioapic(vm, &ioapic_chip, d);
	*state = d;
	return 0;
}

static const struct device_type ioapic_type = {
	.name = "ioapic", .stage = DEVICE_STAGE_CORE,
	.create = ioapic_dev_create, .destroy = ioapic_dev_destroy,
};
DEVICE_TYPE(ioapic_type);
