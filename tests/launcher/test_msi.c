/* tests/launcher/test_msi.c: the MSI and MSI-X capabilities: message, masking, pending bits, the MSI-X table and PBA through their MMIO ops. */
#include <stdio.h>
#include <string.h>

#include "hw/msi.h"
#include "tap.h"

#define DEVFN	PCI_DEVFN(3, 0)

static struct pci_bus bus;
static struct pci_func fn;

static unsigned int sent, sent_vector;
static uint64_t sent_addr;
static uint32_t sent_data;

static void msi_record(void *ctx, unsigned int vector, uint64_t addr, uint32_t data)
{
	(void)ctx;
	sent++;
	sent_vector = vector;
	sent_addr = addr;
	sent_data = data;
}

static const struct msi_target target = { msi_record, NULL };

static uint32_t cfg_read(unsigned int off, unsigned int size)
{
	return pci_config_read(&bus, 0, DEVFN, off, size);
}

static void cfg_write(unsigned int off, unsigned int size, uint32_t v)
{
	pci_config_write(&bus, 0, DEVFN, off, size, v);
}

/* A function with INTA on slot 3, bus mastering on, no router. */
static void setup(void)
{
	pci_bus_init(&bus);
	pci_func_init(&fn, 0x1af4, 0x1041, 0x02000001, 0);
	pci_func_set_intx_pin(&fn, PCI_INTA);
	pci_bus_add(&bus, DEVFN, &fn);
	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	sent = 0;
	sent_addr = sent_data = 0;
}

static void test_msi_basic(void)
{
	struct pci_msi m;
	unsigned int c;

	setup();
	tap_ok(!pci_msi_init(&m, &fn, 4, true, &target), "MSI with 4 maskable vectors");
	c = m.cap;
	tap_ok(c == 0x40 && pci_cap_find(&fn, PCI_CAP_ID_MSI) == c &&
	       (cfg_read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST), "capability 05 at 0x40");
	tap_ok(cfg_read(c + PCI_MSI_FLAGS, 2) == 0x0184,
	       "flags: 64-bit, per-vector masking, 4 vectors capable, disabled");
	tap_ok(!pci_msi_notify(&m, 0) && sent == 0, "disabled: notify says use INTx");
	cfg_write(c + PCI_MSI_ADDRESS_LO, 4, 0xfee01003);
	cfg_write(c + PCI_MSI_ADDRESS_HI, 4, 0x00000001);
	cfg_write(c + PCI_MSI_DATA_64, 4, 0xffff4021);
	tap_ok(cfg_read(c + PCI_MSI_ADDRESS_LO, 4) == 0xfee01000 &&
	       cfg_read(c + PCI_MSI_DATA_64, 4) == 0x4021, "address dword aligned, data 16 bits");
	cfg_write(c + PCI_MSI_FLAGS, 2, 0xffff);
	tap_ok(cfg_read(c + PCI_MSI_FLAGS, 2) == 0x01f5 && pci_msi_enabled(&m),
	       "only enable and multiple message enable are writable");
	tap_ok(pci_msi_vectors(&m) == 4, "a multiple message enable above capable is clamped");
	cfg_write(c + PCI_MSI_FLAGS, 2, 0x0001);
	tap_ok(pci_msi_vectors(&m) == 1, "one vector enabled");
	tap_ok(pci_msi_notify(&m, 0) && sent == 1 && sent_addr == 0x1fee01000ull && sent_data == 0x4021,
	       "vector 0: the guest's 64-bit address and data");
	tap_ok(pci_msi_notify(&m, 3) && sent == 2 && sent_data == 0x4021,
	       "one vector enabled: every vector uses it");
	cfg_write(c + PCI_MSI_FLAGS, 2, 0x0021);	/* 4 vectors */
	pci_msi_notify(&m, 3);
	tap_ok(sent == 3 && sent_data == 0x4023 && sent_vector == 3,
	       "4 vectors: vector 3 replaces the data's low 2 bits, and is named to send()");
	pci_msi_notify(&m, 2);
	tap_ok(sent_data == 0x4022, "vector 2");
	cfg_write(c + PCI_MSI_FLAGS, 2, 0x0011);	/* 2 vectors */
	pci_msi_notify(&m, 3);
	tap_ok(sent_data == 0x4021, "2 vectors: vector 3 falls on the last, 1");
	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	tap_ok(pci_msi_notify(&m, 0) && sent == 5, "no bus mastering: the message is dropped");
	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg_write(c + PCI_MSI_FLAGS, 2, 0x0020);
	tap_ok(!pci_msi_notify(&m, 0) && sent == 5, "disabled again: INTx");
	pci_msi_reset(&m);
	tap_ok(cfg_read(c + PCI_MSI_FLAGS, 2) == 0x0184 && cfg_read(c + PCI_MSI_ADDRESS_LO, 4) == 0 &&
	       cfg_read(c + PCI_MSI_DATA_64, 2) == 0, "reset clears enable, vectors, address, data");
}

