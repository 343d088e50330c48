/* launcher/hw/virtio_net.c: the virtio network device: frames between the rx/tx queues and a backend, header conversion, control commands. */
#include <endian.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "virtio_net.h"

#define BIT(n)		(1ull << (n))
#define NS_PER_S	1000000000ull
#define MSGS_PER_S	5		/* drop messages shown per second */

/* What every backend gets; the offloads only with vnet headers. */
#define FEATURES_BASE	(BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |		\
			 BIT(VIRTIO_NET_F_MTU) | BIT(VIRTIO_NET_F_MRG_RXBUF) |		\
			 BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_CTRL_RX) |	\
			 BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |				\
			 BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_RING_F_EVENT_IDX))
#define FEATURES_OFFLOAD (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |	\
			 BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |	\
			 BIT(VIRTIO_NET_F_HOST_ECN) | BIT(VIRTIO_NET_F_GUEST_TSO4) |	\
			 BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_ECN))

static bool has(const struct virtio_net *n, unsigned int bit)
{
	return n->features >> bit & 1;
}

/* A guest's or a peer's mistake that costs one frame: said, at most MSGS_PER_S a second. */
static void __attribute__((format(printf, 2, 3)))
drop_msg(struct virtio_net *n, const char *fmt, ...)
{
	uint64_t now = n->clock ? hw_clock_now(n->clock) : 0;
	va_list ap;

	if (now - n->msg_window >= NS_PER_S && n->clock) {
		if (n->hidden)
			fprintf(stderr, "kvm-launch: %s: %u more dropped frames not shown\n",
				n->name, n->hidden);
		n->msg_window = now;
		n->msgs = n->hidden = 0;
	}
	if (n->msgs >= MSGS_PER_S) {
		n->hidden++;
		return;
	}
	n->msgs++;
	fprintf(stderr, "kvm-launch: %s: ", n->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (frame dropped)\n", stderr);
}

/* ---- helpers ---- */

static size_t iov_size(const struct iovec *iov, int n)
{
	size_t s = 0;

	for (int i = 0; i < n; i++)
		s += iov[i].iov_len;
	return s;
}

/* Copy len bytes from src (from byte soff) to dst (from byte doff); returns the bytes copied. */
static size_t iov_to_iov(const struct iovec *dst, unsigned int dn, size_t doff,
			 const struct iovec *src, unsigned int sn, size_t soff, size_t len)
{
	unsigned int di = 0, si = 0;
	size_t done = 0;

	while (di < dn && doff >= dst[di].iov_len)
		doff -= dst[di++].iov_len;
	while (si < sn && soff >= src[si].iov_len)
		soff -= src[si++].iov_len;
	while (done < len && di < dn && si < sn) {
		size_t chunk = dst[di].iov_len - doff;

		if (chunk > src[si].iov_len - soff)
			chunk = src[si].iov_len - soff;
		if (chunk > len - done)
			chunk = len - done;
		memcpy((uint8_t *)dst[di].iov_base + doff, (const uint8_t *)src[si].iov_base + soff, chunk);
		done += chunk;
		doff += chunk;
		soff += chunk;
		if (doff == dst[di].iov_len) {
			di++;
			doff = 0;
		}
		if (soff == src[si].iov_len) {
			si++;
			soff = 0;
		}
	}
	return done;
}

static void hdr_from_bytes(struct virtio_net_hdr *h, const uint8_t *b)
{
	uint16_t v[5];

	h->flags = b[0];
	h->gso_type = b[1];
	memcpy(v, b + 2, sizeof(v));
	h->hdr_len = le16toh(v[0]);
	h->gso_size = le16toh(v[1]);
	h->csum_start = le16toh(v[2]);
	h->csum_offset = le16toh(v[3]);
	h->num_buffers = le16toh(v[4]);
}

static void hdr_to_bytes(const struct virtio_net_hdr *h, uint8_t *b)
{
	uint16_t v[5] = { htole16(h->hdr_len), htole16(h->gso_size), htole16(h->csum_start),
			  htole16(h->csum_offset), htole16(h->num_buffers) };

	b[0] = h->flags;
	b[1] = h->gso_type;
	memcpy(b + 2, v, sizeof(v));
}

unsigned int virtio_net_tun_offloads(uint64_t f)
{
	unsigned int t = 0;

	if (f & BIT(VIRTIO_NET_F_GUEST_CSUM))
		t |= TUN_F_CSUM;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO4))
		t |= TUN_F_TSO4;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO6))
		t |= TUN_F_TSO6;
	if (f & BIT(VIRTIO_NET_F_GUEST_ECN))
		t |= TUN_F_TSO_ECN;
	if (f & BIT(VIRTIO_NET_F_GUEST_UFO))
		t |= TUN_F_UFO;
	return t;
}

