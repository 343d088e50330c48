/* tests/launcher/test_pic.c: i8259 pair: init, priorities, EOI modes, masking, edge/level, cascade, poll. */
#include "tap.h"
#include "hw/i8259.h"

/* Linux's initialisation: edge, cascade on IR2, vectors 0x30/0x38, 8086 mode. */
static void init_pair(struct pic *p, uint8_t icw4)
{
	pic_reset(p);
	pic_write(p, 0, 0, 0x11);
	pic_write(p, 0, 1, 0x30);
	pic_write(p, 0, 1, 0x04);
	pic_write(p, 0, 1, icw4);
	pic_write(p, 1, 0, 0x11);
	pic_write(p, 1, 1, 0x38);
	pic_write(p, 1, 1, 0x02);
	pic_write(p, 1, 1, icw4 & ~0x10);
	pic_write(p, 0, 1, 0x00);
	pic_write(p, 1, 1, 0x00);
}

static void pulse(struct pic *p, unsigned int irq)
{
	pic_set_irq(p, irq, 1);
	pic_set_irq(p, irq, 0);
}

int main(void)
{
	struct pic p;
	int v;

	tap_plan(31);

	init_pair(&p, 0x01);
	tap_ok(!pic_pending(&p), "nothing pending after init");
	pulse(&p, 4);
	tap_ok(pic_pending(&p), "edge on IRQ4 is pending");
	TAP_EQ(pic_ack(&p), 0x34, "IRQ4 acks as vector base + 4");
	tap_ok(!pic_pending(&p), "edge request cleared by INTA");
	TAP_EQ(pic_read(&p, 0, 0), 0x00, "IRR empty after ack");
	pic_write(&p, 0, 0, 0x0b);	/* OCW3: read ISR */
	TAP_EQ(pic_read(&p, 0, 0), 0x10, "ISR shows IRQ4 in service");

	/* Priority: IRQ3 beats IRQ4 in service; IRQ5 waits. */
	pulse(&p, 5);
	tap_ok(!pic_pending(&p), "lower priority IRQ5 blocked by IRQ4 in service");
	pulse(&p, 3);
	tap_ok(pic_pending(&p), "higher priority IRQ3 nests over IRQ4");
	TAP_EQ(pic_ack(&p), 0x33, "IRQ3 vector");
	pic_write(&p, 0, 0, 0x20);	/* non-specific EOI: clears IRQ3 */
	TAP_EQ(pic_read(&p, 0, 0), 0x10, "non-specific EOI ends the highest (IRQ3)");
	pic_write(&p, 0, 0, 0x64);	/* specific EOI IRQ4 */
	TAP_EQ(pic_read(&p, 0, 0), 0x00, "specific EOI ends IRQ4");
	TAP_EQ(pic_ack(&p), 0x35, "IRQ5 delivered once IRQ4 ended");
	pic_write(&p, 0, 0, 0x20);

	/* Masking. */
	pic_write(&p, 0, 1, 0x01);
	pulse(&p, 0);
	tap_ok(!pic_pending(&p), "masked IRQ0 not delivered");
	TAP_EQ(pic_read(&p, 0, 1), 0x01, "IMR reads back");
	pic_write(&p, 0, 1, 0x00);
	tap_ok(pic_pending(&p), "latched edge delivered on unmask");
	TAP_EQ(pic_ack(&p), 0x30, "IRQ0 vector");
	pic_write(&p, 0, 0, 0x20);

	/* Cascade: IRQ10 through IR2. */
	pulse(&p, 10);
	tap_ok(pic_pending(&p), "slave IRQ10 raises master INT");
	TAP_EQ(pic_ack(&p), 0x3a, "IRQ10 acks with slave vector");
	pic_write(&p, 0, 0, 0x0b);
	TAP_EQ(pic_read(&p, 0, 0), 0x04, "master has IR2 in service");
	pic_write(&p, 1, 0, 0x20);
	pic_write(&p, 0, 0, 0x20);
	TAP_EQ(pic_read(&p, 0, 0), 0x00, "EOIs to both chips clear the cascade");

	/* Level triggered via ELCR: stays pending until the line drops. */
	pic_elcr_write(&p, 1, 0x08);	/* IRQ11 level */
	TAP_EQ(pic_elcr_read(&p, 1), 0x08, "ELCR reads back");
	pic_set_irq(&p, 11, 1);
	TAP_EQ(pic_ack(&p), 0x3b, "level IRQ11 delivered");
	pic_write(&p, 1, 0, 0x20);
	pic_write(&p, 0, 0, 0x20);
	tap_ok(pic_pending(&p), "level IRQ11 requests again while the line is high");
	pic_set_irq(&p, 11, 0);
	/* The master latched IR2 (edge); the slave has nothing: spurious IRQ15. */
	TAP_EQ(pic_ack(&p), 0x3f, "withdrawn level request gives spurious IRQ15, as hardware does");
	pic_write(&p, 0, 0, 0x20);
	pic_elcr_write(&p, 0, 0x07);
	TAP_EQ(pic_elcr_read(&p, 0), 0x00, "IRQ0-2 cannot be level triggered");

	/* Auto-EOI mode: nothing stays in service. */
	init_pair(&p, 0x03);
	pulse(&p, 6);
	TAP_EQ(pic_ack(&p), 0x36, "AEOI: IRQ6 delivered");
	pic_write(&p, 0, 0, 0x0b);
	TAP_EQ(pic_read(&p, 0, 0), 0x00, "AEOI: ISR empty after INTA");

	/* Rotation: after rotate-on-EOI of IRQ1, IRQ2..7 outrank IRQ0. */
	init_pair(&p, 0x01);
	pulse(&p, 1);
	pic_ack(&p);
	pic_write(&p, 0, 0, 0xa0);	/* rotate on non-specific EOI */
	pulse(&p, 0);
	pulse(&p, 7);
	TAP_EQ(pic_ack(&p), 0x37, "after rotation IRQ7 outranks IRQ0");

	/* Poll mode. */
	init_pair(&p, 0x01);
	pulse(&p, 5);
	pic_write(&p, 0, 0, 0x0c);	/* OCW3 poll */
	v = pic_read(&p, 0, 0);
	TAP_EQ(v, 0x85, "poll returns 0x80 | IR");
	tap_ok(!pic_pending(&p), "poll acknowledged the request");

	/* Spurious: INTA without a request gives IR7. */
	TAP_EQ(pic_ack(&p), 0x37, "spurious INTA gives IRQ7's vector");
	return tap_done();
}
