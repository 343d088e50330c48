/* launcher/virtio-dev.c: the glue every virtio PCI device shares: PCI slot, MSI-X through irqfds, doorbells as ioeventfds watched by the I/O thread, deferred queue runs. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dev-pci.h"
#include "virtio-dev.h"

/*
 * MSI-X vector n fires: its irqfd, whose GSI route follows the message the
 * table holds. The route changes (one KVM_SET_GSI_ROUTING) only when the
 * guest programmed a new message since the last interrupt; else this is
 * one eventfd write, with no exit.
 */
static void msi_send(void *ctx, unsigned int vector, uint64_t addr, uint32_t data)
{
	struct virtio_dev *d = ctx;
	struct vm_msi *m;

	if (vector >= d->nr_vectors)
		return;
	m = &d->msi[vector];
	if (!m->valid || m->addr != addr || m->data != data)
		vm_msi_set(d->vm, m, addr, data);
	vm_msi_raise(d->vm, m);
}

/* The guest wrote the doorbell: the I/O thread, with the device mutex held. */
static void kick_ready(void *opaque)
{
	struct virtio_kick *k = opaque;
	uint64_t n;

	if (read(k->fd, &n, sizeof(n)) == sizeof(n))
		virtio_pci_queue_notify(&k->d->vp, k->queue);
}

static void kick_drop(struct virtio_dev *d, struct virtio_kick *k)
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
	struct virtio_dev *d = opaque;

	(void)now;
	for (unsigned int q = 0; q < d->nr_queues; q++) {
		struct virtio_kick *k = &d->kick[q];
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
				fprintf(stderr, "kvm-launch: %s: no room to watch the doorbell of queue %u; it exits instead\n",
					d->name, q);
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
static void notify_moved(void *ctx)
{
	struct virtio_dev *d = ctx;

	if (d->timers)
		vm_timer_arm(d->vm, &d->rekick, 1);
}

/* The model stopped with buffers left: run the queue again after the pause. */
static void notify_later(void *ctx, unsigned int q)
{
	struct virtio_dev *d = ctx;

	if (!d->timers || q >= d->nr_queues)
		return;
	d->again_q[q] = true;
	vm_timer_arm(d->vm, &d->again, hw_clock_now(vm_clock(d->vm)) + d->again_ns);
}

static void run_again(void *opaque, uint64_t now)
{
	struct virtio_dev *d = opaque;

	(void)now;
	for (unsigned int q = 0; q < d->nr_queues; q++)
		if (d->again_q[q]) {
			d->again_q[q] = false;
			virtio_pci_queue_notify(&d->vp, q);
		}
}

void virtio_dev_destroy(struct virtio_dev *d)
{
	if (d->on_bus)
		pc_pci_remove(d->pci, d->devfn);
	d->on_bus = false;
	if (d->timers) {
		vm_timer_del(d->vm, &d->rekick);
		vm_timer_del(d->vm, &d->again);
	}
	d->timers = false;
	for (unsigned int q = 0; q < d->nr_queues; q++)
		kick_drop(d, &d->kick[q]);
	for (unsigned int v = 0; v < d->nr_vectors; v++)
		vm_msi_free(d->vm, &d->msi[v]);
	d->nr_vectors = 0;
	if (d->vp_made)
		virtio_pci_destroy(&d->vp);
	d->vp_made = false;
}

int virtio_dev_create(struct virtio_dev *d, struct vm *vm, const char *name,
		      unsigned int devfn, const struct virtio_dev_ops *ops, void *model,
		      uint64_t again_ns)
{
	struct virtio_pci_params p;
	bool msix = vm_has_msi(vm);

	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->name = name;
	d->devfn = devfn;
	d->again_ns = again_ns;
	d->nr_queues = ops->num_queues < VIRTIO_PCI_MAX_QUEUES ? ops->num_queues : VIRTIO_PCI_MAX_QUEUES;
	for (unsigned int q = 0; q < d->nr_queues; q++)
		d->kick[q] = (struct virtio_kick){ .fd = -1, .d = d, .queue = q };
	d->pci = vm_device(vm, "pci");
	if (!d->pci) {
		fprintf(stderr, "kvm-launch: %s: no PCI bus\n", name);
		return -1;
	}
	d->nr_vectors = d->nr_queues + 1;
	for (unsigned int v = 0; v < d->nr_vectors; v++)
		d->msi[v].fd = -1;
	/* without an irqfd a vector is raised by KVM_SIGNAL_MSI: slower, still right */
	for (unsigned int v = 0; msix && v < d->nr_vectors; v++)
		vm_msi_init(vm, &d->msi[v]);
	p = (struct virtio_pci_params){
		.name = name, .transitional = true, .msix = msix, .mem = vm_guest_mem(vm),
		.host = { .msi = { msi_send, d }, .notify_moved = notify_moved,
			  .notify_later = notify_later, .ctx = d },
	};
	if (virtio_pci_init(&d->vp, ops, model, &p))
		goto fail;
	d->vp_made = true;
	vm_timer_add(vm, &d->rekick, rekick, d);
	vm_timer_add(vm, &d->again, run_again, d);
	d->timers = true;
	if (pc_pci_add(d->pci, devfn, &d->vp.pci))
		goto fail;
	d->on_bus = true;
	return 0;
fail:
	virtio_dev_destroy(d);
	return -1;
}
