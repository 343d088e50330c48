/* tests/launcher/test_uart.c: 16550A: probe as Linux does, FIFO, LSR, IIR priorities, interrupts, loopback. */
#include <string.h>

#include "tap.h"
#include "hw/uart16550.h"

static int level;
static uint8_t sent[64];
static size_t nsent;

static void fake_irq(void *ctx, unsigned int irq, int lvl) { (void)ctx; (void)irq; level = lvl; }
static void fake_tx(void *ctx, uint8_t b) { (void)ctx; if (nsent < sizeof(sent)) sent[nsent++] = b; }

int main(void)
{
	struct irq_line line = { fake_irq, NULL, 4 };
	uint8_t buf[20];
	struct uart u;
	size_t n;
	int i;

	tap_plan(26);
	uart_init(&u, line, fake_tx, NULL);

	/* Scratch and divisor latch. */
	uart_write(&u, 7, 0x5a);
	TAP_EQ(uart_read(&u, 7), 0x5a, "scratch register holds a value");
	uart_write(&u, 3, 0x80);
	uart_write(&u, 0, 0x01);
	uart_write(&u, 1, 0x00);
	TAP_EQ(uart_read(&u, 0), 0x01, "DLL via DLAB");
	uart_write(&u, 3, 0x03);
	TAP_EQ(uart_read(&u, 3), 0x03, "LCR 8N1");

	/* Linux autoconfig: loopback MSR check and FIFO detection. */
	uart_write(&u, 4, 0x1a);
	TAP_EQ(uart_read(&u, 6) & 0xf0, 0x90, "loopback: RTS->CTS, OUT2->DCD");
	uart_write(&u, 4, 0x00);
	uart_write(&u, 2, 0x07);
	TAP_EQ(uart_read(&u, 2) & 0xc0, 0xc0, "FIFO enabled shows in IIR (16550A)");

	/* Transmit. */
	TAP_EQ(uart_read(&u, 5) & 0x60, 0x60, "THR and transmitter empty");
	uart_write(&u, 0, 'h');
	uart_write(&u, 0, 'i');
	tap_ok(nsent == 2 && !memcmp(sent, "hi", 2), "bytes reach the host side");

	/* Receive into the FIFO. */
	for (i = 0; i < 20; i++)
		buf[i] = 'a' + i;
	n = uart_receive(&u, buf, 20);
	TAP_EQ(n, 16, "FIFO takes 16 bytes");
	TAP_EQ(uart_rx_room(&u), 0, "FIFO full");
	TAP_EQ(uart_read(&u, 5) & 0x01, 1, "LSR data ready");
	TAP_EQ(uart_read(&u, 0), 'a', "first byte out first");
	for (i = 1; i < 16; i++)
		uart_read(&u, 0);
	TAP_EQ(uart_read(&u, 5) & 0x01, 0, "data ready clears when FIFO drains");

	/* Interrupts: nothing until OUT2 and IER. */
	uart_receive(&u, buf, 1);
	tap_ok(!level, "no IRQ with IER clear");
	uart_write(&u, 1, 0x01);
	tap_ok(!level, "no IRQ without OUT2");
	uart_write(&u, 4, 0x08);
	tap_ok(level, "RX data IRQ with IER.RDI and OUT2");
	TAP_EQ(uart_read(&u, 2) & 0x0f, 0x04, "IIR: received data available");
	uart_read(&u, 0);
	tap_ok(!level, "IRQ drops when the byte is read");

	/* THR empty interrupt: raised on enable, acknowledged by reading IIR. */
	uart_write(&u, 1, 0x03);
	tap_ok(level, "THRE IRQ on enabling IER.THRI");
	TAP_EQ(uart_read(&u, 2) & 0x0f, 0x02, "IIR: THR empty");
	tap_ok(!level, "reading IIR acknowledges THRE");
	uart_write(&u, 0, 'x');
	tap_ok(level, "THRE again after a transmit");

	/* Priority: received data beats THRE. */
	uart_receive(&u, buf, 1);
	TAP_EQ(uart_read(&u, 2) & 0x0f, 0x04, "RX data outranks THRE in IIR");
	uart_read(&u, 0);

	/* Overrun: line status interrupt, cleared by reading LSR. */
	uart_write(&u, 1, 0x05);
	uart_write(&u, 2, 0x00);		/* FIFO off: one byte holds */
	buf[0] = '1';
	buf[1] = '2';
	uart_receive(&u, buf, 1);
	uart_write(&u, 4, 0x18);		/* loopback pushes a second byte */
	uart_write(&u, 0, 'L');
	TAP_EQ(uart_read(&u, 2) & 0x0f, 0x06, "overrun gives a line status interrupt");
	tap_ok(uart_read(&u, 5) & 0x02, "LSR shows the overrun");
	tap_ok(!(uart_read(&u, 5) & 0x02), "overrun bit clears on read");

	/* Loopback does not reach the host. */
	nsent = 0;
	uart_read(&u, 0);
	uart_write(&u, 0, 'Z');
	tap_ok(nsent == 0 && uart_read(&u, 0) == 'Z', "loopback: byte comes back, not out");
	return tap_done();
}
