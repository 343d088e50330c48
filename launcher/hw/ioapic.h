/* launcher/hw/ioapic.h: 82093AA I/O APIC model that delivers its interrupts as MSIs (split irqchip). */
#ifndef HW_IOAPIC_H
#define HW_IOAPIC_H

#include "hw.h"

/*
 * One IOAPIC, 24 pins, in a 256-byte MMIO window at IOAPIC_BASE (the
 * size KVM's in-kernel IOAPIC decodes). Only dword accesses to IOWIN
 * and byte/word/dword accesses to IOREGSEL do anything; other offsets
 * and sizes read 0 and ignore writes, as in KVM and QEMU.
 *
 * The version register reads 0x11, the 82093AA's, which is what KVM's
 * in-kernel IOAPIC reports, so a guest sees the same chip whichever
 * irqchip mode the VMM picked. A 0x11 IOAPIC has no EOI register: a
 * write to offset 0x40 is ignored (QEMU only honours it at version
 * 0x20). Guests end level interrupts through the local APIC's EOI
 * broadcast (KVM_EXIT_IOAPIC_EOI, fed to ioapic_eoi()) or, as Linux
 * does for old IOAPICs, by rewriting the entry as edge-triggered, which
 * clears Remote IRR here as in KVM and QEMU.
 */
#define IOAPIC_BASE		0xfec00000u
#define IOAPIC_MMIO_SIZE	0x100
#define IOAPIC_NUM_PINS		24
#define IOAPIC_VERSION		0x11

/* Direct (MMIO) registers, offsets from IOAPIC_BASE. */
#define IOAPIC_IOREGSEL		0x00
#define IOAPIC_IOWIN		0x10
#define IOAPIC_EOI		0x40	/* version 0x20 only: absent here */

/* Indirect registers, selected through IOREGSEL. */
#define IOAPIC_REG_ID		0x00	/* bits 24-27 */
#define IOAPIC_REG_VERSION	0x01	/* version | max entry << 16 */
#define IOAPIC_REG_ARB		0x02	/* arbitration id: reads as the ID */
#define IOAPIC_REG_REDTBL	0x10	/* entry n: 0x10 + 2n low, +1 high */

/* Redirection table entry fields. */
#define IOAPIC_RTE_VECTOR	0xffull
#define IOAPIC_RTE_DELMODE_SHIFT 8
#define IOAPIC_RTE_DELMODE	(7ull << IOAPIC_RTE_DELMODE_SHIFT)
#define IOAPIC_RTE_LOGICAL	(1ull << 11)	/* destination mode */
#define IOAPIC_RTE_DELIVS	(1ull << 12)	/* delivery status, read-only */
#define IOAPIC_RTE_ACTIVE_LOW	(1ull << 13)	/* polarity: stored, unused */
#define IOAPIC_RTE_REMOTE_IRR	(1ull << 14)	/* read-only */
#define IOAPIC_RTE_LEVEL	(1ull << 15)	/* trigger mode */
#define IOAPIC_RTE_MASKED	(1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT	56

/* Delivery modes (entry bits 8-10, MSI data bits 8-10). */
#define IOAPIC_DM_FIXED		0
#define IOAPIC_DM_LOWEST	1
#define IOAPIC_DM_SMI		2
#define IOAPIC_DM_NMI		4
#define IOAPIC_DM_INIT		5
#define IOAPIC_DM_EXTINT	7

/* The MSI an entry turns into (Intel SDM vol. 3, 11.11). */
#define IOAPIC_MSI_ADDR_BASE	0xfee00000u
#define IOAPIC_MSI_ADDR_DEST_SHIFT 12
#define IOAPIC_MSI_ADDR_LOGICAL	(1u << 2)
#define IOAPIC_MSI_ADDR_REDIR_HINT (1u << 3)	/* never set, see ioapic_pin_msi */
#define IOAPIC_MSI_DATA_ASSERT	(1u << 14)
#define IOAPIC_MSI_DATA_LEVEL	(1u << 15)

