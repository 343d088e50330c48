/* launcher/net.c: a NIC's network backend: the choice by the VM file, and the frame the NIC has no room for. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net-backend.h"
#include "vm.h"

static const struct net_backend_ops *const backend_ops[] = {
	[NIC_BACKEND_USER] = &net_slirp_ops,
	[NIC_BACKEND_TAP] = &net_tap_ops,
};

void net_error(const struct net_backend *b, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kvm-launch: nic %u: ", b->index);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Which of the VM file's NICs cfg is, for messages (0 outside a VM). */
static unsigned int nic_index(struct vm *vm, const struct cfg_nic *cfg)
{
	const struct vm_config *vc = vm ? vm_config(vm) : NULL;

	for (unsigned int i = 0; vc && i < vc->nr_nics; i++)
		if (&vc->nics[i] == cfg)
			return i;
	return 0;
}

struct net_backend *net_backend_create(struct vm *vm, const struct cfg_nic *cfg,
				       const struct net_peer *peer)
{
	const struct net_backend_ops *ops = NULL;
	struct net_backend *b;

	if ((unsigned int)cfg->backend < sizeof(backend_ops) / sizeof(backend_ops[0]))
		ops = backend_ops[cfg->backend];
	if (!ops) {
		fprintf(stderr, "kvm-launch: nic %u: no backend %d\n", nic_index(vm, cfg),
			(int)cfg->backend);
		return NULL;
	}
	b = calloc(1, ops->size);
	if (!b)
		goto nomem;
	b->ops = ops;
	b->vm = vm;
	b->peer = *peer;
	b->index = nic_index(vm, cfg);
	/* its pages are touched only when a frame is held: a full NIC is the rare case */
	b->held = malloc(NET_VNET_HDR_LEN + NET_FRAME_MAX);
	if (!b->held)
		goto nomem;
	if (ops->open(b, cfg))
		goto fail;
	return b;
nomem:
	fprintf(stderr, "kvm-launch: nic %u: out of memory\n", nic_index(vm, cfg));
fail:
	if (b)
		free(b->held);
	free(b);
	return NULL;
}

void net_backend_destroy(struct net_backend *b)
{
	if (!b)
		return;
	b->ops->close(b);
	free(b->held);
	free(b);
}

bool net_deliver(struct net_backend *b, const struct iovec *iov, int iovcnt)
{
	size_t len = 0, cap = NET_VNET_HDR_LEN + NET_FRAME_MAX;

	if (b->peer.receive(b->peer.nic, iov, iovcnt))
		return true;
	for (int i = 0; i < iovcnt && len < cap; i++) {
		size_t n = iov[i].iov_len < cap - len ? iov[i].iov_len : cap - len;

		memcpy(b->held + len, iov[i].iov_base, n);
		len += n;
	}
	b->held_len = len;
	b->stalled = true;
	return false;
}

void net_backend_resume(struct net_backend *b)
{
	if (!b->stalled)
		return;
	if (b->held_len) {
		/* as the backend gave it: the vnet header in its own iovec */
		size_t hdr = b->vnet_hdr && b->held_len >= NET_VNET_HDR_LEN ? NET_VNET_HDR_LEN : 0;
		struct iovec iov[2] = {
			{ b->held, hdr },
			{ b->held + hdr, b->held_len - hdr },
		};

		if (!b->peer.receive(b->peer.nic, hdr ? iov : iov + 1, hdr ? 2 : 1))
			return;
		b->held_len = 0;
	}
	b->stalled = false;
	b->ops->resume(b);
}

ssize_t net_backend_send(struct net_backend *b, const struct iovec *iov, int iovcnt)
{
	ssize_t n = b->ops->send(b, iov, iovcnt);

	if (n < 0)
		atomic_fetch_add(&b->tx_dropped, 1);
	return n;
}

bool net_backend_vnet_hdr(const struct net_backend *b)
{
	return b->vnet_hdr;
}

int net_backend_set_offload(struct net_backend *b, unsigned int tun_flags)
{
	if (!b->vnet_hdr || !b->ops->set_offload)
		return 0;
	return b->ops->set_offload(b, tun_flags);
}
