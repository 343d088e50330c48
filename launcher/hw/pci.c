/* launcher/hw/pci.c: PCI bus 0, configuration mechanism 1, config-space write masks and BAR decoding. */
#include <string.h>

#include "pci.h"

void pci_bus_init(struct pci_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

int pci_bus_add(struct pci_bus *bus, unsigned int devfn, struct pci_func *f)
{
	if (devfn >= PCI_NUM_DEVFN || bus->func[devfn])
		return -1;
	bus->func[devfn] = f;
	return 0;
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

	if (n >= PCI_NUM_BARS)
		return;
	f->bar[n] = (struct pci_bar){ .size = size, .io = io, .ops = ops,
				      .dev = dev };
	mask = ~(size - 1);
	/* I/O BARs too: all 32 bits writable, or firmware sizes them as huge. */
	if (io)
		mask &= ~3u;
	else
		mask &= ~0xfu;
	pci_func_set_wmask(f, off, 4, size ? mask : 0);
	pci_cfg_set(f, off, 4, io ? PCI_BAR_IO : 0);
}

uint32_t pci_func_bar_addr(const struct pci_func *f, unsigned int n)
{
	uint32_t v;

	if (n >= PCI_NUM_BARS || !f->bar[n].size)
		return 0;
	v = pci_cfg_get(f, PCI_BASE_ADDRESS_0 + 4 * n, 4);
	return f->bar[n].io ? v & 0xfffc : v & ~0xfu;
}

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

/* Where BAR n decodes now: 0 when unassigned or the space is disabled. */
static uint32_t pci_bar_decode(const struct pci_func *f, unsigned int n)
{
	uint16_t cmd = pci_cfg_get(f, PCI_COMMAND, 2);
	const struct pci_bar *b = &f->bar[n];

	if (!b->size || !(cmd & (b->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return 0;
	return pci_func_bar_addr(f, n);
}

void pci_bus_update_bars(struct pci_bus *bus, struct pci_func *f)
{
	for (unsigned int n = 0; n < PCI_NUM_BARS; n++) {
		uint32_t now = pci_bar_decode(f, n);

		if (now == f->bar[n].mapped)
			continue;
		if (bus->bar_map)
			bus->bar_map(bus->bar_ctx, f, n, f->bar[n].mapped, now);
		f->bar[n].mapped = now;
	}
}
