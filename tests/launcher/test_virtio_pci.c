/* tests/launcher/test_virtio_pci.c: the virtio PCI transport: capabilities as Linux walks them, common config, feature negotiation, queues, MSI-X vectors, ISR and INTx, the legacy registers, reset. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/virtio_pci.h"
#include "tap.h"

#define DEVFN		PCI_DEVFN(3, 0)
#define RAM_SIZE	0x100000u
#define IO_BASE		0xc040u
#define MSIX_BASE	0xfe000000u
#define MODERN_BASE	0xfe100000u
#define QMAX		16

static uint8_t *ram;
static struct pci_bus bus;
static struct virtio_pci vp;

static void *ram_map(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	return gpa < RAM_SIZE && len <= RAM_SIZE - gpa ? ram + gpa : NULL;
}

static const struct guest_mem mem = { ram_map, NULL };

/* What the VMM side sees. */
static unsigned int msis, last_vector, moved, pirq_level;
static uint64_t last_addr;
static uint32_t last_data;

static void msi_record(void *ctx, unsigned int vector, uint64_t addr, uint32_t data)
{
	(void)ctx;
	msis++;
	last_vector = vector;
	last_addr = addr;
	last_data = data;
}

static void moved_record(void *ctx)
{
	(void)ctx;
	moved++;
}

static void pirq_record(void *ctx, unsigned int pirq, int level)
{
	(void)ctx;
	if (pirq == pci_intx_pirq(3, 0))
		pirq_level = level;
}

