/* tests/launcher/test_pci.c: configuration mechanism 1, config-space masks, BARs (I/O, 32/64-bit memory), capabilities, INTx routing and the i440FX/PIIX3 functions. */
#include <stdio.h>
#include <string.h>

#include "hw/piix.h"
#include "tap.h"

static struct pci_bus bus;
static struct i440fx host;
static struct piix3_isa isa;
static struct piix_ide ide;

static int pam_calls, rcr_calls, rcr_val;
static uint64_t map_old, map_new;
static bool map_io;
static const struct pci_func *map_func;
static unsigned int map_calls, map_bar;
static uint64_t map_at[PCI_NUM_BARS];

/* The ISA IRQ lines the PIIX3 drives. */
static int isa_level[PIIX3_NUM_ISA_IRQ];
static unsigned int isa_calls;

static void pam_changed(void *ctx, struct i440fx *h)
{
	(void)ctx;
	(void)h;
	pam_calls++;
}

static void rcr_write(void *ctx, uint8_t v)
{
	(void)ctx;
	rcr_calls++;
	rcr_val = v;
}

static void bar_moved(void *ctx, struct pci_func *f, unsigned int n,
		      uint64_t old, uint64_t new_base)
{
	(void)ctx;
	map_calls++;
	map_func = f;
	map_io = f->bar[n].io;
	map_bar = n;
	map_at[n] = new_base;
	map_old = old;
	map_new = new_base;
}


static void isa_irq_set(void *ctx, unsigned int irq, int level)
{
	(void)ctx;
	isa_level[irq] = level;
	isa_calls++;
}

static uint32_t cfg_addr(unsigned int devfn, unsigned int off)
{
	return 0x80000000u | devfn << 8 | (off & 0xfc);
}

/* Through the ports, as a guest does. */
static uint32_t cfg_read(unsigned int devfn, unsigned int off, unsigned int size)
{
	pci_addr_ops.write(&bus, 0, 4, cfg_addr(devfn, off));
	return pci_data_ops.read(&bus, off & 3, size);
}

static void cfg_write(unsigned int devfn, unsigned int off, unsigned int size,
		      uint32_t v)
{
	pci_addr_ops.write(&bus, 0, 4, cfg_addr(devfn, off));
	pci_data_ops.write(&bus, off & 3, size, v);
}

static void setup(void)
{
	static const struct irq_line irq[2] = { { NULL, NULL, 14 }, { NULL, NULL, 15 } };

	piix_ide_destroy(&ide);
	pci_bus_init(&bus);
	bus.rcr_write = rcr_write;
	bus.bar_moved = bar_moved;
	i440fx_init(&host);
	host.pam_changed = pam_changed;
	piix3_isa_init(&isa);
	piix_ide_init(&ide, irq, NULL, 0xc000);
	pci_bus_add(&bus, I440FX_DEVFN, &host.pci);
	pci_bus_add(&bus, PIIX3_ISA_DEVFN, &isa.pci);
	pci_bus_add(&bus, PIIX3_IDE_DEVFN, &ide.pci);
	map_calls = 0;
	pci_bus_update_bars(&bus, &ide.pci);
	pam_calls = rcr_calls = 0;
}

