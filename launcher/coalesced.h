/* launcher/coalesced.h: writes KVM queues without an exit (coalesced PIO/MMIO) and their replay. */
#ifndef LAUNCHER_COALESCED_H
#define LAUNCHER_COALESCED_H

#include <linux/kvm.h>
#include <pthread.h>

#include "iobus.h"

/*
 * The VM's ring (one page, mapped through the vCPU fd). NULL: the
 * hypervisor has no coalesced I/O, every write exits as usual.
 */
struct coalesced {
	struct kvm_coalesced_mmio_ring *ring;
	unsigned int max;		/* entries in the ring */
	bool pio;			/* KVM_CAP_COALESCED_PIO */
	unsigned long replayed;		/* writes replayed, for statistics */
	pthread_mutex_t lock;		/* one replay at a time (zeroed = ready) */
};

/* Find the ring in the vCPU mapping (run, run_size); no ring is not an error. */
void coalesced_init(struct coalesced *c, int kvm_fd, void *run, size_t run_size);
/* Ask KVM to queue writes to ports [base, base + len); 0, or -1 if it cannot. */
int coalesced_add_pio(struct coalesced *c, int vm_fd, uint16_t base, uint16_t len);
/*
 * Replay the queued writes, oldest first, to the port or MMIO bus; done
 * after every return from KVM_RUN, before its exit is handled, so device
 * models see accesses in the guest's order.
 */
void coalesced_replay(struct coalesced *c, struct iobus *pio, struct iobus *mmio);

#endif
