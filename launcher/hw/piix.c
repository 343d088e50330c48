/* launcher/hw/piix.c: i440FX (PAM, SMRAM), PIIX3 ISA bridge (PIRQ routing of PCI INTx) and PIIX3 IDE (legacy ports, BAR4). */
#include <string.h>

#include "piix.h"

static void i440fx_written(struct pci_func *f, unsigned int off,
			   unsigned int size)
{
	struct i440fx *host = f->opaque;
	unsigned int end = off + size;
	bool pam = off < I440FX_PAM0 + I440FX_PAM_COUNT && end > I440FX_PAM0;
	bool smram = off <= I440FX_SMRAM && end > I440FX_SMRAM;

	if (smram && (f->cfg[I440FX_SMRAM] & 0x10)) {
		/* D_LCK: D_OPEN and D_LCK stay as they are until reset */
		f->wmask[I440FX_SMRAM] &= ~0x50;
		f->cfg[I440FX_SMRAM] &= ~0x40;
	}
	if ((pam || smram) && host->pam_changed)
		host->pam_changed(host->pam_ctx, host);
}

void i440fx_reset(struct i440fx *host)
{
	struct pci_func *f = &host->pci;

	memset(&f->cfg[I440FX_PAM0], 0, I440FX_PAM_COUNT);
	f->cfg[I440FX_SMRAM] = 0x02;		/* C_BASE_SEG: 0xa0000 */
	f->wmask[I440FX_SMRAM] = 0x78;
	pci_cfg_set(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	pci_cfg_set(f, PCI_STATUS, 2, 0x0280);	/* fast back-to-back, medium */
}

void i440fx_init(struct i440fx *host)
{
	struct pci_func *f = &host->pci;

	memset(host, 0, sizeof(*host));
	pci_func_init(f, 0x8086, 0x1237, 0x06000002, 0x00);
	f->opaque = host;
	f->written = i440fx_written;
	/* PAM0 holds only the 0xf0000 BIOS nibble */
	f->wmask[I440FX_PAM0] = 0x30;
	for (unsigned int i = 1; i < I440FX_PAM_COUNT; i++)
		f->wmask[I440FX_PAM0 + i] = 0x33;
	i440fx_reset(host);
}

void i440fx_pam_region(const struct i440fx *host, unsigned int i,
		       struct pam_region *r)
{
	const uint8_t *pam = &host->pci.cfg[I440FX_PAM0];

	if (i >= I440FX_PAM_REGIONS) {
		*r = (struct pam_region){ 0, 0, PAM_OFF };
		return;
	}
	if (i == 0) {
		*r = (struct pam_region){ 0xf0000, 0x10000,
					  (enum pam_attr)((pam[0] >> 4) & 3) };
		return;
	}
	/* regions 1..12: PAM1 low nibble is 0xc0000, high nibble 0xc4000, ... */
	r->base = 0xc0000 + (i - 1) * 0x4000;
	r->size = 0x4000;
	r->attr = (enum pam_attr)((pam[1 + (i - 1) / 2] >> (((i - 1) & 1) * 4)) & 3);
}

uint8_t i440fx_smram(const struct i440fx *host)
{
	return host->pci.cfg[I440FX_SMRAM];
}

/*
 * Drive each ISA IRQ as the OR of the asserted PIRQs routed to it: lower
 * what no longer is before raising what now is, so a moved level never
 * shows on both IRQs. Called with bus->intx_lock held once routing is on.
 */
static void piix3_drive_isa(struct piix3_isa *isa)
{
	uint16_t want = 0, old = isa->isa_level;

	for (unsigned int p = 0; p < PCI_NUM_PIRQ; p++)
		if ((isa->pirq_level >> p & 1) && isa->route[p] >= 0)
			want |= 1u << isa->route[p];
	isa->isa_level = want;
	for (unsigned int irq = 0; irq < PIIX3_NUM_ISA_IRQ; irq++)
		if ((old & ~want) >> irq & 1)
			irq_line_set(&isa->irq[irq], 0);
	for (unsigned int irq = 0; irq < PIIX3_NUM_ISA_IRQ; irq++)
		if ((want & ~old) >> irq & 1)
			irq_line_set(&isa->irq[irq], 1);
}

/* The bus's pirq_set: called with bus->intx_lock held. */
static void piix3_pirq_set(void *ctx, unsigned int pirq, int level)
{
	struct piix3_isa *isa = ctx;

	if (pirq >= PCI_NUM_PIRQ)
		return;
	if (level)
		isa->pirq_level |= 1u << pirq;
	else
		isa->pirq_level &= ~(1u << pirq);
	piix3_drive_isa(isa);
}

/* PIRQRC changed: take the new routes, moving asserted levels. */
static void piix3_route_sync(struct piix3_isa *isa)
{
	if (isa->bus)
		pthread_mutex_lock(&isa->bus->intx_lock);
	for (unsigned int p = 0; p < PCI_NUM_PIRQ; p++)
		isa->route[p] = piix3_pirq_route(isa, p);
	piix3_drive_isa(isa);
	if (isa->bus)
		pthread_mutex_unlock(&isa->bus->intx_lock);
}

static void piix3_isa_written(struct pci_func *f, unsigned int off,
			      unsigned int size)
{
	if (off < PIIX3_PIRQRC + PCI_NUM_PIRQ && off + size > PIIX3_PIRQRC)
		piix3_route_sync(f->opaque);
}

void piix3_isa_reset(struct piix3_isa *isa)
{
	struct pci_func *f = &isa->pci;

	for (unsigned int i = 0; i < PCI_NUM_PIRQ; i++)
		f->cfg[PIIX3_PIRQRC + i] = isa->pirq_default[i];
	pci_cfg_set(f, PCI_COMMAND, 2, 0x0007);
	pci_cfg_set(f, PCI_STATUS, 2, 0x0200);
	piix3_route_sync(isa);
}

void piix3_isa_init(struct piix3_isa *isa)
{
	struct pci_func *f = &isa->pci;

	memset(isa, 0, sizeof(*isa));
	/* header type 0x80: a multi-function device (IDE is function 1) */
	pci_func_init(f, 0x8086, 0x7000, 0x06010000, 0x80);
	f->opaque = isa;
	f->written = piix3_isa_written;
	for (unsigned int i = 0; i < PCI_NUM_PIRQ; i++) {
		f->wmask[PIIX3_PIRQRC + i] = 0x8f;
		isa->pirq_default[i] = 0x80;	/* routing disabled */
	}
	piix3_isa_reset(isa);
}

int piix3_pirq_route(const struct piix3_isa *isa, unsigned int n)
{
	uint8_t v;

	if (n >= PCI_NUM_PIRQ)
		return -1;
	v = isa->pci.cfg[PIIX3_PIRQRC + n];
	/* IRQs 0-2, 8 and 13 are reserved encodings */
	if (v & 0x80 || v < 3 || v == 8 || v == 13)
		return -1;
	return v & 0x0f;
}

void piix3_isa_route_intx(struct piix3_isa *isa, struct pci_bus *bus,
			  const struct irq_line irq[PIIX3_NUM_ISA_IRQ])
{
	pthread_mutex_lock(&bus->intx_lock);
	memcpy(isa->irq, irq, sizeof(isa->irq));
	isa->bus = bus;
	bus->pirq_set = piix3_pirq_set;
	bus->pirq_ctx = isa;
	/* functions may have asserted INTx before the router was there */
	isa->pirq_level = 0;
	for (unsigned int p = 0; p < PCI_NUM_PIRQ; p++)
		if (bus->pirq_count[p])
			isa->pirq_level |= 1u << p;
	piix3_drive_isa(isa);
	pthread_mutex_unlock(&bus->intx_lock);
}

void piix3_set_default_routing(struct piix3_isa *isa, unsigned int pirqa,
			       unsigned int pirqb, unsigned int pirqc,
			       unsigned int pirqd)
{
	unsigned int irq[PCI_NUM_PIRQ] = { pirqa, pirqb, pirqc, pirqd };

	for (unsigned int p = 0; p < PCI_NUM_PIRQ; p++) {
		bool ok = irq[p] >= 3 && irq[p] < PIIX3_NUM_ISA_IRQ &&
			  irq[p] != 8 && irq[p] != 13;

		isa->pirq_default[p] = ok ? irq[p] : 0x80;
		isa->pci.cfg[PIIX3_PIRQRC + p] = isa->pirq_default[p];
	}
	piix3_route_sync(isa);
}

/* Bus-master DMA needs the function's bus master enable. */
static void piix_ide_written(struct pci_func *f, unsigned int off,
			     unsigned int size)
{
	struct piix_ide *ide = f->opaque;
	bool master = pci_cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_MASTER;

	(void)off;
	(void)size;
	ide->ch[0].bus_master = ide->ch[1].bus_master = master;
}

void piix_ide_reset(struct piix_ide *ide)
{
	struct pci_func *f = &ide->pci;

	/*
	 * Without firmware (direct Linux boot) nobody would enable decoding,
	 * so come up as SeaBIOS leaves the function: I/O on, both channels on.
	 */
	pci_cfg_set(f, PCI_COMMAND, 2, PCI_COMMAND_IO);
	pci_cfg_set(f, PCI_STATUS, 2, 0x0280);
	piix_ide_written(f, PCI_COMMAND, 2);
	pci_cfg_set(f, PIIX_IDETIM, 2, PIIX_IDETIM_IDE);
	pci_cfg_set(f, PIIX_IDETIM + 2, 2, PIIX_IDETIM_IDE);
	f->cfg[0x44] = 0;
	pci_cfg_set(f, PCI_BASE_ADDRESS_0 + 16, 4,
		    (ide->bmiba_default & 0xfff0) | PCI_BAR_IO);
	for (unsigned int i = 0; i < 2; i++)
		ide_channel_reset(&ide->ch[i]);
}

void piix_ide_init(struct piix_ide *ide, const struct irq_line irq[2],
		   const struct guest_mem *mem, uint16_t bmiba)
{
	struct pci_func *f = &ide->pci;

	memset(ide, 0, sizeof(*ide));
	/* mass storage / IDE, prog-if 0x80: bus master, both channels legacy */
	pci_func_init(f, 0x8086, 0x7010, 0x01018000, 0x00);
	f->opaque = ide;
	f->written = piix_ide_written;
	pci_func_set_wmask(f, PIIX_IDETIM, 4, 0xf3fff3ff);
	f->wmask[0x44] = 0xff;
	pci_func_set_bar(f, 4, 16, true, &piix_ide_bm_ops, ide);
	ide->bmiba_default = bmiba;
	for (unsigned int i = 0; i < 2; i++) {
		ide_channel_init(&ide->ch[i], i, &irq[i], mem);
		ide->port[i] = (struct piix_ide_port){ ide, i };
	}
	piix_ide_reset(ide);
}

void piix_ide_destroy(struct piix_ide *ide)
{
	for (unsigned int i = 0; i < 2; i++)
		ide_channel_destroy(&ide->ch[i]);
}

static bool piix_ide_decodes(const struct piix_ide_port *p)
{
	const struct pci_func *f = &p->ide->pci;

	return (pci_cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_IO) &&
	       (pci_cfg_get(f, PIIX_IDETIM + 2 * p->ch, 2) & PIIX_IDETIM_IDE);
}

static uint64_t ones(unsigned int size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static uint64_t piix_ide_cmd_read(void *dev, uint64_t off, unsigned int size)
{
	struct piix_ide_port *p = dev;

	if (!piix_ide_decodes(p))
		return ones(size);
	return ide_cmd_ops.read(&p->ide->ch[p->ch], off, size);
}

static void piix_ide_cmd_write(void *dev, uint64_t off, unsigned int size,
			       uint64_t val)
{
	struct piix_ide_port *p = dev;

	if (piix_ide_decodes(p))
		ide_cmd_ops.write(&p->ide->ch[p->ch], off, size, val);
}

static uint64_t piix_ide_ctl_read(void *dev, uint64_t off, unsigned int size)
{
	struct piix_ide_port *p = dev;

	if (!piix_ide_decodes(p))
		return ones(size);
	return ide_ctl_ops.read(&p->ide->ch[p->ch], off, size);
}

static void piix_ide_ctl_write(void *dev, uint64_t off, unsigned int size,
			       uint64_t val)
{
	struct piix_ide_port *p = dev;

	if (piix_ide_decodes(p))
		ide_ctl_ops.write(&p->ide->ch[p->ch], off, size, val);
}

const struct io_ops piix_ide_cmd_ops = {
	.read = piix_ide_cmd_read,
	.write = piix_ide_cmd_write,
};

const struct io_ops piix_ide_ctl_ops = {
	.read = piix_ide_ctl_read,
	.write = piix_ide_ctl_write,
};

/* Split accesses so that each channel's 8 bytes see only their own part. */
static uint64_t piix_ide_bm_read(void *dev, uint64_t off, unsigned int size)
{
	struct piix_ide *ide = dev;
	uint64_t v = 0;

	if (off >= 16 || off + size > 16)
		return ones(size);
	if ((off & 7) + size > 8) {
		for (unsigned int i = 0; i < size; i++)
			v |= piix_ide_bm_read(dev, off + i, 1) << (8 * i);
		return v;
	}
	return ide_bm_ops.read(&ide->ch[off / 8], off & 7, size);
}

static void piix_ide_bm_write(void *dev, uint64_t off, unsigned int size,
			      uint64_t val)
{
	struct piix_ide *ide = dev;

	if (off >= 16 || off + size > 16)
		return;
	if ((off & 7) + size > 8) {
		for (unsigned int i = 0; i < size; i++)
			piix_ide_bm_write(dev, off + i, 1, val >> (8 * i));
		return;
	}
	ide_bm_ops.write(&ide->ch[off / 8], off & 7, size, val);
}

const struct io_ops piix_ide_bm_ops = {
	.read = piix_ide_bm_read,
	.write = piix_ide_bm_write,
};
