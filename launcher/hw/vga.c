/* launcher/hw/vga.c: the standard VGA's register file (ports 0x3b0-0x3df), its PCI identity, the MMIO BAR and the port accessors. */
#include <string.h>

#include "vga.h"

/* Ports, by what they are. */
#define PORT_CRTC_INDEX_MONO	0x3b4
#define PORT_CRTC_DATA_MONO	0x3b5
#define PORT_STATUS1_MONO	0x3ba	/* read: input status 1; write: feature control */
#define PORT_ATTR		0x3c0	/* index / data, by the flip-flop */
#define PORT_ATTR_READ		0x3c1
#define PORT_MISC_WRITE		0x3c2	/* read: input status 0 */
#define PORT_VIDEO_ENABLE	0x3c3
#define PORT_SEQ_INDEX		0x3c4
#define PORT_SEQ_DATA		0x3c5
#define PORT_PEL_MASK		0x3c6
#define PORT_DAC_READ_INDEX	0x3c7	/* read: DAC state */
#define PORT_DAC_WRITE_INDEX	0x3c8
#define PORT_DAC_DATA		0x3c9
#define PORT_FEATURE_READ	0x3ca
#define PORT_MISC_READ		0x3cc
#define PORT_GC_INDEX		0x3ce
#define PORT_GC_DATA		0x3cf
#define PORT_CRTC_INDEX_COLOR	0x3d4
#define PORT_CRTC_DATA_COLOR	0x3d5
#define PORT_STATUS1_COLOR	0x3da

#define MISC_COLOR_IO		0x01	/* CRTC and status 1 at 0x3dx, else 0x3bx */
#define ST01_DISP_ENABLE	0x01
#define ST01_V_RETRACE		0x08
#define CR_V_RETRACE_END	0x11	/* bit 7 protects CR0-CR7 */
#define CR_OVERFLOW		0x07

/* Bits a guest can set in each register; the rest read as 0. */
static const uint8_t sr_mask[VGA_SR_COUNT] = { 0x03, 0x3d, 0x0f, 0x3f, 0x0e };
static const uint8_t gr_mask[VGA_GR_COUNT] = {
	0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff,
};

static uint8_t ar_mask(unsigned int index)
{
	if (index < 0x10)
		return 0x3f;		/* palette: 6 bits */
	switch (index) {
	case 0x10: return 0xef;		/* mode control (bit 4 reserved) */
	case 0x11: return 0xff;		/* overscan colour */
	case 0x12: return 0x3f;		/* colour plane enable */
	case 0x13: return 0x0f;		/* horizontal pel panning */
	default: return 0x0f;		/* colour select */
	}
}

void vga_reset(struct vga *v)
{
	uint8_t *vram = v->vram;
	uint32_t vram_size = v->vram_size;
	uint64_t generation = v->generation;
	struct pci_func pci = v->pci;

	memset(v, 0, sizeof(*v));
	v->vram = vram;
	v->vram_size = vram_size;
	v->pci = pci;
	v->pel_mask = 0xff;
	v->vbe[VBE_ID] = VBE_ID5;
	v->generation = generation + 1;
}

int vga_init(struct vga *v, uint8_t *vram, uint32_t vram_size)
{
	uint32_t mb = vram_size >> 20;

	memset(v, 0, sizeof(*v));
	if (!vram || vram_size & ((1u << 20) - 1) || mb < VGA_VRAM_MIN_MB ||
	    mb > VGA_VRAM_MAX_MB || (mb & (mb - 1)))
		return -1;
	v->vram = vram;
	v->vram_size = vram_size;
	/* display controller, VGA compatible: class 03, subclass 00, prog-if 00 */
	pci_func_init(&v->pci, VGA_PCI_VENDOR, VGA_PCI_DEVICE,
		      0x03000000 | VGA_PCI_REVISION, 0);
	/* QEMU's subsystem IDs for its own devices (Red Hat, QEMU) */
	pci_cfg_set(&v->pci, PCI_SUBSYSTEM_VENDOR_ID, 2, 0x1af4);
	pci_cfg_set(&v->pci, PCI_SUBSYSTEM_VENDOR_ID + 2, 2, 0x1100);
	pci_func_set_mem_bar(&v->pci, 0, vram_size, PCI_BAR_MEM_PREFETCH,
			     &vga_lfb_ops, v);
	pci_func_set_mem_bar(&v->pci, 2, VGA_MMIO_SIZE, 0, &vga_mmio_ops, v);
	v->pci.opaque = v;
	vga_reset(v);
	return 0;
}

