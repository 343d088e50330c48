/* launcher/hw/virtio_net.h: the virtio network device (type 1): rx, tx and control queues, mergeable rx buffers, offloads when the backend has vnet headers. */
#ifndef HW_VIRTIO_NET_H
#define HW_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "hw.h"
#include "virtio_pci.h"
#include "virtqueue.h"

#define VIRTIO_ID_NET			1

/* Feature bits (virtio 1.1, 5.1.3). */
#define VIRTIO_NET_F_CSUM		0	/* the device takes partial checksums */
#define VIRTIO_NET_F_GUEST_CSUM		1	/* the driver takes partial checksums */
#define VIRTIO_NET_F_MTU		3
#define VIRTIO_NET_F_MAC		5
#define VIRTIO_NET_F_GUEST_TSO4		7
#define VIRTIO_NET_F_GUEST_TSO6		8
#define VIRTIO_NET_F_GUEST_ECN		9
#define VIRTIO_NET_F_GUEST_UFO		10
#define VIRTIO_NET_F_HOST_TSO4		11
#define VIRTIO_NET_F_HOST_TSO6		12
#define VIRTIO_NET_F_HOST_ECN		13
#define VIRTIO_NET_F_HOST_UFO		14
#define VIRTIO_NET_F_MRG_RXBUF		15
#define VIRTIO_NET_F_STATUS		16
#define VIRTIO_NET_F_CTRL_VQ		17
#define VIRTIO_NET_F_CTRL_RX		18
#define VIRTIO_NET_F_CTRL_VLAN		19
#define VIRTIO_NET_F_GUEST_ANNOUNCE	21
#define VIRTIO_NET_F_MQ			22
#define VIRTIO_NET_F_CTRL_MAC_ADDR	23

/* Device configuration: mac[6], status, max_virtqueue_pairs, mtu (little-endian). */
#define VIRTIO_NET_CFG_MAC		0
#define VIRTIO_NET_CFG_STATUS		6
#define VIRTIO_NET_CFG_MAX_VQ_PAIRS	8
#define VIRTIO_NET_CFG_MTU		10
#define VIRTIO_NET_CFG_LEN		12
#define VIRTIO_NET_S_LINK_UP		1
#define VIRTIO_NET_S_ANNOUNCE		2

/*
 * struct virtio_net_hdr_v1 in front of every frame, 12 bytes: with
 * VIRTIO_F_VERSION_1 or VIRTIO_NET_F_MRG_RXBUF; a legacy driver without
 * MRG_RXBUF uses the first 10 (no num_buffers).
 */
#define VIRTIO_NET_HDR_LEN		12
#define VIRTIO_NET_HDR_LEGACY_LEN	10
#define VIRTIO_NET_HDR_F_NEEDS_CSUM	1
#define VIRTIO_NET_HDR_F_DATA_VALID	2
#define VIRTIO_NET_HDR_GSO_NONE		0
#define VIRTIO_NET_HDR_GSO_TCPV4	1
#define VIRTIO_NET_HDR_GSO_UDP		3
#define VIRTIO_NET_HDR_GSO_TCPV6	4
#define VIRTIO_NET_HDR_GSO_ECN		0x80

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

/* Control queue commands (virtio 1.1, 5.1.6.5): class, command, data, then the ack byte. */
#define VIRTIO_NET_OK			0
#define VIRTIO_NET_ERR			1
#define VIRTIO_NET_CTRL_RX		0
#define VIRTIO_NET_CTRL_RX_PROMISC	0
#define VIRTIO_NET_CTRL_RX_ALLMULTI	1
#define VIRTIO_NET_CTRL_MAC		1
#define VIRTIO_NET_CTRL_MAC_TABLE_SET	0
#define VIRTIO_NET_CTRL_MAC_ADDR_SET	1
#define VIRTIO_NET_CTRL_ANNOUNCE	3
#define VIRTIO_NET_CTRL_ANNOUNCE_ACK	0

#define VIRTIO_NET_RXQ			0
#define VIRTIO_NET_TXQ			1
#define VIRTIO_NET_CTRLQ		2
#define VIRTIO_NET_QUEUE_SIZE		256
#define VIRTIO_NET_MTU			1500
/* The largest frame either way (a 64 KiB GSO frame and its headers); larger ones are dropped. */
#define VIRTIO_NET_MAX_FRAME		65550
/* tx chains per notification before other work gets its turn (virtq_again). */
#define VIRTIO_NET_TX_BUDGET		128

/*
 * The network side (net.h's backend, through the glue), called with the
 * device's lock held. vnet_hdr: frames both ways start with a 12-byte
 * struct virtio_net_hdr (a TAP with IFF_VNET_HDR); only then are
 * checksum and segmentation offloads offered. send() takes one frame
 * (-1: dropped); set_offload() the TUN_F_* bits the driver's GUEST_*
 * features allow; resume(): the rx queue has room again after
 * virtio_net_receive() said no.
 */
struct virtio_net_backend {
	bool vnet_hdr;
	ssize_t (*send)(void *ctx, const struct iovec *iov, int iovcnt);
	int (*set_offload)(void *ctx, unsigned int tun_flags);
	void (*resume)(void *ctx);
	void *ctx;
};

struct virtio_net_stats {
	uint64_t rx_frames, rx_bytes, rx_dropped;
	uint64_t tx_frames, tx_bytes, tx_dropped;
	uint64_t ctrl_ok, ctrl_err;
};

struct virtio_net {
	struct virtio_dev_ops ops;	/* the model for the transport: features per backend */
	struct virtio_pci *vp;
	struct virtio_net_backend be;
	const struct hw_clock *clock;	/* for rate-limited messages; may be NULL */
	const char *name;
	uint8_t mac[6], default_mac[6];
	uint16_t status;
	uint64_t features;		/* negotiated */
	size_t hdr_len;			/* the driver's header: 12 or 10 bytes */
	bool mergeable;
	bool rx_waiting;		/* receive() said no: resume the backend on the next rx notify */
	bool promisc, allmulti;		/* as the driver asked; every frame is delivered anyway */
	struct virtio_net_stats stats;
	uint64_t msg_window;		/* rate limit: start of this second, messages in it, hidden */
	unsigned int msgs, hidden;
	/* rx apart from tx: a backend may hand over a frame from inside send() */
	struct virtq_elem rx_first, rx_elem;
	struct virtq_elem elem;		/* tx and control */
	struct virtq_used rx_used[VIRTIO_NET_QUEUE_SIZE];
	struct iovec tx_iov[VIRTQ_MAX_IOV + 1];
	uint8_t bounce[VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME];
};

/*
 * Build the model for transport vp (virtio_pci_init(vp, &n->ops, n, ...)
 * follows). name is kept for messages; mac is the configuration's.
 */
void virtio_net_init(struct virtio_net *n, struct virtio_pci *vp, const char *name,
		     const uint8_t mac[6], const struct virtio_net_backend *be,
		     const struct hw_clock *clock);

/*
 * One frame from the backend (with its 12-byte header first when
 * be.vnet_hdr) into the rx queue. false: no room now; the caller keeps
 * the frame and waits for be.resume(). true: delivered, or dropped (the
 * driver is not running, the frame is malformed or can never fit).
 */
bool virtio_net_receive(struct virtio_net *n, const struct iovec *iov, int iovcnt);

/* The TUN_F_* offload bits matching negotiated features (GUEST_*). */
unsigned int virtio_net_tun_offloads(uint64_t features);

#endif