static void test_msi_mask(void)
{
	struct pci_msi m;
	unsigned int c;

	setup();
	pci_msi_init(&m, &fn, 4, true, &target);
	c = m.cap;
	cfg_write(c + PCI_MSI_ADDRESS_LO, 4, 0xfee00000);
	cfg_write(c + PCI_MSI_DATA_64, 2, 0x0030);
	cfg_write(c + PCI_MSI_MASK_64, 4, 0xffffffff);
	tap_ok(cfg_read(c + PCI_MSI_MASK_64, 4) == 0xf, "mask bits exist for the 4 vectors only");
	cfg_write(c + PCI_MSI_MASK_64, 4, 0x2);
	cfg_write(c + PCI_MSI_FLAGS, 2, 0x0021);
	tap_ok(pci_msi_notify(&m, 1) && sent == 0 && cfg_read(c + PCI_MSI_PENDING_64, 4) == 0x2,
	       "masked vector 1: not sent, pending bit 1 set");
	cfg_write(c + PCI_MSI_PENDING_64, 4, 0);
	tap_ok(cfg_read(c + PCI_MSI_PENDING_64, 4) == 0x2, "pending bits are read-only");
	pci_msi_notify(&m, 0);
	tap_ok(sent == 1 && sent_data == 0x30, "unmasked vector 0 still goes out");
	pci_msi_notify(&m, 1);
	tap_ok(sent == 1 && cfg_read(c + PCI_MSI_PENDING_64, 4) == 0x2, "a second event on the masked vector: still one pending");
	cfg_write(c + PCI_MSI_MASK_64, 4, 0);
	tap_ok(sent == 2 && sent_data == 0x31 && cfg_read(c + PCI_MSI_PENDING_64, 4) == 0,
	       "unmask delivers the pending message once and clears the bit");
	cfg_write(c + PCI_MSI_MASK_64, 4, 0);
	tap_ok(sent == 2, "nothing more on a second unmask");
	cfg_write(c + PCI_MSI_MASK_64, 4, 0x8);
	pci_msi_notify(&m, 3);
	cfg_write(c + PCI_MSI_FLAGS, 2, 0x0011);	/* down to 2 vectors */
	tap_ok(cfg_read(c + PCI_MSI_PENDING_64, 4) == 0, "vectors no longer enabled lose their pending bit");
	cfg_write(c + PCI_MSI_MASK_64, 4, 0x1);
	pci_msi_notify(&m, 0);
	cfg_write(c + PCI_MSI_FLAGS, 2, 0x0010);	/* disable */
	cfg_write(c + PCI_MSI_MASK_64, 4, 0);
	tap_ok(sent == 2 && cfg_read(c + PCI_MSI_PENDING_64, 4) == 1, "unmasked while disabled: held");
	cfg_write(c + PCI_MSI_FLAGS, 2, 0x0011);
	tap_ok(sent == 3 && sent_data == 0x30 && !cfg_read(c + PCI_MSI_PENDING_64, 4),
	       "delivered when MSI is enabled again");
}

