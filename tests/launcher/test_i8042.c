/* tests/launcher/test_i8042.c: i8042: self tests, command byte, keyboard replies with IRQ1, reset line. */
#include "tap.h"
#include "hw/i8042.h"

static int resets, kbd_level;

static void fake_reset(void *ctx) { (void)ctx; resets++; }
static void fake_irq(void *ctx, unsigned int irq, int lvl)
{
	(void)ctx;
	if (irq == 1)
		kbd_level = lvl;
}

int main(void)
{
	struct irq_line kbd = { fake_irq, NULL, 1 }, aux = { fake_irq, NULL, 12 };
	struct i8042 k;

	tap_plan(14);
	i8042_init(&k, kbd, aux, fake_reset, NULL);

	TAP_EQ(i8042_read(&k, 4) & 0x01, 0, "output buffer empty at start");
	i8042_write(&k, 4, 0xaa);
	TAP_EQ(i8042_read(&k, 4) & 0x01, 1, "self-test result pending");
	TAP_EQ(i8042_read(&k, 0), 0x55, "controller self-test passes");
	i8042_write(&k, 4, 0x20);
	TAP_EQ(i8042_read(&k, 0) & 0x01, 0x01, "command byte has keyboard interrupts on");
	i8042_write(&k, 4, 0x60);
	i8042_write(&k, 0, 0x00);
	i8042_write(&k, 4, 0x20);
	TAP_EQ(i8042_read(&k, 0), 0x00, "command byte written and read back");
	i8042_write(&k, 4, 0x60);
	i8042_write(&k, 0, 0x45);

	/* The keyboard answers reset with ACK and BAT OK, on IRQ1. */
	i8042_write(&k, 0, 0xff);
	tap_ok(kbd_level, "IRQ1 with a keyboard reply");
	TAP_EQ(i8042_read(&k, 0), 0xfa, "ACK");
	TAP_EQ(i8042_read(&k, 0), 0xaa, "BAT passed");
	tap_ok(!kbd_level, "IRQ1 drops when the queue is empty");
	i8042_write(&k, 0, 0xed);
	TAP_EQ(i8042_read(&k, 0), 0xfa, "LED command acknowledged");
	i8042_write(&k, 0, 0x07);
	TAP_EQ(i8042_read(&k, 0), 0xfa, "LED argument acknowledged");

	/* Reset: pulse command 0xfe, and output-port write with bit 0 low. */
	i8042_write(&k, 4, 0xfe);
	TAP_EQ(resets, 1, "0xfe pulses the reset line");
	i8042_write(&k, 4, 0xd1);
	i8042_write(&k, 0, 0x02);
	TAP_EQ(resets, 2, "output port bit 0 low resets");
	i8042_write(&k, 4, 0xff);
	TAP_EQ(resets, 2, "0xff pulses nothing");
	return tap_done();
}