static void test_mechanism1(void)
{
	setup();
	tap_ok(cfg_read(I440FX_DEVFN, 0, 4) == 0x12378086, "00.0 is the i440FX 8086:1237");
	tap_ok(cfg_read(PIIX3_ISA_DEVFN, 0, 4) == 0x70008086, "01.0 is the PIIX3 ISA bridge 8086:7000");
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, 0, 4) == 0x70108086, "01.1 is the PIIX3 IDE 8086:7010");
	tap_ok(cfg_read(I440FX_DEVFN, 2, 2) == 0x1237 && cfg_read(I440FX_DEVFN, 1, 1) == 0x80 &&
	       cfg_read(I440FX_DEVFN, 3, 1) == 0x12, "word and byte reads through 0xcfc-0xcff");
	tap_ok(cfg_read(I440FX_DEVFN, 0x08, 4) == 0x06000002, "host bridge class and revision");
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, 0x08, 4) == 0x01018000, "IDE class 0101, prog-if 80 (legacy, bus master)");
	tap_ok(cfg_read(PIIX3_ISA_DEVFN, 0x0e, 1) == 0x80 && cfg_read(I440FX_DEVFN, 0x0e, 1) == 0,
	       "ISA bridge is multi-function, host bridge is not");
	tap_ok(cfg_read(PCI_DEVFN(2, 0), 0, 4) == 0xffffffffu &&
	       cfg_read(PCI_DEVFN(1, 2), 0, 2) == 0xffff &&
	       cfg_read(PCI_DEVFN(31, 7), 0x3c, 1) == 0xff, "absent functions read all ones");
	pci_addr_ops.write(&bus, 0, 4, 0x80010000);	/* bus 1 */
	tap_ok(pci_data_ops.read(&bus, 0, 4) == 0xffffffffu, "bus 1 reads all ones");
	pci_addr_ops.write(&bus, 0, 4, 0x00000000);	/* enable clear */
	tap_ok(pci_data_ops.read(&bus, 0, 4) == 0xffffffffu, "enable bit clear: all ones");
	pci_data_ops.write(&bus, 0, 4, 0);
	pci_addr_ops.write(&bus, 0, 4, 0xffffffff);
	tap_ok(pci_addr_ops.read(&bus, 0, 4) == 0x80fffffc, "address latch keeps enable, bus, devfn, register");
	pci_addr_ops.write(&bus, 0, 4, cfg_addr(0, 0));
	tap_ok(pci_data_ops.read(&bus, 1, 4) == 0xffffffffu, "an access crossing the dword reads all ones");
	pci_addr_ops.write(&bus, 0, 2, 0x1234);
	tap_ok(pci_addr_ops.read(&bus, 0, 4) == cfg_addr(0, 0), "non-dword writes do not change the latch");
	tap_ok(pci_config_read(&bus, 0, 0, 0xfe, 4) == 0xffffffffu &&
	       pci_config_read(&bus, 0, 0, 0x101, 1) == 0xff, "out-of-range offsets read all ones");
	pci_config_write(&bus, 0, 0, 0x100, 4, 0);
	tap_ok(cfg_read(PCI_DEVFN(7, 0), 0x10, 4) == 0xffffffffu, "writes to absent functions vanish");
	cfg_write(PCI_DEVFN(7, 0), 0x10, 4, 0);
	tap_ok(cfg_read(I440FX_DEVFN, 0x40, 4) == 0, "unimplemented registers of a present function read 0");
}

static void test_masks(void)
{
	setup();
	cfg_write(I440FX_DEVFN, 0, 4, 0);
	tap_ok(cfg_read(I440FX_DEVFN, 0, 4) == 0x12378086, "IDs are read-only");
	cfg_write(PIIX3_IDE_DEVFN, PCI_COMMAND, 2, 0xffff);
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, PCI_COMMAND, 2) == 0x0507, "command: only implemented bits stick");
	ide.pci.cfg[PCI_STATUS + 1] |= 0x30;		/* device saw aborts */
	cfg_write(PIIX3_IDE_DEVFN, PCI_STATUS, 2, 0x1000);
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, PCI_STATUS, 2) == 0x2280, "status error bits are write-one-to-clear");
	cfg_write(PIIX3_IDE_DEVFN, PCI_INTERRUPT_LINE, 1, 14);
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, PCI_INTERRUPT_LINE, 1) == 14, "interrupt line is a scratch byte");
	cfg_write(PIIX3_IDE_DEVFN, 0x08, 4, 0xffffffff);
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, 0x08, 4) == 0x01018000, "class is read-only");
}

static void test_bars(void)
{
	setup();
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, 0x20, 4) == 0xc001, "BAR4 preset: I/O at 0xc000");
	tap_ok(map_calls == 1 && map_bar == 4 && map_old == 0 && map_new == 0xc000,
	       "the bus announced BAR4 at 0xc000");
	cfg_write(PIIX3_IDE_DEVFN, 0x20, 4, 0xffffffff);
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, 0x20, 4) == 0xfffffff1u,
	       "BAR4 sizing: 16 bytes of I/O (0xfffffff1, as QEMU and SeaBIOS expect)");
	tap_ok(map_calls == 2 && map_old == 0xc000 && map_new == 0xfff0, "sizing moves the decode");
	cfg_write(PIIX3_IDE_DEVFN, 0x20, 4, 0xd008);
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, 0x20, 4) == 0xd001 && pci_func_bar_addr(&ide.pci, 4) == 0xd000,
	       "BAR4 programmed to 0xd000 (low bits forced)");
	tap_ok(map_old == 0xfff0 && map_new == 0xd000, "moved to 0xd000");
	cfg_write(PIIX3_IDE_DEVFN, PCI_COMMAND, 2, 0);
	tap_ok(map_calls == 4 && map_new == 0, "I/O disable unmaps");
	cfg_write(PIIX3_IDE_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_IO);
	tap_ok(map_calls == 5 && map_new == 0xd000, "I/O enable maps again");
	cfg_write(PIIX3_IDE_DEVFN, 0x10, 4, 0xffffffff);
	cfg_write(PIIX3_IDE_DEVFN, 0x24, 4, 0xffffffff);
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, 0x10, 4) == 0 && cfg_read(PIIX3_IDE_DEVFN, 0x24, 4) == 0 &&
	       map_calls == 5, "unimplemented BARs size to 0");
	cfg_write(PIIX3_IDE_DEVFN, 0x30, 4, 0xffffffff);
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, 0x30, 4) == 0, "no expansion ROM");

	/* a memory BAR on a scratch function */
	{
		struct pci_func f;

		pci_func_init(&f, 0x1234, 0x5678, 0, 0);
		pci_func_set_bar(&f, 0, 0x1000, false, NULL, NULL);
		pci_bus_add(&bus, PCI_DEVFN(5, 0), &f);
		tap_ok(pci_bus_add(&bus, PCI_DEVFN(5, 0), &f) == -1, "a devfn can be taken once");
		cfg_write(PCI_DEVFN(5, 0), 0x10, 4, 0xffffffff);
		tap_ok(cfg_read(PCI_DEVFN(5, 0), 0x10, 4) == 0xfffff000, "memory BAR sizing: 4 KiB");
		bus.func[PCI_DEVFN(5, 0)] = NULL;
	}
}

