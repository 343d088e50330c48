/* launcher/hw/uart16550.h: a 16550A UART: FIFOs, line status, interrupts, loopback. */
#ifndef HW_UART16550_H
#define HW_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/hw.h"

#define UART_FIFO_SIZE	16

struct uart {
	uint8_t rx[UART_FIFO_SIZE];
	unsigned int rx_head, rx_count;
	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint16_t divisor;
	bool thr_ipending;	/* THR-empty interrupt armed (cleared by IIR read) */
	bool irq_level;
	struct irq_line irq;
	/* Where transmitted bytes go (NULL: dropped, as with no cable). */
	void (*tx)(void *ctx, uint8_t byte);
	void *tx_ctx;
};

void uart_init(struct uart *u, struct irq_line irq,
	       void (*tx)(void *ctx, uint8_t byte), void *tx_ctx);
/* reg 0..7 from the base port. */
uint8_t uart_read(struct uart *u, unsigned int reg);
void uart_write(struct uart *u, unsigned int reg, uint8_t val);
/* Bytes from the outside world; returns how many the FIFO took. */
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len);
/* Room left in the receive FIFO (0 in loopback, which ignores the line). */
size_t uart_rx_room(const struct uart *u);

#endif
