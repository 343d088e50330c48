/* tests/launcher/test_ioapic.c: IOAPIC model: registers, edge/level delivery, Remote IRR and EOI, masking, MSI encoding, hooks, bad accesses. */
#include <string.h>

#include "tap.h"
#include "hw/ioapic.h"

#define MAX_MSI 16

/* What the model handed the VMM. */
struct sink {
	unsigned int nmsi;
	unsigned int pin[MAX_MSI];
	uint64_t addr[MAX_MSI];
	uint32_t data[MAX_MSI];
	unsigned int nchanged;
	unsigned int changed_pin;
	struct ioapic *s;
	uint64_t route_addr;	/* ioapic_pin_msi() from inside the hook */
	uint32_t route_data;
	unsigned int msi_before_hook;
};

static void send_msi(void *ctx, unsigned int pin, uint64_t addr, uint32_t data)
{
	struct sink *k = ctx;

	if (k->nmsi < MAX_MSI) {
		k->pin[k->nmsi] = pin;
		k->addr[k->nmsi] = addr;
		k->data[k->nmsi] = data;
	}
	k->nmsi++;
}

static void entry_changed(void *ctx, unsigned int pin)
{
	struct sink *k = ctx;

	k->nchanged++;
	k->changed_pin = pin;
	k->msi_before_hook = k->nmsi;
	ioapic_pin_msi(k->s, pin, &k->route_addr, &k->route_data);
}

static uint32_t reg_read(struct ioapic *s, uint8_t reg)
{
	ioapic_mmio_ops.write(s, IOAPIC_IOREGSEL, 4, reg);
	return (uint32_t)ioapic_mmio_ops.read(s, IOAPIC_IOWIN, 4);
}

static void reg_write(struct ioapic *s, uint8_t reg, uint32_t val)
{
	ioapic_mmio_ops.write(s, IOAPIC_IOREGSEL, 4, reg);
	ioapic_mmio_ops.write(s, IOAPIC_IOWIN, 4, val);
}

static uint64_t rte_read(struct ioapic *s, unsigned int pin)
{
	return reg_read(s, IOAPIC_REG_REDTBL + 2 * pin) |
	       (uint64_t)reg_read(s, IOAPIC_REG_REDTBL + 2 * pin + 1) << 32;
}

/* High half first, as Linux does, so the entry is whole when unmasked. */
static void rte_write(struct ioapic *s, unsigned int pin, uint64_t e)
{
	reg_write(s, IOAPIC_REG_REDTBL + 2 * pin + 1, e >> 32);
	reg_write(s, IOAPIC_REG_REDTBL + 2 * pin, (uint32_t)e);
}

static uint64_t rte(uint8_t vector, unsigned int dm, bool logical, bool level,
		    bool masked, uint8_t dest)
{
	return vector | (uint64_t)dm << IOAPIC_RTE_DELMODE_SHIFT |
	       (logical ? IOAPIC_RTE_LOGICAL : 0) |
	       (level ? IOAPIC_RTE_LEVEL : 0) |
	       (masked ? IOAPIC_RTE_MASKED : 0) |
	       (uint64_t)dest << IOAPIC_RTE_DEST_SHIFT;
}

