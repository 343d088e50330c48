/* launcher/hw/i8259.h: the i8259A interrupt controller pair (master + slave on IRQ2). */
#ifndef HW_I8259_H
#define HW_I8259_H

#include <stdbool.h>
#include <stdint.h>

struct i8259 {
	uint8_t irr, imr, isr;
	uint8_t line;		/* current input levels, for edge detection */
	uint8_t elcr, elcr_mask;	/* level-triggered inputs (PIIX ELCR) */
	uint8_t priority_add;	/* IR with lowest priority + 1 */
	uint8_t vector_base;
	uint8_t init_state;	/* 0 ready, 1..3: expecting ICW2..ICW4 */
	bool init4, single, auto_eoi, rotate_on_auto_eoi, sfnm;
	bool read_isr, poll, special_mask;
};

struct pic {
	struct i8259 chip[2];	/* 0 master (0x20), 1 slave (0xa0) */
};

void pic_reset(struct pic *p);
/* Input line irq (0..15) goes to level (edge inputs latch rising edges). */
void pic_set_irq(struct pic *p, unsigned int irq, int level);
/* The INT output: an unmasked request beats everything in service. */
bool pic_pending(const struct pic *p);
/* INTA cycle: returns the vector (spurious IRQ7/15 when nothing). */
int pic_ack(struct pic *p);
/* chip 0/1, a0 = port bit 0. */
uint8_t pic_read(struct pic *p, unsigned int chip, unsigned int a0);
void pic_write(struct pic *p, unsigned int chip, unsigned int a0, uint8_t val);
uint8_t pic_elcr_read(const struct pic *p, unsigned int chip);
void pic_elcr_write(struct pic *p, unsigned int chip, uint8_t val);

#endif
