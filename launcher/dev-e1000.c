/* launcher/dev-e1000.c: Intel 82540EM NICs (nics entries with model "e1000"): NIC i of the VM file at PCI 00:(4 + i).0 with INTA, its network backend (net.h) behind the model. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "dev-pci.h"
#include "device.h"
#include "hw/e1000.h"
#include "net.h"
#include "vm.h"

/* Every NIC, whatever its model, at slot 4 + its index in nics (virtio-net too). */
#define NIC_SLOT0	4
#define VNET_HDR_LEN	12	/* struct virtio_net_hdr_v1, all zero from us: no offloads */
#define RX_MAX_IOV	64

struct pc_e1000;

struct e1000_vm_timer {
	struct vm_timer t;
	struct pc_e1000 *d;
	enum e1000_timer id;
};

struct pc_e1000 {
	struct vm *vm;
	struct pc_pci *pci;
	struct net_backend *backend;
	pthread_mutex_t *lock;
	unsigned int devfn;
	bool vnet_hdr;			/* the backend's frames carry a virtio_net_hdr_v1 */
	bool up, timers, on_bus;	/* up: model built and on the bus (under lock) */
	struct e1000_vm_timer timer[E1000_NR_TIMERS];
	char name[32];
	struct e1000 nic;		/* last: large */
};

static unsigned int e1000_nics(const struct vm_config *cfg)
{
	return config_nics_of_model(cfg, NIC_MODEL_E1000);
}

/* ---- the model's host side: device mutex held ---- */

static void nic_send(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct pc_e1000 *d = ctx;
	static const uint8_t zero_hdr[VNET_HDR_LEN];
	struct iovec v[8];

	if (!d->vnet_hdr) {
		net_backend_send(d->backend, iov, iovcnt);
		return;
	}
	if (iovcnt > 7)
		return;		/* the model sends at most 3 pieces */
	v[0] = (struct iovec){ (void *)zero_hdr, VNET_HDR_LEN };
	for (int i = 0; i < iovcnt; i++)
		v[i + 1] = iov[i];
	net_backend_send(d->backend, v, iovcnt + 1);
}

static void nic_set_irq(void *ctx, int level)
{
	struct pc_e1000 *d = ctx;

	pci_func_set_intx(&d->nic.pci, level);
}

static void nic_timer_arm(void *ctx, enum e1000_timer t, uint64_t deadline_ns)
{
	struct pc_e1000 *d = ctx;

	if (d->timers && t < E1000_NR_TIMERS)
		vm_timer_arm(d->vm, &d->timer[t].t, deadline_ns ? deadline_ns : 1);
}

static void nic_timer_cancel(void *ctx, enum e1000_timer t)
{
	struct pc_e1000 *d = ctx;

	if (d->timers && t < E1000_NR_TIMERS)
		vm_timer_cancel(d->vm, &d->timer[t].t);
}

/* The guest moved RDT after a refusal: the backend's held frame may come in now (net.h). */
static void nic_rx_room(void *ctx)
{
	struct pc_e1000 *d = ctx;

	net_backend_resume(d->backend);
}

static void timer_fire(void *opaque, uint64_t now)
{
	struct e1000_vm_timer *t = opaque;

	e1000_timer_fired(&t->d->nic, t->id, now);
}

/* ---- the backend's side ---- */

/* A frame from the backend: its thread with our mutex taken, or ours (resume) with it held. */
static bool nic_receive(void *nic, const struct iovec *iov, int iovcnt)
{
	struct pc_e1000 *d = nic;
	struct iovec v[RX_MAX_IOV];
	size_t skip = VNET_HDR_LEN;
	int n = 0;

	if (!d->up)
		return true;		/* not built yet: the wire is unplugged */
	if (!d->vnet_hdr)
		return e1000_receive(&d->nic, iov, iovcnt);
	/* without offloads negotiated the header says nothing: drop it */
	for (int i = 0; i < iovcnt; i++) {
		size_t off = skip < iov[i].iov_len ? skip : iov[i].iov_len;

		skip -= off;
		if (off == iov[i].iov_len)
			continue;
		if (n == RX_MAX_IOV)
			return true;	/* more pieces than any backend makes: dropped */
		v[n++] = (struct iovec){ (uint8_t *)iov[i].iov_base + off, iov[i].iov_len - off };
	}
	return e1000_receive(&d->nic, v, n);
}

