/* launcher/net.h: a NIC's network backend (tap, user) behind one small interface, as QEMU's netdev. */
#ifndef LAUNCHER_NET_H
#define LAUNCHER_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct vm;
struct cfg_nic;

/*
 * The NIC's side. receive() gets one Ethernet frame from the backend,
 * with a struct virtio_net_hdr_v1 (12 bytes) in front of it when the
 * backend has vnet headers (net_backend_vnet_hdr()); it returns false
 * when the NIC has no room (no guest rx buffers): the backend then
 * keeps that frame and stops reading until net_backend_resume(). It is
 * called with the NIC's device mutex held, from whichever thread the
 * backend reads on (the I/O thread for tap, slirp's own thread for user).
 */
struct net_peer {
	bool (*receive)(void *nic, const struct iovec *iov, int iovcnt);
	void *nic;
};

struct net_backend;

/*
 * Open the backend the VM file's NIC entry names (tap: an existing TAP
 * or one created with CAP_NET_ADMIN, joined to cfg's bridge; user:
 * libslirp with DHCP, DNS and cfg's hostfwd rules). Called from the
 * NIC's create(); NULL with a message "kvm-launch: nic N: reason".
 */
struct net_backend *net_backend_create(struct vm *vm, const struct cfg_nic *cfg,
				       const struct net_peer *peer);
void net_backend_destroy(struct net_backend *b);

/*
 * Send one frame to the network (from the NIC's tx path: any thread,
 * the NIC's mutex held). With vnet headers the iov starts with the
 * 12-byte header. Returns the bytes taken, or -1 (frame dropped).
 */
ssize_t net_backend_send(struct net_backend *b, const struct iovec *iov, int iovcnt);

/* Whether frames in both directions carry a virtio_net_hdr_v1 (a TAP with IFF_VNET_HDR). */
bool net_backend_vnet_hdr(const struct net_backend *b);

/*
 * The offloads the guest negotiated, as TUNSETOFFLOAD's TUN_F_* bits:
 * what the backend may hand the NIC unsegmented or without checksums.
 * 0 where the backend has no vnet headers.
 */
int net_backend_set_offload(struct net_backend *b, unsigned int tun_flags);

/* The NIC has rx room again: deliver the held frame and read on. */
void net_backend_resume(struct net_backend *b);

#endif
