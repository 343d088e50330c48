/* launcher/hw/pci.h: PCI bus 0 with configuration mechanism 1, per-function config spaces, BARs, capabilities and INTx. */
#ifndef HW_PCI_H
#define HW_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw.h"

#define PCI_CFG_SIZE		256
#define PCI_NUM_DEVFN		256
#define PCI_NUM_BARS		6
#define PCI_NUM_PIRQ		4
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
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_COMMAND_IO		0x0001
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT	0x0008	/* the function's INTx is asserted */
#define PCI_STATUS_CAP_LIST	0x0010

#define PCI_BAR_IO		0x1	/* low bit of an I/O BAR */
#define PCI_BAR_MEM_64		0x4	/* memory BAR type 10b: this BAR and the next */
#define PCI_BAR_MEM_PREFETCH	0x8

/* Capabilities start here; each is dword aligned. */
#define PCI_CAP_START		0x40

/* INTx pins as PCI_INTERRUPT_PIN holds them. */
#define PCI_INTA		1
#define PCI_INTB		2
#define PCI_INTC		3
#define PCI_INTD		4

/*
 * The PIRQ (0 = PIRQA .. 3 = PIRQD) that slot's INTx pin (0 = INTA .. 3 =
 * INTD) drives on the PIIX3: the swizzle QEMU's i440FX wires and SeaBIOS
 * assumes (it programs PCI_INTERRUPT_LINE and its MP table from it), so
 * device 1 INTA is PIRQA and device 0 INTA is PIRQD. A DSDT _PRT entry for
 * (slot, pin) must name link LNK[pci_intx_pirq(slot, pin)], LNK = {LNKA,
 * LNKB, LNKC, LNKD}.
 */
static inline unsigned int pci_intx_pirq(unsigned int slot, unsigned int pin)
{
	return (slot + pin + 3) & 3;
}

struct pci_func;
struct pci_bus;

/*
 * Called after the guest wrote [off, off + size) of this function's config
 * space (the new value is already stored), so that a model can react to
 * BAR, command or chipset register changes.
 */
typedef void (*pci_cfg_written_fn)(struct pci_func *f, unsigned int off,
				   unsigned int size);

/*
 * A capability model's interest in config writes: written() runs after a
 * guest write overlapping [off, off + len), before the function's own
 * written hook. Linked into the function by pci_func_watch_cfg.
 */
struct pci_cfg_watch {
	unsigned int off, len;
	void (*written)(void *ctx, struct pci_func *f);
	void *ctx;
	struct pci_cfg_watch *next;
};

struct pci_bar {
	uint64_t size;			/* 0: not implemented */
	bool io;
	bool mem64;			/* 64-bit memory BAR, also using BAR n + 1 */
	const struct io_ops *ops;	/* accessors for the region */
	void *dev;
	uint64_t mapped;		/* address the bus last announced, 0: none */
};

struct pci_func {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* bits the guest may change */
	uint8_t w1cmask[PCI_CFG_SIZE];	/* bits a written 1 clears */
	struct pci_bar bar[PCI_NUM_BARS];
	pci_cfg_written_fn written;
	/*
	 * Optional: BAR n of this function moved (as the bus's bar_moved, and
	 * after it), for a model whose host side follows the address.
	 */
	void (*bar_moved)(struct pci_func *f, unsigned int n, uint64_t old,
			  uint64_t new_base);
	void *opaque;			/* the model owning this function */
	/*
	 * First free config byte for pci_cap_add (0: PCI_CAP_START). A model
	 * with its own registers at 0x40 and up moves it past them first.
	 */
	unsigned int cap_end;
	struct pci_cfg_watch *watch;
	/* Set by pci_bus_add. */
	struct pci_bus *bus;
	unsigned int devfn;
	/* INTx: what the model asks for, and what the bus counts (and where) */
	bool intx_level;
	bool intx_out;
	unsigned int intx_pirq;
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
	 * BAR n of f starts or stops decoding, or moves (old, new_base: the
	 * address, 0 for "not decoding"; f->bar[n].io tells the space). The
	 * VMM moves the port or MMIO range. Optional.
	 */
	void (*bar_moved)(void *ctx, struct pci_func *f, unsigned int n,
			  uint64_t old, uint64_t new_base);
	void *bar_ctx;
	/*
	 * INTx routing: the bus ORs the functions' INTx per PIRQ (pirq_count
	 * asserted functions) and calls pirq_set on 0 <-> 1 transitions, with
	 * intx_lock held. Optional (piix3_isa_route_intx sets it).
	 */
	void (*pirq_set)(void *ctx, unsigned int pirq, int level);
	void *pirq_ctx;
	unsigned int pirq_count[PCI_NUM_PIRQ];
	/*
	 * Guards pirq_count and the router's state: functions raise INTx under
	 * their own device mutexes, from any thread. Taken inside a device
	 * mutex; held while calling pirq_set and so the router's irq_lines.
	 */
	pthread_mutex_t intx_lock;
};

