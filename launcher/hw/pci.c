/* launcher/hw/pci.c: PCI bus 0, configuration mechanism 1, config-space write masks, capabilities, BAR decoding and INTx. */
#include <string.h>

#include "pci.h"

void pci_bus_init(struct pci_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	pthread_mutex_init(&bus->intx_lock, NULL);
}

static void pci_func_update_intx(struct pci_func *f);

int pci_bus_add(struct pci_bus *bus, unsigned int devfn, struct pci_func *f)
{
	if (devfn >= PCI_NUM_DEVFN || bus->func[devfn])
		return -1;
	bus->func[devfn] = f;
	f->bus = bus;
	f->devfn = devfn;
	f->intx_out = false;
	pci_func_update_intx(f);	/* a level raised before it was added */
	return 0;
}

static void pci_bar_announce(struct pci_bus *bus, struct pci_func *f,
			     unsigned int n, uint64_t now)
{
	uint64_t old = f->bar[n].mapped;

	f->bar[n].mapped = now;
	if (bus->bar_moved)
		bus->bar_moved(bus->bar_ctx, f, n, old, now);
	if (f->bar_moved)
		f->bar_moved(f, n, old, now);
}

void pci_bus_remove(struct pci_bus *bus, unsigned int devfn)
{
	struct pci_func *f;
	bool level;

	if (devfn >= PCI_NUM_DEVFN || !(f = bus->func[devfn]))
		return;
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++)
		if (f->bar[n].mapped)
			pci_bar_announce(bus, f, n, 0);
	level = f->intx_level;
	f->intx_level = false;
	pci_func_update_intx(f);
	f->intx_level = level;
	bus->func[devfn] = NULL;
	f->bus = NULL;
}

uint32_t pci_cfg_get(const struct pci_func *f, unsigned int off,
		     unsigned int size)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < size && off + i < PCI_CFG_SIZE; i++)
		v |= (uint32_t)f->cfg[off + i] << (8 * i);
	return v;
}

void pci_cfg_set(struct pci_func *f, unsigned int off, unsigned int size,
		 uint32_t val)
{
	for (unsigned int i = 0; i < size && off + i < PCI_CFG_SIZE; i++)
		f->cfg[off + i] = val >> (8 * i);
}

void pci_func_set_wmask(struct pci_func *f, unsigned int off,
			unsigned int size, uint32_t mask)
{
	for (unsigned int i = 0; i < size && off + i < PCI_CFG_SIZE; i++)
		f->wmask[off + i] = mask >> (8 * i);
}

void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device,
		   uint32_t class_prog_rev, uint8_t header_type)
{
	memset(f, 0, sizeof(*f));
	pci_cfg_set(f, PCI_VENDOR_ID, 2, vendor);
	pci_cfg_set(f, PCI_DEVICE_ID, 2, device);
	/* class code (3 bytes) and revision as one dword, like the register */
	pci_cfg_set(f, PCI_REVISION_ID, 4, class_prog_rev);
	f->cfg[PCI_HEADER_TYPE] = header_type;
	/* I/O, memory and bus-master enables, SERR, INTx disable */
	pci_func_set_wmask(f, PCI_COMMAND, 2, 0x0507);
	/* status: the error bits are write-one-to-clear */
	f->w1cmask[PCI_STATUS + 1] = 0xf9;
	/* interrupt line is a scratch register for firmware */
	f->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

void pci_func_set_bar(struct pci_func *f, unsigned int n, uint32_t size,
		      bool io, const struct io_ops *ops, void *dev)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * n;
	uint32_t mask;

	if (!io) {
		pci_func_set_mem_bar(f, n, size, 0, ops, dev);
		return;
	}
	if (n >= PCI_NUM_BARS)
		return;
	f->bar[n] = (struct pci_bar){ .size = size, .io = true, .ops = ops,
				      .dev = dev };
	/* all 32 bits writable, or firmware sizes the BAR as huge */
	mask = ~(size - 1) & ~3u;
	pci_func_set_wmask(f, off, 4, size ? mask : 0);
	pci_cfg_set(f, off, 4, PCI_BAR_IO);
}

void pci_func_set_mem_bar(struct pci_func *f, unsigned int n, uint64_t size,
			  unsigned int flags, const struct io_ops *ops,
			  void *dev)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * n;
	bool mem64 = flags & PCI_BAR_MEM_64;
	uint64_t mask = ~(size - 1) & ~0xfull;

	if (n + mem64 >= PCI_NUM_BARS || (!mem64 && size > 0x80000000u))
		return;
	f->bar[n] = (struct pci_bar){ .size = size, .mem64 = mem64,
				      .ops = ops, .dev = dev };
	pci_func_set_wmask(f, off, 4, size ? mask : 0);
	pci_cfg_set(f, off, 4, size ? flags & (PCI_BAR_MEM_64 | PCI_BAR_MEM_PREFETCH) : 0);
	if (mem64) {
		f->bar[n + 1] = (struct pci_bar){ 0 };
		pci_func_set_wmask(f, off + 4, 4, size ? mask >> 32 : 0);
		pci_cfg_set(f, off + 4, 4, 0);
	}
}