struct ioapic;

/*
 * send_msi(ctx, pin, addr, data) delivers one interrupt of pin: either
 * KVM_SIGNAL_MSI with (addr, data), or KVM_IRQ_LINE level 1 on GSI pin
 * whose MSI route holds that message (what QEMU does); it must not call
 * back into the model. entry_changed(ctx, pin), which may be NULL, runs
 * after a guest write changed redirection entry pin (any bit, the mask
 * included), before any delivery that write causes, so the VMM can
 * refresh GSI pin's route first; it may call ioapic_pin_msi() and the
 * other const functions, and should skip KVM_SET_GSI_ROUTING when the
 * message is unchanged (guests toggle masks often). Returns NULL if
 * send_msi is NULL or memory runs out. The model starts reset.
 *
 * Every function, ioapic_mmio_ops included, expects the caller to hold
 * the device's lock; the model has no locks, threads or globals.
 */
struct ioapic *ioapic_create(void (*send_msi)(void *ctx, unsigned int pin,
					      uint64_t addr, uint32_t data),
			     void (*entry_changed)(void *ctx, unsigned int pin),
			     void *ctx);
void ioapic_destroy(struct ioapic *s);

/*
 * All entries masked (0x10000: edge, fixed, vector 0, dest 0), ID 0,
 * IOREGSEL 0, Remote IRRs clear. Input levels are kept: they belong to
 * the devices, which may hold a line asserted across a reset. Calls no
 * hook: after a reset the VMM refreshes all its pin routes itself.
 */
void ioapic_reset(struct ioapic *s);

/*
 * Input pin goes to level (nonzero: asserted; the entry's polarity bit is
 * not applied, callers pass the logical state as with KVM_IRQ_LINE).
 * Edge pins deliver on a rising edge while unmasked (an edge while masked
 * is lost); level pins deliver while asserted, unmasked and Remote IRR is
 * clear, then set Remote IRR. A pin >= IOAPIC_NUM_PINS is ignored.
 */
void ioapic_set_irq(struct ioapic *s, unsigned int pin, int level);

/*
 * A local APIC EOI for vector (KVM_EXIT_IOAPIC_EOI's run->eoi.vector):
 * every level-triggered entry with that vector and Remote IRR set clears
 * Remote IRR and, if its pin is still asserted and unmasked, delivers
 * again.
 */
void ioapic_eoi(struct ioapic *s, unsigned int vector);

/*
 * The MSI pin's entry sends, whether masked or not, encoded as KVM's
 * in-kernel IOAPIC hands it to the local APICs (ioapic_service() ->
 * kvm_irq_delivery_to_apic()) and as kvm_set_msi_irq() decodes an MSI:
 *   addr = 0xfee00000 | dest (bits 56-63) << 12 | logical (bit 11) << 2
 *   data = vector | delivery mode << 8 | assert (1) << 14 | level << 15
 * The redirection hint stays 0: KVM's IOAPIC sends msi_redir_hint =
 * false and lowest priority travels as delivery mode 1. Entry bits 48-55
 * (the extended destination ID of KVM_FEATURE_MSI_EXT_DEST_ID) are not
 * forwarded. A pin out of range gives addr = data = 0.
 */
void ioapic_pin_msi(const struct ioapic *s, unsigned int pin, uint64_t *addr,
		    uint32_t *data);

/* Redirection entry pin as the guest reads it (0 out of range). */
uint64_t ioapic_entry(const struct ioapic *s, unsigned int pin);

/* True if some level-triggered entry, masked or not, uses vector. */
bool ioapic_vector_is_level(const struct ioapic *s, unsigned int vector);
/* The same for all vectors: bit v of the 256-bit map (word v / 64). */
void ioapic_level_vectors(const struct ioapic *s, uint64_t map[4]);

extern const struct io_ops ioapic_mmio_ops;

#endif
