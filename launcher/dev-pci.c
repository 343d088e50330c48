/* launcher/dev-pci.c: PCI bus 0 on 0xcf8-0xcff with the i440FX host bridge and the PIIX3 ISA bridge; maps BARs, routes INTx. */
#include <stdio.h>
#include <stdlib.h>

#include "dev-pci.h"
#include "vmm.h"

static pthread_mutex_t *func_lock(struct pc_pci *pc, const struct pci_func *f)
{
	for (unsigned int devfn = 0; devfn < PCI_NUM_DEVFN; devfn++)
		if (pc->bus.func[devfn] == f)
			return pc->lock[devfn];
	return NULL;
}

static void pc_pci_bar_moved(void *ctx, struct pci_func *f, unsigned int n,
			     uint64_t old, uint64_t new_base)
{
	struct pc_pci *pc = ctx;
	struct pci_bar *b = &f->bar[n];

	if (!b->ops)
		return;
	/* a guest placing a BAR over another device only loses the BAR */
	if (b->io) {
		if (old)
			vm_unregister_pio(pc->vm, old, b->dev);
		if (new_base && new_base + b->size <= 0x10000)
			vm_register_pio_locked(pc->vm, new_base, b->size, b->ops,
					       b->dev, func_lock(pc, f));
		return;
	}
	if (old)
		vm_unregister_mmio(pc->vm, old, b->dev);
	if (new_base)
		vm_register_mmio_locked(pc->vm, new_base, b->size, b->ops,
					b->dev, func_lock(pc, f));
}

/* PIIX3 reset control (0xcf9): bit 2 set starts a reset. */
static void pc_pci_rcr(void *ctx, uint8_t val)
{
	struct pc_pci *pc = ctx;

	if (val & 0x04)
		vm_request_reset(pc->vm);
}

int pc_pci_add(struct pc_pci *pc, unsigned int devfn, struct pci_func *f)
{
	if (pci_bus_add(&pc->bus, devfn, f)) {
		fprintf(stderr, "kvm-launch: pci: slot %02x.%u is taken\n",
			devfn >> 3, devfn & 7);
		return -1;
	}
	/* BARs move later, from a config write: they keep the adding device's lock. */
	pc->lock[devfn] = vm_creating_lock(pc->vm);
	pci_bus_update_bars(&pc->bus, f);
	return 0;
}

/*
 * 0xcfc-0xcff: the access runs under this device's mutex (the latch) and
 * the addressed function's own, since its model's state (BARs, MSI) is
 * also reached from its device's ports and timers. Order: PCI bus, then
 * function; no device takes the bus's mutex while holding its own.
 */
static pthread_mutex_t *addressed_lock(struct pc_pci *pc)
{
	uint32_t a = pc->bus.config_address;
	pthread_mutex_t *l;

	if (!(a & 0x80000000u) || ((a >> 16) & 0xff))
		return NULL;
	l = pc->lock[(a >> 8) & 0xff];
	return l == pc->self_lock ? NULL : l;
}

static uint64_t pc_pci_data_read(void *opaque, uint64_t off, unsigned int size)
{
	struct pc_pci *pc = opaque;
	pthread_mutex_t *l = addressed_lock(pc);
	uint64_t v;

	if (l)
		pthread_mutex_lock(l);
	v = pci_data_ops.read(&pc->bus, off, size);
	if (l)
		pthread_mutex_unlock(l);
	return v;
}

static void pc_pci_data_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct pc_pci *pc = opaque;
	pthread_mutex_t *l = addressed_lock(pc);

	if (l)
		pthread_mutex_lock(l);
	pci_data_ops.write(&pc->bus, off, size, val);
	if (l)
		pthread_mutex_unlock(l);
}

static const struct io_ops pc_pci_data_ops = { pc_pci_data_read, pc_pci_data_write };

void pc_pci_remove(struct pc_pci *pc, unsigned int devfn)
{
	/* unmaps its BARs through pc_pci_bar_moved, releases its INTx */
	pci_bus_remove(&pc->bus, devfn);
}

static int pc_pci_create(struct vm *vm, void **state)
{
	struct pc_pci *pc = calloc(1, sizeof(*pc));
	struct irq_line isa_irq[PIIX3_NUM_ISA_IRQ];

	if (!pc)
		return -1;
	pc->vm = vm;
	pc->self_lock = vm_creating_lock(vm);
	pci_bus_init(&pc->bus);
	pc->bus.bar_moved = pc_pci_bar_moved;
	pc->bus.bar_ctx = pc;
	pc->bus.rcr_write = pc_pci_rcr;
	pc->bus.rcr_ctx = pc;
	i440fx_init(&pc->host);
	piix3_isa_init(&pc->isa);
	/* PCI INTx onto ISA IRQs; PIRQA..D as acpi.c's _PRT links and MP table say */
	for (unsigned int i = 0; i < PIIX3_NUM_ISA_IRQ; i++)
		isa_irq[i] = vm_irq_line(vm, i);
	piix3_isa_route_intx(&pc->isa, &pc->bus, isa_irq);
	piix3_set_default_routing(&pc->isa, 10, 10, 11, 11);
	if (vm_register_pio(vm, 0xcf8, 4, &pci_addr_ops, &pc->bus) ||
	    vm_register_pio(vm, 0xcfc, 4, &pc_pci_data_ops, pc) ||
	    pc_pci_add(pc, I440FX_DEVFN, &pc->host.pci) ||
	    pc_pci_add(pc, PIIX3_ISA_DEVFN, &pc->isa.pci)) {
		vm_unregister_pio(vm, 0xcf8, &pc->bus);
		vm_unregister_pio(vm, 0xcfc, pc);
		free(pc);
		return -1;
	}
	/*
	 * The address latch: a write takes effect at the next 0xcfc access,
	 * which exits. (0xcf9, the reset register, shares the dword; a reset
	 * written there waits for the next exit.)
	 */
	vm_coalesce_pio(vm, 0xcf8, 4);
	*state = pc;
	return 0;
}

static void pc_pci_destroy(void *state)
{
	free(state);
}

static const struct device_type pci_type = {
	.name = "pci", .stage = DEVICE_STAGE_CORE,
	.create = pc_pci_create, .destroy = pc_pci_destroy,
};
DEVICE_TYPE(pci_type);
