/* tests/launcher/test_virtio_net.c: the virtio network device driven as Linux's virtio_net does, over the PCI transport, a fake guest RAM and a fake backend. */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/virtio_net.h"
#include "tap.h"

#define RAM_SIZE	0x800000u
#define QSZ		VIRTIO_NET_QUEUE_SIZE
#define QBASE(q)	(0x10000u + (q) * 0x4000u)	/* desc, avail +0x1000, used +0x2000 */
#define DESC(q)		QBASE(q)
#define AVAIL(q)	(QBASE(q) + 0x1000u)
#define USED(q)		(QBASE(q) + 0x2000u)
#define RXBUF		0x100000u			/* rx buffer i at RXBUF + 4 KiB * i */
#define TXBUF		0x300000u
#define BIG		0x500000u			/* 80 KiB for oversized frames */
#define RX		VIRTIO_NET_RXQ
#define TX		VIRTIO_NET_TXQ
#define CTRL		VIRTIO_NET_CTRLQ
#define BIT(n)		(1ull << (n))

static uint8_t *ram;
static struct pci_bus bus;
static struct virtio_pci vp;
static struct virtio_net net;
static unsigned int msis, msi_on[4], later;
static bool probed;

/* ---- the fake backend ---- */
static uint8_t sent[8][VIRTIO_NET_HDR_LEN + VIRTIO_NET_MAX_FRAME];
static size_t sent_len[8];
static unsigned int nsent, resumes, offload_calls;
static int last_iovcnt;
static unsigned int offloads = ~0u;
static bool echo_in_send;		/* send() hands the frame straight back */
static bool deliver(const void *frame, size_t len);
static uint8_t held[VIRTIO_NET_HDR_LEN + 20000];
static size_t held_len;