/* The device runs: DRIVER_OK, not broken, the queue enabled. */
static bool queue_running(const struct virtio_net *n, unsigned int q)
{
	const struct virtqueue *vq = &n->vp->q[q].vq;

	return (n->vp->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(n->vp->status & VIRTIO_STATUS_NEEDS_RESET) && vq->enabled && !vq->broken;
}

/*
 * A header the peer or the driver sent: an offload the other side agreed
 * to, and sane numbers. NULL, or why not.
 */
static const char *check_hdr(const struct virtio_net_hdr *h, size_t frame_len, bool csum,
			     bool tso4, bool tso6, bool ecn, bool ufo)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (!csum || (size_t)h->csum_start + h->csum_offset + 2 > frame_len))
		return "a partial checksum not agreed or outside the frame";
	if (gso == VIRTIO_NET_HDR_GSO_NONE && !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN))
		return NULL;
	if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 && tso4) || (gso == VIRTIO_NET_HDR_GSO_TCPV6 && tso6) ||
	    (gso == VIRTIO_NET_HDR_GSO_UDP && ufo)) {
		if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !ecn)
			return "ECN segmentation not agreed";
		if (!h->gso_size)
			return "segmentation with gso_size 0";
		return NULL;
	}
	return "a segmentation type not agreed";
}

/* ---- rx ---- */

/*
 * Pop chains until frame_len bytes and the header fit (one chain without
 * MRG_RXBUF), copy, publish them together. 1: delivered; 0: not enough
 * buffers yet (all given back); -1: dropped, or the queue broke.
 */
static int rx_fill(struct virtio_net *n, struct virtqueue *vq, struct virtio_net_hdr *h,
		   const struct iovec *iov, int iovcnt, size_t frame_off, size_t frame_len)
{
	size_t need = n->hdr_len + frame_len, got = 0;
	unsigned int count = 0;
	uint8_t hb[VIRTIO_NET_HDR_LEN];

	while (got < need) {
		struct virtq_elem *e = count ? &n->rx_elem : &n->rx_first;
		size_t room, data_off, copied;

		if (count == vq->size) {
			/* every buffer the queue can hold, and still too small */
			virtq_unpop(vq, count);
			drop_msg(n, "rx frame of %zu bytes: the driver's rx buffers hold %zu at most",
				 frame_len, got);
			return -1;
		}
		if (!virtq_pop(vq, e)) {
			if (vq->broken)
				return -1;
			virtq_unpop(vq, count);
			return 0;
		}
		count++;
		if (!e->in_num) {
			virtq_set_broken(vq, "rx chain at %u has no writable buffer", e->head);
			return -1;
		}
		if (count == 1 && e->in_len < n->hdr_len) {
			virtq_set_broken(vq, "rx chain at %u: %zu bytes, less than the %zu-byte header",
					 e->head, e->in_len, n->hdr_len);
			return -1;
		}
		data_off = count == 1 ? n->hdr_len : 0;
		room = e->in_len - data_off;
		if (room > need - got)
			room = need - got;
		copied = iov_to_iov(e->iov + e->out_num, e->in_num, data_off, iov, (unsigned int)iovcnt,
				    frame_off + (got ? got - n->hdr_len : 0), room);
		got += (count == 1 ? n->hdr_len : 0) + copied;
		n->rx_used[count - 1] = (struct virtq_used){ e->head, (uint32_t)(data_off + copied) };
		if (got < need && !n->mergeable) {
			virtq_unpop(vq, count);
			drop_msg(n, "rx frame of %zu bytes: the rx buffer holds %zu (no mergeable buffers)",
				 frame_len, e->in_len - n->hdr_len);
			return -1;
		}
	}
	h->num_buffers = (uint16_t)count;
	hdr_to_bytes(h, hb);
	virtq_elem_write(&n->rx_first, 0, hb, n->hdr_len);
	virtq_push_many(vq, n->rx_used, count);
	return 1;
}