static void nic_destroy(void *state)
{
	struct pc_e1000 *d = state;

	/* the backend first: its thread may be waiting for our mutex to deliver */
	net_backend_destroy(d->backend);
	if (d->on_bus)
		pc_pci_remove(d->pci, d->devfn);
	if (d->timers)
		for (unsigned int t = 0; t < E1000_NR_TIMERS; t++)
			vm_timer_del(d->vm, &d->timer[t].t);
	free(d);
}

static int nic_create(struct vm *vm, void **state)
{
	const struct vm_config *cfg = vm_config(vm);
	int i = config_nth_nic(cfg, NIC_MODEL_E1000, vm_device_index(vm));
	struct e1000_params p;
	struct pc_e1000 *d;
	struct net_peer peer;
	int ret;

	/* i: this instance's index among all NICs */
	if (i < 0)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d) {
		fprintf(stderr, "kvm-launch: nic %d: out of memory\n", i);
		return -1;
	}
	snprintf(d->name, sizeof(d->name), "nic %d (e1000)", i);
	d->vm = vm;
	d->lock = vm_creating_lock(vm);
	d->devfn = PCI_DEVFN(NIC_SLOT0 + i, 0);
	d->pci = vm_device(vm, "pci");
	if (!d->pci) {
		fprintf(stderr, "kvm-launch: %s: no PCI bus\n", d->name);
		free(d);
		return -1;
	}
	peer = (struct net_peer){ .receive = nic_receive, .nic = d, .lock = d->lock };
	d->backend = net_backend_create(vm, &cfg->nics[i], &peer);
	if (!d->backend) {
		free(d);
		return -1;
	}
	/*
	 * The backend's thread may deliver from now on, under our mutex: build
	 * the model under it too, so that it sees either nothing (up false)
	 * or all of it. Nothing below takes another device's mutex.
	 */
	pthread_mutex_lock(d->lock);
	d->vnet_hdr = net_backend_vnet_hdr(d->backend);
	if (d->vnet_hdr)
		net_backend_set_offload(d->backend, 0);
	p = (struct e1000_params){
		.name = d->name, .mem = vm_guest_mem(vm), .clock = vm_clock(vm),
		.host = { .send = nic_send, .set_irq = nic_set_irq, .timer_arm = nic_timer_arm,
			  .timer_cancel = nic_timer_cancel, .rx_room = nic_rx_room, .ctx = d },
	};
	for (unsigned int m = 0; m < 6; m++)
		p.mac[m] = cfg->nics[i].mac[m];
	e1000_init(&d->nic, &p);
	for (unsigned int t = 0; t < E1000_NR_TIMERS; t++) {
		d->timer[t].d = d;
		d->timer[t].id = t;
		vm_timer_add(vm, &d->timer[t].t, timer_fire, &d->timer[t]);
	}
	d->timers = true;
	ret = pc_pci_add(d->pci, d->devfn, &d->nic.pci);
	d->on_bus = !ret;
	d->up = !ret;
	pthread_mutex_unlock(d->lock);
	if (ret) {
		nic_destroy(d);
		return -1;
	}
	*state = d;
	return 0;
}

static const struct device_type e1000_type = {
	.name = "e1000", .stage = DEVICE_STAGE_DEVICE,
	.create = nic_create, .destroy = nic_destroy, .instances = e1000_nics,
};
DEVICE_TYPE(e1000_type);