/* The CRTC and input status 1 answer at 0x3bx or 0x3dx, by MISC bit 0. */
static bool port_decoded(const struct vga *v, uint16_t port)
{
	if (port >= 0x3b0 && port < 0x3c0)
		return !(v->misc & MISC_COLOR_IO);
	if (port >= 0x3d0 && port < 0x3e0)
		return v->misc & MISC_COLOR_IO;
	return port >= 0x3c0 && port < 0x3d0;
}

static uint8_t dac_data_read(struct vga *v)
{
	uint8_t val = v->palette[v->dac_read_index * 3 + v->dac_sub];

	if (++v->dac_sub == 3) {
		v->dac_sub = 0;
		v->dac_read_index++;
	}
	return val;
}

static void dac_data_write(struct vga *v, uint8_t val)
{
	v->dac_cache[v->dac_sub] = v->dac_8bit ? val : val & 0x3f;
	if (++v->dac_sub == 3) {
		memcpy(&v->palette[v->dac_write_index * 3], v->dac_cache, 3);
		v->dac_sub = 0;
		v->dac_write_index++;
	}
}

uint8_t vga_port_read(struct vga *v, uint16_t port)
{
	unsigned int i;

	if (!port_decoded(v, port))
		return 0xff;
	switch (port) {
	case PORT_ATTR:
		return v->ar_index;
	case PORT_ATTR_READ:
		i = v->ar_index & 0x1f;
		return i < VGA_AR_COUNT ? v->ar[i] : 0;
	case PORT_MISC_WRITE:
		return 0;		/* input status 0: no switch sense, no interrupt */
	case PORT_SEQ_INDEX:
		return v->sr_index;
	case PORT_SEQ_DATA:
		return v->sr_index < VGA_SR_COUNT ? v->sr[v->sr_index] : 0;
	case PORT_PEL_MASK:
		return v->pel_mask;
	case PORT_DAC_READ_INDEX:
		return v->dac_state;
	case PORT_DAC_WRITE_INDEX:
		return v->dac_write_index;
	case PORT_DAC_DATA:
		return dac_data_read(v);
	case PORT_FEATURE_READ:
		return v->fcr;
	case PORT_MISC_READ:
		return v->misc;
	case PORT_GC_INDEX:
		return v->gr_index;
	case PORT_GC_DATA:
		return v->gr_index < VGA_GR_COUNT ? v->gr[v->gr_index] : 0;
	case PORT_CRTC_INDEX_MONO:
	case PORT_CRTC_INDEX_COLOR:
		return v->cr_index;
	case PORT_CRTC_DATA_MONO:
	case PORT_CRTC_DATA_COLOR:
		return v->cr_index < VGA_CR_COUNT ? v->cr[v->cr_index] : 0xff;
	case PORT_STATUS1_MONO:
	case PORT_STATUS1_COLOR:
		/*
		 * No real timing: each read flips retrace and display
		 * enable, so loops waiting for either edge end at once.
		 */
		v->st01 ^= ST01_V_RETRACE | ST01_DISP_ENABLE;
		v->ar_data_next = false;
		return v->st01;
	default:
		return 0;
	}
}