bool virtio_net_receive(struct virtio_net *n, const struct iovec *iov, int iovcnt)
{
	struct virtqueue *vq = &n->vp->q[VIRTIO_NET_RXQ].vq;
	struct virtio_net_hdr h = { 0 };
	size_t total = iov_size(iov, iovcnt), off = 0, len;
	const char *why;
	int r;

	if (n->be.vnet_hdr) {
		uint8_t hb[VIRTIO_NET_HDR_LEN];
		struct iovec one = { hb, sizeof(hb) };

		if (total < VIRTIO_NET_HDR_LEN) {
			n->stats.rx_dropped++;
			drop_msg(n, "rx frame of %zu bytes from the backend has no header", total);
			return true;
		}
		iov_to_iov(&one, 1, 0, iov, (unsigned int)iovcnt, 0, sizeof(hb));
		hdr_from_bytes(&h, hb);
		off = VIRTIO_NET_HDR_LEN;
	}
	len = total - off;
	if (!queue_running(n, VIRTIO_NET_RXQ)) {
		n->stats.rx_dropped++;		/* no driver: the wire is unplugged */
		return true;
	}
	if (!len || len > VIRTIO_NET_MAX_FRAME) {
		n->stats.rx_dropped++;
		drop_msg(n, "rx frame of %zu bytes (at most %d)", len, VIRTIO_NET_MAX_FRAME);
		return true;
	}
	why = check_hdr(&h, len, has(n, VIRTIO_NET_F_GUEST_CSUM), has(n, VIRTIO_NET_F_GUEST_TSO4),
			has(n, VIRTIO_NET_F_GUEST_TSO6), has(n, VIRTIO_NET_F_GUEST_ECN),
			has(n, VIRTIO_NET_F_GUEST_UFO));
	if (why) {
		n->stats.rx_dropped++;
		drop_msg(n, "rx frame from the backend: %s (flags %#x, gso type %#x)", why, h.flags,
			 h.gso_type);
		return true;
	}
	h.num_buffers = 0;
	for (;;) {
		r = rx_fill(n, vq, &h, iov, iovcnt, off, len);
		if (r > 0) {
			n->stats.rx_frames++;
			n->stats.rx_bytes += len;
			virtq_interrupt(vq);
			return true;
		}
		if (r < 0) {
			n->stats.rx_dropped++;
			return true;
		}
		/* too few buffers: be told of the next ones, unless they came meanwhile */
		if (!virtq_notify_on_more(vq)) {
			n->rx_waiting = true;
			return false;
		}
	}
}

/* The driver added rx buffers. */
static void rx_notify(struct virtio_net *n)
{
	if (!n->rx_waiting)
		return;
	n->rx_waiting = false;
	if (n->be.resume)
		n->be.resume(n->be.ctx);
}

/* ---- tx ---- */