static void test_msi_variants(void)
{
	struct pci_msi m, m2;

	setup();
	tap_ok(pci_msi_init(&m, &fn, 3, false, &target) == -1 &&
	       pci_msi_init(&m, &fn, 64, false, &target) == -1 &&
	       pci_msi_init(&m, &fn, 0, false, &target) == -1, "vector counts: powers of two up to 32");
	tap_ok(!pci_msi_init(&m, &fn, 1, false, &target) && m.cap == 0x40 &&
	       cfg_read(m.cap + PCI_MSI_FLAGS, 2) == 0x0080, "single vector, no masking");
	cfg_write(m.cap + PCI_MSI_MASK_64, 4, 0xffffffff);
	tap_ok(cfg_read(m.cap + PCI_MSI_MASK_64, 4) == 0, "no mask register");
	tap_ok(!pci_msi_init(&m2, &fn, 32, true, &target) && m2.cap == 0x50 &&
	       cfg_read(m2.cap + PCI_MSI_FLAGS, 2) == 0x018a, "a second one after it: 32 vectors");
	cfg_write(m2.cap + PCI_MSI_MASK_64, 4, 0xffffffff);
	tap_ok(cfg_read(m2.cap + PCI_MSI_MASK_64, 4) == 0xffffffff, "32 mask bits");
	cfg_write(m.cap + PCI_MSI_FLAGS, 2, 0x0071);
	tap_ok(pci_msi_vectors(&m) == 1, "single vector capable: always one");
	pci_msi_notify(&m, 0);
	tap_ok(sent == 1, "sent without masking");

	/* INTx stands down when MSI comes on */
	setup();
	pci_msi_init(&m, &fn, 1, false, &target);
	pci_func_set_intx(&fn, 1);
	tap_ok(bus.pirq_count[pci_intx_pirq(3, 0)] == 1, "INTx asserted while MSI is off");
	cfg_write(m.cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
	tap_ok(bus.pirq_count[pci_intx_pirq(3, 0)] == 0 && !(cfg_read(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT),
	       "enabling MSI deasserts INTx");
}

/* MSI-X table and PBA through the BAR's MMIO ops. */
static uint64_t mmio_read(struct pci_msix *x, uint64_t off, unsigned int size)
{
	return pci_msix_mmio_ops.read(x, off, size);
}

static void mmio_write(struct pci_msix *x, uint64_t off, unsigned int size, uint64_t v)
{
	pci_msix_mmio_ops.write(x, off, size, v);
}

static void test_msix_table(void)
{
	struct pci_msix x;
	struct pci_msi m;
	unsigned int c;
	bool all_masked = true;

	setup();
	pci_msi_init(&m, &fn, 1, false, &target);
	tap_ok(!pci_msix_init_bar(&x, &fn, 3, 1, &target), "MSI-X with 3 vectors in BAR 1");
	c = x.cap;
	tap_ok(c == 0x50 && pci_cap_find(&fn, PCI_CAP_ID_MSIX) == c && fn.cfg[m.cap + 1] == c,
	       "capability 11 chained after MSI");
	tap_ok(cfg_read(c + PCI_MSIX_FLAGS, 2) == 2 && cfg_read(c + PCI_MSIX_TABLE, 4) == 0x1 &&
	       cfg_read(c + PCI_MSIX_PBA, 4) == 0x31, "table size 3, table at BAR1+0, PBA at BAR1+0x30");
	cfg_write(PCI_BASE_ADDRESS_0 + 4, 4, 0xffffffff);
	tap_ok(cfg_read(PCI_BASE_ADDRESS_0 + 4, 4) == 0xfffff000 && fn.bar[1].ops == &pci_msix_mmio_ops &&
	       fn.bar[1].dev == &x, "BAR1: 4 KiB of memory served by pci_msix_mmio_ops");
	cfg_write(c + PCI_MSIX_FLAGS, 2, 0xffff);
	tap_ok(cfg_read(c + PCI_MSIX_FLAGS, 2) == 0xc002, "only enable and function mask are writable");
	cfg_write(c + PCI_MSIX_FLAGS, 2, 0);
	cfg_write(c + PCI_MSIX_TABLE, 4, 0xffffffff);
	tap_ok(cfg_read(c + PCI_MSIX_TABLE, 4) == 0x1, "table offset/BIR is read-only");
	for (unsigned int n = 0; n < 3; n++)
		all_masked &= mmio_read(&x, 16 * n + 12, 4) == 1 && mmio_read(&x, 16 * n, 8) == 0;
	tap_ok(all_masked, "entries come up masked and zero");
	mmio_write(&x, 0, 4, 0xfee00000);
	mmio_write(&x, 4, 4, 0x2);
	mmio_write(&x, 8, 4, 0x41);
	mmio_write(&x, 16, 8, 0x00000003fee01000ull);
	mmio_write(&x, 24, 8, 0x0000000100000042ull);
	tap_ok(mmio_read(&x, 0, 8) == 0x2fee00000ull && mmio_read(&x, 8, 4) == 0x41 &&
	       mmio_read(&x, 16, 4) == 0xfee01000 && mmio_read(&x, 20, 4) == 3 &&
	       mmio_read(&x, 24, 4) == 0x42 && mmio_read(&x, 28, 4) == 1,
	       "entries written and read as dwords and qwords");
	mmio_write(&x, 28, 4, 0xfffffffe);
	tap_ok(mmio_read(&x, 28, 4) == 0, "vector control: only the mask bit exists");
	mmio_write(&x, 28, 4, 0xffffffff);
	tap_ok(mmio_read(&x, 28, 4) == 1, "mask bit set");
	tap_ok(mmio_read(&x, 0x30, 8) == 0 && mmio_read(&x, 0x34, 4) == 0, "PBA clear");

	/* out of range, unaligned, wrong size */
	tap_ok(mmio_read(&x, 2, 4) == 0 && mmio_read(&x, 4, 8) == 0 && mmio_read(&x, 0, 2) == 0 &&
	       mmio_read(&x, 0, 1) == 0 && mmio_read(&x, 0x38, 4) == 0 && mmio_read(&x, 0xffc, 4) == 0 &&
	       mmio_read(&x, 1ull << 40, 8) == 0 && mmio_read(&x, ~7ull, 8) == 0,
	       "unaligned, byte/word, past the table and PBA: read 0");
	mmio_write(&x, 2, 4, 0xffffffff);
	mmio_write(&x, 4, 8, 0xffffffffffffffffull);
	mmio_write(&x, 0, 2, 0xffff);
	mmio_write(&x, 0, 1, 0xff);
	mmio_write(&x, 48, 4, 0xffffffff);
	mmio_write(&x, 0x30, 8, ~0ull);
	mmio_write(&x, ~3ull, 4, 1);
	tap_ok(mmio_read(&x, 0, 8) == 0x2fee00000ull && mmio_read(&x, 8, 4) == 0x41 &&
	       mmio_read(&x, 0x30, 8) == 0, "such writes, and writes to the PBA, are ignored");
	tap_ok(!pci_msix_notify(&x, 0) && sent == 0, "disabled: notify says use MSI or INTx");
	pci_msix_destroy(&x);
}

static void test_msix_delivery(void)
{
	struct pci_msix x;
	unsigned int c;

	setup();
	pci_msix_init_bar(&x, &fn, 3, 1, &target);
	c = x.cap;
	mmio_write(&x, 0, 8, 0xfee00000);
	mmio_write(&x, 8, 4, 0x50);
	mmio_write(&x, 16, 8, 0xfee01000);
	mmio_write(&x, 24, 4, 0x51);
	pci_func_set_intx(&fn, 1);
	cfg_write(c + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	tap_ok(pci_msix_enabled(&x) && bus.pirq_count[pci_intx_pirq(3, 0)] == 0,
	       "enabling MSI-X deasserts INTx");
	tap_ok(pci_msix_notify(&x, 0) && sent == 0 && mmio_read(&x, 0x30, 4) == 1,
	       "masked entry: PBA bit 0 set, nothing sent");
	mmio_write(&x, 12, 4, 0);
	tap_ok(sent == 1 && sent_addr == 0xfee00000 && sent_data == 0x50 && mmio_read(&x, 0x30, 4) == 0,
	       "unmasking the entry sends it and clears the PBA bit");
	pci_msix_notify(&x, 0);
	tap_ok(sent == 2, "unmasked entry: sent at once");
	mmio_write(&x, 28, 4, 0);
	cfg_write(c + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_msix_notify(&x, 1);
	pci_msix_notify(&x, 0);
	tap_ok(sent == 2 && mmio_read(&x, 0x30, 8) == 3, "function mask: both pending");
	mmio_write(&x, 12, 4, 1);
	cfg_write(c + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	tap_ok(sent == 3 && sent_data == 0x51 && sent_vector == 1 && mmio_read(&x, 0x30, 8) == 1,
	       "function unmasked: vector 1 sent, vector 0 still masked by its entry");
	mmio_write(&x, 12, 4, 0);
	tap_ok(sent == 4 && sent_data == 0x50 && mmio_read(&x, 0x30, 8) == 0, "entry unmasked: vector 0 sent");
	tap_ok(pci_msix_notify(&x, 3) && pci_msix_notify(&x, 2048) && sent == 4,
	       "vectors past the table are dropped");
	pci_msix_notify(&x, 2);
	tap_ok(sent == 4 && mmio_read(&x, 0x30, 4) == 4, "vector 2, never unmasked, stays pending");
	cfg_write(c + PCI_MSIX_FLAGS, 2, 0);
	mmio_write(&x, 44, 4, 0);
	tap_ok(sent == 4 && !pci_msix_notify(&x, 2), "unmasked while MSI-X is off: held, INTx instead");
	cfg_write(c + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	tap_ok(sent == 5 && mmio_read(&x, 0x30, 4) == 0, "sent when MSI-X is enabled again");
	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	tap_ok(pci_msix_notify(&x, 0) && sent == 5, "no bus mastering: dropped");
	pci_msix_reset(&x);
	tap_ok(!pci_msix_enabled(&x) && mmio_read(&x, 12, 4) == 1 && mmio_read(&x, 0, 8) == 0 &&
	       cfg_read(c + PCI_MSIX_FLAGS, 2) == 2, "reset: disabled, entries masked and zero");
	pci_msix_destroy(&x);
}

static void test_msix_layouts(void)
{
	struct pci_msix x;

	setup();
	tap_ok(pci_msix_init(&x, &fn, 0, 2, 0, 0x800, &target) == -1 &&
	       pci_msix_init(&x, &fn, 2049, 2, 0, 0x10000, &target) == -1 &&
	       pci_msix_init(&x, &fn, 4, 6, 0, 0x800, &target) == -1 &&
	       pci_msix_init(&x, &fn, 4, 2, 4, 0x800, &target) == -1 &&
	       pci_msix_init(&x, &fn, 4, 2, 0, 0x20, &target) == -1 &&
	       !fn.cfg[PCI_CAPABILITY_LIST], "bad counts, BIR, alignment, overlap: refused, nothing added");
	tap_ok(!pci_msix_init(&x, &fn, 4, 2, 0x1000, 0x800, &target) &&
	       cfg_read(x.cap + PCI_MSIX_TABLE, 4) == 0x1002 && cfg_read(x.cap + PCI_MSIX_PBA, 4) == 0x802,
	       "a shared BAR: table at 0x1000, PBA at 0x800");
	mmio_write(&x, 0x1008, 4, 0x77);
	tap_ok(mmio_read(&x, 0x1008, 4) == 0x77 && mmio_read(&x, 0x8, 4) == 0 &&
	       mmio_read(&x, 0x1040, 4) == 0, "offsets are BAR-relative");
	cfg_write(x.cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	pci_msix_notify(&x, 3);
	tap_ok(mmio_read(&x, 0x800, 8) == 8 && mmio_read(&x, 0x808, 8) == 0, "PBA at its offset");
	pci_msix_destroy(&x);

	setup();
	pci_msix_init_bar(&x, &fn, 300, 0, &target);
	tap_ok(fn.bar[0].size == 8192 && x.pba_off == 4800, "300 vectors: 8 KiB BAR, PBA at 4800");
	cfg_write(x.cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	pci_msix_notify(&x, 299);
	tap_ok(mmio_read(&x, 4800 + 32, 8) == 1ull << (299 - 256) && mmio_read(&x, 4800 + 40, 8) == 0,
	       "vector 299 pends in the fifth PBA qword; the sixth is outside");
	pci_msix_destroy(&x);
	pci_msix_destroy(&x);
	tap_ok(!x.table && !x.pba, "destroy is idempotent");
}

int main(void)
{
	tap_plan(69);
	test_msi_basic();
	test_msi_mask();
	test_msi_variants();
	test_msix_table();
	test_msix_delivery();
	test_msix_layouts();
	return tap_done();
}