/* A device model: 2 queues, 8 bytes of config, feature bits 0 and 5. */
static uint8_t model_cfg[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
static unsigned int notified[2], resets, set_features_calls;
static bool refuse_features;
static uint64_t model_features;

static uint32_t model_config_read(void *dev, unsigned int off, unsigned int size)
{
	uint32_t v = 0;

	(void)dev;
	memcpy(&v, model_cfg + off, size);
	return v;
}

static void model_config_write(void *dev, unsigned int off, unsigned int size, uint32_t val)
{
	(void)dev;
	memcpy(model_cfg + off, &val, size);
}

static bool model_set_features(void *dev, uint64_t f)
{
	(void)dev;
	set_features_calls++;
	model_features = f;
	return !refuse_features;
}

/* Return every buffer with 4 bytes written. */
static void model_queue_notify(void *dev, struct virtqueue *vq)
{
	static struct virtq_elem e;

	(void)dev;
	notified[vq->index]++;
	while (virtq_pop(vq, &e))
		virtq_push(vq, &e, 4);
	virtq_interrupt(vq);
}

static void model_reset(void *dev)
{
	(void)dev;
	resets++;
}

static const struct virtio_dev_ops model = {
	.type = 1, .pci_class = 0x020000, .features = 1ull << 0 | 1ull << 5,
	.num_queues = 2, .queue_size = QMAX, .config_len = 8,
	.config_read = model_config_read, .config_write = model_config_write,
	.set_features = model_set_features, .queue_notify = model_queue_notify,
	.reset = model_reset,
};

static uint32_t cfg_r(unsigned int off, unsigned int size)
{
	return pci_config_read(&bus, 0, DEVFN, off, size);
}

static void cfg_w(unsigned int off, unsigned int size, uint32_t v)
{
	pci_config_write(&bus, 0, DEVFN, off, size, v);
}

static uint64_t bar_r(unsigned int n, uint64_t off, unsigned int size)
{
	return vp.pci.bar[n].ops->read(vp.pci.bar[n].dev, off, size);
}

static void bar_w(unsigned int n, uint64_t off, unsigned int size, uint64_t v)
{
	vp.pci.bar[n].ops->write(vp.pci.bar[n].dev, off, size, v);
}

static uint64_t m_r(uint64_t off, unsigned int size) { return bar_r(VIRTIO_PCI_MODERN_BAR, off, size); }
static void m_w(uint64_t off, unsigned int size, uint64_t v) { bar_w(VIRTIO_PCI_MODERN_BAR, off, size, v); }
static uint64_t l_r(uint64_t off, unsigned int size) { return bar_r(VIRTIO_PCI_LEGACY_BAR, off, size); }
static void l_w(uint64_t off, unsigned int size, uint64_t v) { bar_w(VIRTIO_PCI_LEGACY_BAR, off, size, v); }

static int saved_stderr = -1;

/* The messages of refused features and broken queues are expected: hide them. */
static void quiet(bool on)
{
	int null;

	fflush(stderr);
	if (on) {
		null = open("/dev/null", O_WRONLY);
		saved_stderr = dup(2);
		dup2(null, 2);
		close(null);
	} else if (saved_stderr >= 0) {
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
}

/* The function on bus 0 at 03.0 with its BARs placed and decoding. */
static void setup(bool transitional, bool msix)
{
	struct virtio_pci_params p = {
		.name = "test", .transitional = transitional, .msix = msix, .mem = &mem,
		.host = { { msi_record, NULL }, moved_record, NULL },
	};

	memset(ram, 0, RAM_SIZE);
	pci_bus_init(&bus);
	for (unsigned int i = 0; i < sizeof(model_cfg); i++)
		model_cfg[i] = 0x11 * (i + 1);
	bus.pirq_set = pirq_record;
	msis = moved = pirq_level = resets = set_features_calls = 0;
	notified[0] = notified[1] = 0;
	refuse_features = false;
	if (virtio_pci_init(&vp, &model, NULL, &p))
		return;
	pci_bus_add(&bus, DEVFN, &vp.pci);
	if (transitional)
		cfg_w(PCI_BASE_ADDRESS_0, 4, IO_BASE);
	if (msix)
		cfg_w(PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_MSIX_BAR, 4, MSIX_BASE);
	cfg_w(PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_MODERN_BAR, 4, MODERN_BASE);
	cfg_w(PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_MODERN_BAR + 4, 4, 0);
	cfg_w(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

/* Size BAR n the way firmware does; restore it. */
static uint64_t bar_size(unsigned int n, bool *mem64, bool *io)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * n;
	uint32_t old = cfg_r(off, 4), lo, hi = 0xffffffff, oldhi = 0;
	uint64_t mask;

	*io = old & PCI_BAR_IO;
	*mem64 = !*io && (old & 6) == PCI_BAR_MEM_64;
	cfg_w(off, 4, 0xffffffff);
	lo = cfg_r(off, 4);
	cfg_w(off, 4, old);
	if (*mem64) {
		oldhi = cfg_r(off + 4, 4);
		cfg_w(off + 4, 4, 0xffffffff);
		hi = cfg_r(off + 4, 4);
		cfg_w(off + 4, 4, oldhi);
	}
	if (!lo)
		return 0;
	mask = (uint64_t)hi << 32 | (lo & (*io ? ~3u : ~15u));
	if (*io)
		mask |= 0xffffffff00000000ull | 0xffff0000u;
	return ~mask + 1;
}

/*
 * As Linux's virtio_pci_modern finds and maps its capabilities: walk the
 * list for vendor capabilities, take the first of each type whose BAR is
 * a memory BAR, check offset, length and alignment against the BAR.
 */
struct found {
	unsigned int pos, bar;
	uint32_t offset, length;
};

static bool walk_caps(struct found f[6], uint32_t *mult, unsigned int *count)
{
	unsigned int pos = cfg_r(PCI_CAPABILITY_LIST, 1), guard = 0;

	memset(f, 0, 6 * sizeof(*f));
	*count = 0;
	if (!(cfg_r(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return false;
	while (pos && guard++ < 48) {
		pos &= ~3u;
		if (cfg_r(pos, 1) == PCI_CAP_ID_VNDR) {
			unsigned int type = cfg_r(pos + VIRTIO_PCI_CAP_CFG_TYPE, 1);
			bool m64, io;

			(*count)++;
			if (type < 6 && !f[type].pos) {
				f[type].pos = pos;
				f[type].bar = cfg_r(pos + VIRTIO_PCI_CAP_BAR, 1);
				f[type].offset = cfg_r(pos + VIRTIO_PCI_CAP_OFFSET, 4);
				f[type].length = cfg_r(pos + VIRTIO_PCI_CAP_LENGTH, 4);
				if (f[type].bar > 5 ||
				    !bar_size(f[type].bar, &m64, &io) || io ||
				    (uint64_t)f[type].offset + f[type].length > bar_size(f[type].bar, &m64, &io))
					return false;
				if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
					*mult = cfg_r(pos + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
				if (cfg_r(pos + VIRTIO_PCI_CAP_LEN, 1) < (type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 20 : 16))
					return false;
			}
		}
		pos = cfg_r(pos + 1, 1);
	}
	return true;
}

static void test_identity_caps(void)
{
	struct found f[6];
	uint32_t mult = 0;
	unsigned int count;
	bool m64, io;

	setup(true, true);
	tap_ok(cfg_r(PCI_VENDOR_ID, 2) == 0x1af4 && cfg_r(PCI_DEVICE_ID, 2) == 0x1000 &&
	       cfg_r(PCI_REVISION_ID, 1) == 0 && cfg_r(PCI_REVISION_ID, 4) >> 8 == 0x020000 &&
	       cfg_r(PCI_SUBSYSTEM_VENDOR_ID, 2) == 0x1af4 && cfg_r(PCI_SUBSYSTEM_VENDOR_ID + 2, 2) == 1,
	       "transitional net: 1af4:1000 revision 0, class 020000, subsystem 1af4:0001");
	tap_ok(cfg_r(PCI_INTERRUPT_PIN, 1) == PCI_INTA, "INTA");
	tap_ok(bar_size(0, &m64, &io) == 0x20 && io, "BAR0: 32 bytes of I/O (legacy registers)");
	tap_ok(bar_size(1, &m64, &io) == 0x1000 && !io && !m64, "BAR1: 4 KiB of 32-bit memory (MSI-X)");
	tap_ok(bar_size(4, &m64, &io) == 0x4000 && !io && m64, "BAR4: 16 KiB of 64-bit memory (modern)");
	tap_ok(walk_caps(f, &mult, &count) && count == 4, "4 vendor capabilities, each in a memory BAR, in range");
	tap_ok(f[VIRTIO_PCI_CAP_COMMON_CFG].pos && f[VIRTIO_PCI_CAP_COMMON_CFG].bar == 4 &&
	       f[VIRTIO_PCI_CAP_COMMON_CFG].length >= VIRTIO_PCI_COMMON_SIZE &&
	       !(f[VIRTIO_PCI_CAP_COMMON_CFG].offset & 3), "common: BAR4, at least 0x38 bytes, aligned");
	tap_ok(f[VIRTIO_PCI_CAP_ISR_CFG].pos && f[VIRTIO_PCI_CAP_ISR_CFG].length >= 1 &&
	       f[VIRTIO_PCI_CAP_ISR_CFG].offset == VIRTIO_PCI_ISR_OFF, "ISR at 0x1000");
	tap_ok(f[VIRTIO_PCI_CAP_DEVICE_CFG].pos && f[VIRTIO_PCI_CAP_DEVICE_CFG].length >= 8,
	       "device config present (the model has 8 bytes)");
	tap_ok(f[VIRTIO_PCI_CAP_NOTIFY_CFG].pos && mult == 4 &&
	       1 * mult + 2 <= f[VIRTIO_PCI_CAP_NOTIFY_CFG].length,
	       "notify: multiplier 4, queue 1's doorbell inside it");
	tap_ok(pci_cap_find(&vp.pci, PCI_CAP_ID_MSIX) && (cfg_r(pci_cap_find(&vp.pci, PCI_CAP_ID_MSIX) + 2, 2) & 0x7ff) == 2,
	       "MSI-X capability: 3 vectors (config + 2 queues)");
	virtio_pci_destroy(&vp);

	setup(false, false);
	tap_ok(cfg_r(PCI_DEVICE_ID, 2) == 0x1041 && cfg_r(PCI_REVISION_ID, 1) == 1 &&
	       !bar_size(0, &m64, &io) && !pci_cap_find(&vp.pci, PCI_CAP_ID_MSIX),
	       "modern only, no MSI-X: 1af4:1041 revision 1, no BAR0, no MSI-X capability");
	tap_ok(walk_caps(f, &mult, &count) && count == 4, "its 4 capabilities walk the same");
	virtio_pci_destroy(&vp);
}

/* The rings of a queue at 0x10000 + 0x4000 q, size 8, programmed through common config. */
static void modern_queue(unsigned int q)
{
	uint64_t base = 0x10000 + 0x4000 * q;

	m_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	m_w(VIRTIO_PCI_COMMON_Q_SIZE, 2, 8);
	m_w(VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)base);
	m_w(VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
	m_w(VIRTIO_PCI_COMMON_Q_AVAILLO, 8, base + 0x1000);
	m_w(VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)(base + 0x2000));
	m_w(VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0);
	m_w(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

static void negotiate(uint64_t features)
{
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	m_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	m_w(VIRTIO_PCI_COMMON_GF, 4, (uint32_t)features);
	m_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	m_w(VIRTIO_PCI_COMMON_GF, 4, features >> 32);
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	    VIRTIO_STATUS_FEATURES_OK);
}

/* A queue's rings as the driver placed them. */
struct ring {
	uint64_t desc, avail, used;
	uint16_t size;
};

static const struct ring modern_ring[2] = {
	{ 0x10000, 0x11000, 0x12000, 8 }, { 0x14000, 0x15000, 0x16000, 8 },
};
static const struct ring legacy_ring1 = { 0x40000, 0x40100, 0x41000, QMAX };

/* Make one buffer available (descriptor 0, 64 writable bytes). */
static void offer(const struct ring *r)
{
	uint64_t addr = 0x80000;
	uint32_t len = 64;
	uint16_t flags = VIRTQ_DESC_F_WRITE, idx;

	memcpy(ram + r->desc, &addr, 8);
	memcpy(ram + r->desc + 8, &len, 4);
	memcpy(ram + r->desc + 12, &flags, 2);
	memcpy(&idx, ram + r->avail + 2, 2);
	memset(ram + r->avail + 4 + 2 * (idx % r->size), 0, 2);
	idx++;
	memcpy(ram + r->avail + 2, &idx, 2);
}

static uint16_t used_of(const struct ring *r)
{
	uint16_t v;

	memcpy(&v, ram + r->used + 2, 2);
	return v;
}

static void offer_buffer(unsigned int q)
{
	offer(&modern_ring[q]);
}

static uint16_t used_idx(unsigned int q)
{
	return used_of(&modern_ring[q]);
}

#define OK_STATUS (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)

static void test_common(void)
{
	const uint64_t v1 = 1ull << VIRTIO_F_VERSION_1;
	struct virtio_pci_notify at;

	setup(true, true);
	tap_ok(m_r(VIRTIO_PCI_COMMON_NUMQ, 2) == 2 && m_r(VIRTIO_PCI_COMMON_STATUS, 1) == 0,
	       "2 queues, status 0");
	m_w(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	tap_ok(m_r(VIRTIO_PCI_COMMON_DF, 4) == 0x21, "device features 0-31: bits 0 and 5");
	m_w(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	tap_ok(m_r(VIRTIO_PCI_COMMON_DF, 4) == 1, "device features 32-63: VIRTIO_F_VERSION_1");
	m_w(VIRTIO_PCI_COMMON_DFSELECT, 4, 2);
	tap_ok(m_r(VIRTIO_PCI_COMMON_DF, 4) == 0, "feature word 2: 0");
	tap_ok(m_r(VIRTIO_PCI_COMMON_Q_SIZE, 2) == QMAX && m_r(VIRTIO_PCI_COMMON_Q_NOFF, 2) == 0 &&
	       m_r(VIRTIO_PCI_COMMON_Q_MSIX, 2) == VIRTIO_MSI_NO_VECTOR && !m_r(VIRTIO_PCI_COMMON_Q_ENABLE, 2),
	       "queue 0: size 16 offered, notify_off 0, no vector, disabled");
	m_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	tap_ok(m_r(VIRTIO_PCI_COMMON_Q_NOFF, 2) == 1, "queue 1: notify_off 1");
	m_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 7);
	m_w(VIRTIO_PCI_COMMON_Q_SIZE, 2, 4);
	tap_ok(m_r(VIRTIO_PCI_COMMON_Q_SIZE, 2) == 0 && m_r(VIRTIO_PCI_COMMON_Q_MSIX, 2) == VIRTIO_MSI_NO_VECTOR,
	       "queue 7 does not exist: size 0");
	tap_ok(m_r(0x38, 4) == 0 && m_r(0xffc, 4) == 0, "past the registers: 0");

	/* feature negotiation */
	quiet(true);
	negotiate(0x21);
	tap_ok(!(m_r(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK),
	       "no VIRTIO_F_VERSION_1: FEATURES_OK refused");
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	negotiate(v1 | 0x21 | 1u << 7);
	tap_ok(!(m_r(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK),
	       "a feature not offered (bit 7): FEATURES_OK refused");
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	m_w(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	refuse_features = true;
	negotiate(v1 | 1);
	tap_ok(!(m_r(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK) && set_features_calls == 1,
	       "the model refuses the combination: FEATURES_OK refused");
	quiet(false);
	refuse_features = false;
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	tap_ok(resets == 3 && m_r(VIRTIO_PCI_COMMON_STATUS, 1) == 0, "writing status 0 resets (the model too)");
	negotiate(v1 | 0x20);
	tap_ok(m_r(VIRTIO_PCI_COMMON_STATUS, 1) == OK_STATUS && model_features == (v1 | 0x20),
	       "VERSION_1 and an offered subset: FEATURES_OK stays, the model learns the features");
	m_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	m_w(VIRTIO_PCI_COMMON_GF, 4, 0x21);
	tap_ok(m_r(VIRTIO_PCI_COMMON_GF, 4) == 0x20, "driver features are fixed after FEATURES_OK");
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, OK_STATUS | VIRTIO_STATUS_NEEDS_RESET);
	tap_ok(m_r(VIRTIO_PCI_COMMON_STATUS, 1) == OK_STATUS, "the driver cannot set NEEDS_RESET");

	/* queues */
	moved = 0;
	modern_queue(0);
	tap_ok(m_r(VIRTIO_PCI_COMMON_Q_ENABLE, 2) == 1 && vp.q[0].vq.enabled && vp.q[0].vq.size == 8 &&
	       m_r(VIRTIO_PCI_COMMON_Q_AVAILLO, 8) == 0x11000 && moved == 1,
	       "queue 0 enabled: size 8, rings at 0x10000/0x11000/0x12000, host told");
	m_w(VIRTIO_PCI_COMMON_Q_SIZE, 2, 4);
	m_w(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x50000);
	tap_ok(m_r(VIRTIO_PCI_COMMON_Q_SIZE, 2) == 8 && m_r(VIRTIO_PCI_COMMON_Q_DESCLO, 4) == 0x10000,
	       "an enabled queue's size and addresses do not change");
	tap_ok(m_r(VIRTIO_PCI_COMMON_Q_SIZE, 1) == 8 && m_r(VIRTIO_PCI_COMMON_Q_DESCLO + 1, 1) == 0x00 &&
	       m_r(VIRTIO_PCI_COMMON_Q_DESCLO + 2, 2) == 0x1, "byte and word reads of wider registers");
	tap_ok(virtio_pci_notify_addr(&vp, 0, &at) && !at.pio && at.addr == MODERN_BASE + 0x3000 &&
	       at.len == 2 && !at.match, "queue 0 doorbell: BAR4 + 0x3000, 2 bytes, any value");
	tap_ok(!virtio_pci_notify_addr(&vp, 1, &at), "queue 1 disabled: no doorbell");
	modern_queue(1);
	tap_ok(virtio_pci_notify_addr(&vp, 1, &at) && at.addr == MODERN_BASE + 0x3004, "queue 1: BAR4 + 0x3004");
	moved = 0;
	cfg_w(PCI_BASE_ADDRESS_0 + 16, 4, 0xfe200000);
	tap_ok(moved == 1 && virtio_pci_notify_addr(&vp, 1, &at) && at.addr == 0xfe203004,
	       "BAR4 moves: host told, the doorbell with it");
	cfg_w(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	tap_ok(moved == 2 && !virtio_pci_notify_addr(&vp, 0, &at), "memory decoding off: no doorbell");
	cfg_w(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg_w(PCI_BASE_ADDRESS_0 + 16, 4, MODERN_BASE);

	/* notifications reach the model from DRIVER_OK on */
	offer_buffer(0);
	m_w(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	tap_ok(notified[0] == 0 && used_idx(0) == 0, "before DRIVER_OK a notification does nothing");
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, OK_STATUS | VIRTIO_STATUS_DRIVER_OK);
	tap_ok(notified[0] == 1 && notified[1] == 1 && used_idx(0) == 1,
	       "DRIVER_OK: each queue looked at once, the waiting buffer used");
	offer_buffer(1);
	m_w(VIRTIO_PCI_NOTIFY_OFF + 4, 2, 1);
	tap_ok(notified[1] == 2 && used_idx(1) == 1, "BAR4 + 0x3004: queue 1 notified");
	m_w(VIRTIO_PCI_NOTIFY_OFF + 2, 2, 0);
	m_w(VIRTIO_PCI_NOTIFY_OFF + 8, 2, 0);
	tap_ok(notified[0] == 1 && notified[1] == 2, "off the doorbells, or past the last queue: nothing");
	virtio_pci_queue_notify(&vp, 0);
	tap_ok(notified[0] == 2, "virtio_pci_queue_notify (the ioeventfd path) reaches the model");

	/* device config */
	tap_ok(m_r(VIRTIO_PCI_DEVICE_OFF, 4) == 0x44332211 && m_r(VIRTIO_PCI_DEVICE_OFF + 6, 2) == 0x8877 &&
	       m_r(VIRTIO_PCI_DEVICE_OFF, 8) == 0x8877665544332211ull, "device config reads");
	m_w(VIRTIO_PCI_DEVICE_OFF + 1, 1, 0xaa);
	tap_ok(model_cfg[1] == 0xaa && m_r(VIRTIO_PCI_DEVICE_OFF + 6, 4) == 0, "a byte written; reads past its end: 0");
	virtio_pci_destroy(&vp);
}

static void msix_program(unsigned int n, uint32_t data)
{
	bar_w(VIRTIO_PCI_MSIX_BAR, 16 * n, 4, 0xfee00000);
	bar_w(VIRTIO_PCI_MSIX_BAR, 16 * n + 4, 4, 0);
	bar_w(VIRTIO_PCI_MSIX_BAR, 16 * n + 8, 4, data);
	bar_w(VIRTIO_PCI_MSIX_BAR, 16 * n + 12, 4, 0);
}

static void test_interrupts(void)
{
	const uint64_t v1 = 1ull << VIRTIO_F_VERSION_1;
	unsigned int cap;
	uint8_t bad[16] = { 0 };

	/* INTx and ISR */
	setup(true, true);
	negotiate(v1);
	modern_queue(0);
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, OK_STATUS | VIRTIO_STATUS_DRIVER_OK);
	offer_buffer(0);
	m_w(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	tap_ok(used_idx(0) == 1 && pirq_level == 1 && vp.isr == VIRTIO_PCI_ISR_QUEUE &&
	       (cfg_r(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT) && msis == 0,
	       "MSI-X off: a used buffer sets ISR bit 0 and asserts INTA");
	tap_ok(m_r(VIRTIO_PCI_ISR_OFF, 1) == 1 && pirq_level == 0 && vp.isr == 0 &&
	       !(cfg_r(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT), "reading ISR returns 1, clears it, deasserts INTA");
	tap_ok(m_r(VIRTIO_PCI_ISR_OFF, 1) == 0, "a second read: 0");
	virtio_pci_config_changed(&vp);
	tap_ok(pirq_level == 1 && m_r(VIRTIO_PCI_COMMON_CFGGENERATION, 1) == 1 &&
	       m_r(VIRTIO_PCI_ISR_OFF, 1) == VIRTIO_PCI_ISR_CONFIG && pirq_level == 0,
	       "config change: generation 1, ISR bit 1, INTA until read");

	/* MSI-X vectors */
	m_w(VIRTIO_PCI_COMMON_MSIX, 2, 0);
	m_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	m_w(VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	tap_ok(m_r(VIRTIO_PCI_COMMON_MSIX, 2) == 0 && m_r(VIRTIO_PCI_COMMON_Q_MSIX, 2) == 1,
	       "config vector 0, queue 0 vector 1 read back");
	m_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	m_w(VIRTIO_PCI_COMMON_Q_MSIX, 2, 3);
	tap_ok(m_r(VIRTIO_PCI_COMMON_Q_MSIX, 2) == VIRTIO_MSI_NO_VECTOR,
	       "vector 3 of a 3-entry table: reads back NO_VECTOR");
	cap = pci_cap_find(&vp.pci, PCI_CAP_ID_MSIX);
	msix_program(0, 0x40);
	msix_program(1, 0x41);
	cfg_w(cap + 2, 2, PCI_MSIX_FLAGS_ENABLE);
	offer_buffer(0);
	m_w(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	tap_ok(msis == 1 && last_vector == 1 && last_addr == 0xfee00000 && last_data == 0x41 &&
	       pirq_level == 0 && vp.isr == 0, "MSI-X on: queue 0's buffer raises vector 1, no ISR, no INTA");
	virtio_pci_config_changed(&vp);
	tap_ok(msis == 2 && last_vector == 0 && last_data == 0x40, "config change: vector 0");
	bar_w(VIRTIO_PCI_MSIX_BAR, 16 + 12, 4, 1);
	offer_buffer(0);
	m_w(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	tap_ok(msis == 2 && bar_r(VIRTIO_PCI_MSIX_BAR, 0x30, 4) == 2, "vector 1 masked: pending in the PBA");
	bar_w(VIRTIO_PCI_MSIX_BAR, 16 + 12, 4, 0);
	tap_ok(msis == 3 && last_vector == 1, "unmasked: sent");
	m_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	m_w(VIRTIO_PCI_COMMON_Q_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
	offer_buffer(0);
	m_w(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	tap_ok(msis == 3 && pirq_level == 0 && used_idx(0) == 4, "queue vector NO_VECTOR: used, no interrupt at all");

	/* a queue the driver breaks */
	memcpy(bad, &(uint64_t){ 0x7fffff000ull }, 8);
	memcpy(bad + 8, &(uint32_t){ 64 }, 4);
	offer_buffer(0);
	memcpy(ram + 0x10000, bad, 16);
	quiet(true);
	m_w(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	quiet(false);
	tap_ok((m_r(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET) && vp.q[0].vq.broken &&
	       msis == 4 && last_vector == 0, "a buffer outside RAM: NEEDS_RESET, config interrupt (vector 0)");
	notified[0] = 0;
	m_w(VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	tap_ok(notified[0] == 0, "a device that needs a reset ignores notifications");
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	tap_ok(m_r(VIRTIO_PCI_COMMON_STATUS, 1) == 0 && !vp.q[0].vq.broken && !vp.q[0].vq.enabled &&
	       m_r(VIRTIO_PCI_COMMON_MSIX, 2) == VIRTIO_MSI_NO_VECTOR && vp.driver_features == 0,
	       "reset: status 0, queues off and whole, vectors NO_VECTOR, features cleared");
	quiet(true);
	negotiate(v1);
	m_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	m_w(VIRTIO_PCI_COMMON_Q_SIZE, 2, 32);
	m_w(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	quiet(false);
	tap_ok(!vp.q[0].vq.enabled && (m_r(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET),
	       "a queue size above the 16 offered: the queue breaks, NEEDS_RESET");
	m_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	quiet(true);
	negotiate(v1);
	m_w(VIRTIO_PCI_COMMON_Q_SIZE, 2, 12);
	m_w(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	quiet(false);
	tap_ok(!vp.q[0].vq.enabled && (m_r(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET),
	       "size 12, not a power of 2: likewise");
	virtio_pci_destroy(&vp);
}

static void test_legacy(void)
{
	struct virtio_pci_notify at;
	unsigned int cap;

	setup(true, true);
	tap_ok(l_r(VIRTIO_PCI_HOST_FEATURES, 4) == 0x21, "legacy host features: bits 0-31 only (no VERSION_1)");
	l_w(VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	l_w(VIRTIO_PCI_GUEST_FEATURES, 4, 0xffffffff);
	tap_ok(l_r(VIRTIO_PCI_GUEST_FEATURES, 4) == 0x21, "guest features: the offered subset is kept");
	l_w(VIRTIO_PCI_QUEUE_SEL, 2, 1);
	tap_ok(l_r(VIRTIO_PCI_QUEUE_NUM, 2) == QMAX && l_r(VIRTIO_PCI_QUEUE_PFN, 4) == 0,
	       "queue 1: 16 entries, no PFN");
	moved = 0;
	l_w(VIRTIO_PCI_QUEUE_PFN, 4, 0x40);
	tap_ok(vp.q[1].vq.enabled && vp.q[1].vq.desc_addr == 0x40000 && vp.q[1].vq.avail_addr == 0x40100 &&
	       vp.q[1].vq.used_addr == 0x41000 && l_r(VIRTIO_PCI_QUEUE_PFN, 4) == 0x40 && moved == 1,
	       "PFN 0x40: rings at 0x40000, avail 0x40100, used 0x41000 (page aligned)");
	tap_ok(virtio_pci_notify_addr(&vp, 1, &at) && at.pio && at.addr == IO_BASE + 0x10 && at.len == 2 &&
	       at.match && at.data == 1, "legacy doorbell: port BAR0 + 0x10, 2 bytes, value 1");
	tap_ok(!m_r(VIRTIO_PCI_COMMON_Q_ENABLE, 2), "the modern interface does not call a legacy queue enabled");
	l_w(VIRTIO_PCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	tap_ok(set_features_calls == 1 && model_features == 0x21 && notified[1] == 1,
	       "legacy DRIVER_OK: the model gets the features, queues looked at");
	tap_ok(l_r(0x14, 4) == 0x44332211 && l_r(0x18, 4) == 0x88776655,
	       "MSI-X off: device config at 0x14");
	cap = pci_cap_find(&vp.pci, PCI_CAP_ID_MSIX);
	cfg_w(cap + 2, 2, PCI_MSIX_FLAGS_ENABLE);
	tap_ok(l_r(0x18, 4) == 0x44332211 && l_r(VIRTIO_MSI_CONFIG_VECTOR, 2) == VIRTIO_MSI_NO_VECTOR,
	       "MSI-X on: vectors at 0x14 and 0x16, device config at 0x18");
	l_w(VIRTIO_MSI_QUEUE_VECTOR, 2, 2);
	l_w(VIRTIO_MSI_CONFIG_VECTOR, 2, 9);
	tap_ok(l_r(VIRTIO_MSI_QUEUE_VECTOR, 2) == 2 && vp.q[1].vector == 2 &&
	       l_r(VIRTIO_MSI_CONFIG_VECTOR, 2) == VIRTIO_MSI_NO_VECTOR, "queue 1 vector 2; config vector 9 refused");
	cfg_w(cap + 2, 2, 0);
	offer(&legacy_ring1);
	l_w(VIRTIO_PCI_QUEUE_NOTIFY, 2, 1);
	tap_ok(notified[1] == 2 && used_of(&legacy_ring1) == 1 && pirq_level == 1,
	       "QUEUE_NOTIFY 1: the model runs queue 1; INTA (MSI-X off again)");
	tap_ok(l_r(VIRTIO_PCI_ISR, 1) == 1 && pirq_level == 0 && l_r(VIRTIO_PCI_ISR, 1) == 0,
	       "legacy ISR: read clears, INTA deasserted");
	moved = 0;
	l_w(VIRTIO_PCI_QUEUE_PFN, 4, 0);
	tap_ok(!vp.q[1].vq.enabled && moved == 1 && !virtio_pci_notify_addr(&vp, 1, &at), "PFN 0 stops the queue");
	l_w(VIRTIO_PCI_STATUS, 1, 0);
	tap_ok(l_r(VIRTIO_PCI_STATUS, 1) == 0 && resets == 1 && l_r(VIRTIO_PCI_GUEST_FEATURES, 4) == 0,
	       "legacy reset");
	virtio_pci_destroy(&vp);
}

int main(void)
{
	tap_plan(73);
	ram = aligned_alloc(4096, RAM_SIZE);
	test_identity_caps();
	test_common();
	test_interrupts();
	test_legacy();
	free(ram);
	return tap_done();
}