/* One chain: header, then the frame; checked, converted for the backend, sent. */
static void tx_one(struct virtio_net *n, const struct virtq_elem *e)
{
	uint8_t hb[VIRTIO_NET_HDR_LEN] = { 0 };
	struct virtio_net_hdr h;
	size_t len, off;
	const char *why;
	int k = 0;
	ssize_t sent;

	if (e->out_len <= n->hdr_len) {
		n->stats.tx_dropped++;
		drop_msg(n, "tx chain at %u: %zu bytes, %s", e->head, e->out_len,
			 e->out_len < n->hdr_len ? "shorter than the header" : "a header and no frame");
		return;
	}
	len = e->out_len - n->hdr_len;
	if (len > VIRTIO_NET_MAX_FRAME) {
		n->stats.tx_dropped++;
		drop_msg(n, "tx frame of %zu bytes (at most %d)", len, VIRTIO_NET_MAX_FRAME);
		return;
	}
	/* one copy of the header: the guest may change it while we look */
	virtq_elem_read(e, 0, hb, n->hdr_len);
	hdr_from_bytes(&h, hb);
	h.num_buffers = 0;
	why = check_hdr(&h, len, has(n, VIRTIO_NET_F_CSUM), has(n, VIRTIO_NET_F_HOST_TSO4),
			has(n, VIRTIO_NET_F_HOST_TSO6), has(n, VIRTIO_NET_F_HOST_ECN),
			has(n, VIRTIO_NET_F_HOST_UFO));
	if (why) {
		n->stats.tx_dropped++;
		drop_msg(n, "tx chain at %u: %s (flags %#x, gso type %#x)", e->head, why, h.flags,
			 h.gso_type);
		return;
	}
	if (n->be.vnet_hdr) {
		h.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
		hdr_to_bytes(&h, hb);
		n->tx_iov[k++] = (struct iovec){ hb, VIRTIO_NET_HDR_LEN };
	}
	/* the frame: the readable buffers from byte hdr_len on */
	off = n->hdr_len;
	for (unsigned int i = 0; i < e->out_num; i++) {
		if (off >= e->iov[i].iov_len) {
			off -= e->iov[i].iov_len;
			continue;
		}
		n->tx_iov[k++] = (struct iovec){ (uint8_t *)e->iov[i].iov_base + off,
						 e->iov[i].iov_len - off };
		off = 0;
	}
	if (k > IOV_MAX) {
		/* more pieces than writev() takes: one buffer */
		size_t at = 0;

		for (int i = 0; i < k; i++) {
			memcpy(n->bounce + at, n->tx_iov[i].iov_base, n->tx_iov[i].iov_len);
			at += n->tx_iov[i].iov_len;
		}
		n->tx_iov[0] = (struct iovec){ n->bounce, at };
		k = 1;
	}
	sent = n->be.send ? n->be.send(n->be.ctx, n->tx_iov, k) : -1;
	if (sent < 0) {
		n->stats.tx_dropped++;
		return;
	}
	n->stats.tx_frames++;
	n->stats.tx_bytes += len;
}

static void tx_notify(struct virtio_net *n, struct virtqueue *vq)
{
	unsigned int budget = VIRTIO_NET_TX_BUDGET;

	do {
		virtq_disable_notify(vq);
		while (virtq_pop(vq, &n->elem)) {
			tx_one(n, &n->elem);
			virtq_push(vq, &n->elem, 0);
			if (--budget == 0 && virtq_again(vq)) {
				/* notifications stay off: the transport runs the queue again */
				virtq_interrupt(vq);
				return;
			}
		}
	} while (virtq_enable_notify(vq));
	virtq_interrupt(vq);
}

/* ---- control queue ---- */

/* MAC_TABLE_SET: two tables { le32 entries; u8 macs[entries][6]; } filling the data exactly. */
static bool mac_tables_ok(const struct virtq_elem *e, size_t off, size_t len)
{
	for (int t = 0; t < 2; t++) {
		uint32_t entries;

		if (len < 4 || virtq_elem_read(e, off, &entries, 4) != 4)
			return false;
		entries = le32toh(entries);
		off += 4;
		len -= 4;
		if (entries > len / 6)
			return false;
		off += (size_t)entries * 6;
		len -= (size_t)entries * 6;
	}
	return len == 0;
}

static uint8_t ctrl_command(struct virtio_net *n, uint8_t class, uint8_t cmd,
			    const struct virtq_elem *e, size_t len)
{
	uint8_t on;

	switch (class << 8 | cmd) {
	case VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_PROMISC:
	case VIRTIO_NET_CTRL_RX << 8 | VIRTIO_NET_CTRL_RX_ALLMULTI:
		if (!has(n, VIRTIO_NET_F_CTRL_RX) || len != 1 || virtq_elem_read(e, 2, &on, 1) != 1)
			return VIRTIO_NET_ERR;
		if (cmd == VIRTIO_NET_CTRL_RX_PROMISC)
			n->promisc = on;
		else
			n->allmulti = on;
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC << 8 | VIRTIO_NET_CTRL_MAC_TABLE_SET:
		/* no filter: every frame reaches the driver, which filters */
		return has(n, VIRTIO_NET_F_CTRL_RX) && mac_tables_ok(e, 2, len) ?
		       VIRTIO_NET_OK : VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_MAC << 8 | VIRTIO_NET_CTRL_MAC_ADDR_SET:
		if (!has(n, VIRTIO_NET_F_CTRL_MAC_ADDR) || len != 6)
			return VIRTIO_NET_ERR;
		virtq_elem_read(e, 2, n->mac, 6);
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_ANNOUNCE << 8 | VIRTIO_NET_CTRL_ANNOUNCE_ACK:
		n->status &= ~VIRTIO_NET_S_ANNOUNCE;
		return VIRTIO_NET_OK;
	}
	return VIRTIO_NET_ERR;
}