static void test_registers(struct ioapic *s, struct sink *k)
{
	unsigned int masked;
	uint64_t e;

	TAP_EQ(reg_read(s, IOAPIC_REG_VERSION), 0x00170011u,
	       "version 0x11, max redirection entry 23");
	reg_write(s, IOAPIC_REG_VERSION, 0xffffffff);
	TAP_EQ(reg_read(s, IOAPIC_REG_VERSION), 0x00170011u, "version is read-only");
	TAP_EQ(reg_read(s, IOAPIC_REG_ID), 0u, "ID 0 after reset");
	reg_write(s, IOAPIC_REG_ID, 0xffffffff);
	TAP_EQ(reg_read(s, IOAPIC_REG_ID), 0x0f000000u, "only ID bits 24-27 are writable");
	TAP_EQ(reg_read(s, IOAPIC_REG_ARB), 0x0f000000u, "arbitration ID follows the ID");
	reg_write(s, IOAPIC_REG_ARB, 0x02000000);
	TAP_EQ(reg_read(s, IOAPIC_REG_ARB), 0x0f000000u, "arbitration ID is read-only");
	reg_write(s, IOAPIC_REG_ID, 0x02000000);
	TAP_EQ(reg_read(s, IOAPIC_REG_ID), 0x02000000u, "ID rewritten");

	ioapic_mmio_ops.write(s, IOAPIC_IOREGSEL, 4, 0x1234);
	TAP_EQ(ioapic_mmio_ops.read(s, IOAPIC_IOREGSEL, 4), 0x34u,
	       "IOREGSEL keeps 8 bits");
	ioapic_mmio_ops.write(s, IOAPIC_IOREGSEL, 1, IOAPIC_REG_VERSION);
	TAP_EQ(ioapic_mmio_ops.read(s, IOAPIC_IOWIN, 4), 0x00170011u,
	       "byte write selects a register");

	masked = 0;
	for (unsigned int pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		masked += rte_read(s, pin) == IOAPIC_RTE_MASKED;
	TAP_EQ(masked, IOAPIC_NUM_PINS, "all 24 entries masked after reset");

	e = rte(0x31, IOAPIC_DM_LOWEST, true, false, true, 0xa5) | 0x00ff000000000000ull |
	    IOAPIC_RTE_ACTIVE_LOW;
	rte_write(s, 5, e);
	TAP_EQ(rte_read(s, 5), e, "entry 5 reads back both halves (reserved bits kept)");
	TAP_EQ(ioapic_entry(s, 5), e, "ioapic_entry agrees with the window");
	rte_write(s, 5, e | IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR | IOAPIC_RTE_LEVEL);
	TAP_EQ(rte_read(s, 5) & (IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR), 0ull,
	       "delivery status and Remote IRR cannot be written");
	TAP_EQ(reg_read(s, IOAPIC_REG_REDTBL + 2 * 23 + 1), 0u, "entry 23 high half");
	TAP_EQ(reg_read(s, 0x03), 0xffffffffu, "unimplemented register 0x03 reads all ones");
	TAP_EQ(reg_read(s, 0x40), 0xffffffffu, "register past entry 23 reads all ones");
	reg_write(s, 0x40, 0);
	reg_write(s, 0xff, 0);
	TAP_EQ(reg_read(s, IOAPIC_REG_ID), 0x02000000u, "writes past the table change nothing");
	TAP_EQ(k->nmsi, 0u, "no delivery from register programming");
}

static void test_edge(struct ioapic *s, struct sink *k)
{
	k->nmsi = 0;
	rte_write(s, 4, rte(0x34, IOAPIC_DM_FIXED, false, false, false, 1));
	ioapic_set_irq(s, 4, 1);
	TAP_EQ(k->nmsi, 1u, "edge pin delivers on the rising edge");
	TAP_EQ(k->pin[0], 4u, "delivery names its pin");
	TAP_EQ(k->addr[0], 0xfee01000ull, "edge MSI address: physical dest 1");
	TAP_EQ(k->data[0], 0x4034u, "edge MSI data: vector 0x34, fixed, edge, assert");
	ioapic_set_irq(s, 4, 1);
	TAP_EQ(k->nmsi, 1u, "holding the line high delivers nothing more");
	ioapic_set_irq(s, 4, 0);
	TAP_EQ(k->nmsi, 1u, "falling edge delivers nothing");
	ioapic_set_irq(s, 4, 1);
	ioapic_set_irq(s, 4, 0);
	TAP_EQ(k->nmsi, 2u, "a second pulse delivers again");
	TAP_EQ(rte_read(s, 4) & IOAPIC_RTE_REMOTE_IRR, 0ull, "edge pins never set Remote IRR");

	rte_write(s, 4, rte(0x34, IOAPIC_DM_FIXED, false, false, true, 1));
	ioapic_set_irq(s, 4, 1);
	ioapic_set_irq(s, 4, 0);
	rte_write(s, 4, rte(0x34, IOAPIC_DM_FIXED, false, false, false, 1));
	TAP_EQ(k->nmsi, 2u, "edge while masked is lost, not delivered on unmask");
	ioapic_eoi(s, 0x34);
	TAP_EQ(k->nmsi, 2u, "EOI of an edge vector does nothing");
}

static void test_level(struct ioapic *s, struct sink *k)
{
	k->nmsi = 0;
	rte_write(s, 10, rte(0x41, IOAPIC_DM_FIXED, false, true, false, 0));
	ioapic_set_irq(s, 10, 1);
	TAP_EQ(k->nmsi, 1u, "level pin delivers when asserted");
	TAP_EQ(k->data[0], 0xc041u, "level MSI data has trigger and assert bits");
	tap_ok(rte_read(s, 10) & IOAPIC_RTE_REMOTE_IRR, "delivery sets Remote IRR");
	ioapic_set_irq(s, 10, 1);
	TAP_EQ(k->nmsi, 1u, "no re-delivery while Remote IRR is set");
	ioapic_eoi(s, 0x42);
	TAP_EQ(k->nmsi, 1u, "EOI of another vector is ignored");
	tap_ok(rte_read(s, 10) & IOAPIC_RTE_REMOTE_IRR, "Remote IRR survives a foreign EOI");
	ioapic_eoi(s, 0x41);
	TAP_EQ(k->nmsi, 2u, "EOI while still asserted re-delivers");
	tap_ok(rte_read(s, 10) & IOAPIC_RTE_REMOTE_IRR, "re-delivery sets Remote IRR again");
	ioapic_set_irq(s, 10, 0);
	ioapic_eoi(s, 0x41);
	TAP_EQ(k->nmsi, 2u, "EOI after deassert does not re-deliver");
	TAP_EQ(rte_read(s, 10) & IOAPIC_RTE_REMOTE_IRR, 0ull, "EOI clears Remote IRR");
	ioapic_eoi(s, 0x41);
	TAP_EQ(k->nmsi, 2u, "a stray EOI delivers nothing");
	ioapic_set_irq(s, 10, 1);
	TAP_EQ(k->nmsi, 3u, "next assertion delivers");

	/* Two pins sharing a vector: one EOI serves both. */
	rte_write(s, 11, rte(0x41, IOAPIC_DM_FIXED, false, true, false, 0));
	ioapic_set_irq(s, 11, 1);
	TAP_EQ(k->nmsi, 4u, "second pin on the same vector delivers");
	ioapic_set_irq(s, 10, 0);
	ioapic_eoi(s, 0x41);
	tap_ok(k->nmsi == 5 && k->pin[4] == 11,
	       "shared EOI re-delivers only the still-asserted pin");
	TAP_EQ(rte_read(s, 10) & IOAPIC_RTE_REMOTE_IRR, 0ull, "idle pin's Remote IRR cleared");
	ioapic_set_irq(s, 11, 0);
	ioapic_eoi(s, 0x41);

	/* Linux's EOI for IOAPICs without an EOI register: edge, then level. */
	ioapic_set_irq(s, 10, 1);
	TAP_EQ(k->nmsi, 6u, "delivered before the edge/level EOI");
	rte_write(s, 10, rte(0x41, IOAPIC_DM_FIXED, false, false, true, 0));
	TAP_EQ(rte_read(s, 10) & IOAPIC_RTE_REMOTE_IRR, 0ull,
	       "switching to edge clears Remote IRR");
	rte_write(s, 10, rte(0x41, IOAPIC_DM_FIXED, false, true, true, 0));
	TAP_EQ(k->nmsi, 6u, "masked level entry with the line high holds");
	rte_write(s, 10, rte(0x41, IOAPIC_DM_FIXED, false, true, false, 0));
	TAP_EQ(k->nmsi, 7u, "unmask re-delivers the held level request");
	ioapic_set_irq(s, 10, 0);
	ioapic_eoi(s, 0x41);

	/* The MMIO EOI register does not exist at version 0x11. */
	ioapic_set_irq(s, 10, 1);
	ioapic_mmio_ops.write(s, IOAPIC_EOI, 4, 0x41);
	tap_ok(rte_read(s, 10) & IOAPIC_RTE_REMOTE_IRR, "write to offset 0x40 is no EOI");
	ioapic_set_irq(s, 10, 0);
	ioapic_eoi(s, 0x41);
}

static void test_masking(struct ioapic *s, struct sink *k)
{
	k->nmsi = 0;
	rte_write(s, 12, rte(0x50, IOAPIC_DM_FIXED, false, true, true, 0));
	ioapic_set_irq(s, 12, 1);
	TAP_EQ(k->nmsi, 0u, "masked level pin delivers nothing");
	TAP_EQ(rte_read(s, 12) & IOAPIC_RTE_REMOTE_IRR, 0ull, "masked pin leaves Remote IRR clear");
	rte_write(s, 12, rte(0x50, IOAPIC_DM_FIXED, false, true, false, 0));
	TAP_EQ(k->nmsi, 1u, "unmasking an asserted level pin delivers");
	TAP_EQ(k->data[0], 0xc050u, "with the entry's vector");

	/* Masked while in service: EOI clears Remote IRR, unmask delivers. */
	rte_write(s, 12, rte(0x50, IOAPIC_DM_FIXED, false, true, true, 0));
	ioapic_eoi(s, 0x50);
	TAP_EQ(k->nmsi, 1u, "EOI of a masked, asserted pin delivers nothing");
	TAP_EQ(rte_read(s, 12) & IOAPIC_RTE_REMOTE_IRR, 0ull, "but clears its Remote IRR");
	rte_write(s, 12, rte(0x50, IOAPIC_DM_FIXED, false, true, false, 0));
	TAP_EQ(k->nmsi, 2u, "unmask then delivers");

	ioapic_set_irq(s, 12, 0);
	rte_write(s, 12, rte(0x50, IOAPIC_DM_FIXED, false, true, true, 0));
	ioapic_eoi(s, 0x50);
	rte_write(s, 12, rte(0x50, IOAPIC_DM_FIXED, false, true, false, 0));
	TAP_EQ(k->nmsi, 2u, "unmask of a deasserted pin delivers nothing");

	/* An edge pin switched to level with its line high is a request. */
	rte_write(s, 13, rte(0x51, IOAPIC_DM_FIXED, false, false, false, 0));
	ioapic_set_irq(s, 13, 1);
	TAP_EQ(k->nmsi, 3u, "edge delivery on pin 13");
	rte_write(s, 13, rte(0x51, IOAPIC_DM_FIXED, false, true, false, 0));
	TAP_EQ(k->nmsi, 4u, "edge -> level with the line high delivers");
	ioapic_set_irq(s, 13, 0);
	ioapic_eoi(s, 0x51);
}

static void test_msi_encoding(struct ioapic *s, struct sink *k)
{
	uint64_t addr, map[4];
	uint32_t data;

	k->nmsi = 0;
	rte_write(s, 14, rte(0x61, IOAPIC_DM_LOWEST, true, false, false, 0x0f));
	ioapic_set_irq(s, 14, 1);
	TAP_EQ(k->addr[0], 0xfee0f004ull,
	       "logical lowest-priority: dest 0x0f << 12, DM bit 2, no RH");
	TAP_EQ(k->data[0], 0x4161u, "lowest priority: delivery mode 1 in data bits 8-10");
	ioapic_set_irq(s, 14, 0);

	rte_write(s, 15, rte(0x62, IOAPIC_DM_FIXED, true, true, true, 0xff));
	ioapic_pin_msi(s, 15, &addr, &data);
	TAP_EQ(addr, 0xfeeff004ull, "ioapic_pin_msi of a masked logical broadcast entry");
	TAP_EQ(data, 0xc062u, "ioapic_pin_msi data: level, assert, vector");
	tap_ok(ioapic_vector_is_level(s, 0x62) && ioapic_vector_is_level(s, 0x41),
	       "level vectors reported, masked ones too");
	rte_write(s, 15, rte(0x02, IOAPIC_DM_NMI, false, false, true, 0x03) |
		  0x00fe000000000000ull);
	ioapic_pin_msi(s, 15, &addr, &data);
	TAP_EQ(addr, 0xfee03000ull, "reserved entry bits 48-55 stay out of the address");
	TAP_EQ(data, 0x4402u, "NMI delivery mode passes through");
	ioapic_pin_msi(s, IOAPIC_NUM_PINS, &addr, &data);
	tap_ok(addr == 0 && data == 0, "ioapic_pin_msi of a pin out of range is 0");

	tap_ok(!ioapic_vector_is_level(s, 0x61) && !ioapic_vector_is_level(s, 0x34) &&
	       !ioapic_vector_is_level(s, 0x100), "edge and bogus vectors are not level");
	rte_write(s, 15, rte(0xc0, IOAPIC_DM_FIXED, false, true, true, 0));
	ioapic_level_vectors(s, map);
	tap_ok((map[1] >> (0x41 - 64) & 1) && (map[1] >> (0x50 - 64) & 1) &&
	       (map[3] & 1) && !(map[1] >> (0x61 - 64) & 1) && !(map[0] & 1),
	       "level vector bitmap");
	rte_write(s, 15, IOAPIC_RTE_MASKED);
}

static void test_bad_access(struct ioapic *s, struct sink *k)
{
	uint32_t id = reg_read(s, IOAPIC_REG_ID);

	k->nmsi = 0;
	ioapic_mmio_ops.write(s, IOAPIC_IOREGSEL, 4, IOAPIC_REG_ID);
	TAP_EQ(ioapic_mmio_ops.read(s, IOAPIC_IOWIN, 1), 0u, "byte read of IOWIN reads 0");
	TAP_EQ(ioapic_mmio_ops.read(s, IOAPIC_IOWIN, 2), 0u, "word read of IOWIN reads 0");
	TAP_EQ(ioapic_mmio_ops.read(s, IOAPIC_IOWIN, 8), 0u, "qword read of IOWIN reads 0");
	ioapic_mmio_ops.write(s, IOAPIC_IOWIN, 1, 0x05);
	ioapic_mmio_ops.write(s, IOAPIC_IOWIN, 2, 0x0500);
	ioapic_mmio_ops.write(s, IOAPIC_IOWIN, 8, 0x0500000005000000ull);
	TAP_EQ(reg_read(s, IOAPIC_REG_ID), id, "non-dword IOWIN writes are ignored");
	ioapic_mmio_ops.write(s, IOAPIC_IOREGSEL, 8, IOAPIC_REG_VERSION);
	TAP_EQ(ioapic_mmio_ops.read(s, IOAPIC_IOREGSEL, 4), IOAPIC_REG_ID,
	       "qword IOREGSEL write is ignored");
	TAP_EQ(ioapic_mmio_ops.read(s, IOAPIC_IOREGSEL, 8), 0u, "qword IOREGSEL read is 0");
	TAP_EQ(ioapic_mmio_ops.read(s, 0x04, 4), 0u, "offset 0x04 reads 0");
	TAP_EQ(ioapic_mmio_ops.read(s, 0x11, 1), 0u, "unaligned offset 0x11 reads 0");
	TAP_EQ(ioapic_mmio_ops.read(s, 0x20, 4), 0u, "offset 0x20 reads 0");
	TAP_EQ(ioapic_mmio_ops.read(s, IOAPIC_EOI, 4), 0u, "EOI offset reads 0");
	TAP_EQ(ioapic_mmio_ops.read(s, 0xfc, 4), 0u, "last dword reads 0");
	TAP_EQ(ioapic_mmio_ops.read(s, ~0ull, 4), 0u, "huge offset reads 0");
	ioapic_mmio_ops.write(s, 0x20, 4, 0xffffffff);
	ioapic_mmio_ops.write(s, ~0ull, 4, 0xffffffff);
	ioapic_mmio_ops.write(s, 0x12, 4, 0xffffffff);
	TAP_EQ(reg_read(s, IOAPIC_REG_ID), id, "stray writes change nothing");

	ioapic_set_irq(s, IOAPIC_NUM_PINS, 1);
	ioapic_set_irq(s, ~0u, 1);
	ioapic_set_irq(s, 32, 1);
	TAP_EQ(k->nmsi, 0u, "pins out of range are ignored");
	TAP_EQ(ioapic_entry(s, IOAPIC_NUM_PINS), 0ull, "ioapic_entry out of range is 0");
}

static void test_hook(struct ioapic *s, struct sink *k)
{
	uint64_t e = rte(0x71, IOAPIC_DM_FIXED, false, true, false, 2);

	k->nchanged = 0;
	k->nmsi = 0;
	reg_write(s, IOAPIC_REG_REDTBL + 2 * 20 + 1, (uint32_t)(e >> 32));
	TAP_EQ(k->nchanged, 1u, "hook runs when the high half changes");
	TAP_EQ(k->changed_pin, 20u, "hook names the pin");
	ioapic_set_irq(s, 20, 1);	/* masked: nothing yet */
	reg_write(s, IOAPIC_REG_REDTBL + 2 * 20, (uint32_t)e);
	TAP_EQ(k->nchanged, 2u, "hook runs when the low half changes");
	TAP_EQ(k->nmsi, 1u, "the unmask delivered");
	TAP_EQ(k->msi_before_hook, 0u, "the hook ran before that delivery");
	tap_ok(k->route_addr == 0xfee02000ull && k->route_data == 0xc071u,
	       "hook sees the new message through ioapic_pin_msi");
	reg_write(s, IOAPIC_REG_REDTBL + 2 * 20, (uint32_t)e);
	TAP_EQ(k->nchanged, 2u, "rewriting the same value calls no hook");
	ioapic_set_irq(s, 20, 0);
	ioapic_eoi(s, 0x71);
	ioapic_set_irq(s, 20, 1);
	ioapic_eoi(s, 0x71);
	reg_write(s, IOAPIC_REG_ID, 0x05000000);
	TAP_EQ(k->nchanged, 2u, "pins, EOIs and other registers call no hook");
	ioapic_set_irq(s, 20, 0);
	ioapic_eoi(s, 0x71);
}

static void test_reset(struct ioapic *s, struct sink *k)
{
	k->nmsi = 0;
	k->nchanged = 0;
	rte_write(s, 21, rte(0x81, IOAPIC_DM_FIXED, false, true, false, 0));
	ioapic_set_irq(s, 21, 1);
	TAP_EQ(k->nmsi, 1u, "pin 21 delivered before reset");
	k->nchanged = 0;
	ioapic_reset(s);
	TAP_EQ(rte_read(s, 21), IOAPIC_RTE_MASKED, "reset masks and clears the entry");
	TAP_EQ(reg_read(s, IOAPIC_REG_ID), 0u, "reset clears the ID");
	TAP_EQ(k->nchanged, 0u, "reset calls no hook");
	rte_write(s, 21, rte(0x81, IOAPIC_DM_FIXED, false, true, false, 0));
	TAP_EQ(k->nmsi, 2u, "a line held across reset delivers once programmed");
}

int main(void)
{
	struct sink k;
	struct ioapic *s;

	memset(&k, 0, sizeof(k));
	tap_plan(98);

	tap_ok(ioapic_create(NULL, NULL, NULL) == NULL, "create without send_msi fails");
	s = ioapic_create(send_msi, entry_changed, &k);
	if (!tap_ok(s != NULL, "create"))
		return tap_done();
	k.s = s;

	test_registers(s, &k);
	test_edge(s, &k);
	test_level(s, &k);
	test_masking(s, &k);
	test_msi_encoding(s, &k);
	test_bad_access(s, &k);
	test_hook(s, &k);
	test_reset(s, &k);

	ioapic_destroy(s);
	return tap_done();
}
