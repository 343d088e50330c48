/* launcher/virtio-dev.h: what every virtio PCI device's glue shares: its PCI slot, MSI-X vectors through irqfds, doorbells as ioeventfds on the I/O thread, deferred queue runs. */
#ifndef LAUNCHER_VIRTIO_DEV_H
#define LAUNCHER_VIRTIO_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/virtio_pci.h"
#include "vm.h"

struct pc_pci;
struct virtio_dev;

/* A queue's doorbell as an ioeventfd (fd -1: none, the write exits instead). */
struct virtio_kick {
	int fd;
	struct virtio_pci_notify at;
	struct virtio_dev *d;
	unsigned int queue;
};

/*
 * One virtio device on the PC's PCI bus: the transport (vp, its model
 * named by ops and model) and the VMM plumbing around it. All of it runs
 * under the creating device's mutex: the BARs, the doorbells' watches and
 * the two timers carry it.
 */
struct virtio_dev {
	struct vm *vm;
	struct pc_pci *pci;
	struct virtio_pci vp;
	const char *name;
	unsigned int devfn;
	unsigned int nr_queues, nr_vectors;	/* vectors: config, then one per queue */
	uint64_t again_ns;		/* pause before a queue that used its budget runs again */
	struct vm_msi msi[VIRTIO_PCI_MAX_QUEUES + 1];
	struct virtio_kick kick[VIRTIO_PCI_MAX_QUEUES];
	struct vm_timer rekick;		/* moves the ioeventfds, on the I/O thread */
	struct vm_timer again;		/* runs queues that used up their budget */
	bool again_q[VIRTIO_PCI_MAX_QUEUES];
	bool vp_made, timers, on_bus;
};

/*
 * From a device's create(): a transitional virtio device at PCI devfn,
 * with MSI-X where the VM has MSIs (else INTA), name for messages (kept,
 * not copied). again_ns: how long a queue that stopped with buffers left
 * (virtq_again) waits for the I/O thread's other work. 0, or -1 with a
 * message and nothing left to undo.
 */
int virtio_dev_create(struct virtio_dev *d, struct vm *vm, const char *name,
		      unsigned int devfn, const struct virtio_dev_ops *ops, void *model,
		      uint64_t again_ns);
/* Off the bus, eventfds closed, timers gone; d itself is the caller's. */
void virtio_dev_destroy(struct virtio_dev *d);

#endif
