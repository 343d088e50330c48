/* launcher/dev-pci.c: PCI bus 0 on 0xcf8-0xcff with the i440FX host bridge and the PIIX3 ISA bridge; maps I/O BARs. */
#include <stdio.h>
#include <stdlib.h>

#include "dev-pci.h"
#include "vmm.h"

static void pc_pci_bar_map(void *ctx, struct pci_func *f, unsigned int n,
			   uint32_t old, uint32_t new_base)
{
	struct pc_pci *pc = ctx;
	struct pci_bar *b = &f->bar[n];

	if (!b->io || !b->ops)
		return;
	if (old)
		vm_unregister_pio(pc->vm, old, b->dev);
	/* a guest placing a BAR over another device only loses the BAR */
	if (new_base && new_base + b->size <= 0x10000)
		vm_register_pio(pc->vm, new_base, b->size, b->ops, b->dev);
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
	pci_bus_update_bars(&pc->bus, f);
	return 0;
}

void pc_pci_remove(struct pc_pci *pc, unsigned int devfn)
{
	struct pci_func *f;

	if (devfn >= PCI_NUM_DEVFN || !(f = pc->bus.func[devfn]))
		return;
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++) {
		if (f->bar[n].mapped && f->bar[n].io && f->bar[n].ops)
			vm_unregister_pio(pc->vm, f->bar[n].mapped, f->bar[n].dev);
		f->bar[n].mapped = 0;
	}
	pc->bus.func[devfn] = NULL;
}

static int pc_pci_create(struct vm *vm, void **state)
{
	struct pc_pci *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return -1;
	pc->vm = vm;
	pci_bus_init(&pc->bus);
	pc->bus.bar_map = pc_pci_bar_map;
	pc->bus.bar_ctx = pc;
	pc->bus.rcr_write = pc_pci_rcr;
	pc->bus.rcr_ctx = pc;
	i440fx_init(&pc->host);
	piix3_isa_init(&pc->isa);
	if (vm_register_pio(vm, 0xcf8, 4, &pci_addr_ops, &pc->bus) ||
	    vm_register_pio(vm, 0xcfc, 4, &pci_data_ops, &pc->bus) ||
	    pc_pci_add(pc, I440FX_DEVFN, &pc->host.pci) ||
	    pc_pci_add(pc, PIIX3_ISA_DEVFN, &pc->isa.pci)) {
		vm_unregister_pio(vm, 0xcf8, &pc->bus);
		vm_unregister_pio(vm, 0xcfc, &pc->bus);
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