static void ctrl_notify(struct virtio_net *n, struct virtqueue *vq)
{
	do {
		virtq_disable_notify(vq);
		while (virtq_pop(vq, &n->elem)) {
			struct virtq_elem *e = &n->elem;
			uint8_t ch[2], ack;

			if (e->out_len < 2 || e->in_len < 1) {
				virtq_set_broken(vq, "control chain at %u: %zu readable, %zu writable bytes "
						 "(a command needs 2 and its ack 1)", e->head, e->out_len,
						 e->in_len);
				return;
			}
			virtq_elem_read(e, 0, ch, 2);
			ack = ctrl_command(n, ch[0], ch[1], e, e->out_len - 2);
			if (ack == VIRTIO_NET_OK)
				n->stats.ctrl_ok++;
			else
				n->stats.ctrl_err++;
			virtq_elem_write(e, 0, &ack, 1);
			virtq_push(vq, e, 1);
		}
	} while (virtq_enable_notify(vq));
	virtq_interrupt(vq);
}

/* ---- the model's side of the transport ---- */

static void net_queue_notify(void *dev, struct virtqueue *vq)
{
	struct virtio_net *n = dev;

	switch (vq->index) {
	case VIRTIO_NET_RXQ:
		rx_notify(n);
		break;
	case VIRTIO_NET_TXQ:
		tx_notify(n, vq);
		break;
	case VIRTIO_NET_CTRLQ:
		if (has(n, VIRTIO_NET_F_CTRL_VQ))
			ctrl_notify(n, vq);
		break;
	}
}

static void config_bytes(const struct virtio_net *n, uint8_t *b)
{
	uint16_t v[3] = { htole16(n->status), htole16(1), htole16(VIRTIO_NET_MTU) };

	memcpy(b + VIRTIO_NET_CFG_MAC, n->mac, 6);
	memcpy(b + VIRTIO_NET_CFG_STATUS, v, sizeof(v));
}

static uint32_t net_config_read(void *dev, unsigned int off, unsigned int size)
{
	uint8_t b[VIRTIO_NET_CFG_LEN];
	uint32_t v = 0;

	config_bytes(dev, b);
	memcpy(&v, b + off, size);	/* the transport checked off + size */
	return le32toh(v);
}

/* A legacy driver without CTRL_MAC_ADDR sets its address here; the rest is read-only. */
static void net_config_write(void *dev, unsigned int off, unsigned int size, uint32_t val)
{
	struct virtio_net *n = dev;

	if (has(n, VIRTIO_F_VERSION_1) || off + size > 6)
		return;
	val = htole32(val);
	memcpy(n->mac + off, &val, size);
}

/* virtio 1.1, 5.1.3.1: features that need others. */
static const char *feature_missing(uint64_t f)
{
	static const struct {
		unsigned int bit;
		uint64_t needs;		/* any of these */
		const char *why;
	} deps[] = {
		{ VIRTIO_NET_F_GUEST_TSO4, BIT(VIRTIO_NET_F_GUEST_CSUM), "GUEST_TSO4 without GUEST_CSUM" },
		{ VIRTIO_NET_F_GUEST_TSO6, BIT(VIRTIO_NET_F_GUEST_CSUM), "GUEST_TSO6 without GUEST_CSUM" },
		{ VIRTIO_NET_F_GUEST_UFO, BIT(VIRTIO_NET_F_GUEST_CSUM), "GUEST_UFO without GUEST_CSUM" },
		{ VIRTIO_NET_F_GUEST_ECN, BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6),
		  "GUEST_ECN without GUEST_TSO4 or 6" },
		{ VIRTIO_NET_F_HOST_TSO4, BIT(VIRTIO_NET_F_CSUM), "HOST_TSO4 without CSUM" },
		{ VIRTIO_NET_F_HOST_TSO6, BIT(VIRTIO_NET_F_CSUM), "HOST_TSO6 without CSUM" },
		{ VIRTIO_NET_F_HOST_UFO, BIT(VIRTIO_NET_F_CSUM), "HOST_UFO without CSUM" },
		{ VIRTIO_NET_F_HOST_ECN, BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6),
		  "HOST_ECN without HOST_TSO4 or 6" },
		{ VIRTIO_NET_F_CTRL_RX, BIT(VIRTIO_NET_F_CTRL_VQ), "CTRL_RX without CTRL_VQ" },
		{ VIRTIO_NET_F_CTRL_VLAN, BIT(VIRTIO_NET_F_CTRL_VQ), "CTRL_VLAN without CTRL_VQ" },
		{ VIRTIO_NET_F_GUEST_ANNOUNCE, BIT(VIRTIO_NET_F_CTRL_VQ), "GUEST_ANNOUNCE without CTRL_VQ" },
		{ VIRTIO_NET_F_MQ, BIT(VIRTIO_NET_F_CTRL_VQ), "MQ without CTRL_VQ" },
		{ VIRTIO_NET_F_CTRL_MAC_ADDR, BIT(VIRTIO_NET_F_CTRL_VQ), "CTRL_MAC_ADDR without CTRL_VQ" },
	};

	for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++)
		if ((f & BIT(deps[i].bit)) && !(f & deps[i].needs))
			return deps[i].why;
	return NULL;
}