uint64_t pci_func_bar_addr(const struct pci_func *f, unsigned int n)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * n;
	uint64_t v;

	if (n >= PCI_NUM_BARS || !f->bar[n].size)
		return 0;
	v = pci_cfg_get(f, off, 4);
	if (f->bar[n].io)
		return v & 0xfffc;
	if (f->bar[n].mem64)
		v |= (uint64_t)pci_cfg_get(f, off + 4, 4) << 32;
	return v & ~0xfull;
}

/* ---- capabilities ---- */

unsigned int pci_cap_add(struct pci_func *f, uint8_t cap_id, unsigned int size)
{
	unsigned int off = f->cap_end ? f->cap_end : PCI_CAP_START;
	unsigned int last, guard;

	off = (off + 3) & ~3u;
	if (size < 2 || off < PCI_CAP_START || off >= PCI_CFG_SIZE ||
	    size > PCI_CFG_SIZE - off)
		return 0;
	memset(&f->cfg[off], 0, size);
	memset(&f->wmask[off], 0, size);
	memset(&f->w1cmask[off], 0, size);
	f->cfg[off] = cap_id;
	/* append, so that the list reads in the order the model built it */
	if (!(last = f->cfg[PCI_CAPABILITY_LIST])) {
		f->cfg[PCI_CAPABILITY_LIST] = off;
	} else {
		for (guard = 0; f->cfg[last + 1] && guard < PCI_CFG_SIZE / 4; guard++)
			last = f->cfg[last + 1];
		f->cfg[last + 1] = off;
	}
	f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	f->cap_end = off + size;
	return off;
}

unsigned int pci_cap_find(const struct pci_func *f, uint8_t cap_id)
{
	unsigned int off = f->cfg[PCI_CAPABILITY_LIST] & ~3u;

	/* a list can hold at most 48 dword-aligned capabilities */
	for (unsigned int i = 0; off >= PCI_CAP_START && i < 48; i++) {
		if (f->cfg[off] == cap_id)
			return off;
		off = f->cfg[off + 1] & ~3u;
	}
	return 0;
}

void pci_func_watch_cfg(struct pci_func *f, struct pci_cfg_watch *w)
{
	w->next = f->watch;
	f->watch = w;
}

/* ---- INTx ---- */

void pci_func_set_intx_pin(struct pci_func *f, unsigned int pin)
{
	f->cfg[PCI_INTERRUPT_PIN] = pin <= PCI_INTD ? pin : 0;
}

/*
 * Count f on its PIRQ while its INTx is asserted and not disabled. The
 * bookkeeping is under intx_lock, so the counts stay exact even when a
 * config write and the model race.
 */