void pci_bus_init(struct pci_bus *bus);
/* 0, or -1 when devfn is taken. */
int pci_bus_add(struct pci_bus *bus, unsigned int devfn, struct pci_func *f);
/*
 * Take the function at devfn off the bus: its mapped BARs are announced as
 * no longer decoding and its INTx is released.
 */
void pci_bus_remove(struct pci_bus *bus, unsigned int devfn);

/* A function with the given identity, everything else zero and read-only. */
void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device,
		   uint32_t class_prog_rev, uint8_t header_type);
/*
 * Declare BAR n: size must be a power of two (at least 4 for I/O, 16 for
 * memory). The address bits above the size become writable; I/O BARs
 * decode 16-bit port addresses. A memory BAR declared here is 32-bit.
 */
void pci_func_set_bar(struct pci_func *f, unsigned int n, uint32_t size,
		      bool io, const struct io_ops *ops, void *dev);
/*
 * Declare memory BAR n of size bytes (a power of two, at least 16); flags
 * PCI_BAR_MEM_64 (BAR n + 1 holds the high half, so n <= 4) and
 * PCI_BAR_MEM_PREFETCH. A 32-bit BAR is at most 2 GiB.
 */
void pci_func_set_mem_bar(struct pci_func *f, unsigned int n, uint64_t size,
			  unsigned int flags, const struct io_ops *ops,
			  void *dev);
/* The base address currently programmed in BAR n (flag bits removed). */
uint64_t pci_func_bar_addr(const struct pci_func *f, unsigned int n);
void pci_func_set_wmask(struct pci_func *f, unsigned int off,
			unsigned int size, uint32_t mask);

uint32_t pci_cfg_get(const struct pci_func *f, unsigned int off,
		     unsigned int size);
void pci_cfg_set(struct pci_func *f, unsigned int off, unsigned int size,
		 uint32_t val);

/*
 * Append a capability of size bytes (its 2-byte header included) to f's
 * list: returns its config offset (PCI_CAP_START and up, dword aligned),
 * with the ID set, the body zero and read-only, PCI_CAPABILITY_LIST and
 * PCI_STATUS_CAP_LIST set up; 0 when config space is full.
 */
unsigned int pci_cap_add(struct pci_func *f, uint8_t cap_id, unsigned int size);
/* The offset of f's first capability with this ID, 0 if none. */
unsigned int pci_cap_find(const struct pci_func *f, uint8_t cap_id);
/* Have w->written called after guest writes to its range of f. */
void pci_func_watch_cfg(struct pci_func *f, struct pci_cfg_watch *w);

/*
 * INTx. The pin (PCI_INTA..PCI_INTD, 0: none) is fixed by the model before
 * the function goes on the bus. pci_func_set_intx sets the function's
 * interrupt level: PCI_STATUS_INTERRUPT follows it, and the bus sees it
 * unless PCI_COMMAND_INTX_DISABLE is set. Call with the function's device
 * mutex held.
 */
void pci_func_set_intx_pin(struct pci_func *f, unsigned int pin);
void pci_func_set_intx(struct pci_func *f, int level);

/* Config space as the guest sees it; absent functions read all ones. */
uint32_t pci_config_read(struct pci_bus *bus, unsigned int bus_nr,
			 unsigned int devfn, unsigned int off,
			 unsigned int size);
void pci_config_write(struct pci_bus *bus, unsigned int bus_nr,
		      unsigned int devfn, unsigned int off, unsigned int size,
		      uint32_t val);


/*
 * Announce BAR changes of f through the bus's bar hook (done by config
 * writes; call it after adding a function with preset BARs, and after a
 * reset). A BAR decodes when its space is enabled in PCI_COMMAND, its
 * address is not 0 and it does not wrap (32-bit memory BARs: end below
 * 4 GiB).
 */
void pci_bus_update_bars(struct pci_bus *bus, struct pci_func *f);

/* Ports 0xcf8-0xcfb (address latch, reset control) and 0xcfc-0xcff (data). */
extern const struct io_ops pci_addr_ops;
extern const struct io_ops pci_data_ops;

#endif
