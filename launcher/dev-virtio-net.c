/* launcher/dev-virtio-net.c: virtio NICs (nics entries with model "virtio"): NIC i of the VM file at PCI 00:(4 + i).0, its network backend (net.h) behind the model. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "device.h"
#include "hw/virtio_net.h"
#include "net.h"
#include "virtio-dev.h"
#include "vm.h"

/* Every NIC, whatever its model, at slot 4 + its index in nics (e1000 too). */
#define NIC_SLOT0	4
/* A tx budget used up: the I/O thread's other work, then at once again. */
#define NET_AGAIN_NS	0

struct pc_virtio_net {
	struct virtio_dev vdev;
	struct net_backend *backend;
	pthread_mutex_t *lock;
	bool up;			/* model and transport built (under lock: see create) */
	char name[32];
	struct virtio_net net;		/* last: large */
};

static unsigned int virtio_nics(const struct vm_config *cfg)
{
	return config_nics_of_model(cfg, NIC_MODEL_VIRTIO);
}

/* The backend's frame: its thread with our mutex taken, or ours (resume) with it held. */
static bool nic_receive(void *nic, const struct iovec *iov, int iovcnt)
{
	struct pc_virtio_net *d = nic;

	if (!d->up)
		return true;		/* not built yet: the wire is unplugged */
	return virtio_net_receive(&d->net, iov, iovcnt);
}

static ssize_t be_send(void *ctx, const struct iovec *iov, int iovcnt)
{
	return net_backend_send(ctx, iov, iovcnt);
}

static int be_set_offload(void *ctx, unsigned int tun_flags)
{
	return net_backend_set_offload(ctx, tun_flags);
}

static void be_resume(void *ctx)
{
	net_backend_resume(ctx);
}

static void net_destroy(void *state)
{
	struct pc_virtio_net *d = state;

	/* the backend first: its thread may be waiting for our mutex to deliver */
	net_backend_destroy(d->backend);
	virtio_dev_destroy(&d->vdev);
	free(d);
}

static int net_create(struct vm *vm, void **state)
{
	const struct vm_config *cfg = vm_config(vm);
	int i = config_nth_nic(cfg, NIC_MODEL_VIRTIO, vm_device_index(vm));
	struct virtio_net_backend be;
	struct pc_virtio_net *d;
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
	snprintf(d->name, sizeof(d->name), "nic %d (virtio-net)", i);
	d->lock = vm_creating_lock(vm);
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
	be = (struct virtio_net_backend){
		.vnet_hdr = net_backend_vnet_hdr(d->backend), .send = be_send,
		.set_offload = be_set_offload, .resume = be_resume, .ctx = d->backend,
	};
	virtio_net_init(&d->net, &d->vdev.vp, d->name, cfg->nics[i].mac, &be, vm_clock(vm));
	ret = virtio_dev_create(&d->vdev, vm, d->name, PCI_DEVFN(NIC_SLOT0 + i, 0), &d->net.ops,
				&d->net, NET_AGAIN_NS);
	d->up = !ret;
	pthread_mutex_unlock(d->lock);
	if (ret) {
		net_backend_destroy(d->backend);
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static const struct device_type virtio_net_type = {
	.name = "virtio-net", .stage = DEVICE_STAGE_DEVICE,
	.create = net_create, .destroy = net_destroy, .instances = virtio_nics,
};
DEVICE_TYPE(virtio_net_type);
