/* launcher/ui.h: display frontends (a VNC server, the controlling terminal) behind one small interface, and what they share: keys and text drawing. */
#ifndef LAUNCHER_UI_H
#define LAUNCHER_UI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vm_config;

/*
 * A frontend lives for the whole run of kvm-launch, across the machine's
 * resets (a VNC viewer stays connected through a reboot): main.c opens it
 * from the validated VM file before the first machine exists, attaches
 * each machine it builds, detaches it before destroying it, and closes the
 * frontend at the end. It runs on a thread of its own ("vnc", "term"); see
 * the locking rule at the top of each ui-*.c.
 */
struct ui_ops {
	const char *name;
	/*
	 * Take the frontend's resources (bind the listen address, take the
	 * terminal) and start its thread: its state, or NULL after printing
	 * "FILE:LINE: display.SETTING: reason".
	 */
	void *(*open)(const struct vm_config *cfg);
	/* Show vm's display and send it input, until detach (vm outlives that). */
	void (*attach)(void *state, struct vm *vm);
	void (*detach)(void *state);
	/* Stop the thread and give everything back (the terminal as it was). */
	void (*close)(void *state);
};

extern const struct ui_ops ui_vnc_ops;
extern const struct ui_ops ui_terminal_ops;

struct ui {
	const struct ui_ops *ops;
	void *state;
};

/*
 * The frontend display.type asks for: 0 with ui->ops NULL when there is
 * none ("none", "headless"), 0 when opened, -1 after a message.
 */
int ui_open(struct ui *ui, const struct vm_config *cfg);
void ui_attach(struct ui *ui, struct vm *vm);
void ui_detach(struct ui *ui);
void ui_close(struct ui *ui);

/* A frontend's thread, named, with every signal blocked; 0, or -1 after a message. */
int ui_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *name);

/* ---- keys (ui-keys.c): X11 keysyms, as VNC sends them, to PC keys ---- */

/* Keysyms by name, where a frontend or test needs one. */
#define UI_XK_BackSpace		0xff08
#define UI_XK_Tab		0xff09
#define UI_XK_Return		0xff0d
#define UI_XK_Escape		0xff1b
#define UI_XK_Home		0xff50
#define UI_XK_Left		0xff51
#define UI_XK_Up		0xff52
#define UI_XK_Right		0xff53
#define UI_XK_Down		0xff54
#define UI_XK_Page_Up		0xff55
#define UI_XK_Page_Down		0xff56
#define UI_XK_End		0xff57
#define UI_XK_Insert		0xff63
#define UI_XK_F1		0xffbe
#define UI_XK_Shift_L		0xffe1
#define UI_XK_Shift_R		0xffe2
#define UI_XK_Control_L		0xffe3
#define UI_XK_Alt_L		0xffe9
#define UI_XK_Delete		0xffff

/* Whether a keysym is typed with Shift on a US keyboard. */
enum ui_shift { UI_SHIFT_ANY, UI_SHIFT_NO, UI_SHIFT_YES };

/*
 * The PC key (set 1 make code, 0x01-0x7f or 0xe0xx, PS2_KEY_PAUSE) of a
 * keysym on a US keyboard, and whether it is typed shifted; false for a
 * keysym no PC key gives. Letters come as one key either case
 * (UI_SHIFT_ANY): Caps Lock is the guest's to apply.
 */
bool ui_keysym_key(uint32_t keysym, uint16_t *code, enum ui_shift *shift);

/* One frontend's view of the keyboard: the Shift keys its user holds. */
struct ui_keys {
	bool shift_l, shift_r;
};

typedef void ui_key_fn(void *ctx, uint16_t code, bool down);

/*
 * A keysym pressed or released by the frontend's user, as PC keys to
 * emit(): a symbol typed with Shift (a VNC client that sends '!' without
 * Shift_L, a German layout's '/' sent with Shift held) gets the guest's
 * Shift state it needs around its press, so the US-layout guest sees the
 * symbol the user saw. Keysyms without a PC key are dropped.
 */
void ui_keysym(struct ui_keys *k, uint32_t keysym, bool down, ui_key_fn *emit, void *ctx);

/* A key a terminal sent: a keysym with the modifiers its bytes carried. */
struct ui_term_key {
	uint32_t keysym;
	bool ctrl, alt;
};

/*
 * Terminal bytes (raw mode, as xterm and the Linux console send them) to
 * keys: printable ASCII, Ctrl-letters, Enter, Backspace (0x7f and 0x08),
 * Tab, Escape, ESC-prefixed Alt, and the CSI/SS3 sequences of the arrows,
 * Home, End, Insert, Delete, Page Up/Down and F1-F12. Fills up to max
 * keys; returns how many. Bytes it cannot read are dropped.
 */
size_t ui_term_decode(const uint8_t *buf, size_t len, struct ui_term_key *out, size_t max);
/* A terminal key's press and release through ui_keysym, modifiers around it. */
void ui_term_key(struct ui_keys *k, const struct ui_term_key *key, ui_key_fn *emit, void *ctx);

/* ---- text screens on a terminal (ui-text.c) ---- */

/* A VGA text screen: cells of character | attribute << 8, row by row. */
struct ui_text {
	unsigned int cols, rows;
	uint16_t *cells;		/* cols * rows */
	int cursor;			/* cell index, -1: hidden */
	bool valid;			/* what the terminal shows (else: unknown) */
};

/* A growing byte buffer for escape sequences. */
struct ui_buf {
	char *p;
	size_t len, cap;
};
void ui_buf_free(struct ui_buf *b);

/*
 * Append to out the ANSI escapes and UTF-8 (code page 437 glyphs) that
 * turn a terminal showing old (anything, when !old->valid or of another
 * size: it is cleared first) into one showing new: only the runs of cells
 * that differ, colours from the VGA attributes (16 colours; blink shown as
 * a bright background is not), then the cursor. 0, or -1 out of memory.
 */
int ui_text_draw(const struct ui_text *old, const struct ui_text *new, struct ui_buf *out);
/* The Unicode code point a code page 437 byte shows. */
uint32_t ui_cp437(uint8_t c);

#endif
