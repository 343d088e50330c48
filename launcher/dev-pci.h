/* launcher/dev-pci.h: the PC's PCI bus as other device glue finds it (vm_device(vm, "pci")). */
#ifndef LAUNCHER_DEV_PCI_H
#define LAUNCHER_DEV_PCI_H

#include <pthread.h>

#include "hw/piix.h"

struct vm;

/*
 * Created at DEVICE_STAGE_CORE: bus 0 on 0xcf8-0xcff, the i440FX at 00.0
 * and the PIIX3 ISA bridge at 01.0. Later stages add functions with
 * pc_pci_add(); I/O BARs are mapped on the VM's port bus as the guest
 * programs them. Firmware glue hooks PAM/SMRAM changes by setting
 * host.pam_changed / host.pam_ctx (called under the PCI bus's lock).
 */
struct pc_pci {
	struct pci_bus bus;
	struct i440fx host;
	struct piix3_isa isa;
	struct vm *vm;
	/* each function's device mutex, for the BARs it maps later */
	pthread_mutex_t *lock[PCI_NUM_DEVFN];
	pthread_mutex_t *self_lock;		/* this device's, for 0xcf8-0xcff */
};

/* Add f at devfn and map its preset BARs; -1 (message printed) on failure. */
int pc_pci_add(struct pc_pci *pc, unsigned int devfn, struct pci_func *f);
void pc_pci_remove(struct pc_pci *pc, unsigned int devfn);

#endif
