/* launcher/ui-keys.c: keysyms and terminal bytes to PC keys (set 1 codes the i8042 sends in set 2 or translated), with the Shift a US layout needs. */
#include <string.h>

#include "hw/ps2.h"
#include "ui.h"

/* Set 1 make codes of the main block, US layout. */
#define K_LSHIFT	0x2a
#define K_RSHIFT	0x36
#define K_LCTRL		0x1d
#define K_LALT		0x38

/* Printable ASCII 0x20-0x7e: the key, and bit 8 when typed with Shift. */
#define S 0x100
static const uint16_t ascii_keys[0x7f - 0x20] = {
	/* ' ' ! " # $ % & ' */
	0x39, S | 0x02, S | 0x28, S | 0x04, S | 0x05, S | 0x06, S | 0x08, 0x28,
	/* ( ) * + , - . / */
	S | 0x0a, S | 0x0b, S | 0x09, S | 0x0d, 0x33, 0x0c, 0x34, 0x35,
	/* 0-9 */
	0x0b, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	/* : ; < = > ? @ */
	S | 0x27, 0x27, S | 0x33, 0x0d, S | 0x34, S | 0x35, S | 0x03,
	/* A-Z: filled from the letters below */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* [ \ ] ^ _ ` */
	0x1a, 0x2b, 0x1b, S | 0x07, S | 0x0c, 0x29,
	/* a-z: filled from the letters below */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* { | } ~ */
	S | 0x1a, S | 0x2b, S | 0x1b, S | 0x29,
};

/* a-z */
static const uint8_t letter_keys[26] = {
	0x1e, 0x30, 0x2e, 0x20, 0x12, 0x21, 0x22, 0x23, 0x17, 0x24, 0x25, 0x26, 0x32,
	0x31, 0x18, 0x19, 0x10, 0x13, 0x1f, 0x14, 0x16, 0x2f, 0x11, 0x2d, 0x15, 0x2c,
};

/* Function and keypad keysyms (0xfe00-0xffff) that have a PC key. */
static const struct {
	uint16_t keysym;
	uint16_t code;
} special_keys[] = {
	{ 0xff08, 0x0e }, { 0xff09, 0x0f }, { 0xfe20, 0x0f }, /* BackSpace, Tab, ISO_Left_Tab */
	{ 0xff0d, 0x1c }, { 0xff1b, 0x01 }, { 0xffff, 0xe053 },	/* Return, Escape, Delete */
	{ 0xff13, PS2_KEY_PAUSE }, { 0xff14, 0x46 }, { 0xff61, 0xe037 }, /* Pause, Scroll, Print */
	{ 0xff15, 0xe037 },					/* Sys_Req */
	{ 0xff50, 0xe047 }, { 0xff51, 0xe04b }, { 0xff52, 0xe048 }, { 0xff53, 0xe04d },
	{ 0xff54, 0xe050 }, { 0xff55, 0xe049 }, { 0xff56, 0xe051 }, { 0xff57, 0xe04f },
	{ 0xff63, 0xe052 }, { 0xff67, 0xe05d },			/* Insert, Menu */
	{ 0xff7f, 0x45 }, { 0xffe5, 0x3a },			/* Num_Lock, Caps_Lock */
	{ 0xffe1, K_LSHIFT }, { 0xffe2, K_RSHIFT }, { 0xffe3, K_LCTRL }, { 0xffe4, 0xe01d },
	{ 0xffe7, 0xe05b }, { 0xffe8, 0xe05c },			/* Meta_L, Meta_R */
	{ 0xffe9, K_LALT }, { 0xffea, 0xe038 }, { 0xfe03, 0xe038 }, /* Alt_L, Alt_R, AltGr */
	{ 0xffeb, 0xe05b }, { 0xffec, 0xe05c },			/* Super_L, Super_R */
	/* F1-F12 */
	{ 0xffbe, 0x3b }, { 0xffbf, 0x3c }, { 0xffc0, 0x3d }, { 0xffc1, 0x3e },
	{ 0xffc2, 0x3f }, { 0xffc3, 0x40 }, { 0xffc4, 0x41 }, { 0xffc5, 0x42 },
	{ 0xffc6, 0x43 }, { 0xffc7, 0x44 }, { 0xffc8, 0x57 }, { 0xffc9, 0x58 },
	/* keypad */
	{ 0xff8d, 0xe01c }, { 0xffaf, 0xe035 }, { 0xffaa, 0x37 }, { 0xffad, 0x4a },
	{ 0xffab, 0x4e }, { 0xffae, 0x53 }, { 0xff9f, 0x53 },
	{ 0xffb0, 0x52 }, { 0xffb1, 0x4f }, { 0xffb2, 0x50 }, { 0xffb3, 0x51 },
	{ 0xffb4, 0x4b }, { 0xffb5, 0x4c }, { 0xffb6, 0x4d }, { 0xffb7, 0x47 },
	{ 0xffb8, 0x48 }, { 0xffb9, 0x49 },
	{ 0xff95, 0x47 }, { 0xff96, 0x4b }, { 0xff97, 0x48 }, { 0xff98, 0x4d },
	{ 0xff99, 0x50 }, { 0xff9a, 0x49 }, { 0xff9b, 0x51 }, { 0xff9c, 0x4f },
	{ 0xff9d, 0x4c }, { 0xff9e, 0x52 },
};

bool ui_keysym_key(uint32_t keysym, uint16_t *code, enum ui_shift *shift)
{
	*shift = UI_SHIFT_ANY;
	if (keysym >= 'a' && keysym <= 'z') {
		*code = letter_keys[keysym - 'a'];
		return true;
	}
	if (keysym >= 'A' && keysym <= 'Z') {
		*code = letter_keys[keysym - 'A'];
		return true;
	}
	if (keysym >= 0x20 && keysym < 0x7f) {
		uint16_t k = ascii_keys[keysym - 0x20];

		*code = k & 0xff;
		*shift = k & S ? UI_SHIFT_YES : UI_SHIFT_NO;
		return true;
	}
	for (size_t i = 0; i < sizeof(special_keys) / sizeof(special_keys[0]); i++)
		if (special_keys[i].keysym == keysym) {
			*code = special_keys[i].code;
			/* ISO_Left_Tab is Shift+Tab; it arrives with Shift held */
			return true;
		}
	return false;
}

void ui_keysym(struct ui_keys *k, uint32_t keysym, bool down, ui_key_fn *emit, void *ctx)
{
	bool held_l = k->shift_l, held_r = k->shift_r, held = held_l || held_r;
	enum ui_shift shift;
	uint16_t code;

	if (!ui_keysym_key(keysym, &code, &shift))
		return;
	if (code == K_LSHIFT)
		k->shift_l = down;
	else if (code == K_RSHIFT)
		k->shift_r = down;
	/* a release needs no Shift: the guest matches it to the press by key */
	if (!down || shift == UI_SHIFT_ANY || (shift == UI_SHIFT_YES) == held) {
		emit(ctx, code, down);
		return;
	}
	if (shift == UI_SHIFT_YES) {
		emit(ctx, K_LSHIFT, true);
		emit(ctx, code, true);
		emit(ctx, K_LSHIFT, false);
		return;
	}
	if (held_l)
		emit(ctx, K_LSHIFT, false);
	if (held_r)
		emit(ctx, K_RSHIFT, false);
	emit(ctx, code, true);
	if (held_l)
		emit(ctx, K_LSHIFT, true);
	if (held_r)
		emit(ctx, K_RSHIFT, true);
}

void ui_term_key(struct ui_keys *k, const struct ui_term_key *key, ui_key_fn *emit, void *ctx)
{
	if (key->ctrl)
		ui_keysym(k, UI_XK_Control_L, true, emit, ctx);
	if (key->alt)
		ui_keysym(k, UI_XK_Alt_L, true, emit, ctx);
	ui_keysym(k, key->keysym, true, emit, ctx);
	ui_keysym(k, key->keysym, false, emit, ctx);
	if (key->alt)
		ui_keysym(k, UI_XK_Alt_L, false, emit, ctx);
	if (key->ctrl)
		ui_keysym(k, UI_XK_Control_L, false, emit, ctx);
}

/* ---- terminal bytes ---- */

/* CSI n ~ (VT220 editing and function keys) */
static uint32_t tilde_key(unsigned int n)
{
	switch (n) {
	case 1: case 7: return UI_XK_Home;
	case 2: return UI_XK_Insert;
	case 3: return UI_XK_Delete;
	case 4: case 8: return UI_XK_End;
	case 5: return UI_XK_Page_Up;
	case 6: return UI_XK_Page_Down;
	case 11: case 12: case 13: case 14: case 15: return UI_XK_F1 + n - 11;
	case 17: case 18: case 19: case 20: case 21: return UI_XK_F1 + n - 12;
	case 23: case 24: return UI_XK_F1 + n - 13;
	}
	return 0;
}

/* The final byte of CSI or SS3 arrows, Home/End and (SS3, Linux console CSI [) F1-F4. */
static uint32_t final_key(uint8_t c)
{
	switch (c) {
	case 'A': return UI_XK_Up;
	case 'B': return UI_XK_Down;
	case 'C': return UI_XK_Right;
	case 'D': return UI_XK_Left;
	case 'H': return UI_XK_Home;
	case 'F': return UI_XK_End;
	case 'P': case 'Q': case 'R': case 'S': return UI_XK_F1 + (c - 'P');
	}
	return 0;
}

/* An escape sequence at buf (buf[0] == ESC): its key (0: none) and length. */
static size_t escape_seq(const uint8_t *buf, size_t len, uint32_t *keysym)
{
	size_t i;
	unsigned int n = 0;

	*keysym = 0;
	if (len >= 3 && buf[1] == 'O') {
		*keysym = final_key(buf[2]);
		return 3;
	}
	/* the Linux console's F1-F5: ESC [ [ A-E */
	if (len >= 4 && buf[1] == '[' && buf[2] == '[') {
		if (buf[3] >= 'A' && buf[3] <= 'E')
			*keysym = UI_XK_F1 + (buf[3] - 'A');
		return 4;
	}
	/* CSI: parameters, intermediates, one final byte 0x40-0x7e */
	for (i = 2; i < len; i++) {
		if (buf[i] >= '0' && buf[i] <= '9')
			n = n * 10 + (buf[i] - '0');
		else if (buf[i] == ';')
			n = 0;	/* modifiers are not kept */
		else if (buf[i] >= 0x40 && buf[i] <= 0x7e)
			break;
	}
	if (i == len)
		return len;	/* cut short: dropped */
	*keysym = buf[i] == '~' ? tilde_key(n) : final_key(buf[i]);
	return i + 1;
}

size_t ui_term_decode(const uint8_t *buf, size_t len, struct ui_term_key *out, size_t max)
{
	size_t i = 0, n = 0;

	while (i < len && n < max) {
		struct ui_term_key key = { 0 };
		uint8_t c = buf[i];

		if (c == 0x1b && i + 1 < len && (buf[i + 1] == '[' || buf[i + 1] == 'O') && i + 2 < len) {
			i += escape_seq(buf + i, len - i, &key.keysym);
			if (key.keysym)
				out[n++] = key;
			continue;
		}
		if (c == 0x1b && i + 1 < len && buf[i + 1] != 0x1b) {
			/* ESC and a key in one read: that key with Alt (Meta sends ESC) */
			key.alt = true;
			c = buf[++i];
		}
		i++;
		if (c == '\r' || c == '\n')
			key.keysym = UI_XK_Return;
		else if (c == 0x7f || c == 0x08)
			key.keysym = UI_XK_BackSpace;
		else if (c == '\t')
			key.keysym = UI_XK_Tab;
		else if (c == 0x1b)
			key.keysym = UI_XK_Escape;
		else if (c == 0)
			key.keysym = ' ', key.ctrl = true;	/* Ctrl-Space */
		else if (c < 0x20)
			key.keysym = c == 0x1c ? '\\' : c == 0x1d ? ']' : c == 0x1e ? '^' :
				     c == 0x1f ? '_' : 'a' + c - 1, key.ctrl = true;
		else if (c < 0x7f)
			key.keysym = c;
		else
			continue;	/* UTF-8 and 8-bit bytes: no US key */
		out[n++] = key;
	}
	return n;
}
