/* launcher/net.h: a NIC's network backend (tap, user) behind one small interface, as QEMU's netdev. */
#ifndef LAUNCHER_NET_H
#define LAUNCHER_NET_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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
	/*
	 * The NIC's device mutex (its create()'s vm_creating_lock()). The
	 * backend takes it around receive() when it calls from its own
	 * thread. The NIC holds it when it calls net_backend_send(),
	 * _set_offload() and _resume(), so those neither take it again nor
	 * wait for a thread that waits for it: order, this mutex before any
	 * backend lock; no backend lock held across receive().
	 */
	pthread_mutex_t *lock;
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
/*
 * Close it (a TAP it created goes away). From the NIC's destroy(): the
 * I/O thread stopped, the NIC's mutex not held (user: joins its thread).
 */
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

/*
 * The NIC has rx room again: deliver the held frame and read on. With
 * the NIC's mutex held, from any of its paths; receive() may be called
 * before this returns. Cheap when nothing is held.
 */
void net_backend_resume(struct net_backend *b);

/*
 * A user backend's hostfwd rule, QEMU's syntax:
 * "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport". No host address:
 * every address (INADDR_ANY); no guest address: 10.0.2.15. For checking
 * the VM file too: 0, or -1 with the reason in err.
 */
struct net_hostfwd {
	bool udp;
	struct in_addr host_addr;
	uint16_t host_port;
	struct in_addr guest_addr;
	uint16_t guest_port;
};
int net_hostfwd_parse(const char *rule, struct net_hostfwd *fwd, char *err, size_t errlen);

#endif
