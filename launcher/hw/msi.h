/* launcher/hw/msi.h: the MSI and MSI-X capabilities of a PCI function, delivered through a VMM callback. */
#ifndef HW_MSI_H
#define HW_MSI_H

#include <stdbool.h>
#include <stdint.h>

#include "hw.h"
#include "pci.h"

#define PCI_CAP_ID_MSI		0x05
#define PCI_CAP_ID_MSIX		0x11

/* MSI capability registers (the 64-bit layout, the only one built here). */
#define PCI_MSI_FLAGS		0x02
#define  PCI_MSI_FLAGS_ENABLE	0x0001
#define  PCI_MSI_FLAGS_QMASK	0x000e	/* multiple message capable */
#define  PCI_MSI_FLAGS_QSIZE	0x0070	/* multiple message enable */
#define  PCI_MSI_FLAGS_64BIT	0x0080
#define  PCI_MSI_FLAGS_MASKBIT	0x0100	/* per-vector masking */
#define PCI_MSI_ADDRESS_LO	0x04
#define PCI_MSI_ADDRESS_HI	0x08
#define PCI_MSI_DATA_64		0x0c
#define PCI_MSI_MASK_64		0x10
#define PCI_MSI_PENDING_64	0x14

/* MSI-X capability registers and table entries. */
#define PCI_MSIX_FLAGS		0x02
#define  PCI_MSIX_FLAGS_QSIZE	0x07ff	/* table size - 1 */
#define  PCI_MSIX_FLAGS_MASKALL	0x4000
#define  PCI_MSIX_FLAGS_ENABLE	0x8000
#define PCI_MSIX_TABLE		0x04	/* table offset | BIR */
#define PCI_MSIX_PBA		0x08	/* PBA offset | BIR */
#define PCI_MSIX_ENTRY_SIZE	16
#define PCI_MSIX_ENTRY_LOWER_ADDR	0x0
#define PCI_MSIX_ENTRY_UPPER_ADDR	0x4
#define PCI_MSIX_ENTRY_DATA		0x8
#define PCI_MSIX_ENTRY_VECTOR_CTRL	0xc
#define  PCI_MSIX_ENTRY_CTRL_MASKBIT	0x1
#define PCI_MSIX_MAX_VECTORS	2048

/*
 * Where messages go: the VMM's send() turns (address, data) into an
 * interrupt (KVM_SIGNAL_MSI, or the irqfd it routed for that vector of the
 * function). Called with the function's device mutex held, from whichever
 * thread holds it.
 */
struct msi_target {
	void (*send)(void *ctx, unsigned int vector, uint64_t addr, uint32_t data);
	void *ctx;
};

/*
 * MSI: 64-bit address, 1..32 vectors, optionally per-vector masking. The
 * guest's fields live in config space (wmask); the pending bits are the
 * model's. A message needs PCI_COMMAND_MASTER: without it, it is dropped.
 */
struct pci_msi {
	struct pci_func *f;
	struct msi_target target;
	struct pci_cfg_watch watch;
	unsigned int cap;		/* config offset of the capability */
	unsigned int nvec;		/* vectors the function asks for */
	bool maskable;
};

/*
 * Add the capability to f: nvec a power of two up to 32. 0, or -1 when
 * nvec is invalid or config space is full.
 */
int pci_msi_init(struct pci_msi *m, struct pci_func *f, unsigned int nvec,
		 bool maskable, const struct msi_target *target);
/* Disabled, address, data, masks and pending bits zero. */
void pci_msi_reset(struct pci_msi *m);
bool pci_msi_enabled(const struct pci_msi *m);
/* The vectors the guest enabled (multiple message enable, at most nvec). */
unsigned int pci_msi_vectors(const struct pci_msi *m);
/*
 * The message of vector n: the guest's address, and its data with the low
 * bits replaced by n (vectors at or above pci_msi_vectors use the last).
 */
void pci_msi_message(const struct pci_msi *m, unsigned int n, uint64_t *addr,
		     uint32_t *data);
/*
 * Signal vector n. true: MSI took it (sent, or pending while masked, sent
 * when unmasked); false: MSI is disabled, the function uses INTx instead.
 */
bool pci_msi_notify(struct pci_msi *m, unsigned int n);

/*
 * MSI-X: a table of nvec 16-byte entries and the pending bit array, both in
 * memory BAR bar at the given offsets (8-byte aligned, not overlapping).
 * pci_msix_mmio_ops serves them (dev = the pci_msix, offset relative to the
 * BAR): dword or aligned qword accesses, anything else reads 0 and is
 * ignored, the PBA is read-only. The control word's enable and function
 * mask are the guest's; entries come up masked. Messages need
 * PCI_COMMAND_MASTER, as for MSI.
 */
struct pci_msix {
	struct pci_func *f;
	struct msi_target target;
	struct pci_cfg_watch watch;
	unsigned int cap;		/* config offset of the capability */
	unsigned int nvec;
	unsigned int bar;
	uint32_t table_off, pba_off;
	uint32_t *table;		/* nvec * 4 dwords, as the guest sees them */
	uint64_t *pba;
};

/*
 * Add the capability; the model declares the BAR and passes accesses to
 * the table and PBA on to pci_msix_mmio_ops. 0, or -1 on invalid arguments,
 * full config space or no memory.
 */
int pci_msix_init(struct pci_msix *m, struct pci_func *f, unsigned int nvec,
		  unsigned int bar, uint32_t table_off, uint32_t pba_off,
		  const struct msi_target *target);
/*
 * The same with BAR bar (32-bit memory) to itself: table at 0, PBA right
 * after it, size a power of two of at least 4 KiB.
 */
int pci_msix_init_bar(struct pci_msix *m, struct pci_func *f,
		      unsigned int nvec, unsigned int bar,
		      const struct msi_target *target);
void pci_msix_destroy(struct pci_msix *m);
/* Disabled, unmasked function, every entry zero and masked, PBA clear. */
void pci_msix_reset(struct pci_msix *m);
bool pci_msix_enabled(const struct pci_msix *m);
/* The table's address and data of vector n (0 for n out of range). */
void pci_msix_message(const struct pci_msix *m, unsigned int n,
		      uint64_t *addr, uint32_t *data);
/*
 * Signal vector n. true: MSI-X took it (sent, or its PBA bit set while the
 * vector or the function is masked, sent on unmask; n out of range is
 * dropped); false: MSI-X is disabled, the function uses MSI or INTx.
 */
bool pci_msix_notify(struct pci_msix *m, unsigned int n);

extern const struct io_ops pci_msix_mmio_ops;

#endif
