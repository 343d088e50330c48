/* tests/launcher/test_pci.c: configuration mechanism 1, config-space masks, BAR sizing and the i440FX/PIIX3 functions. */
#include <stdio.h>
#include <string.h>

#include "hw/piix.h"
#include "tap.h"

static struct pci_bus bus;
static struct i440fx host;
static struct piix3_isa isa;
static struct piix_ide ide;

static int pam_calls, rcr_calls, rcr_val;
static uint32_t map_old, map_new;
static unsigned int map_calls, map_bar;

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

static void bar_map(void *ctx, struct pci_func *f, unsigned int n,
		    uint32_t old, uint32_t new_base)
{
	(void)ctx;
	(void)f;
	map_calls++;
	map_bar = n;
	map_old = old;
	map_new = new_base;
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
	bus.bar_map = bar_map;
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

int main(void)
{
	tap_plan(70);
	test_mechanism1();
	test_masks();
	test_bars();
	test_i440fx();
	test_piix3();
	test_ide_function();
	piix_ide_destroy(&ide);
	return tap_done();
}
