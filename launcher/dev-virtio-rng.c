/* launcher/dev-virtio-rng.c: the virtio entropy device at PCI 00:03.0 (rng = true): host randomness, the doorbell as an ioeventfd served on the I/O thread, MSI-X through irqfds or INTA. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include "dev-pci.h"
#include "device.h"
#include "hw/virtio_rng.h"
#include "vm.h"

#define RNG_DEVFN	PCI_DEVFN(3, 0)		/* 02.0 stays free for a VGA, as on QEMU */
#define RNG_QUEUES	1
#define RNG_VECTORS	(RNG_QUEUES + 1)	/* config, then one per queue */
#define RNG_AGAIN_NS	50000			/* a budget used up: the I/O thread's other work first */

struct pc_virtio_rng;

/* A queue's doorbell as an ioeventfd (fd -1: none, the write exits instead). */
struct kick {
	int fd;
	struct virtio_pci_notify at;
	struct pc_virtio_rng *d;
	unsigned int queue;
};

struct pc_virtio_rng {
	struct vm *vm;
	struct pc_pci *pci;
	struct virtio_pci vp;
	struct virtio_rng rng;
	struct vm_msi msi[RNG_VECTORS];
	struct kick kick[RNG_QUEUES];
	struct vm_timer rekick;		/* moves the ioeventfds, on the I/O thread */
	struct vm_timer again;		/* runs queues that used up their budget */
	bool again_q[RNG_QUEUES];
	bool timers, on_bus;
};

static size_t host_random(void *ctx, void *buf, size_t len)
{
	size_t done = 0;

	(void)ctx;
	while (done < len) {
		ssize_t n = getrandom((char *)buf + done, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("kvm-launch: virtio-rng: getrandom");
			break;
		}
		done += (size_t)n;
	}
	return done;
}

/*
 * MSI-X vector n fires: its irqfd, whose GSI route follows the message the
 * table holds. The route changes (one KVM_SET_GSI_ROUTING) only when the
 * guest programmed a new message since the last interrupt; else this is
 * one eventfd write, with no exit.
 */
static void rng_msi_send(void *ctx, unsigned int vector, uint64_t addr, uint32_t data)
{
	struct pc_virtio_rng *d = ctx;
	struct vm_msi *m;

	if (vector >= RNG_VECTORS)
		return;
	m = &d->msi[vector];
	if (!m->valid || m->addr != addr || m->data != data)
		vm_msi_set(d->vm, m, addr, data);
	vm_msi_raise(d->vm, m);
}

/* The guest wrote the doorbell: the I/O thread, with the device mutex held. */
static void kick_ready(void *opaque)
{
	struct kick *k = opaque;
	uint64_t n;

	if (read(k->fd, &n, sizeof(n)) == sizeof(n))
		virtio_pci_queue_notify(&k->d->vp, k->queue);
}

static void kick_drop(struct pc_virtio_rng *d, struct kick *k)
{
	if (k->fd < 0)
		return;
	vm_unwatch_fd(d->vm, k->fd);
	vm_ioeventfd_del(d->vm, k->fd, k->at.pio, k->at.addr, k->at.len, k->at.match, k->at.data);
	k->fd = -1;
}

static bool same_notify(const struct virtio_pci_notify *a, const struct virtio_pci_notify *b)
{
	return a->pio == b->pio && a->addr == b->addr && a->len == b->len &&
	       a->match == b->match && a->data == b->data;
}

/*
 * Timer callback (I/O thread, device mutex): give each enabled queue an
 * ioeventfd at its notify address as it is now. Watches change only on
 * this thread; until the ioeventfd exists, the guest's write exits and
 * the BAR's handler serves the queue on the vCPU thread.
 */
static void rekick(void *opaque, uint64_t now)
{
	struct pc_virtio_rng *d = opaque;

	(void)now;
	for (unsigned int q = 0; q < RNG_QUEUES; q++) {
		struct kick *k = &d->kick[q];
		struct virtio_pci_notify at;
		bool on = virtio_pci_notify_addr(&d->vp, q, &at), moved = false;
		int fd;

		if (k->fd >= 0 && (!on || !same_notify(&at, &k->at))) {
			kick_drop(d, k);
			moved = true;
		}
		if (on && k->fd < 0) {
			fd = vm_ioeventfd(d->vm, at.pio, at.addr, at.len, at.match, at.data);
			if (fd >= 0 && vm_watch_fd(d->vm, fd, kick_ready, k)) {
				fprintf(stderr, "kvm-launch: virtio-rng: no room to watch the doorbell; it exits instead\n");
				vm_ioeventfd_del(d->vm, fd, at.pio, at.addr, at.len, at.match, at.data);
				fd = -1;
			}
			k->fd = fd;
			k->at = at;
		}
		/* a doorbell rung on the old eventfd and not yet read is not lost */
		if (moved && on)
			virtio_pci_queue_notify(&d->vp, q);
	}
}

