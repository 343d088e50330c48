/* launcher/dev-serial.c: COM1 (16550A at 0x3f8, IRQ4) wired to stdio (raw, Ctrl-A x quits), a file, or nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "hw/uart16550.h"
#include "vmm.h"

#define ESCAPE_CHAR	0x01	/* Ctrl-A */

struct serial_dev {
	struct uart uart;
	struct vm *vm;
	int out_fd;		/* -1: output dropped */
	int in_fd;		/* -1: no input */
	bool raw;		/* the terminal was put in raw mode */
	struct termios saved;
	bool escape;		/* Ctrl-A seen */
	uint8_t inbuf[64];	/* host bytes the FIFO had no room for */
	size_t inlen;
	bool paused;		/* stdin unwatched until the guest drains inbuf */
};

static void serial_tx(void *ctx, uint8_t byte)
{
	struct serial_dev *d = ctx;

	/* Unbuffered: the guest's byte is visible even if we crash next. */
	while (d->out_fd >= 0 && write(d->out_fd, &byte, 1) < 0 && errno == EINTR)
		;
}

static void flush_input(struct serial_dev *d)
{
	size_t n;

	if (!d->inlen)
		return;
	n = uart_receive(&d->uart, d->inbuf, d->inlen);
	memmove(d->inbuf, d->inbuf + n, d->inlen - n);
	d->inlen -= n;
}

static void stdin_ready(void *opaque)
{
	struct serial_dev *d = opaque;
	uint8_t buf[64];
	ssize_t n, i;

	if (d->inlen == sizeof(d->inbuf)) {
		flush_input(d);
		if (d->inlen == sizeof(d->inbuf)) {
			/* Guest not reading: leave the rest on the fd, stop polling it. */
			vm_unwatch_fd(d->vm, d->in_fd);
			d->paused = true;
			return;
		}
	}
	n = read(d->in_fd, buf, sizeof(d->inbuf) - d->inlen);
	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			/* End of input: stop watching, the guest keeps running. */
			vm_unwatch_fd(d->vm, d->in_fd);
			d->in_fd = -1;
		}
		return;
	}
	/*
	 * Ctrl-A x quits whether stdin is a terminal or a pipe or file: a
	 * script typing at the guest (a boot menu answer) ends it the same way.
	 */
	for (i = 0; i < n; i++) {
		uint8_t c = buf[i];

		if (d->escape) {
			d->escape = false;
			if (c == 'x' || c == 'X') {
				fprintf(stderr, "\r\nkvm-launch: quit\r\n");
				vm_request_exit(d->vm, 0);
				return;
			}
			if (c != ESCAPE_CHAR)
				continue;	/* unknown escape: dropped */
		} else if (c == ESCAPE_CHAR) {
			d->escape = true;
			continue;
		}
		d->inbuf[d->inlen++] = c;
	}
	flush_input(d);
}

static uint64_t serial_read(void *opaque, uint64_t off, unsigned int size)
{
	struct serial_dev *d = opaque;
	uint8_t v;

	(void)size;
	v = uart_read(&d->uart, off);
	if (off == 0 && d->inlen)
		flush_input(d);
	if (d->paused && d->inlen < sizeof(d->inbuf) &&
	    vm_watch_fd(d->vm, d->in_fd, stdin_ready, d) == 0)
		d->paused = false;
	return v;
}

static void serial_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct serial_dev *d = opaque;

	(void)size;
	uart_write(&d->uart, off, val);
}

static const struct io_ops serial_ops = { serial_read, serial_write };

static void restore_terminal(struct serial_dev *d)
{
	if (d->raw) {
		tcsetattr(d->in_fd >= 0 ? d->in_fd : STDIN_FILENO, TCSADRAIN, &d->saved);
		d->raw = false;
	}
}

static int serial_create(struct vm *vm, void **state)
{
	const struct vm_config *cfg = vm_config(vm);
	struct serial_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	d->vm = vm;
	d->out_fd = d->in_fd = -1;
	if (cfg->serial == SERIAL_STDIO) {
		d->out_fd = STDOUT_FILENO;
		d->in_fd = STDIN_FILENO;
		if (isatty(d->in_fd) && tcgetattr(d->in_fd, &d->saved) == 0) {
			struct termios t = d->saved;

			cfmakeraw(&t);
			t.c_oflag |= OPOST | ONLCR;	/* keep host-side newlines sane */
			if (tcsetattr(d->in_fd, TCSADRAIN, &t) == 0)
				d->raw = true;
		}
		if (vm_watch_fd(vm, d->in_fd, stdin_ready, d))
			d->in_fd = -1;
	} else if (cfg->serial == SERIAL_FILE) {
		d->out_fd = open(cfg->serial_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (d->out_fd < 0) {
			fprintf(stderr, "kvm-launch: serial.output %s: %s\n",
				cfg->serial_path, strerror(errno));
			free(d);
			return -1;
		}
	}
	uart_init(&d->uart, vm_irq_line(vm, 4), serial_tx, d);
	if (vm_register_pio(vm, 0x3f8, 8, &serial_ops, d)) {
		restore_terminal(d);
		if (cfg->serial == SERIAL_FILE)
			close(d->out_fd);
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static void serial_destroy(void *state)
{
	struct serial_dev *d = state;

	if (d->in_fd >= 0 && !d->paused)
		vm_unwatch_fd(d->vm, d->in_fd);
	restore_terminal(d);
	if (d->out_fd > STDERR_FILENO)
		close(d->out_fd);
	free(d);
}

static const struct device_type serial_type = {
	.name = "serial", .stage = DEVICE_STAGE_DEVICE,
	.create = serial_create, .destroy = serial_destroy,
};
DEVICE_TYPE(serial_type);