/*
 * FEATURES_OK (legacy: DRIVER_OK, whose answer nobody hears): the header
 * size follows, and the backend may now hand over what the driver takes.
 */
static bool net_set_features(void *dev, uint64_t f)
{
	struct virtio_net *n = dev;
	const char *why = feature_missing(f);

	if (why) {
		fprintf(stderr, "kvm-launch: %s: the driver chose %s\n", n->name, why);
		if (f & BIT(VIRTIO_F_VERSION_1))
			return false;
	}
	n->features = f;
	n->mergeable = f & BIT(VIRTIO_NET_F_MRG_RXBUF);
	n->hdr_len = (f & BIT(VIRTIO_F_VERSION_1)) || n->mergeable ?
		     VIRTIO_NET_HDR_LEN : VIRTIO_NET_HDR_LEGACY_LEN;
	if (n->be.vnet_hdr && n->be.set_offload &&
	    n->be.set_offload(n->be.ctx, why ? 0 : virtio_net_tun_offloads(f)) < 0)
		fprintf(stderr, "kvm-launch: %s: the backend refused offloads %#x\n", n->name,
			virtio_net_tun_offloads(f));
	return true;
}

static void net_reset(void *dev)
{
	struct virtio_net *n = dev;

	n->features = 0;
	n->hdr_len = VIRTIO_NET_HDR_LEGACY_LEN;
	n->mergeable = false;
	n->promisc = n->allmulti = false;
	memcpy(n->mac, n->default_mac, 6);
	n->status = VIRTIO_NET_S_LINK_UP;
	if (n->be.vnet_hdr && n->be.set_offload)
		n->be.set_offload(n->be.ctx, 0);
	/* a frame held for want of buffers comes now, and is dropped: no driver */
	rx_notify(n);
}

void virtio_net_init(struct virtio_net *n, struct virtio_pci *vp, const char *name,
		     const uint8_t mac[6], const struct virtio_net_backend *be,
		     const struct hw_clock *clock)
{
	memset(n, 0, offsetof(struct virtio_net, rx_first));
	n->vp = vp;
	n->name = name;
	n->be = *be;
	n->clock = clock;
	memcpy(n->default_mac, mac, 6);
	memcpy(n->mac, mac, 6);
	n->status = VIRTIO_NET_S_LINK_UP;
	n->hdr_len = VIRTIO_NET_HDR_LEGACY_LEN;
	n->ops = (struct virtio_dev_ops){
		.type = VIRTIO_ID_NET,
		.pci_class = 0x020000,		/* Ethernet controller */
		.features = FEATURES_BASE | (be->vnet_hdr ? FEATURES_OFFLOAD : 0),
		.num_queues = 3,
		.queue_size = VIRTIO_NET_QUEUE_SIZE,
		.config_len = VIRTIO_NET_CFG_LEN,
		.config_read = net_config_read,
		.config_write = net_config_write,
		.set_features = net_set_features,
		.queue_notify = net_queue_notify,
		.reset = net_reset,
	};
}
