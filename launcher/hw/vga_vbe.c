/* launcher/hw/vga_vbe.c: the Bochs VBE "dispi" interface (ports 0x1ce/0x1cf): modes, banks, virtual screen, with QEMU's sanity checks. */
#include <string.h>

#include "vga.h"

#define GR_MODE			5
#define GR_MISC			6

bool vbe_enabled(const struct vga *v)
{
	return v->vbe[VBE_ENABLE] & VBE_ENABLED;
}

/*
 * A guest has no way to learn that a value was refused, so, as QEMU
 * does, each register is moved to the nearest value that fits the video
 * memory: after this, the visible screen [vbe_start, vbe_start + YRES *
 * vbe_line_offset) lies inside vram, whatever was written.
 */
static void vbe_fixup(struct vga *v)
{
	uint16_t *r = v->vbe;
	uint32_t bits, line, maxy, offset;

	if (!vbe_enabled(v))
		return;
	switch (r[VBE_BPP]) {
	case 4:
	case 8:
	case 16:
	case 24:
	case 32:
		bits = r[VBE_BPP];
		break;
	case 15:
		bits = 16;
		break;
	default:
		r[VBE_BPP] = 8;
		bits = 8;
		break;
	}

	/* widths: multiples of 8 pixels, the virtual screen at least as wide */
	r[VBE_XRES] &= ~7u;
	if (!r[VBE_XRES])
		r[VBE_XRES] = 8;
	if (r[VBE_XRES] > VBE_MAX_XRES)
		r[VBE_XRES] = VBE_MAX_XRES;
	r[VBE_VIRT_WIDTH] &= ~7u;
	if (r[VBE_VIRT_WIDTH] > VBE_MAX_XRES)
		r[VBE_VIRT_WIDTH] = VBE_MAX_XRES;
	if (r[VBE_VIRT_WIDTH] < r[VBE_XRES])
		r[VBE_VIRT_WIDTH] = r[VBE_XRES];

	/* heights: as many lines as video memory holds */
	line = r[VBE_VIRT_WIDTH] * bits / 8;
	maxy = v->vram_size / line;
	if (!r[VBE_YRES])
		r[VBE_YRES] = 1;
	if (r[VBE_YRES] > VBE_MAX_YRES)
		r[VBE_YRES] = VBE_MAX_YRES;
	if (r[VBE_YRES] > maxy)
		r[VBE_YRES] = maxy;

	/* a panned screen that would leave video memory loses its offsets */
	if (r[VBE_X_OFFSET] > VBE_MAX_XRES)
		r[VBE_X_OFFSET] = VBE_MAX_XRES;
	if (r[VBE_Y_OFFSET] > VBE_MAX_YRES)
		r[VBE_Y_OFFSET] = VBE_MAX_YRES;
	offset = r[VBE_X_OFFSET] * bits / 8 + r[VBE_Y_OFFSET] * line;
	if (offset + r[VBE_YRES] * line > v->vram_size) {
		r[VBE_Y_OFFSET] = 0;
		offset = r[VBE_X_OFFSET] * bits / 8;
		if (offset + r[VBE_YRES] * line > v->vram_size) {
			r[VBE_X_OFFSET] = 0;
			offset = 0;
		}
	}

	/* QEMU lets the 16-bit register wrap; a saturated count says more */
	r[VBE_VIRT_HEIGHT] = maxy > 0xffff ? 0xffff : maxy;
	v->vbe_line_offset = line;
	v->vbe_start = offset;
}

/*
 * The VGA side follows a VBE mode as QEMU's does, so that the window at
 * 0xa0000 reaches the framebuffer: graphics, 64 KiB at 0xa0000 (banked),
 * and the 256-colour shift (the window code adds chain-4 but at 4 bpp).
 */
static void vbe_update_vga(struct vga *v)
{
	if (!vbe_enabled(v))
		return;
	v->gr[GR_MISC] = (v->gr[GR_MISC] & ~0x0c) | 0x04 | 0x01;
	v->gr[GR_MODE] = (v->gr[GR_MODE] & ~0x60) | (v->vbe[VBE_BPP] == 4 ? 0 : 0x40);
}

uint16_t vbe_reg_read(struct vga *v, unsigned int index)
{
	if (index == VBE_VIDEO_MEMORY_64K)
		return v->vram_size >> 16;
	if (index >= VBE_NR_REGS)
		return 0;
	if (v->vbe[VBE_ENABLE] & VBE_GETCAPS) {
		switch (index) {
		case VBE_XRES: return VBE_MAX_XRES;
		case VBE_YRES: return VBE_MAX_YRES;
		case VBE_BPP: return VBE_MAX_BPP;
		default: break;
		}
	}
	return v->vbe[index];
}

static void vbe_enable_write(struct vga *v, uint16_t val)
{
	if ((val & VBE_ENABLED) && !vbe_enabled(v)) {
		/* a fresh mode: the virtual screen is the visible one */
		v->vbe[VBE_VIRT_WIDTH] = 0;
		v->vbe[VBE_X_OFFSET] = 0;
		v->vbe[VBE_Y_OFFSET] = 0;
		v->vbe[VBE_ENABLE] |= VBE_ENABLED;
		vbe_fixup(v);
		vbe_update_vga(v);
		if (!(val & VBE_NOCLEARMEM))
			memset(v->vram, 0, (size_t)v->vbe[VBE_YRES] * v->vbe_line_offset);
	} else {
		v->bank_offset = 0;
	}
	v->dac_8bit = val & VBE_8BIT_DAC;
	v->vbe[VBE_ENABLE] = val;
}

void vbe_reg_write(struct vga *v, unsigned int index, uint16_t val)
{
	v->generation++;
	switch (index) {
	case VBE_ID:
		if (val >= VBE_ID0 && val <= VBE_ID5)
			v->vbe[VBE_ID] = val;
		break;
	case VBE_XRES:
	case VBE_YRES:
	case VBE_BPP:
	case VBE_VIRT_WIDTH:
	case VBE_X_OFFSET:
	case VBE_Y_OFFSET:
		v->vbe[index] = val;
		vbe_fixup(v);
		vbe_update_vga(v);
		break;
	case VBE_BANK:
		/* banks of 64 KiB, wrapped to the video memory */
		val &= (v->vram_size >> 16) - 1;
		v->vbe[VBE_BANK] = val;
		v->bank_offset = (uint32_t)val << 16;
		break;
	case VBE_ENABLE:
		vbe_enable_write(v, val);
		break;
	default:
		break;			/* VIRT_HEIGHT and VIDEO_MEMORY_64K are read-only */
	}
}

uint16_t vbe_port_read(struct vga *v, uint16_t port)
{
	if (port == VBE_PORT_BASE)
		return v->vbe_index;
	return vbe_reg_read(v, v->vbe_index);
}

void vbe_port_write(struct vga *v, uint16_t port, uint16_t val)
{
	if (port == VBE_PORT_BASE)
		v->vbe_index = val;
	else
		vbe_reg_write(v, v->vbe_index, val);
}
