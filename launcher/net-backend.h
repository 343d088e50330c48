/* launcher/net-backend.h: what net.c shares with each network backend (net-tap.c, net-slirp.c). */
#ifndef LAUNCHER_NET_BACKEND_H
#define LAUNCHER_NET_BACKEND_H

#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "net.h"

/* The largest frame either way: a 64 KiB GSO packet with its Ethernet and VLAN headers. */
#define NET_FRAME_MAX		(65536 + 18)
#define NET_VNET_HDR_LEN	12	/* struct virtio_net_hdr_v1 */

/*
 * A backend: net.c allocates size bytes (the backend's struct, which
 * starts with struct net_backend), fills the generic part and calls
 * open(); close() undoes open(), on the same thread that destroys.
 */
struct net_backend_ops {
	const char *name;
	size_t size;
	int (*open)(struct net_backend *b, const struct cfg_nic *cfg);
	void (*close)(struct net_backend *b);
	ssize_t (*send)(struct net_backend *b, const struct iovec *iov, int iovcnt);
	int (*set_offload)(struct net_backend *b, unsigned int tun_flags);	/* NULL: none */
	/* The held frame is delivered: read on (the NIC's mutex held). */
	void (*resume)(struct net_backend *b);
};

struct net_backend {
	const struct net_backend_ops *ops;
	struct vm *vm;
	struct net_peer peer;
	unsigned int index;		/* the NIC's, for messages */
	bool vnet_hdr;			/* set by open() */

	/*
	 * A frame the NIC had no room for. Under the NIC's mutex, as every
	 * receive(): the backend delivers nothing more while stalled.
	 */
	bool stalled;
	size_t held_len;
	uint8_t *held;

	atomic_ulong rx_dropped;	/* frames for the NIC the backend lost */
	atomic_ulong tx_dropped;	/* frames from the NIC the network did not take */
};

/*
 * Hand one frame to the NIC, its mutex held. False when the NIC had no
 * room: the frame is now the held one and the backend must deliver
 * nothing more until its ops->resume().
 */
bool net_deliver(struct net_backend *b, const struct iovec *iov, int iovcnt);

/* "kvm-launch: nic N: " and the message, to stderr. */
void net_error(const struct net_backend *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

extern const struct net_backend_ops net_tap_ops;
extern const struct net_backend_ops net_slirp_ops;

#endif
