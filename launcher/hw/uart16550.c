/* launcher/hw/uart16550.c: 16550A UART model; the host side is a tx callback and uart_receive(). */
#include <string.h>

#include "hw/uart16550.h"

#define REG_DATA	0	/* RBR / THR; DLL with DLAB */
#define REG_IER		1	/* DLM with DLAB */
#define REG_IIR		2	/* FCR on write */
#define REG_LCR		3
#define REG_MCR		4
#define REG_LSR		5
#define REG_MSR		6
#define REG_SCR		7

#define LCR_DLAB	0x80
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_BI		0x10
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define IER_RDI		0x01
#define IER_THRI	0x02
#define IER_RLSI	0x04
#define IER_MSI		0x08
#define IIR_NONE	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_RLSI	0x06
#define IIR_FIFO	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define FCR_CLEAR_TX	0x04

/* Which interrupt the IIR reports, by 16550 priority. */
static uint8_t pending_iir(const struct uart *u)
{
	if ((u->ier & IER_RLSI) && (u->lsr & (LSR_OE | LSR_BI)))
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count)
		return IIR_RDI;
	if ((u->ier & IER_THRI) && u->thr_ipending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & 0x0f))
		return IIR_MSI;
	return IIR_NONE;
}

static void update_irq(struct uart *u)
{
	/* OUT2 gates the IRQ line on PC serial cards. */
	bool level = pending_iir(u) != IIR_NONE && (u->mcr & 0x08);

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

/* Modem status from MCR in loopback, else a connected, ready line. */
static void update_msr(struct uart *u)
{
	uint8_t lines, delta;

	if (u->mcr & MCR_LOOP)
		lines = (u->mcr & 0x02 ? 0x10 : 0) |	/* RTS -> CTS */
			(u->mcr & 0x01 ? 0x20 : 0) |	/* DTR -> DSR */
			(u->mcr & 0x04 ? 0x40 : 0) |	/* OUT1 -> RI */
			(u->mcr & 0x08 ? 0x80 : 0);	/* OUT2 -> DCD */
	else
		lines = 0xb0;				/* CTS, DSR, DCD */
	delta = (lines ^ u->msr) & 0xb0;
	if (delta & 0x10)
		u->msr |= 0x01;
	if (delta & 0x20)
		u->msr |= 0x02;
	if ((u->msr & 0x40) && !(lines & 0x40))
		u->msr |= 0x04;			/* trailing edge of RI */
	if (delta & 0x80)
		u->msr |= 0x08;
	u->msr = (u->msr & 0x0f) | lines;
}

void uart_init(struct uart *u, struct irq_line irq,
	       void (*tx)(void *ctx, uint8_t byte), void *tx_ctx)
{
	memset(u, 0, sizeof(*u));
	u->irq = irq;
	u->tx = tx;
	u->tx_ctx = tx_ctx;
	u->lsr = LSR_THRE | LSR_TEMT;
	u->divisor = 12;		/* 9600 baud */
	update_msr(u);
	u->msr &= 0xf0;
}

static void rx_push(struct uart *u, uint8_t b)
{
	unsigned int cap = (u->fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;

	if (u->rx_count >= cap) {
		u->lsr |= LSR_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = b;
	u->rx_count++;
	u->lsr |= LSR_DR;
}

size_t uart_rx_room(const struct uart *u)
{
	unsigned int cap = (u->fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;

	if (u->mcr & MCR_LOOP)
		return 0;
	return cap - u->rx_count;
}

size_t uart_receive(struct uart *u, const uint8_t *buf, size_t len)
{
	size_t n = uart_rx_room(u), i;

	if (n > len)
		n = len;
	for (i = 0; i < n; i++)
		rx_push(u, buf[i]);
	update_irq(u);
	return n;
}

uint8_t uart_read(struct uart *u, unsigned int reg)
{
	uint8_t v;

	switch (reg & 7) {
	case REG_DATA:
		if (u->lcr & LCR_DLAB)
			return u->divisor & 0xff;
		if (!u->rx_count)
			return 0;
		v = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
		if (!--u->rx_count)
			u->lsr &= ~LSR_DR;
		update_irq(u);
		return v;
	case REG_IER:
		if (u->lcr & LCR_DLAB)
			return u->divisor >> 8;
		return u->ier;
	case REG_IIR:
		v = pending_iir(u);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if (v == IIR_THRI) {
			u->thr_ipending = false;
			update_irq(u);
		}
		return v | ((u->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		v = u->lsr;
		u->lsr &= ~(LSR_OE | LSR_BI);	/* error bits clear on read */
		update_irq(u);
		return v;
	case REG_MSR:
		v = u->msr;
		u->msr &= 0xf0;			/* deltas clear on read */
		update_irq(u);
		return v;
	default:
		return u->scr;
	}
}

void uart_write(struct uart *u, unsigned int reg, uint8_t val)
{
	switch (reg & 7) {
	case REG_DATA:
		if (u->lcr & LCR_DLAB) {
			u->divisor = (u->divisor & 0xff00) | val;
			break;
		}
		/* Transmission is instant: THR is empty again at once. */
		if (u->mcr & MCR_LOOP)
			rx_push(u, val);
		else if (u->tx)
			u->tx(u->tx_ctx, val);
		u->thr_ipending = true;
		break;
	case REG_IER:
		if (u->lcr & LCR_DLAB) {
			u->divisor = (u->divisor & 0xff) | (uint16_t)val << 8;
			break;
		}
		/* Enabling THRI with an empty THR raises it at once. */
		if ((val & IER_THRI) && !(u->ier & IER_THRI))
			u->thr_ipending = true;
		u->ier = val & 0x0f;
		break;
	case REG_IIR:
		if ((val ^ u->fcr) & FCR_ENABLE)
			val |= FCR_CLEAR_RX | FCR_CLEAR_TX;
		if (val & FCR_CLEAR_RX) {
			u->rx_count = 0;
			u->rx_head = 0;
			u->lsr &= ~LSR_DR;
		}
		u->fcr = val & 0xc9;
		break;
	case REG_LCR:
		u->lcr = val;
		break;
	case REG_MCR:
		u->mcr = val & 0x1f;
		update_msr(u);
		break;
	case REG_LSR:
	case REG_MSR:
		break;			/* read-only */
	default:
		u->scr = val;
		break;
	}
	update_irq(u);
}