static void crtc_write(struct vga *v, uint8_t val)
{
	unsigned int i = v->cr_index;

	if (i >= VGA_CR_COUNT)
		return;
	/* CR0-CR7 are write-protected, but for the line compare bit 8 */
	if ((v->cr[CR_V_RETRACE_END] & 0x80) && i <= CR_OVERFLOW) {
		if (i == CR_OVERFLOW)
			v->cr[i] = (v->cr[i] & ~0x10) | (val & 0x10);
		return;
	}
	v->cr[i] = val;
}

void vga_port_write(struct vga *v, uint16_t port, uint8_t val)
{
	unsigned int i;

	if (!port_decoded(v, port))
		return;
	v->generation++;
	switch (port) {
	case PORT_ATTR:
		if (!v->ar_data_next) {
			v->ar_index = val & 0x3f;
		} else {
			i = v->ar_index & 0x1f;
			if (i < VGA_AR_COUNT)
				v->ar[i] = val & ar_mask(i);
		}
		v->ar_data_next = !v->ar_data_next;
		break;
	case PORT_MISC_WRITE:
		v->misc = val & ~0x10;
		break;
	case PORT_SEQ_INDEX:
		v->sr_index = val & 7;
		break;
	case PORT_SEQ_DATA:
		if (v->sr_index < VGA_SR_COUNT)
			v->sr[v->sr_index] = val & sr_mask[v->sr_index];
		break;
	case PORT_PEL_MASK:
		v->pel_mask = val;
		break;
	case PORT_DAC_READ_INDEX:
		v->dac_read_index = val;
		v->dac_sub = 0;
		v->dac_state = 3;
		break;
	case PORT_DAC_WRITE_INDEX:
		v->dac_write_index = val;
		v->dac_sub = 0;
		v->dac_state = 0;
		break;
	case PORT_DAC_DATA:
		dac_data_write(v, val);
		break;
	case PORT_GC_INDEX:
		v->gr_index = val & 0x0f;
		break;
	case PORT_GC_DATA:
		if (v->gr_index < VGA_GR_COUNT)
			v->gr[v->gr_index] = val & gr_mask[v->gr_index];
		break;
	case PORT_CRTC_INDEX_MONO:
	case PORT_CRTC_INDEX_COLOR:
		v->cr_index = val;
		break;
	case PORT_CRTC_DATA_MONO:
	case PORT_CRTC_DATA_COLOR:
		crtc_write(v, val);
		break;
	case PORT_STATUS1_MONO:
	case PORT_STATUS1_COLOR:
		v->fcr = val & 0x10;
		break;
	default:
		break;			/* 0x3c3 video enable and the rest: ignored */
	}
}

/* ---- accessors for the VMM ---- */

/* A word or dword access to the ports is that many byte accesses, lowest first. */
static uint64_t port_ops_read(void *dev, uint64_t offset, unsigned int size)
{
	uint64_t val = 0;

	for (unsigned int i = 0; i < size && i < 4; i++)
		val |= (uint64_t)vga_port_read(dev, VGA_PORT_BASE + offset + i) << (8 * i);
	return val;
}

static void port_ops_write(void *dev, uint64_t offset, unsigned int size, uint64_t val)
{
	for (unsigned int i = 0; i < size && i < 4; i++)
		vga_port_write(dev, VGA_PORT_BASE + offset + i, val >> (8 * i));
}

const struct io_ops vga_port_ops = { port_ops_read, port_ops_write };

static uint64_t vbe_ops_read(void *dev, uint64_t offset, unsigned int size)
{
	uint16_t val = vbe_port_read(dev, VBE_PORT_BASE + offset);

	return size == 1 ? val & 0xff : val;
}

static void vbe_ops_write(void *dev, uint64_t offset, unsigned int size, uint64_t val)
{
	(void)size;
	vbe_port_write(dev, VBE_PORT_BASE + offset, val);
}

const struct io_ops vbe_port_ops = { vbe_ops_read, vbe_ops_write };

