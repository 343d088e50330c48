/* tests/launcher/test_virtio_rng.c: the virtio entropy device driven as Linux's virtio-rng does, over the PCI transport and a fake guest RAM. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/virtio_rng.h"
#include "tap.h"

#define RAM_SIZE	0x200000u
#define DESC		0x10000u
#define AVAIL		0x10400u
#define USED		0x11000u
#define BUF		0x20000u
#define QSZ		VIRTIO_RNG_QUEUE_SIZE

static uint8_t *ram;
static struct pci_bus bus;
static struct virtio_pci vp;
static struct virtio_rng rng;
static unsigned int msis, last_vector;
static size_t limit;			/* the source gives at most this much per call */
static unsigned int fills, later;
static bool with_later;

static void later_record(void *ctx, unsigned int q)
{
	(void)ctx;
	if (q == 0)
		later++;
}

static void *ram_map(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	return gpa < RAM_SIZE && len <= RAM_SIZE - gpa ? ram + gpa : NULL;
}

static const struct guest_mem mem = { ram_map, NULL };

static void post(uint16_t head);
static unsigned int refill;		/* the "guest" adds a buffer at each fill */

/* "Random" bytes: 0xa5 ^ position, so that a test can tell them from zeros. */
static size_t fake_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	fills++;
	if (refill) {
		refill--;
		post(0);
	}
	if (len > limit)
		len = limit;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = 0xa5 ^ (uint8_t)i;
	return len;
}

static void msi_record(void *ctx, unsigned int vector, uint64_t addr, uint32_t data)
{
	(void)ctx;
	(void)addr;
	(void)data;
	msis++;
	last_vector = vector;
}

static uint64_t m_r(uint64_t off, unsigned int size)
{
	return vp.pci.bar[VIRTIO_PCI_MODERN_BAR].ops->read(&vp, off, size);
}

static void m_w(uint64_t off, unsigned int size, uint64_t v)
{
	vp.pci.bar[VIRTIO_PCI_MODERN_BAR].ops->write(&vp, off, size, v);
}

static void put16(uint64_t a, uint16_t v) { memcpy(ram + a, &v, 2); }
static uint16_t get16(uint64_t a) { uint16_t v; memcpy(&v, ram + a, 2); return v; }
static uint32_t get32(uint64_t a) { uint32_t v; memcpy(&v, ram + a, 4); return v; }

static void desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = ram + DESC + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static uint16_t avail;

static void post(uint16_t head)
{
	put16(AVAIL + 4 + 2 * (avail % QSZ), head);
	avail++;
	put16(AVAIL + 2, avail);
}

static void kick(uint16_t head)
{
	post(head);
	m_w(VIRTIO_PCI_NOTIFY_OFF, 2, 0);	/* queue 0's doorbell */
}