static void test_i440fx(void)
{
	struct pam_region r;

	setup();
	i440fx_pam_region(&host, 0, &r);
	tap_ok(r.base == 0xf0000 && r.size == 0x10000 && r.attr == PAM_OFF, "PAM0: BIOS area, DRAM off at reset");
	cfg_write(I440FX_DEVFN, 0x59, 1, 0xff);
	tap_ok(cfg_read(I440FX_DEVFN, 0x59, 1) == 0x30 && pam_calls == 1, "PAM0 only has the high nibble; callback");
	i440fx_pam_region(&host, 0, &r);
	tap_ok(r.attr == PAM_RW, "PAM0 read/write");
	cfg_write(I440FX_DEVFN, 0x5a, 2, 0x1312);	/* PAM1 = 0x12, PAM2 = 0x13 */
	i440fx_pam_region(&host, 1, &r);
	tap_ok(r.base == 0xc0000 && r.size == 0x4000 && r.attr == PAM_WO, "PAM1 low: 0xc0000 write-only");
	i440fx_pam_region(&host, 2, &r);
	tap_ok(r.base == 0xc4000 && r.attr == PAM_RO, "PAM1 high: 0xc4000 read-only");
	i440fx_pam_region(&host, 3, &r);
	tap_ok(r.base == 0xc8000 && r.attr == PAM_RW, "PAM2 low: 0xc8000 read/write");
	i440fx_pam_region(&host, 12, &r);
	tap_ok(r.base == 0xec000 && r.attr == PAM_OFF, "PAM6 high: 0xec000");
	i440fx_pam_region(&host, 13, &r);
	tap_ok(r.size == 0, "no region 13");
	tap_ok(pam_calls == 2, "one callback per write");
	cfg_write(I440FX_DEVFN, 0x5c, 4, 0xffffffff);	/* PAM3..6 */
	tap_ok(cfg_read(I440FX_DEVFN, 0x5c, 4) == 0x33333333, "PAM3-6 reserved bits stay 0");
	cfg_write(I440FX_DEVFN, 0x50, 4, 0xffffffff);
	tap_ok(pam_calls == 3, "a dword write covering PAM0 calls back");
	pam_calls = 0;
	cfg_write(I440FX_DEVFN, 0x70, 1, 1);
	tap_ok(pam_calls == 0, "unrelated registers do not");
	tap_ok(i440fx_smram(&host) == 0x02, "SMRAM reset value");
	cfg_write(I440FX_DEVFN, I440FX_SMRAM, 1, 0x4a);
	tap_ok(i440fx_smram(&host) == 0x4a && pam_calls == 1, "SMRAM D_OPEN|G_SMRAME, callback");
	cfg_write(I440FX_DEVFN, I440FX_SMRAM, 1, 0x1a);
	cfg_write(I440FX_DEVFN, I440FX_SMRAM, 1, 0x4a);
	tap_ok(i440fx_smram(&host) == 0x1a, "D_LCK: D_OPEN can no longer be set");
	i440fx_reset(&host);
	cfg_write(I440FX_DEVFN, I440FX_SMRAM, 1, 0x40);
	tap_ok(i440fx_smram(&host) == 0x42, "reset releases the lock");
}

static void test_piix3(void)
{
	setup();
	tap_ok(piix3_pirq_route(&isa, 0) == -1 && cfg_read(PIIX3_ISA_DEVFN, 0x60, 4) == 0x80808080,
	       "PIRQ routing disabled at reset");
	cfg_write(PIIX3_ISA_DEVFN, 0x60, 4, 0x0b0a0b0a);
	tap_ok(piix3_pirq_route(&isa, 0) == 10 && piix3_pirq_route(&isa, 1) == 11 &&
	       piix3_pirq_route(&isa, 3) == 11, "PIRQA-D routed to 10/11");
	cfg_write(PIIX3_ISA_DEVFN, 0x62, 1, 0xff);
	tap_ok(cfg_read(PIIX3_ISA_DEVFN, 0x62, 1) == 0x8f && piix3_pirq_route(&isa, 2) == -1,
	       "reserved bits masked, bit 7 disables");
	cfg_write(PIIX3_ISA_DEVFN, 0x62, 1, 0x02);
	tap_ok(piix3_pirq_route(&isa, 2) == -1, "IRQ 2 is not a valid route");
	tap_ok(piix3_pirq_route(&isa, 4) == -1, "there is no PIRQE");

	pci_addr_ops.write(&bus, 1, 1, 0x06);
	tap_ok(rcr_calls == 1 && rcr_val == 0x06 && pci_addr_ops.read(&bus, 1, 1) == 0x02,
	       "0xcf9 reset control reaches the hook");
}

