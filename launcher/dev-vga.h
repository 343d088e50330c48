/* launcher/dev-vga.h: the standard VGA as display frontends find it (vm_device(vm, "vga")). */
#ifndef LAUNCHER_DEV_VGA_H
#define LAUNCHER_DEV_VGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/vga.h"

struct pc_vga;

/*
 * Bring scr up to date with the card, under the device's mutex: as
 * vga_render (1 redrawn, 0 unchanged, -1 out of memory). Callable from
 * any thread but a vCPU's port or MMIO handler of this device.
 */
int pc_vga_render(struct pc_vga *d, struct vga_screen *scr);
/*
 * The same for the display frontend, which keeps scr from one call to the
 * next: in a VBE mode only the rows holding framebuffer pages written
 * since its last call are redrawn, [*y0, *y1) (all rows after a register
 * change). One frontend per card: its calls consume the pages' record.
 */
int pc_vga_update(struct pc_vga *d, struct vga_screen *scr, unsigned int *y0, unsigned int *y1);
/*
 * The text screen as cells (vga_text_cells), under the device's mutex;
 * -1 when not in a text mode. The generation changes whenever the picture
 * may have (registers, the window; the framebuffer only as pc_vga_render
 * reads the dirty log).
 */
int pc_vga_text(struct pc_vga *d, uint16_t *cells, size_t max, unsigned int *cols,
		unsigned int *rows, int *cursor);
uint64_t pc_vga_generation(struct pc_vga *d);
/*
 * The current screen to a file (0, or -1 with a message): a PNG
 * (screendump.h), or with a name ending in ".txt" the characters of a
 * text screen, a line a row.
 */
int pc_vga_screendump(struct pc_vga *d, const char *path);

/*
 * The VM's screen to KVM_LAUNCH_SCREENDUMP, or NAME-screen.png in the
 * current directory: on SIGUSR2 (asked), and when the machine ends if that
 * variable is set. Says what it wrote on stderr; without a display, asked,
 * says that. 0 or -1.
 */
struct vm;
int vm_screendump(struct vm *vm, bool asked);

#endif
