/* launcher/dev-i8042.h: input from display frontends into the i8042's PS/2 keyboard and mouse (vm_device(vm, "i8042")). */
#ifndef LAUNCHER_DEV_I8042_H
#define LAUNCHER_DEV_I8042_H

#include <stdbool.h>
#include <stdint.h>

struct i8042_dev;

/*
 * A key (set 1 make code, 0x01-0x7f or 0xe0xx, as ps2_kbd_key) or mouse
 * motion (dy > 0 up, dz > 0 towards the user; PS2_BUTTON_*), under the
 * device's mutex: callable from any thread but the device's own handlers.
 */
void pc_kbd_key(struct i8042_dev *d, uint16_t code, bool down);
void pc_mouse_event(struct i8042_dev *d, int dx, int dy, int dz, uint8_t buttons);

#endif