static void test_ide_function(void)
{
	struct ide_backend be;
	char err[64];

	setup();
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, 0x40, 4) == 0x80008000, "IDETIM: both channels decode");
	tap_ok(cfg_read(PIIX3_IDE_DEVFN, PCI_INTERRUPT_PIN, 1) == 0, "legacy mode: no INTx pin");
	tap_ok(piix_ide_cmd_ops.read(&ide.port[0], 7, 1) == 0xff, "empty primary channel floats");
	be = (struct ide_backend){ .size = 0 };
	tap_ok(ide_drive_attach(&ide.ch[0], 0, IDE_MEDIA_DISK, &be, err, sizeof(err)) == -1,
	       "an empty backend is refused");
	ide.ch[0].drive[0].media = IDE_MEDIA_NONE;
	/* a CD-ROM without medium needs no backend */
	tap_ok(!ide_drive_attach(&ide.ch[1], 0, IDE_MEDIA_CDROM, NULL, err, sizeof(err)),
	       "empty CD-ROM on the secondary master");
	tap_ok(piix_ide_cmd_ops.read(&ide.port[1], 4, 1) == 0x14 &&
	       piix_ide_cmd_ops.read(&ide.port[1], 5, 1) == 0xeb, "legacy ports reach the channel");
	cfg_write(PIIX3_IDE_DEVFN, 0x42, 2, 0x0000);
	tap_ok(piix_ide_cmd_ops.read(&ide.port[1], 4, 1) == 0xff &&
	       piix_ide_ctl_ops.read(&ide.port[1], 0, 1) == 0xff, "IDETIM decode off: ports float");
	piix_ide_cmd_ops.write(&ide.port[1], 6, 1, 0x10);
	cfg_write(PIIX3_IDE_DEVFN, 0x42, 2, 0x8000);
	tap_ok(ide.ch[1].cur == 0, "writes are dropped while decode is off");
	cfg_write(PIIX3_IDE_DEVFN, PCI_COMMAND, 2, 0);
	tap_ok(piix_ide_cmd_ops.read(&ide.port[1], 4, 1) == 0xff, "PCI I/O disable: ports float");
	tap_ok(!ide.ch[0].bus_master && !ide.ch[1].bus_master, "bus master off at reset");
	cfg_write(PIIX3_IDE_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	tap_ok(ide.ch[0].bus_master && ide.ch[1].bus_master, "bus master enable reaches the channels");
	piix_ide_bm_ops.write(&ide, 12, 4, 0x1000);
	piix_ide_bm_ops.write(&ide, 4, 4, 0x12342000);
	tap_ok(ide.ch[1].bm.prdt == 0x1000 && ide.ch[0].bm.prdt == 0x12342000,
	       "BAR4: channel 0 at 0-7, channel 1 at 8-15");
	tap_ok(piix_ide_bm_ops.read(&ide, 10, 1) == BM_ST_DMA0, "secondary bus-master status");
	tap_ok(piix_ide_bm_ops.read(&ide, 6, 4) == 0x1234 && piix_ide_bm_ops.read(&ide, 8, 4) == BM_ST_DMA0 << 16 && piix_ide_bm_ops.read(&ide, 16, 1) == 0xff,
	       "accesses spanning the channels split; past the BAR read ones");
	piix_ide_reset(&ide);
	tap_ok(ide.ch[1].bm.prdt == 0 && cfg_read(PIIX3_IDE_DEVFN, 0x20, 4) == 0xc001,
	       "function reset restores BAR4 and clears the channels");
}

