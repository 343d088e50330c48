/* launcher/hw/piix.h: the i440FX host bridge and the PIIX3 ISA bridge and IDE functions. */
#ifndef HW_PIIX_H
#define HW_PIIX_H

#include <stdbool.h>
#include <stdint.h>

#include "hw.h"
#include "ide.h"
#include "pci.h"

#define I440FX_PAM0		0x59
#define I440FX_PAM_COUNT	7
#define I440FX_SMRAM		0x72
#define I440FX_PAM_REGIONS	13

#define PIIX3_PIRQRC		0x60	/* PIRQA..D route control, 0x60-0x63 */
#define PIIX_IDETIM		0x40	/* primary; secondary at 0x42 */
#define PIIX_IDETIM_IDE		0x8000	/* IDE decode enable */

/* Access to DRAM in a PAM region (the two bits of a PAM nibble). */
enum pam_attr {
	PAM_OFF = 0,		/* reads and writes go to the ROM / PCI */
	PAM_RO = 1,		/* reads DRAM, writes go to the ROM / PCI */
	PAM_WO = 2,		/* reads the ROM, writes DRAM */
	PAM_RW = 3,
};

struct pam_region {
	uint32_t base, size;
	enum pam_attr attr;
};

struct i440fx {
	struct pci_func pci;
	/*
	 * Called after a guest write changed the PAM or SMRAM registers, so that
	 * the VMM can remap the 0xc0000-0xfffff window (SeaBIOS shadowing).
	 */
	void (*pam_changed)(void *ctx, struct i440fx *host);
	void *pam_ctx;
	uint8_t smram_wmask;
};

void i440fx_init(struct i440fx *host);
void i440fx_reset(struct i440fx *host);
/* Region i (0..12): 0 is 0xf0000-0xfffff, then 16 KiB pieces from 0xc0000. */
void i440fx_pam_region(const struct i440fx *host, unsigned int i,
		       struct pam_region *r);
uint8_t i440fx_smram(const struct i440fx *host);

#define PIIX3_NUM_ISA_IRQ	16

/*
 * The ISA bridge also routes PCI INTx: PIRQA..D (see pci_intx_pirq) reach
 * the ISA IRQ their PIRQRC register selects. An ISA IRQ is high while any
 * PIRQ routed to it is; a route change moves an asserted level.
 */
struct piix3_isa {
	struct pci_func pci;
	/* Set by piix3_isa_route_intx; the rest is guarded by bus->intx_lock. */
	struct pci_bus *bus;
	struct irq_line irq[PIIX3_NUM_ISA_IRQ];
	uint8_t pirq_default[PCI_NUM_PIRQ];	/* PIRQRC after reset */
	int8_t route[PCI_NUM_PIRQ];		/* PIRQRC decoded, -1: off */
	uint8_t pirq_level;			/* bit n: PIRQn asserted */
	uint16_t isa_level;			/* bit n: IRQ n driven high */
};

void piix3_isa_init(struct piix3_isa *isa);
void piix3_isa_reset(struct piix3_isa *isa);
/* The ISA IRQ PIRQ n (0..3) is routed to, or -1 when disabled. */
int piix3_pirq_route(const struct piix3_isa *isa, unsigned int n);
/*
 * Make isa the PIRQ router of bus, driving ISA IRQ n through irq[n] (the
 * VMM's lines, callable from any thread; unused ones may be zero).
 */
void piix3_isa_route_intx(struct piix3_isa *isa, struct pci_bus *bus,
			  const struct irq_line irq[PIIX3_NUM_ISA_IRQ]);
/*
 * PIRQA..D routing from now and after every reset (the values SeaBIOS
 * writes, 10, 10, 11, 11, for a boot without firmware); an invalid IRQ
 * (0-2, 8, 13, above 15) leaves that PIRQ disabled.
 */
void piix3_set_default_routing(struct piix3_isa *isa, unsigned int pirqa,
			       unsigned int pirqb, unsigned int pirqc,
			       unsigned int pirqd);

struct piix_ide;

/* A legacy port range of one channel, for the I/O bus (dev of the ops). */
struct piix_ide_port {
	struct piix_ide *ide;
	unsigned int ch;
};

struct piix_ide {
	struct pci_func pci;
	struct ide_channel ch[2];
	struct piix_ide_port port[2];
	uint16_t bmiba_default;
};

/*
 * The IDE function with both channels in legacy mode (IRQ 14 and 15 given
 * as irq[0..1]) and BAR4 preset to bmiba (0: left for firmware to assign).
 */
void piix_ide_init(struct piix_ide *ide, const struct irq_line irq[2],
		   const struct guest_mem *mem, uint16_t bmiba);
void piix_ide_reset(struct piix_ide *ide);
void piix_ide_destroy(struct piix_ide *ide);

/*
 * The legacy ports, gated by the function's I/O enable and the channel's
 * IDETIM decode enable: command block (8 ports at 0x1f0 / 0x170) and control
 * block (1 port at 0x3f6 / 0x376); dev is &ide->port[ch].
 */
extern const struct io_ops piix_ide_cmd_ops;
extern const struct io_ops piix_ide_ctl_ops;
/* BAR4, 16 bytes: channel 0 at 0-7, channel 1 at 8-15; dev is the piix_ide. */
extern const struct io_ops piix_ide_bm_ops;

/* The usual PC layout: host bridge 00.0, ISA bridge 01.0, IDE 01.1. */
#define I440FX_DEVFN		PCI_DEVFN(0, 0)
#define PIIX3_ISA_DEVFN		PCI_DEVFN(1, 0)
#define PIIX3_IDE_DEVFN		PCI_DEVFN(1, 1)

#endif
