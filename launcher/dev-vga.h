/* launcher/dev-vga.h: the standard VGA as display frontends find it (vm_device(vm, "vga")). */
#ifndef LAUNCHER_DEV_VGA_H
#define LAUNCHER_DEV_VGA_H

#include <stdbool.h>

#include "hw/vga.h"

struct pc_vga;

/*
 * Bring scr up to date with the card, under the device's mutex: as
 * vga_render (1 redrawn, 0 unchanged, -1 out of memory). Callable from
 * any thread but a vCPU's port or MMIO handler of this device.
 */
int pc_vga_render(struct pc_vga *d, struct vga_screen *scr);
/* The current screen as a PNG file (screendump.h); 0 or -1 (message printed). */
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
