/* launcher/hw/pci.h: PCI bus 0 with configuration mechanism 1 and per-function config spaces. */
#ifndef HW_PCI_H
#define HW_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "hw.h"

#define PCI_CFG_SIZE		256
#define PCI_NUM_DEVFN		256
#define PCI_NUM_BARS		6
#define PCI_DEVFN(dev, fn)	((((dev) & 0x1f) << 3) | ((fn) & 7))

/* Standard header offsets used by the models. */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CLASS_DEVICE	0x0a
#define PCI_HEADER_TYPE		0x0e
#define PCI_BASE_ADDRESS_0	0x10
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_COMMAND_IO		0x0001
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_BAR_IO		0x1	/* low bit of an I/O BAR */

struct pci_func;

/*
 * Called after the guest wrote [off, off + size) of this function's config
 * space (the new value is already stored), so that a model can react to
 * BAR, command or chipset register changes.
 */
typedef void (*pci_cfg_written_fn)(struct pci_func *f, unsigned int off,
				   unsigned int size);

struct pci_bar {
	uint32_t size;			/* 0: not implemented */
	bool io;
	const struct io_ops *ops;	/* accessors for an I/O BAR */
	void *dev;
	uint32_t mapped;		/* address the bus last announced, 0: none */
};

struct pci_func {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* bits the guest may change */
	uint8_t w1cmask[PCI_CFG_SIZE];	/* bits a written 1 clears */
	struct pci_bar bar[PCI_NUM_BARS];
	pci_cfg_written_fn written;
	void *opaque;			/* the model owning this function */
};

struct pci_bus {
	uint32_t config_address;	/* the 0xcf8 latch */
	struct pci_func *func[PCI_NUM_DEVFN];
	/*
	 * Byte writes to 0xcf9 (the PIIX reset control register); optional.
	 * The hook gets the value written.
	 */
	void (*rcr_write)(void *ctx, uint8_t val);
	void *rcr_ctx;
	uint8_t rcr;
	/*
	 * An I/O BAR starts or stops decoding, or moves (old, new: port base,
	 * 0 for "not decoding"): the VMM moves the port range. Optional.
	 */
	void (*bar_map)(void *ctx, struct pci_func *f, unsigned int n,
			uint32_t old, uint32_t new_base);
	void *bar_ctx;
};

void pci_bus_init(struct pci_bus *bus);
/* 0, or -1 when devfn is taken. */
int pci_bus_add(struct pci_bus *bus, unsigned int devfn, struct pci_func *f);

/* A function with the given identity, everything else zero and read-only. */
void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device,
		   uint32_t class_prog_rev, uint8_t header_type);
/*
 * Declare BAR n: size must be a power of two (at least 4 for I/O, 16 for
 * memory). The address bits above the size become writable; I/O BARs
 * decode 16-bit port addresses.
 */
void pci_func_set_bar(struct pci_func *f, unsigned int n, uint32_t size,
		      bool io, const struct io_ops *ops, void *dev);
/* The base address currently programmed in BAR n (flag bits removed). */
uint32_t pci_func_bar_addr(const struct pci_func *f, unsigned int n);
void pci_func_set_wmask(struct pci_func *f, unsigned int off,
			unsigned int size, uint32_t mask);

uint32_t pci_cfg_get(const struct pci_func *f, unsigned int off,
		     unsigned int size);
void pci_cfg_set(struct pci_func *f, unsigned int off, unsigned int size,
		 uint32_t val);

/* Config space as the guest sees it; absent functions read all ones. */
uint32_t pci_config_read(struct pci_bus *bus, unsigned int bus_nr,
			 unsigned int devfn, unsigned int off,
			 unsigned int size);
void pci_config_write(struct pci_bus *bus, unsigned int bus_nr,
		      unsigned int devfn, unsigned int off, unsigned int size,
		      uint32_t val);


/*
 * Announce BAR changes of f through bus->bar_map (done by config writes;
 * call it after adding a function with preset BARs, and after a reset).
 */
void pci_bus_update_bars(struct pci_bus *bus, struct pci_func *f);

/* Ports 0xcf8-0xcfb (address latch, reset control) and 0xcfc-0xcff (data). */
extern const struct io_ops pci_addr_ops;
extern const struct io_ops pci_data_ops;

#endif