static void test_mem_bars(void)
{
	static struct pci_func fn, g;
	const unsigned int d = PCI_DEVFN(3, 0), dg = PCI_DEVFN(4, 0);

	setup();
	pci_func_init(&fn, 0x1af4, 0x1000, 0x02000000, 0);
	pci_func_set_mem_bar(&fn, 1, 0x1000, 0, NULL, NULL);
	pci_func_set_mem_bar(&fn, 2, 0x4000, PCI_BAR_MEM_64 | PCI_BAR_MEM_PREFETCH, NULL, NULL);
	pci_bus_add(&bus, d, &fn);
	map_calls = 0;
	memset(map_at, 0, sizeof(map_at));
	cfg_write(d, 0x14, 4, 0xffffffff);
	tap_ok(cfg_read(d, 0x14, 4) == 0xfffff000 && map_calls == 0,
	       "32-bit memory BAR sizes as 4 KiB; memory decode off: nothing announced");
	tap_ok(cfg_read(d, 0x18, 4) == 0x0000000c && cfg_read(d, 0x1c, 4) == 0,
	       "64-bit prefetchable BAR: type bits 0xc, high half 0");
	cfg_write(d, 0x18, 4, 0xffffffff);
	cfg_write(d, 0x1c, 4, 0xffffffff);
	tap_ok(cfg_read(d, 0x18, 4) == 0xffffc00c && cfg_read(d, 0x1c, 4) == 0xffffffff,
	       "64-bit BAR sizing: 16 KiB over both halves");
	cfg_write(d, 0x14, 4, 0xfebf1000);
	cfg_write(d, 0x18, 4, 0x00004000);
	cfg_write(d, 0x1c, 4, 0x8);
	tap_ok(pci_func_bar_addr(&fn, 1) == 0xfebf1000 && pci_func_bar_addr(&fn, 2) == 0x800004000ull &&
	       pci_func_bar_addr(&fn, 3) == 0 && map_calls == 0,
	       "addresses programmed (one above 4 GiB), still not announced");
	cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	tap_ok(map_calls == 2 && map_at[1] == 0xfebf1000 && map_at[2] == 0x800004000ull &&
	       !map_io && map_func == &fn && fn.bar[2].mapped == 0x800004000ull,
	       "memory enable announces both memory BARs through bar_moved");
	cfg_write(d, 0x1c, 4, 0x9);
	tap_ok(map_calls == 3 && map_bar == 2 && map_old == 0x800004000ull && map_new == 0x900004000ull,
	       "a write to the high half moves the 64-bit BAR");
	cfg_write(d, 0x14, 4, 0xffffffff);
	tap_ok(map_calls == 4 && map_bar == 1 && map_old == 0xfebf1000 && map_new == 0,
	       "sizing with decode on: the BAR at the top of 4 GiB does not decode");
	cfg_write(d, 0x14, 4, 0xfebf1000);
	tap_ok(map_calls == 5 && map_at[1] == 0xfebf1000, "programmed back");
	cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	tap_ok(map_calls == 5, "I/O enable leaves memory BARs alone");
	cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_IO);
	tap_ok(map_calls == 7 && map_at[1] == 0 && map_at[2] == 0, "memory disable unmaps both");
	cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cfg_write(d, 0x18, 4, 0xffffffff);
	cfg_write(d, 0x1c, 4, 0xffffffff);
	tap_ok(map_calls == 11 && map_at[2] == 0, "a 64-bit BAR sized in both halves wraps: not decoding");
	cfg_write(d, 0x18, 4, 0x00004000);
	cfg_write(d, 0x1c, 4, 0x8);
	tap_ok(map_at[2] == 0x800004000ull, "64-bit BAR programmed again");
	pci_bus_remove(&bus, d);
	tap_ok(map_at[1] == 0 && map_at[2] == 0 && !fn.bar[1].mapped && !bus.func[d] && !fn.bus,
	       "removing the function announces its BARs gone");

	pci_func_init(&g, 0x1234, 0x0001, 0, 0);
	pci_func_set_mem_bar(&g, 5, 0x1000, PCI_BAR_MEM_64, NULL, NULL);
	pci_func_set_mem_bar(&g, 0, 1ull << 32, 0, NULL, NULL);
	tap_ok(!g.bar[5].size && !g.bar[0].size, "no 64-bit BAR at BAR5, no 32-bit BAR of 4 GiB");
	pci_func_set_mem_bar(&g, 0, 1ull << 33, PCI_BAR_MEM_64, NULL, NULL);
	pci_bus_add(&bus, dg, &g);
	cfg_write(dg, 0x10, 4, 0xffffffff);
	cfg_write(dg, 0x14, 4, 0xffffffff);
	tap_ok(cfg_read(dg, 0x10, 4) == 0x4 && cfg_read(dg, 0x14, 4) == 0xfffffffe,
	       "an 8 GiB 64-bit BAR sizes as 0xfffffffe_00000004");
	pci_bus_remove(&bus, dg);
}