/* Multi-byte window accesses are byte cycles of the card, lowest address first. */
static uint64_t window_ops_read(void *dev, uint64_t offset, unsigned int size)
{
	uint64_t val = 0;

	for (unsigned int i = 0; i < size && i < 8; i++)
		val |= (uint64_t)vga_mem_read(dev, offset + i) << (8 * i);
	return val;
}

static void window_ops_write(void *dev, uint64_t offset, unsigned int size, uint64_t val)
{
	for (unsigned int i = 0; i < size && i < 8; i++)
		vga_mem_write(dev, offset + i, val >> (8 * i));
}

const struct io_ops vga_window_ops = { window_ops_read, window_ops_write };

/* BAR0 when the VMM cannot map video memory as guest RAM. */
static uint64_t lfb_ops_read(void *dev, uint64_t offset, unsigned int size)
{
	struct vga *v = dev;
	uint64_t val = 0;

	if (size > 8 || offset >= v->vram_size || size > v->vram_size - offset)
		return ~0ull;
	memcpy(&val, v->vram + offset, size);
	return val;
}

static void lfb_ops_write(void *dev, uint64_t offset, unsigned int size, uint64_t val)
{
	struct vga *v = dev;

	if (size > 8 || offset >= v->vram_size || size > v->vram_size - offset)
		return;
	memcpy(v->vram + offset, &val, size);
	v->generation++;
}

const struct io_ops vga_lfb_ops = { lfb_ops_read, lfb_ops_write };

/*
 * BAR2, as docs/specs/standard-vga.rst of QEMU lays it out: no EDID
 * (reads 0), ports 0x3c0-0x3df at 0x400, the dispi registers flat at
 * 0x500, and the extended registers at 0x600 (little endian only).
 */
#define QEXT_SIZE		8
#define QEXT_LITTLE_ENDIAN	0x1e1e1e1eu

static uint64_t mmio_ops_read(void *dev, uint64_t offset, unsigned int size)
{
	uint64_t val = 0;

	if (offset >= VGA_MMIO_PORTS && offset < VGA_MMIO_PORTS + 0x20) {
		for (unsigned int i = 0; i < size && offset + i < VGA_MMIO_PORTS + 0x20; i++)
			val |= (uint64_t)vga_port_read(dev, 0x3c0 + offset - VGA_MMIO_PORTS + i)
			       << (8 * i);
		return val;
	}
	if (offset >= VGA_MMIO_VBE && offset < VGA_MMIO_VBE + 2 * (VBE_NR_REGS + 1)) {
		if (size != 2 || (offset & 1))
			return ~0ull;
		return vbe_reg_read(dev, (offset - VGA_MMIO_VBE) / 2);
	}
	if (offset == VGA_MMIO_QEXT && size == 4)
		return QEXT_SIZE;
	if (offset == VGA_MMIO_QEXT + 4 && size == 4)
		return QEXT_LITTLE_ENDIAN;
	if (offset < VGA_MMIO_PORTS)
		return 0;		/* no EDID blob */
	return ~0ull;
}

static void mmio_ops_write(void *dev, uint64_t offset, unsigned int size, uint64_t val)
{
	if (offset >= VGA_MMIO_PORTS && offset < VGA_MMIO_PORTS + 0x20) {
		for (unsigned int i = 0; i < size && offset + i < VGA_MMIO_PORTS + 0x20; i++)
			vga_port_write(dev, 0x3c0 + offset - VGA_MMIO_PORTS + i, val >> (8 * i));
		return;
	}
	if (offset >= VGA_MMIO_VBE && offset < VGA_MMIO_VBE + 2 * (VBE_NR_REGS + 1) &&
	    size == 2 && !(offset & 1))
		vbe_reg_write(dev, (offset - VGA_MMIO_VBE) / 2, val);
	/* the endianness register: only little endian is offered */
}

const struct io_ops vga_mmio_ops = { mmio_ops_read, mmio_ops_write };