/* A queue started or stopped, or a BAR moved: any thread, device mutex held. */
static void rng_notify_moved(void *ctx)
{
	struct pc_virtio_rng *d = ctx;

	if (d->timers)
		vm_timer_arm(d->vm, &d->rekick, 1);
}

/* The model stopped with buffers left: run the queue again after a pause. */
static void rng_notify_later(void *ctx, unsigned int q)
{
	struct pc_virtio_rng *d = ctx;

	if (!d->timers || q >= RNG_QUEUES)
		return;
	d->again_q[q] = true;
	vm_timer_arm(d->vm, &d->again, hw_clock_now(vm_clock(d->vm)) + RNG_AGAIN_NS);
}

static void rng_again(void *opaque, uint64_t now)
{
	struct pc_virtio_rng *d = opaque;

	(void)now;
	for (unsigned int q = 0; q < RNG_QUEUES; q++)
		if (d->again_q[q]) {
			d->again_q[q] = false;
			virtio_pci_queue_notify(&d->vp, q);
		}
}

static void rng_destroy(void *state)
{
	struct pc_virtio_rng *d = state;

	if (d->on_bus)
		pc_pci_remove(d->pci, RNG_DEVFN);
	if (d->timers) {
		vm_timer_del(d->vm, &d->rekick);
		vm_timer_del(d->vm, &d->again);
	}
	d->timers = false;
	for (unsigned int q = 0; q < RNG_QUEUES; q++)
		kick_drop(d, &d->kick[q]);
	for (unsigned int v = 0; v < RNG_VECTORS; v++)
		vm_msi_free(d->vm, &d->msi[v]);
	virtio_pci_destroy(&d->vp);
	free(d);
}

static int rng_create(struct vm *vm, void **state)
{
	struct pc_virtio_rng *d;
	struct virtio_pci_params p;
	bool msix = vm_has_msi(vm);

	if (!vm_config(vm)->rng)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	d->vm = vm;
	d->pci = vm_device(vm, "pci");
	for (unsigned int q = 0; q < RNG_QUEUES; q++)
		d->kick[q] = (struct kick){ .fd = -1, .d = d, .queue = q };
	for (unsigned int v = 0; v < RNG_VECTORS; v++)
		d->msi[v].fd = -1;
	if (!d->pci) {
		fprintf(stderr, "kvm-launch: virtio-rng: no PCI bus\n");
		free(d);
		return -1;
	}
	/* without an irqfd a vector is raised by KVM_SIGNAL_MSI: slower, still right */
	for (unsigned int v = 0; msix && v < RNG_VECTORS; v++)
		vm_msi_init(vm, &d->msi[v]);
	virtio_rng_init(&d->rng, host_random, d);
	p = (struct virtio_pci_params){
		.name = "virtio-rng", .transitional = true, .msix = msix,
		.mem = vm_guest_mem(vm),
		.host = { .msi = { rng_msi_send, d }, .notify_moved = rng_notify_moved,
			  .notify_later = rng_notify_later, .ctx = d },
	};
	if (virtio_pci_init(&d->vp, &virtio_rng_ops, &d->rng, &p)) {
		rng_destroy(d);
		return -1;
	}
	vm_timer_add(vm, &d->rekick, rekick, d);
	vm_timer_add(vm, &d->again, rng_again, d);
	d->timers = true;
	if (pc_pci_add(d->pci, RNG_DEVFN, &d->vp.pci)) {
		rng_destroy(d);
		return -1;
	}
	d->on_bus = true;
	*state = d;
	return 0;
}

static const struct device_type virtio_rng_type = {
	.name = "virtio-rng", .stage = DEVICE_STAGE_DEVICE,
	.create = rng_create, .destroy = rng_destroy,
};
DEVICE_TYPE(virtio_rng_type);