/* Probe as Linux does: reset, features, queue 0 with MSI-X vector 1, DRIVER_OK. */
static void probe(uint64_t features)
{
	struct virtio_pci_params p = {
		.name = "virtio-rng", .transitional = true, .msix = true, .mem = &mem,
		.host = { .msi = { msi_record, NULL }, .notify_later = with_later ? later_record : NULL },
	};
	static bool probed;
	unsigned int cap;

	memset(ram, 0, RAM_SIZE);
	if (probed)
		virtio_pci_destroy(&vp);
	probed = true;
	avail = 0;
	msis = fills = later = 0;
	limit = (size_t)-1;
	pci_bus_init(&bus);
	virtio_rng_init(&rng, fake_random, NULL);
	virtio_pci_init(&vp, &virtio_rng_ops, &rng, &p);
	pci_bus_add(&bus, PCI_DEVFN(3, 0), &vp.pci);
	pci_config_write(&bus, 0, PCI_DEVFN(3, 0), PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cap = pci_cap_find(&vp.pci, PCI_CAP_ID_MSIX);
	for (unsigned int n = 0; n < 2; n++) {
		pci_msix_mmio_ops.write(&vp.msix, 16 * n, 8, 0xfee00000);
		pci_msix_mmio_ops.write(&vp.msix, 16 * n + 8, 4, 0x30 + n);
		pci_msix_mmio_ops.write(&vp.msix, 16 * n + 12, 4, 0);
	}
	pci_config_write(&bus, 0, PCI_DEVFN(3, 0), cap + 2, 2, PCI_MSIX_FLAGS_ENABLE);
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	m_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	m_w(VIRTIO_PCI_COMMON_GF, 4, (uint32_t)features);
	m_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	m_w(VIRTIO_PCI_COMMON_GF, 4, features >> 32);
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_FEATURES_OK);
	m_w(VIRTIO_PCI_COMMON_MSIX, 2, 0);
	m_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	m_w(VIRTIO_PCI_COMMON_Q_SIZE, 2, QSZ);
	m_w(VIRTIO_PCI_COMMON_Q_DESCLO, 8, DESC);
	m_w(VIRTIO_PCI_COMMON_Q_AVAILLO, 8, AVAIL);
	m_w(VIRTIO_PCI_COMMON_Q_USEDLO, 8, USED);
	m_w(VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	m_w(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static bool random_at(uint64_t a, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (ram[a + i] != (0xa5 ^ (uint8_t)i))
			return false;
	return true;
}

int main(void)
{
	const uint64_t v1 = 1ull << VIRTIO_F_VERSION_1;
	int null, saved;

	tap_plan(16);
	ram = aligned_alloc(4096, RAM_SIZE);
	probe(v1);
	tap_ok(m_r(VIRTIO_PCI_COMMON_STATUS, 1) == 0x0f && vp.q[0].vq.enabled && vp.q[0].vq.size == QSZ,
	       "probed: status 0x0f, queue 0 of 64 entries");
	tap_ok(vp.pci.cfg[PCI_DEVICE_ID] == 0x05 && vp.pci.cfg[PCI_DEVICE_ID + 1] == 0x10 &&
	       vp.pci.cfg[0x2e] == 4 && vp.pci.cfg[PCI_CLASS_DEVICE + 1] == 0xff,
	       "1af4:1005, subsystem 4, class ff (other)");
	m_w(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	tap_ok(m_r(VIRTIO_PCI_COMMON_DF, 4) == (1u << VIRTIO_RING_F_INDIRECT_DESC | 1u << VIRTIO_RING_F_EVENT_IDX),
	       "features offered: indirect descriptors and event index");
	desc(0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	kick(0);
	tap_ok(get16(USED + 2) == 1 && get32(USED + 4) == 0 && get32(USED + 8) == 64 && random_at(BUF, 64),
	       "a 64-byte request (Linux's size): filled, used length 64");
	tap_ok(msis == 1 && last_vector == 1, "and the queue's MSI-X vector 1");
	desc(1, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	desc(2, BUF + 0x1000, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
	desc(3, BUF + 0x2000, 28, VIRTQ_DESC_F_WRITE, 0);
	memset(ram + BUF, 0, 16);
	kick(1);
	tap_ok(get32(USED + 16) == 128 && random_at(BUF + 0x1000, 100) && random_at(BUF + 0x2000, 28) &&
	       ram[BUF] == 0, "readable part left alone, both writable buffers filled: 128");
	desc(4, BUF, 0x30000, VIRTQ_DESC_F_WRITE, 0);
	kick(4);
	tap_ok(get32(USED + 24) == VIRTIO_RNG_MAX_FILL && ram[BUF + VIRTIO_RNG_MAX_FILL] == 0,
	       "a 192 KiB buffer: 64 KiB filled, the rest untouched");
	limit = 10;
	desc(5, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	kick(5);
	tap_ok(get32(USED + 32) == 10, "the source gives 10 bytes: used length 10");
	limit = (size_t)-1;
	for (unsigned int i = 0; i < 3; i++) {
		put16(AVAIL + 4 + 2 * (avail % QSZ), 0);
		avail++;
	}
	put16(AVAIL + 2, avail);
	msis = 0;
	m_w(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	tap_ok(get16(USED + 2) == 7 && msis == 1, "3 requests, one doorbell: 3 used, one interrupt");

	/* event index: interrupts only past used_event, avail_event follows */
	probe(v1 | 1ull << VIRTIO_RING_F_EVENT_IDX);
	desc(0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	put16(AVAIL + 4 + 2 * QSZ, 2);		/* used_event: after the third */
	kick(0);
	tap_ok(msis == 1 && get16(USED + 4 + 8 * QSZ) == 1, "event index: first interrupt, avail_event 1");
	kick(0);
	tap_ok(msis == 1, "used 2, used_event 2: no interrupt");
	kick(0);
	tap_ok(msis == 2 && get16(USED + 2) == 3, "used 3 passes used_event: interrupt");

	/* a guest that keeps the queue full: 64 buffers a turn */
	with_later = true;
	probe(v1);
	desc(0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	for (unsigned int i = 0; i < 9; i++)
		post(0);
	refill = 60;
	kick(0);
	tap_ok(avail == 70 && get16(USED + 2) == 64 && later == 1 && msis == 1 && get16(USED) == VIRTQ_USED_F_NO_NOTIFY,
	       "a guest adding buffers as fast as they are used: 64 used, an interrupt, the rest for later");
	virtio_pci_queue_notify(&vp, 0);
	tap_ok(get16(USED + 2) == 70 && later == 1 && get16(USED) == 0, "called again: the other 6, notifications on");
	with_later = false;

	/* a hostile driver: the device stops and says so */
	probe(v1);
	desc(0, RAM_SIZE - 8, 64, VIRTQ_DESC_F_WRITE, 0);
	fflush(stderr);
	null = open("/dev/null", O_WRONLY);
	saved = dup(2);
	dup2(null, 2);
	kick(0);
	dup2(saved, 2);
	close(saved);
	close(null);
	tap_ok((m_r(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET) && get16(USED + 2) == 0 &&
	       msis == 1 && last_vector == 0, "a buffer past RAM: NEEDS_RESET, config vector 0, nothing used");
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	tap_ok(m_r(VIRTIO_PCI_COMMON_STATUS, 1) == 0 && !vp.q[0].vq.broken, "reset makes it whole");
	virtio_pci_destroy(&vp);
	free(ram);
	return tap_done();
}