static void pci_func_update_intx(struct pci_func *f)
{
	struct pci_bus *bus = f->bus;
	unsigned int pin = f->cfg[PCI_INTERRUPT_PIN], p, count;
	bool out;

	if (!bus)
		return;
	pthread_mutex_lock(&bus->intx_lock);
	out = f->intx_level && pin >= PCI_INTA && pin <= PCI_INTD &&
	      !(pci_cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	if (out != f->intx_out) {
		if (out)
			f->intx_pirq = pci_intx_pirq(f->devfn >> 3, pin - 1);
		p = f->intx_pirq;
		f->intx_out = out;
		count = bus->pirq_count[p];
		bus->pirq_count[p] = out ? count + 1 : count - 1;
		if ((count == 0 || bus->pirq_count[p] == 0) && bus->pirq_set)
			bus->pirq_set(bus->pirq_ctx, p, out);
	}
	pthread_mutex_unlock(&bus->intx_lock);
}

void pci_func_set_intx(struct pci_func *f, int level)
{
	f->intx_level = level != 0;
	if (level)
		f->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		f->cfg[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
	pci_func_update_intx(f);
}

/* ---- config space access ---- */

static struct pci_func *pci_lookup(struct pci_bus *bus, unsigned int bus_nr,
				   unsigned int devfn)
{
	if (bus_nr != 0 || devfn >= PCI_NUM_DEVFN)
		return NULL;
	return bus->func[devfn];
}

static bool pci_access_ok(unsigned int off, unsigned int size)
{
	return (size == 1 || size == 2 || size == 4) && off < PCI_CFG_SIZE &&
	       off + size <= PCI_CFG_SIZE && (off & (size - 1)) == 0;
}

uint32_t pci_config_read(struct pci_bus *bus, unsigned int bus_nr,
			 unsigned int devfn, unsigned int off,
			 unsigned int size)
{
	struct pci_func *f = pci_lookup(bus, bus_nr, devfn);
	uint32_t ones = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;

	if (!f || !pci_access_ok(off, size))
		return ones;
	return pci_cfg_get(f, off, size);
}

void pci_config_write(struct pci_bus *bus, unsigned int bus_nr,
		      unsigned int devfn, unsigned int off, unsigned int size,
		      uint32_t val)
{
	struct pci_func *f = pci_lookup(bus, bus_nr, devfn);

	if (!f || !pci_access_ok(off, size))
		return;
	for (unsigned int i = 0; i < size; i++) {
		uint8_t b = val >> (8 * i);
		uint8_t wm = f->wmask[off + i], w1c = f->w1cmask[off + i];
		uint8_t *p = &f->cfg[off + i];

		*p = (*p & ~wm) | (b & wm);
		*p &= ~(b & w1c);
	}
	if (off < PCI_COMMAND + 2 && off + size > PCI_COMMAND)
		pci_func_update_intx(f);
	for (struct pci_cfg_watch *w = f->watch; w; w = w->next)
		if (off < w->off + w->len && off + size > w->off)
			w->written(w->ctx, f);
	if (f->written)
		f->written(f, off, size);
	if (off < PCI_BASE_ADDRESS_0 + 4 * PCI_NUM_BARS && off + size > PCI_COMMAND)
		pci_bus_update_bars(bus, f);
}

/* Configuration mechanism 1: bit 31 enable, 23:16 bus, 15:8 devfn, 7:2 reg. */
static uint64_t pci_addr_read(void *dev, uint64_t offset, unsigned int size)
{
	struct pci_bus *bus = dev;

	if (offset == 0 && size == 4)
		return bus->config_address;
	if (offset == 1 && size == 1)
		return bus->rcr;
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static void pci_addr_write(void *dev, uint64_t offset, unsigned int size,
			   uint64_t val)
{
	struct pci_bus *bus = dev;

	if (offset == 0 && size == 4) {
		bus->config_address = val & 0x80fffffc;
	} else if (offset == 1 && size == 1) {
		/* PIIX RCR: bit 2 starts the reset bit 1 selects (hard/soft) */
		bus->rcr = val & 0x02;
		if (bus->rcr_write)
			bus->rcr_write(bus->rcr_ctx, val);
	}
}

static uint64_t pci_data_read(void *dev, uint64_t offset, unsigned int size)
{
	struct pci_bus *bus = dev;
	uint32_t a = bus->config_address;
	uint32_t ones = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;

	if (!(a & 0x80000000u) || offset + size > 4)
		return ones;
	return pci_config_read(bus, (a >> 16) & 0xff, (a >> 8) & 0xff,
			       (a & 0xfc) + offset, size);
}

static void pci_data_write(void *dev, uint64_t offset, unsigned int size,
			   uint64_t val)
{
	struct pci_bus *bus = dev;
	uint32_t a = bus->config_address;

	if (!(a & 0x80000000u) || offset + size > 4)
		return;
	pci_config_write(bus, (a >> 16) & 0xff, (a >> 8) & 0xff,
			 (a & 0xfc) + offset, size, val);
}

const struct io_ops pci_addr_ops = {
	.read = pci_addr_read,
	.write = pci_addr_write,
};

const struct io_ops pci_data_ops = {
	.read = pci_data_read,
	.write = pci_data_write,
};

/* ---- BAR decoding ---- */

/*
 * Where BAR n decodes now: 0 when unassigned, the space is disabled or the
 * range wraps. Sizing writes all ones, which leaves a memory BAR at its
 * top-most position: that wraps (or, 32-bit, reaches 4 GiB), so nothing
 * is announced for it, as on QEMU.
 */
static uint64_t pci_bar_decode(const struct pci_func *f, unsigned int n)
{
	uint16_t cmd = pci_cfg_get(f, PCI_COMMAND, 2);
	const struct pci_bar *b = &f->bar[n];
	uint64_t addr;

	if (!b->size || !(cmd & (b->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return 0;
	addr = pci_func_bar_addr(f, n);
	if (b->io)
		return addr;
	if (b->mem64 ? addr > UINT64_MAX - b->size : addr + b->size >= 1ull << 32)
		return 0;
	return addr;
}

void pci_bus_update_bars(struct pci_bus *bus, struct pci_func *f)
{
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++) {
		uint64_t now = pci_bar_decode(f, n);

		if (now != f->bar[n].mapped)
			pci_bar_announce(bus, f, n, now);
	}
}