static ssize_t fake_send(void *ctx, const struct iovec *iov, int iovcnt)
{
	size_t at = 0;

	(void)ctx;
	last_iovcnt = iovcnt;
	for (int i = 0; i < iovcnt; i++) {
		if (nsent < 8)
			memcpy(sent[nsent] + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	if (nsent < 8)
		sent_len[nsent] = at;
	if (echo_in_send && nsent < 8)
		deliver(sent[nsent], at);
	nsent++;
	return (ssize_t)at;
}

static int fake_offload(void *ctx, unsigned int flags)
{
	(void)ctx;
	offload_calls++;
	offloads = flags;
	return 0;
}

/* As net.c does: the held frame first, then read on. */
static void fake_resume(void *ctx)
{
	struct iovec iov = { held, held_len };

	(void)ctx;
	resumes++;
	if (held_len && virtio_net_receive(&net, &iov, 1))
		held_len = 0;
}

/* The backend's frame; a refused one is held as net.c holds it. */
static bool deliver(const void *frame, size_t len)
{
	struct iovec iov = { (void *)frame, len };

	if (virtio_net_receive(&net, &iov, 1))
		return true;
	memcpy(held, frame, len);
	held_len = len;
	return false;
}

/* ---- the fake guest ---- */
static void *ram_map(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	return gpa < RAM_SIZE && len <= RAM_SIZE - gpa ? ram + gpa : NULL;
}

static const struct guest_mem mem = { ram_map, NULL };

static void msi_record(void *ctx, unsigned int vector, uint64_t addr, uint32_t data)
{
	(void)ctx;
	(void)addr;
	(void)data;
	msis++;
	if (vector < 4)
		msi_on[vector]++;
}

static void later_record(void *ctx, unsigned int q)
{
	(void)ctx;
	if (q == TX)
		later++;
}

static uint64_t m_r(uint64_t off, unsigned int size)
{
	return vp.pci.bar[VIRTIO_PCI_MODERN_BAR].ops->read(&vp, off, size);
}

static void m_w(uint64_t off, unsigned int size, uint64_t v)
{
	vp.pci.bar[VIRTIO_PCI_MODERN_BAR].ops->write(&vp, off, size, v);
}

static uint64_t l_r(uint64_t off, unsigned int size)
{
	return vp.pci.bar[VIRTIO_PCI_LEGACY_BAR].ops->read(&vp, off, size);
}

static void l_w(uint64_t off, unsigned int size, uint64_t v)
{
	vp.pci.bar[VIRTIO_PCI_LEGACY_BAR].ops->write(&vp, off, size, v);
}

static void put16(uint64_t a, uint16_t v) { memcpy(ram + a, &v, 2); }
static uint16_t get16(uint64_t a) { uint16_t v; memcpy(&v, ram + a, 2); return v; }
static uint32_t get32(uint64_t a) { uint32_t v; memcpy(&v, ram + a, 4); return v; }
static uint16_t used_idx(unsigned int q) { return get16(USED(q) + 2); }
static uint32_t used_id(unsigned int q, unsigned int i) { return get32(USED(q) + 4 + 8 * (i % QSZ)); }
static uint32_t used_len(unsigned int q, unsigned int i) { return get32(USED(q) + 8 + 8 * (i % QSZ)); }

static void desc(unsigned int q, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	uint8_t *d = ram + DESC(q) + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static uint16_t avail[3];

static void post(unsigned int q, uint16_t head)
{
	put16(AVAIL(q) + 4 + 2 * (avail[q] % QSZ), head);
	avail[q]++;
	put16(AVAIL(q) + 2, avail[q]);
}

static void notify(unsigned int q)
{
	m_w(VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * q, 2, 0);
}

static void quiet(bool on)
{
	static int saved = -1;
	int null;

	fflush(stderr);
	if (on) {
		null = open("/dev/null", O_WRONLY);
		saved = dup(2);
		dup2(null, 2);
		close(null);
	} else {
		dup2(saved, 2);
		close(saved);
	}
}

static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

static void build(bool vnet, bool with_later)
{
	struct virtio_net_backend be = { .vnet_hdr = vnet, .send = fake_send,
					 .set_offload = fake_offload, .resume = fake_resume };
	struct virtio_pci_params p = {
		.name = "nic 0 (virtio-net)", .transitional = true, .msix = true, .mem = &mem,
		.host = { .msi = { msi_record, NULL }, .notify_later = with_later ? later_record : NULL },
	};
	unsigned int cap;

	memset(ram, 0, RAM_SIZE);
	if (probed)
		virtio_pci_destroy(&vp);
	probed = true;
	memset(avail, 0, sizeof(avail));
	msis = later = nsent = resumes = offload_calls = 0;
	memset(msi_on, 0, sizeof(msi_on));
	offloads = ~0u;
	held_len = 0;
	pci_bus_init(&bus);
	virtio_net_init(&net, &vp, "nic 0 (virtio-net)", mac, &be, NULL);
	virtio_pci_init(&vp, &net.ops, &net, &p);
	pci_bus_add(&bus, PCI_DEVFN(4, 0), &vp.pci);
	pci_config_write(&bus, 0, PCI_DEVFN(4, 0), PCI_COMMAND, 2,
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cap = pci_cap_find(&vp.pci, PCI_CAP_ID_MSIX);
	for (unsigned int n = 0; n < 4; n++) {
		pci_msix_mmio_ops.write(&vp.msix, 16 * n, 8, 0xfee00000);
		pci_msix_mmio_ops.write(&vp.msix, 16 * n + 8, 4, 0x30 + n);
		pci_msix_mmio_ops.write(&vp.msix, 16 * n + 12, 4, 0);
	}
	pci_config_write(&bus, 0, PCI_DEVFN(4, 0), cap + 2, 2, PCI_MSIX_FLAGS_ENABLE);
}

static uint64_t offered(void)
{
	m_w(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	uint64_t lo = m_r(VIRTIO_PCI_COMMON_DF, 4);

	m_w(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	return lo | m_r(VIRTIO_PCI_COMMON_DF, 4) << 32;
}

/* Probe as Linux does on the modern interface; false when FEATURES_OK did not stick. */
static bool probe(bool vnet, uint64_t features, bool with_later)
{
	build(vnet, with_later);
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	m_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	m_w(VIRTIO_PCI_COMMON_GF, 4, (uint32_t)features);
	m_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	m_w(VIRTIO_PCI_COMMON_GF, 4, features >> 32);
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_FEATURES_OK);
	if (!(m_r(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK))
		return false;
	m_w(VIRTIO_PCI_COMMON_MSIX, 2, 0);
	for (unsigned int q = 0; q < 3; q++) {
		m_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		m_w(VIRTIO_PCI_COMMON_Q_SIZE, 2, QSZ);
		m_w(VIRTIO_PCI_COMMON_Q_DESCLO, 8, DESC(q));
		m_w(VIRTIO_PCI_COMMON_Q_AVAILLO, 8, AVAIL(q));
		m_w(VIRTIO_PCI_COMMON_Q_USEDLO, 8, USED(q));
		m_w(VIRTIO_PCI_COMMON_Q_MSIX, 2, q + 1);
		m_w(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return true;
}

/* The legacy interface (virtio_pci.force_legacy=1): features are 32 bits, queues by PFN. */
static void probe_legacy(bool vnet, uint32_t features)
{
	build(vnet, false);
	l_w(VIRTIO_PCI_STATUS, 1, 0);
	l_w(VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	l_w(VIRTIO_PCI_GUEST_FEATURES, 4, features);
	for (unsigned int q = 0; q < 3; q++) {
		l_w(VIRTIO_PCI_QUEUE_SEL, 2, q);
		l_w(VIRTIO_PCI_QUEUE_PFN, 4, QBASE(q) >> VIRTIO_PCI_QUEUE_ADDR_SHIFT);
	}
	l_w(VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_DRIVER_OK);
}

static void frame(uint8_t *f, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

/* n rx buffers of size bytes each, one descriptor a chain, descriptors from first. */
static void rx_buffers(unsigned int first, unsigned int n, uint32_t size)
{
	for (unsigned int i = first; i < first + n; i++) {
		desc(RX, i, RXBUF + 0x1000ull * i, size, VIRTQ_DESC_F_WRITE, 0);
		post(RX, (uint16_t)i);
	}
}

static void hdr_bytes(uint8_t *b, uint8_t flags, uint8_t gso, uint16_t gso_size,
		      uint16_t csum_start, uint16_t csum_offset)
{
	struct virtio_net_hdr h = { flags, gso, 54, gso_size, csum_start, csum_offset, 0 };

	memset(b, 0, VIRTIO_NET_HDR_LEN);
	b[0] = h.flags;
	b[1] = h.gso_type;
	memcpy(b + 2, &h.hdr_len, 2);
	memcpy(b + 4, &h.gso_size, 2);
	memcpy(b + 6, &h.csum_start, 2);
	memcpy(b + 8, &h.csum_offset, 2);
}

/* One tx chain at descriptor d: header (hlen bytes) and a frame of len in pieces. */
static void tx_chain(unsigned int d, const uint8_t *hdr, size_t hlen, const uint8_t *f,
		     size_t len, unsigned int pieces, bool hdr_apart)
{
	uint64_t a = TXBUF + 0x20000ull * (d % 8);
	unsigned int i = d;
	size_t at = 0;

	memcpy(ram + a, hdr, hlen);
	memcpy(ram + a + hlen + 64, f, len);	/* a gap: separate buffers */
	if (hdr_apart) {
		desc(TX, i, a, (uint32_t)hlen, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
		i++;
	} else {
		/* the header and the first piece, adjacent, in one buffer */
		memmove(ram + a + hlen, ram + a + hlen + 64, len);
	}
	for (unsigned int p = 0; p < pieces; p++) {
		size_t chunk = p == pieces - 1 ? len - at : len / pieces;
		uint64_t ba = hdr_apart ? a + hlen + 64 + at : a + hlen + at;
		uint32_t blen = (uint32_t)chunk;

		if (!hdr_apart && p == 0) {
			ba = a;
			blen += (uint32_t)hlen;
		}
		desc(TX, i, ba, blen, p == pieces - 1 ? 0 : VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
		i++;
		at += chunk;
	}
	post(TX, (uint16_t)d);
}

/* A control command: class, cmd, data; the ack byte at CTRL_ACK. */
#define CTRL_CMD	(TXBUF + 0x100000u)
#define CTRL_ACK	(TXBUF + 0x101000u)
static uint8_t ctrl(uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
	ram[CTRL_CMD] = class;
	ram[CTRL_CMD + 1] = cmd;
	memcpy(ram + CTRL_CMD + 2, data, len);
	ram[CTRL_ACK] = 0xee;
	desc(CTRL, 0, CTRL_CMD, 2 + len, VIRTQ_DESC_F_NEXT, 1);
	desc(CTRL, 1, CTRL_ACK, 1, VIRTQ_DESC_F_WRITE, 0);
	post(CTRL, 0);
	notify(CTRL);
	return ram[CTRL_ACK];
}

static uint16_t avail_event(unsigned int q)
{
	return get16(USED(q) + 4 + 8 * QSZ);
}

int main(void)
{
	const uint64_t v1 = BIT(VIRTIO_F_VERSION_1), mrg = BIT(VIRTIO_NET_F_MRG_RXBUF);
	const uint64_t linux_base = v1 | mrg | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
				    BIT(VIRTIO_NET_F_MTU) | BIT(VIRTIO_NET_F_CTRL_VQ) |
				    BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |
				    BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC);
	const uint64_t guest_offloads = BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) |
					BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_ECN);
	const uint64_t host_offloads = BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) |
				       BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_ECN);
	static uint8_t f[VIRTIO_NET_HDR_LEN + 70000], hdr[VIRTIO_NET_HDR_LEN];
	uint64_t off;
	bool ok;

	tap_plan(71);
	ram = aligned_alloc(4096, RAM_SIZE);

	/* ---- identity, configuration, features ---- */
	build(false, false);
	tap_ok(vp.pci.cfg[PCI_DEVICE_ID] == 0x00 && vp.pci.cfg[PCI_DEVICE_ID + 1] == 0x10 &&
	       vp.pci.cfg[0x2e] == 1 && vp.pci.cfg[PCI_CLASS_DEVICE + 1] == 0x02 &&
	       vp.pci.cfg[PCI_CLASS_DEVICE] == 0x00, "1af4:1000 (transitional), subsystem 1, class 0200 (Ethernet)");
	off = offered();
	tap_ok((off & linux_base) == linux_base, "offered: MAC, STATUS, MTU, MRG_RXBUF, CTRL_VQ, CTRL_RX, "
	       "CTRL_MAC_ADDR, EVENT_IDX, INDIRECT_DESC, VERSION_1");
	tap_ok(!(off & (guest_offloads | host_offloads | BIT(VIRTIO_NET_F_MQ) | BIT(VIRTIO_NET_F_HOST_UFO))),
	       "no vnet header (user networking): no checksum or segmentation offloads, no MQ");
	tap_ok(m_r(VIRTIO_PCI_DEVICE_OFF, 4) == 0x33221102 && m_r(VIRTIO_PCI_DEVICE_OFF + 4, 2) == 0x5544 &&
	       m_r(VIRTIO_PCI_DEVICE_OFF + VIRTIO_NET_CFG_STATUS, 2) == VIRTIO_NET_S_LINK_UP &&
	       m_r(VIRTIO_PCI_DEVICE_OFF + VIRTIO_NET_CFG_MAX_VQ_PAIRS, 2) == 1 &&
	       m_r(VIRTIO_PCI_DEVICE_OFF + VIRTIO_NET_CFG_MTU, 2) == 1500,
	       "config: the MAC, LINK_UP, 1 queue pair, MTU 1500");
	tap_ok(l_r(VIRTIO_PCI_CONFIG_OFF(true), 1) == 0x02 && l_r(VIRTIO_PCI_CONFIG_OFF(true) + 5, 1) == 0x55,
	       "the same MAC in the legacy registers (after the MSI-X vectors)");
	build(true, false);
	off = offered();
	tap_ok((off & (guest_offloads | host_offloads)) == (guest_offloads | host_offloads) &&
	       !(off & (BIT(VIRTIO_NET_F_HOST_UFO) | BIT(VIRTIO_NET_F_GUEST_UFO))),
	       "vnet header (TAP): CSUM, GUEST_CSUM, HOST_/GUEST_ TSO4, TSO6, ECN offered (not UFO)");

	ok = probe(true, linux_base | guest_offloads | host_offloads, false);
	tap_ok(ok && offload_calls >= 1 && offloads == (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN),
	       "FEATURES_OK with GUEST_CSUM, TSO4, TSO6, ECN: TUN_F_CSUM|TSO4|TSO6|TSO_ECN to the backend");
	ok = probe(true, linux_base | BIT(VIRTIO_NET_F_CSUM), false);
	tap_ok(ok && offloads == 0, "no GUEST_* features: offloads 0");
	ok = probe(false, linux_base, false);
	tap_ok(ok && offload_calls == 0, "no vnet header: the backend is never asked");
	quiet(true);
	ok = probe(true, linux_base | BIT(VIRTIO_NET_F_GUEST_TSO4), false);
	quiet(false);
	tap_ok(!ok, "GUEST_TSO4 without GUEST_CSUM: FEATURES_OK refused");
	quiet(true);
	ok = probe(true, (linux_base & ~BIT(VIRTIO_NET_F_CTRL_VQ)), false);
	quiet(false);
	tap_ok(!ok, "CTRL_RX without CTRL_VQ: FEATURES_OK refused");
	quiet(true);
	ok = probe(false, linux_base | BIT(VIRTIO_NET_F_CSUM), false);
	quiet(false);
	tap_ok(!ok, "CSUM from a device without vnet headers (not offered): refused");

	/* ---- rx ---- */
	probe(false, linux_base, false);
	tap_ok(net.hdr_len == 12 && net.mergeable, "VERSION_1 + MRG_RXBUF: 12-byte header, mergeable");
	rx_buffers(0, 4, 4096);
	notify(RX);
	frame(f, 9000, 1);
	ok = deliver(f, 9000);
	tap_ok(ok && used_idx(RX) == 3 && used_id(RX, 0) == 0 && used_len(RX, 0) == 4096 &&
	       used_id(RX, 1) == 1 && used_len(RX, 1) == 4096 && used_id(RX, 2) == 2 &&
	       used_len(RX, 2) == 12 + 9000 - 8192,
	       "a 9000-byte frame over 4 KiB buffers: 3 used at once, 4096 + 4096 + 820");
	tap_ok(get16(RXBUF + 10) == 3 && ram[RXBUF] == 0 && ram[RXBUF + 1] == 0,
	       "header: num_buffers 3, no flags, GSO_NONE");
	tap_ok(!memcmp(ram + RXBUF + 12, f, 4084) && !memcmp(ram + RXBUF + 0x1000, f + 4084, 4096) &&
	       !memcmp(ram + RXBUF + 0x2000, f + 8180, 820), "the frame continues across the three buffers");
	tap_ok(msi_on[1] == 1, "one rx interrupt (vector 1)");
	frame(f, 60, 2);
	ok = deliver(f, 60);
	tap_ok(ok && used_idx(RX) == 4 && used_len(RX, 3) == 72 && get16(RXBUF + 0x3000 + 10) == 1 &&
	       !memcmp(ram + RXBUF + 0x3000 + 12, f, 60), "a 60-byte frame: one buffer, num_buffers 1");
	frame(f, 1514, 3);
	ok = deliver(f, 1514);
	tap_ok(!ok && net.rx_waiting && used_idx(RX) == 4 && resumes == 0,
	       "no buffers: receive says no, the device waits for the driver");
	tap_ok(avail_event(RX) == 4, "and asked to be notified of the next buffer (avail_event 4)");
	rx_buffers(4, 1, 4096);
	notify(RX);
	tap_ok(resumes == 1 && held_len == 0 && used_idx(RX) == 5 && !memcmp(ram + RXBUF + 0x4000 + 12, f, 1514) &&
	       !net.rx_waiting, "a buffer and a notification: the backend resumed, the held frame delivered");
	notify(RX);
	tap_ok(resumes == 1, "another rx notification without waiting: no resume");
	/* not enough room yet for a large frame: nothing consumed */
	rx_buffers(5, 2, 4096);
	frame(f, 9000, 4);
	ok = deliver(f, 9000);
	tap_ok(!ok && used_idx(RX) == 5 && net.vp->q[RX].vq.last_avail == 5,
	       "9000 bytes, 8 KiB posted: no, and both buffers stay the driver's");
	rx_buffers(7, 1, 4096);
	notify(RX);
	tap_ok(resumes == 2 && used_idx(RX) == 8 && get16(RXBUF + 0x5000 + 10) == 3 &&
	       !memcmp(ram + RXBUF + 0x7000, f + 8180, 820), "a third buffer: delivered in 3");
	/* buffers of two descriptors each, and an indirect table */
	desc(RX, 10, RXBUF + 0xa000, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 11);
	desc(RX, 11, RXBUF + 0xb000, 2000, VIRTQ_DESC_F_WRITE, 0);
	post(RX, 10);
	frame(f, 1000, 5);
	ok = deliver(f, 1000);
	tap_ok(ok && used_len(RX, 8) == 1012 && !memcmp(ram + RXBUF + 0xa000 + 12, f, 88) &&
	       !memcmp(ram + RXBUF + 0xb000, f + 88, 912), "a chain of two buffers: the frame crosses them");

	/* ---- rx: malformed and hostile ---- */
	frame(f, 70000, 6);
	quiet(true);
	ok = deliver(f, VIRTIO_NET_MAX_FRAME + 1);
	quiet(false);
	tap_ok(ok && used_idx(RX) == 9 && net.stats.rx_dropped == 1, "a frame over 65550 bytes: dropped");
	for (unsigned int i = 0; i < QSZ; i++) {
		desc(RX, i, RXBUF + 0x1000ull * (i % 64), 16, VIRTQ_DESC_F_WRITE, 0);
		post(RX, (uint16_t)i);
	}
	quiet(true);
	ok = deliver(f, 9000);
	quiet(false);
	tap_ok(ok && used_idx(RX) == 9 && net.stats.rx_dropped == 2 && !net.vp->q[RX].vq.broken,
	       "buffers of 16 bytes filling the ring cannot hold 9000: dropped, not waited for");
	probe(false, linux_base, false);
	desc(RX, 0, RXBUF, 4096, 0, 0);		/* readable: no room at all */
	post(RX, 0);
	quiet(true);
	ok = deliver(f, 100);
	quiet(false);
	tap_ok(ok && net.vp->q[RX].vq.broken && (m_r(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET),
	       "an rx chain without a writable buffer: the queue breaks (NEEDS_RESET)");
	ok = deliver(f, 100);
	tap_ok(ok && net.stats.rx_dropped >= 1, "and frames are dropped until the reset");
	probe(false, linux_base, false);
	desc(RX, 0, RXBUF, 8, VIRTQ_DESC_F_WRITE, 0);
	post(RX, 0);
	quiet(true);
	ok = deliver(f, 100);
	quiet(false);
	tap_ok(ok && net.vp->q[RX].vq.broken, "a first buffer smaller than the header: the queue breaks");
	build(false, false);
	ok = deliver(f, 100);
	tap_ok(ok && net.stats.rx_dropped == 1, "before DRIVER_OK: frames are dropped (an unplugged wire)");
	probe(false, linux_base, false);
	frame(f, 1514, 7);
	ok = deliver(f, 1514);
	tap_ok(!ok && net.rx_waiting, "a frame held for want of buffers...");
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	tap_ok(resumes == 1 && held_len == 0 && !net.rx_waiting, "...is let go at a device reset");

	/* ---- rx: no mergeable buffers ---- */
	probe(false, (linux_base & ~mrg), false);
	rx_buffers(0, 2, 1600);
	tap_ok(net.hdr_len == 12 && !net.mergeable,
	       "VERSION_1 without MRG_RXBUF: a 12-byte header, one chain a frame");
	frame(f, 1514, 8);
	ok = deliver(f, 1514);
	tap_ok(ok && used_idx(RX) == 1 && used_len(RX, 0) == 1526 && get16(RXBUF + 10) == 1 &&
	       !memcmp(ram + RXBUF + 12, f, 1514), "1514 bytes in a 1600-byte buffer, num_buffers 1");
	quiet(true);
	ok = deliver(f, 3000);
	quiet(false);
	tap_ok(ok && used_idx(RX) == 1 && net.vp->q[RX].vq.last_avail == 1 && net.stats.rx_dropped == 1,
	       "3000 bytes do not fit one buffer: dropped, the buffer stays the driver's");

	/* ---- rx with a vnet header from the backend ---- */
	probe(true, linux_base | guest_offloads, false);
	rx_buffers(0, 3, 4096);
	hdr_bytes(f, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16);
	frame(f + 12, 5000, 9);
	ok = deliver(f, 12 + 5000);
	tap_ok(ok && used_idx(RX) == 2 && ram[RXBUF] == VIRTIO_NET_HDR_F_NEEDS_CSUM &&
	       ram[RXBUF + 1] == VIRTIO_NET_HDR_GSO_TCPV4 && get16(RXBUF + 4) == 1448 &&
	       get16(RXBUF + 6) == 34 && get16(RXBUF + 8) == 16 && get16(RXBUF + 10) == 2 &&
	       !memcmp(ram + RXBUF + 12, f + 12, 100), "the backend's header reaches the driver, num_buffers set");
	probe(true, linux_base | BIT(VIRTIO_NET_F_GUEST_CSUM), false);
	rx_buffers(0, 3, 4096);
	quiet(true);
	ok = deliver(f, 12 + 5000);
	quiet(false);
	tap_ok(ok && used_idx(RX) == 0 && net.stats.rx_dropped == 1,
	       "a TSO4 frame for a driver without GUEST_TSO4: dropped");
	quiet(true);
	ok = deliver(f, 8);
	quiet(false);
	tap_ok(ok && net.stats.rx_dropped == 2, "a frame shorter than its header: dropped");

	/* ---- tx ---- */
	probe(false, linux_base, true);
	memset(hdr, 0, sizeof(hdr));
	frame(f, 1514, 10);
	tx_chain(0, hdr, 12, f, 1514, 1, false);
	notify(TX);
	tap_ok(nsent == 1 && sent_len[0] == 1514 && !memcmp(sent[0], f, 1514) && used_idx(TX) == 1 &&
	       used_len(TX, 0) == 0, "tx: header and frame in one buffer: the frame alone to the backend, used 0");
	tap_ok(msi_on[2] == 1, "one tx interrupt (vector 2)");
	frame(f, 3000, 11);
	tx_chain(2, hdr, 12, f, 3000, 3, true);
	notify(TX);
	tap_ok(nsent == 2 && sent_len[1] == 3000 && !memcmp(sent[1], f, 3000) && last_iovcnt == 3,
	       "header apart, the frame in 3 buffers: 3 pieces to the backend, bytes right");
	probe(true, linux_base | host_offloads, true);
	hdr_bytes(hdr, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, 1440, 54, 16);
	hdr[10] = 0x55;		/* num_buffers from the driver: ignored */
	frame(f, 20000, 12);
	tx_chain(0, hdr, 12, f, 20000, 2, true);
	notify(TX);
	tap_ok(nsent == 1 && sent_len[0] == 12 + 20000 && sent[0][0] == VIRTIO_NET_HDR_F_NEEDS_CSUM &&
	       sent[0][1] == VIRTIO_NET_HDR_GSO_TCPV6 && sent[0][10] == 0 && !memcmp(sent[0] + 12, f, 20000),
	       "vnet backend: a TSO6 frame with its header (num_buffers 0) goes as one");

	/* a backend that answers from inside send(): the rx path must not reuse tx's element */
	probe(false, linux_base, false);
	rx_buffers(0, 2, 512);
	memset(hdr, 0, sizeof(hdr));
	frame(f, 700, 16);
	tx_chain(5, hdr, 12, f, 700, 1, false);
	echo_in_send = true;
	notify(TX);
	echo_in_send = false;
	tap_ok(nsent == 1 && used_idx(TX) == 1 && used_id(TX, 0) == 5 && used_idx(RX) == 2 &&
	       used_id(RX, 1) == 1 && !memcmp(ram + RXBUF + 12, f, 500) &&
	       !memcmp(ram + RXBUF + 0x1000, f + 500, 200),
	       "a frame received from inside send(): tx returns its own chain, rx gets the frame");

	/* ---- tx: hostile ---- */
	probe(false, linux_base, true);
	memset(hdr, 0, sizeof(hdr));
	quiet(true);
	memcpy(ram + TXBUF, hdr, 12);		/* the header alone */
	desc(TX, 0, TXBUF, 12, 0, 0);
	post(TX, 0);
	notify(TX);
	tap_ok(nsent == 0 && used_idx(TX) == 1 && net.stats.tx_dropped == 1,
	       "a chain holding only a header: dropped, returned");
	desc(TX, 1, TXBUF, 6, 0, 0);
	post(TX, 1);
	notify(TX);
	tap_ok(nsent == 0 && used_idx(TX) == 2 && net.stats.tx_dropped == 2, "6 bytes, half a header: dropped");
	desc(TX, 2, BIG, 12 + VIRTIO_NET_MAX_FRAME + 1, 0, 0);
	post(TX, 2);
	notify(TX);
	tap_ok(nsent == 0 && net.stats.tx_dropped == 3, "a frame of 65551 bytes: dropped");
	hdr_bytes(hdr, 0, 0x05, 1000, 0, 0);
	tx_chain(3, hdr, 12, f, 1000, 1, false);
	notify(TX);
	tap_ok(nsent == 0 && net.stats.tx_dropped == 4, "gso type 5 (none such): dropped");
	hdr_bytes(hdr, 0, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 0, 0);
	tx_chain(4, hdr, 12, f, 3000, 1, false);
	notify(TX);
	tap_ok(nsent == 0 && net.stats.tx_dropped == 5, "TSO4 without HOST_TSO4 (no vnet header): dropped");
	hdr_bytes(hdr, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 34, 16);
	tx_chain(5, hdr, 12, f, 1000, 1, false);
	notify(TX);
	quiet(false);
	tap_ok(nsent == 0 && net.stats.tx_dropped == 6, "a partial checksum without CSUM: dropped");
	memset(hdr, 0, sizeof(hdr));
	tx_chain(6, hdr, 12, f, 100, 1, false);
	notify(TX);
	tap_ok(nsent == 1 && sent_len[0] == 100 && !net.vp->q[TX].vq.broken && used_idx(TX) == 7,
	       "and the queue goes on: the next good frame is sent");
	probe(true, linux_base | host_offloads, true);
	hdr_bytes(hdr, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 990, 16);
	quiet(true);
	tx_chain(0, hdr, 12, f, 1000, 1, false);
	notify(TX);
	quiet(false);
	tap_ok(nsent == 0 && net.stats.tx_dropped == 1, "a checksum offset past the frame's end: dropped");

	/* ---- tx: a bounded turn ---- */
	probe(false, linux_base, true);
	memset(hdr, 0, sizeof(hdr));
	memcpy(ram + TXBUF, hdr, 12);
	frame(ram + TXBUF + 12, 60, 13);
	desc(TX, 0, TXBUF, 72, 0, 0);
	for (unsigned int i = 0; i < 200; i++)
		post(TX, 0);
	notify(TX);
	tap_ok(nsent == VIRTIO_NET_TX_BUDGET && used_idx(TX) == VIRTIO_NET_TX_BUDGET && later == 1,
	       "200 frames queued: 128 sent, the rest left for a later turn");
	virtio_pci_queue_notify(&vp, TX);
	tap_ok(nsent == 200 && used_idx(TX) == 200 && later == 1, "the later turn sends the other 72");

	/* ---- the legacy interface ---- */
	probe_legacy(false, (uint32_t)(linux_base & 0xffffffffu & ~mrg));
	tap_ok(net.hdr_len == 10 && !net.mergeable, "legacy without MRG_RXBUF: a 10-byte header");
	rx_buffers(0, 1, 2048);
	frame(f, 1000, 14);
	ok = deliver(f, 1000);
	tap_ok(ok && used_len(RX, 0) == 1010 && !memcmp(ram + RXBUF + 10, f, 1000),
	       "rx: the frame right after 10 header bytes");
	memset(hdr, 0, sizeof(hdr));
	tx_chain(0, hdr, 10, f, 1000, 2, true);
	l_w(VIRTIO_PCI_QUEUE_NOTIFY, 2, TX);
	tap_ok(nsent == 1 && sent_len[0] == 1000 && !memcmp(sent[0], f, 1000), "tx: 10 header bytes stripped");
	probe_legacy(true, (uint32_t)(linux_base & 0xffffffffu & ~mrg));
	hdr_bytes(hdr, 0, 0, 0, 0, 0);
	tx_chain(0, hdr, 10, f, 1000, 1, false);
	l_w(VIRTIO_PCI_QUEUE_NOTIFY, 2, TX);
	tap_ok(nsent == 1 && sent_len[0] == 1012 && sent[0][10] == 0 && sent[0][11] == 0 &&
	       !memcmp(sent[0] + 12, f, 1000), "tx to a vnet backend: 10 bytes become a 12-byte header");
	rx_buffers(0, 1, 2048);
	hdr_bytes(f, 0, 0, 0, 0, 0);
	frame(f + 12, 500, 15);
	ok = deliver(f, 512);
	tap_ok(ok && used_len(RX, 0) == 510 && !memcmp(ram + RXBUF + 10, f + 12, 500),
	       "rx from a vnet backend: 12 header bytes become 10");
	probe_legacy(false, (uint32_t)(linux_base & 0xffffffffu));
	tap_ok(net.hdr_len == 12 && net.mergeable, "legacy with MRG_RXBUF: the 12-byte header");
	l_w(VIRTIO_PCI_CONFIG_OFF(true), 4, 0x12345602);
	tap_ok(net.mac[0] == 0x02 && net.mac[1] == 0x56 && net.mac[3] == 0x12,
	       "legacy: the driver may write the MAC in the configuration");

	/* ---- control queue ---- */
	probe(false, linux_base, false);
	{
		uint8_t on = 1, table[4 + 4 + 12] = { 0 }, newmac[6] = { 0x02, 9, 8, 7, 6, 5 };

		m_w(VIRTIO_PCI_DEVICE_OFF, 1, 0x06);
		tap_ok(net.mac[0] == 0x02, "VERSION_1: the configuration's MAC is read-only");
		tap_ok(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1) == VIRTIO_NET_OK &&
		       net.promisc && used_len(CTRL, 0) == 1, "ctrl: RX_PROMISC on: OK (used length 1)");
		tap_ok(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1) == VIRTIO_NET_OK &&
		       net.allmulti, "ctrl: RX_ALLMULTI on: OK");
		table[4] = 2;		/* no unicast entries, 2 multicast */
		tap_ok(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, sizeof(table)) == VIRTIO_NET_OK,
		       "ctrl: MAC_TABLE_SET (0 unicast, 2 multicast): OK");
		table[4] = 3;
		tap_ok(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, sizeof(table)) == VIRTIO_NET_ERR,
		       "ctrl: a table whose count overruns the data: ERR");
		tap_ok(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, newmac, 6) == VIRTIO_NET_OK &&
		       m_r(VIRTIO_PCI_DEVICE_OFF + 1, 1) == 9, "ctrl: MAC_ADDR_SET: OK, the config shows it");
		tap_ok(ctrl(VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, &on, 0) == VIRTIO_NET_OK,
		       "ctrl: ANNOUNCE_ACK: OK");
		tap_ok(ctrl(4, 0, table, 2) == VIRTIO_NET_ERR && net.stats.ctrl_err == 2,
		       "ctrl: MQ (not offered): ERR");
		m_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
		tap_ok(net.mac[1] == 0x11 && !net.promisc, "a reset restores the configured MAC and filters");
		probe(false, linux_base, false);
		ram[CTRL_CMD] = 0;
		desc(CTRL, 0, CTRL_CMD, 2, 0, 0);	/* no ack buffer */
		post(CTRL, 0);
		quiet(true);
		notify(CTRL);
		quiet(false);
		tap_ok(net.vp->q[CTRL].vq.broken && (m_r(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET),
		       "a command without room for its ack: the control queue breaks");
	}

	virtio_pci_destroy(&vp);
	free(ram);
	return tap_done();
}