static void test_caps(void)
{
	static struct pci_func fn, g;
	const unsigned int d = PCI_DEVFN(6, 0);
	unsigned int a, b, off, n, last = 0, ids[4] = { 0 };

	setup();
	pci_func_init(&fn, 0x1af4, 0x1041, 0x02000001, 0);
	tap_ok(!(cfg_read(PIIX3_IDE_DEVFN, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) &&
	       cfg_read(PIIX3_IDE_DEVFN, PCI_CAPABILITY_LIST, 1) == 0 && !pci_cap_find(&fn, 0x05),
	       "no capabilities: status bit clear, pointer 0");
	a = pci_cap_add(&fn, 0x09, 6);
	b = pci_cap_add(&fn, 0x05, 0x18);
	tap_ok(a == 0x40 && b == 0x48, "capabilities at 0x40 and at the next dword, 0x48");
	pci_bus_add(&bus, d, &fn);
	tap_ok(cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, "status: capabilities list");
	/* walk as a guest does */
	off = cfg_read(d, PCI_CAPABILITY_LIST, 1);
	for (n = 0; off && n < 4; n++) {
		ids[n] = cfg_read(d, off, 1);
		last = off;
		off = cfg_read(d, off + 1, 1);
	}
	tap_ok(n == 2 && ids[0] == 0x09 && ids[1] == 0x05 && last == 0x48,
	       "the list walks 0x34 -> 0x40 (09) -> 0x48 (05) -> end");
	tap_ok(pci_cap_find(&fn, 0x05) == 0x48 && pci_cap_find(&fn, 0x09) == 0x40 &&
	       !pci_cap_find(&fn, 0x11), "pci_cap_find");
	cfg_write(d, 0x40, 4, 0xffffffff);
	cfg_write(d, PCI_CAPABILITY_LIST, 1, 0);
	cfg_write(d, PCI_STATUS, 2, 0xffff);
	tap_ok(cfg_read(d, 0x40, 2) == 0x4809 && cfg_read(d, PCI_CAPABILITY_LIST, 1) == 0x40 &&
	       (cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST), "headers, pointer and status bit are read-only");
	for (n = 0; (off = pci_cap_add(&fn, 0x09, 16)); n++)
		last = off;
	tap_ok(n == 10 && last == 0xf0, "ten more from 0x60 fill up to 0xf0-0xff, then pci_cap_add returns 0");
	tap_ok(!pci_cap_add(&fn, 0x09, 2), "even a 2-byte capability no longer fits");

	pci_func_init(&g, 0x1234, 0x0003, 0, 0);
	tap_ok(!pci_cap_add(&g, 0x09, 1) && !pci_cap_add(&g, 0x09, 0xc1),
	       "too small or too large for the space: 0");
	g.cap_end = 0x51;
	tap_ok(pci_cap_add(&g, 0x09, 4) == 0x54 && g.cfg[PCI_CAPABILITY_LIST] == 0x54,
	       "cap_end moves the start past a model's own registers, dword aligned");
	bus.func[d] = NULL;
}

/* Functions with INTx pins, routed through the PIIX3 to isa_level[]. */
static struct pci_func intx_fn[4];

static void intx_setup(void)
{
	struct irq_line lines[PIIX3_NUM_ISA_IRQ];

	setup();
	for (unsigned int i = 0; i < PIIX3_NUM_ISA_IRQ; i++)
		lines[i] = (struct irq_line){ isa_irq_set, NULL, i };
	memset(isa_level, 0, sizeof(isa_level));
	isa_calls = 0;
	piix3_isa_route_intx(&isa, &bus, lines);
}

static struct pci_func *intx_add(unsigned int i, unsigned int devfn, unsigned int pin)
{
	struct pci_func *f = &intx_fn[i];

	pci_func_init(f, 0x1af4, 0x1000 + i, 0x02000000, 0);
	pci_func_set_intx_pin(f, pin);
	pci_bus_add(&bus, devfn, f);
	return f;
}

static bool isa_only(int irq)
{
	for (int i = 0; i < PIIX3_NUM_ISA_IRQ; i++)
		if (isa_level[i] != (i == irq))
			return false;
	return true;
}

static void test_intx_swizzle(void)
{
	static const struct { unsigned int devfn, pin; int irq; const char *what; } c[] = {
		{ PCI_DEVFN(2, 0), PCI_INTA, 9, "slot 2 INTA -> PIRQB -> IRQ 9" },
		{ PCI_DEVFN(3, 0), PCI_INTA, 10, "slot 3 INTA -> PIRQC -> IRQ 10" },
		{ PCI_DEVFN(4, 0), PCI_INTA, 11, "slot 4 INTA -> PIRQD -> IRQ 11" },
		{ PCI_DEVFN(5, 0), PCI_INTA, 5, "slot 5 INTA -> PIRQA -> IRQ 5" },
		{ PCI_DEVFN(3, 2), PCI_INTC, 5, "slot 3 function 2 INTC -> PIRQA -> IRQ 5" },
		{ PCI_DEVFN(1, 3), PCI_INTD, 11, "slot 1 function 3 INTD -> PIRQD -> IRQ 11" },
	};

	tap_ok(pci_intx_pirq(1, 0) == 0 && pci_intx_pirq(0, 0) == 3 && pci_intx_pirq(2, 0) == 1 &&
	       pci_intx_pirq(1, 3) == 3 && pci_intx_pirq(31, 1) == 3,
	       "swizzle: PIRQ (slot + pin - 1) mod 4, pin 0 = INTA (QEMU's i440FX, SeaBIOS)");
	for (unsigned int i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct pci_func *f;
		bool up, down;

		intx_setup();
		cfg_write(PIIX3_ISA_DEVFN, PIIX3_PIRQRC, 4, 0x0b0a0905);	/* A 5, B 9, C 10, D 11 */
		f = intx_add(0, c[i].devfn, c[i].pin);
		tap_ok(cfg_read(c[i].devfn, PCI_INTERRUPT_PIN, 1) == c[i].pin, "pin register");
		pci_func_set_intx(f, 1);
		up = isa_only(c[i].irq);
		pci_func_set_intx(f, 0);
		down = isa_only(-1);
		tap_ok(up && down && isa_calls == 2, "%s", c[i].what);
		bus.func[c[i].devfn] = NULL;
	}
}

static void test_intx_sharing(void)
{
	struct pci_func *a, *b, *c;

	intx_setup();
	piix3_set_default_routing(&isa, 10, 10, 11, 11);
	a = intx_add(0, PCI_DEVFN(2, 0), PCI_INTA);	/* PIRQB */
	b = intx_add(1, PCI_DEVFN(6, 0), PCI_INTA);	/* PIRQB */
	c = intx_add(2, PCI_DEVFN(5, 0), PCI_INTA);	/* PIRQA, also IRQ 10 */
	pci_func_set_intx(a, 1);
	tap_ok(isa_only(10) && isa_calls == 1 && bus.pirq_count[1] == 1, "first function raises IRQ 10");
	tap_ok(cfg_read(PCI_DEVFN(2, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, "its status shows the interrupt");
	pci_func_set_intx(b, 1);
	pci_func_set_intx(b, 1);
	tap_ok(isa_only(10) && isa_calls == 1 && bus.pirq_count[1] == 2, "second function on the same PIRQ: counted once each");
	pci_func_set_intx(a, 0);
	tap_ok(isa_only(10) && isa_calls == 1, "one deasserts: the PIRQ stays high");
	tap_ok(!(cfg_read(PCI_DEVFN(2, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT) &&
	       (cfg_read(PCI_DEVFN(6, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT), "status bits are per function");
	pci_func_set_intx(c, 1);
	tap_ok(isa_only(10) && isa_calls == 1, "PIRQA joins on IRQ 10: still one level");
	pci_func_set_intx(b, 0);
	tap_ok(isa_only(10) && bus.pirq_count[1] == 0, "PIRQB idle, PIRQA holds IRQ 10");
	pci_func_set_intx(c, 0);
	tap_ok(isa_only(-1) && isa_calls == 2, "all deasserted: IRQ 10 low");
	pci_func_set_intx(b, 1);
	pci_bus_remove(&bus, PCI_DEVFN(6, 0));
	tap_ok(isa_only(-1) && bus.pirq_count[1] == 0, "removing an asserting function releases its PIRQ");
	bus.func[PCI_DEVFN(2, 0)] = bus.func[PCI_DEVFN(5, 0)] = NULL;
}

static void test_intx_disable(void)
{
	struct pci_func *a, *n;
	const unsigned int d = PCI_DEVFN(2, 0);

	intx_setup();
	piix3_set_default_routing(&isa, 10, 10, 11, 11);
	a = intx_add(0, d, PCI_INTA);
	pci_func_set_intx(a, 1);
	cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	tap_ok(isa_only(-1) && (cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT),
	       "INTX_DISABLE lowers the line; status still shows the interrupt");
	pci_func_set_intx(a, 0);
	pci_func_set_intx(a, 1);
	tap_ok(isa_only(-1) && bus.pirq_count[1] == 0, "raised while disabled: nothing on the bus");
	cfg_write(d, PCI_COMMAND, 2, 0);
	tap_ok(isa_only(10), "re-enabled while asserted: the line goes high");
	pci_func_set_intx(a, 0);
	tap_ok(isa_only(-1), "and low with the function");
	n = intx_add(1, PCI_DEVFN(3, 0), 0);
	pci_func_set_intx(n, 1);
	tap_ok(isa_only(-1) && (cfg_read(PCI_DEVFN(3, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT),
	       "a function without a pin reaches no PIRQ");
	pci_func_set_intx_pin(n, 5);
	tap_ok(cfg_read(PCI_DEVFN(3, 0), PCI_INTERRUPT_PIN, 1) == 0, "pins above INTD are refused");
	cfg_write(d, PCI_INTERRUPT_PIN, 1, 3);
	cfg_write(d, PCI_INTERRUPT_LINE, 1, 10);
	tap_ok(cfg_read(d, PCI_INTERRUPT_PIN, 1) == PCI_INTA && cfg_read(d, PCI_INTERRUPT_LINE, 1) == 10,
	       "pin is read-only, line is writable");
	bus.func[d] = bus.func[PCI_DEVFN(3, 0)] = NULL;
}

static void test_intx_route_change(void)
{
	struct pci_func *a, *b;

	intx_setup();
	piix3_set_default_routing(&isa, 10, 10, 11, 11);
	a = intx_add(0, PCI_DEVFN(2, 0), PCI_INTA);	/* PIRQB */
	b = intx_add(1, PCI_DEVFN(5, 0), PCI_INTA);	/* PIRQA */
	pci_func_set_intx(a, 1);
	isa_calls = 0;
	cfg_write(PIIX3_ISA_DEVFN, PIIX3_PIRQRC + 1, 1, 11);
	tap_ok(isa_only(11) && isa_calls == 2, "route change while asserted: IRQ 10 lowered, IRQ 11 raised");
	cfg_write(PIIX3_ISA_DEVFN, PIIX3_PIRQRC + 1, 1, 0x8b);
	tap_ok(isa_only(-1), "routing disabled: the level goes nowhere");
	cfg_write(PIIX3_ISA_DEVFN, PIIX3_PIRQRC + 1, 1, 10);
	tap_ok(isa_only(10), "routed again: it comes back");
	pci_func_set_intx(b, 1);
	cfg_write(PIIX3_ISA_DEVFN, PIIX3_PIRQRC, 4, 0x0b0b0a0a);
	tap_ok(isa_only(10), "PIRQA and PIRQB both on IRQ 10: one level");
	cfg_write(PIIX3_ISA_DEVFN, PIIX3_PIRQRC, 4, 0x0b0b0b0a);
	tap_ok(isa_level[10] && isa_level[11], "PIRQB moves to 11, PIRQA keeps 10 high");
	pci_func_set_intx(a, 0);
	pci_func_set_intx(b, 0);
	tap_ok(isa_only(-1), "both deasserted");
	pci_func_set_intx(a, 1);
	piix3_isa_reset(&isa);
	tap_ok(isa_only(10) && cfg_read(PIIX3_ISA_DEVFN, PIIX3_PIRQRC, 4) == 0x0b0b0a0a,
	       "reset restores the default routing");
	pci_func_set_intx(a, 0);
	bus.func[PCI_DEVFN(2, 0)] = bus.func[PCI_DEVFN(5, 0)] = NULL;
}

static void test_default_routing(void)
{
	struct pci_func *a;
	struct irq_line lines[PIIX3_NUM_ISA_IRQ];

	setup();
	piix3_set_default_routing(&isa, 10, 10, 11, 11);
	tap_ok(cfg_read(PIIX3_ISA_DEVFN, PIIX3_PIRQRC, 4) == 0x0b0b0a0a &&
	       piix3_pirq_route(&isa, 0) == 10 && piix3_pirq_route(&isa, 3) == 11,
	       "default routing 10, 10, 11, 11 (as SeaBIOS)");
	piix3_set_default_routing(&isa, 2, 13, 16, 5);
	tap_ok(cfg_read(PIIX3_ISA_DEVFN, PIIX3_PIRQRC, 4) == 0x05808080,
	       "invalid IRQs leave their PIRQ disabled");
	piix3_set_default_routing(&isa, 10, 10, 11, 11);
	/* a function asserting before the router is connected */
	memset(isa_level, 0, sizeof(isa_level));
	a = intx_add(0, PCI_DEVFN(4, 0), PCI_INTA);	/* PIRQD */
	pci_func_set_intx(a, 1);
	tap_ok(isa_only(-1) && bus.pirq_count[3] == 1, "no router yet: counted, nothing driven");
	for (unsigned int i = 0; i < PIIX3_NUM_ISA_IRQ; i++)
		lines[i] = (struct irq_line){ isa_irq_set, NULL, i };
	piix3_isa_route_intx(&isa, &bus, lines);
	tap_ok(isa_only(11), "connecting the router drives the pending level");
	pci_func_set_intx(a, 0);
	tap_ok(isa_only(-1), "and lowers it");
	/* a level raised before the function is on the bus */
	pci_bus_remove(&bus, PCI_DEVFN(4, 0));
	pci_func_set_intx(a, 1);
	tap_ok(isa_only(-1), "off the bus: nothing");
	pci_bus_add(&bus, PCI_DEVFN(4, 0), a);
	tap_ok(isa_only(11), "added while asserted: counted");
	pci_func_set_intx(a, 0);
	bus.func[PCI_DEVFN(4, 0)] = NULL;
}

int main(void)
{
	tap_plan(138);
	test_mechanism1();
	test_masks();
	test_bars();
	test_i440fx();
	test_piix3();
	test_ide_function();
	test_mem_bars();
	test_caps();
	test_intx_swizzle();
	test_intx_sharing();
	test_intx_disable();
	test_intx_route_change();
	test_default_routing();
	piix_ide_destroy(&ide);
	return tap_done();
}
