/* launcher/coalesced.c: writes KVM queues without an exit (coalesced PIO/MMIO) and their replay. */
#include <string.h>
#include <sys/ioctl.h>

#include "coalesced.h"

/* x86: the ring is one 4 KiB page. */
#define RING_BYTES	4096u

void coalesced_init(struct coalesced *c, int kvm_fd, void *run, size_t run_size)
{
	int page = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);

	memset(c, 0, sizeof(*c));
	c->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	/* The capability's value is the ring's page within the vCPU mapping. */
	if (page <= 0 || (size_t)(page + 1) * RING_BYTES > run_size)
		return;
	c->ring = (struct kvm_coalesced_mmio_ring *)((char *)run + (size_t)page * RING_BYTES);
	c->max = (RING_BYTES - sizeof(*c->ring)) / sizeof(c->ring->coalesced_mmio[0]);
	c->pio = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) > 0;
}

int coalesced_add_pio(struct coalesced *c, int vm_fd, uint16_t base, uint16_t len)
{
	struct kvm_coalesced_mmio_zone zone = { .addr = base, .size = len, .pio = 1 };

	if (!c->ring || !c->pio)
		return -1;
	return ioctl(vm_fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0 ? -1 : 0;
}

void coalesced_replay(struct coalesced *c, struct iobus *pio, struct iobus *mmio)
{
	struct kvm_coalesced_mmio_ring *ring = c->ring;
	uint32_t first, last;

	if (!ring)
		return;
	/* Any vCPU thread replays; the writes go out once, in order. */
	pthread_mutex_lock(&c->lock);
	first = ring->first;
	/* Entries up to last are complete once last is seen (the kernel's smp_wmb). */
	last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
	/* A ring index out of range is not ours to trust: drop what is there. */
	if (first >= c->max || last >= c->max) {
		__atomic_store_n(&ring->first, last < c->max ? last : 0, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&c->lock);
		return;
	}
	while (first != last) {
		struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[first];
		unsigned int len = e->len;
		uint64_t v = 0;

		if (len == 1 || len == 2 || len == 4 || len == 8) {
			memcpy(&v, e->data, len);
			if (e->pio)
				iobus_write(pio, e->phys_addr, len, v);
			else
				iobus_write(mmio, e->phys_addr, len, v);
			c->replayed++;
		}
		first = (first + 1) % c->max;
		/* The slot is the kernel's again only after it was read. */
		__atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&c->lock);
}
