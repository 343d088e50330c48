/* launcher/ui-terminal.c: display.type = "terminal": VGA text mode drawn on the controlling terminal with ANSI escapes, its keys to the guest; Ctrl-A x quits. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "dev-i8042.h"
#include "dev-vga.h"
#include "ui.h"
#include "vm.h"

/*
 * Threads and locks. One thread, "term", reads the keys from stdin and
 * draws on stdout; nothing else writes there but kvm-launch's own
 * messages (stderr). The machine is attached and detached by main under
 * t->lock, which the thread holds while it reads the screen or sends keys:
 * lock order t->lock -> the VGA's or the i8042's mutex. No device calls
 * a frontend, and vCPU threads never come here.
 *
 * The terminal is given back (its modes, the normal screen, the cursor)
 * by close, at exit() (atexit) and on a fatal signal (SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE, SIGABRT: restored, then the signal goes on to the
 * handler that was there). A signal handler gets no context, so what it
 * needs is the one process-wide variable here, set only while the
 * terminal is taken.
 */

#define REFRESH_MS	30
#define ESCAPE_CHAR	0x01		/* Ctrl-A, as on the serial console */
#define MAX_CELLS	(256 * 128)

/*
 * enter: no line wrap, cleared. Not the alternate screen: what kvm-launch
 * says (a machine that cannot be built, "quit") stays on the terminal
 * after it, and so does the guest's last screen. leave: colours, cursor
 * and wrap as they were, the cursor below everything.
 */
#define TERM_ENTER	"\033[?7l\033[H\033[2J"
#define TERM_LEAVE	"\033[0m\033[?25h\033[?7h\033[999;1H\r\n"

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

static struct {
	volatile sig_atomic_t taken;
	bool raw;
	struct termios saved;
	struct sigaction old[5];
	bool handlers;
} term_restore;

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Async-signal-safe: write and tcsetattr. */
static void give_back(void)
{
	if (!term_restore.taken)
		return;
	term_restore.taken = 0;
	write_all(STDOUT_FILENO, TERM_LEAVE, sizeof(TERM_LEAVE) - 1);
	if (term_restore.raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &term_restore.saved);
}

static void on_fatal(int sig)
{
	unsigned int i;

	give_back();
	for (i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &term_restore.old[i], NULL);
	/* delivered again once this handler returns, to the old handler */
	raise(sig);
}

struct term {
	pthread_t thread;
	atomic_bool stop;
	int wake_fd;			/* eventfd: close */
	int in_fd;			/* -1: no keys (stdin is not a terminal) */

	pthread_mutex_t lock;		/* everything below */
	struct vm *vm;
	struct pc_vga *vga;
	struct i8042_dev *kbd;
	struct ui_keys keys;
	bool escape;			/* Ctrl-A seen */
	uint64_t generation;		/* of the card when last drawn */
	struct ui_text shown, next;	/* what the terminal shows; what the card has */
	bool notice;			/* the graphics mode notice is shown */
	struct ui_buf out;
};

static void emit_key(void *ctx, uint16_t code, bool down)
{
	struct term *t = ctx;

	pc_kbd_key(t->kbd, code, down);
}

/* Bytes typed: Ctrl-A x quits, Ctrl-A Ctrl-A sends one; the rest are keys. */
static void typed(struct term *t, const uint8_t *buf, size_t len)
{
	struct ui_term_key keys[64];
	uint8_t pass[64];
	size_t n = 0, k;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];

		if (t->escape) {
			t->escape = false;
			if (c == 'x' || c == 'X') {
				give_back();
				fprintf(stderr, "kvm-launch: quit\n");
				vm_request_exit(t->vm, 0);
				t->vga = NULL;	/* the normal screen is back: draw no more */
				t->kbd = NULL;
				return;
			}
			if (c != ESCAPE_CHAR)
				continue;
		} else if (c == ESCAPE_CHAR) {
			t->escape = true;
			continue;
		}
		pass[n++] = c;
		if (n == sizeof(pass) || i + 1 == len) {
			k = ui_term_decode(pass, n, keys, 64);
			for (size_t j = 0; j < k; j++)
				ui_term_key(&t->keys, &keys[j], emit_key, t);
			n = 0;
		}
	}
	if (n) {
		k = ui_term_decode(pass, n, keys, 64);
		for (size_t j = 0; j < k; j++)
			ui_term_key(&t->keys, &keys[j], emit_key, t);
	}
}

static void draw(struct term *t)
{
	uint64_t g = pc_vga_generation(t->vga);
	struct ui_text swap;
	int n;

	if (t->shown.valid && g == t->generation)
		return;
	t->generation = g;
	t->out.len = 0;
	n = pc_vga_text(t->vga, t->next.cells, MAX_CELLS, &t->next.cols, &t->next.rows,
			&t->next.cursor);
	if (n < 0) {
		static const char notice[] = "\033[0m\033[H\033[2J\033[?25l"
			"[kvm-launch: the guest's screen is in a graphics mode: "
			"see it through display.type \"vnc\" or a screendump]";

		if (!t->notice)
			write_all(STDOUT_FILENO, notice, sizeof(notice) - 1);
		t->notice = true;
		t->shown.valid = false;
		return;
	}
	t->notice = false;
	t->next.valid = true;
	/* a register write that changed nothing on screen: nothing to send */
	if (t->shown.valid && t->shown.cols == t->next.cols && t->shown.rows == t->next.rows &&
	    t->shown.cursor == t->next.cursor &&
	    !memcmp(t->shown.cells, t->next.cells, (size_t)n * sizeof(uint16_t)))
		return;
	if (ui_text_draw(&t->shown, &t->next, &t->out))
		return;
	write_all(STDOUT_FILENO, t->out.p, t->out.len);
	swap = t->shown;
	t->shown = t->next;
	t->next = swap;
}

static void *term_main(void *arg)
{
	struct term *t = arg;
	struct pollfd pfd[2] = {
		{ .fd = t->wake_fd, .events = POLLIN },
		{ .fd = t->in_fd, .events = POLLIN },
	};

	while (!atomic_load(&t->stop)) {
		uint8_t buf[256];
		ssize_t n;

		if (poll(pfd, t->in_fd >= 0 ? 2 : 1, REFRESH_MS) > 0 && t->in_fd >= 0 &&
		    (pfd[1].revents & (POLLIN | POLLHUP))) {
			n = read(t->in_fd, buf, sizeof(buf));
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				t->in_fd = -1;	/* no more keys; the screen goes on */
			} else if (n > 0) {
				pthread_mutex_lock(&t->lock);
				if (t->kbd)
					typed(t, buf, (size_t)n);
				pthread_mutex_unlock(&t->lock);
			}
		}
		pthread_mutex_lock(&t->lock);
		if (t->vga)
			draw(t);
		pthread_mutex_unlock(&t->lock);
	}
	return NULL;
}

/* Raw keys, a cleared screen; the way back on every exit path. */
static void take_terminal(struct term *t)
{
	struct sigaction sa = { .sa_handler = on_fatal };

	if (t->in_fd >= 0 && tcgetattr(t->in_fd, &term_restore.saved) == 0) {
		struct termios raw = term_restore.saved;

		cfmakeraw(&raw);
		term_restore.raw = tcsetattr(t->in_fd, TCSANOW, &raw) == 0;
	}
	if (!term_restore.raw)
		t->in_fd = -1;
	if (!term_restore.handlers) {
		sigemptyset(&sa.sa_mask);
		for (unsigned int i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
			sigaction(fatal_signals[i], &sa, &term_restore.old[i]);
		atexit(give_back);
		term_restore.handlers = true;
	}
	term_restore.taken = 1;
	write_all(STDOUT_FILENO, TERM_ENTER, sizeof(TERM_ENTER) - 1);
}

static void term_free(struct term *t)
{
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	free(t->shown.cells);
	free(t->next.cells);
	ui_buf_free(&t->out);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static void *term_open(const struct vm_config *cfg)
{
	struct term *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->wake_fd = eventfd(0, EFD_CLOEXEC);
	t->in_fd = isatty(STDIN_FILENO) ? STDIN_FILENO : -1;
	t->shown.cells = calloc(MAX_CELLS, sizeof(uint16_t));
	t->next.cells = calloc(MAX_CELLS, sizeof(uint16_t));
	if (t->wake_fd < 0 || !t->shown.cells || !t->next.cells) {
		fprintf(stderr, "%s:%d: display.type: terminal: %s\n", cfg->path, cfg->display_line,
			strerror(t->wake_fd < 0 ? errno : ENOMEM));
		term_free(t);
		return NULL;
	}
	take_terminal(t);
	if (ui_thread_start(&t->thread, term_main, t, "term")) {
		give_back();
		term_free(t);
		return NULL;
	}
	return t;
}

static void term_attach(void *state, struct vm *vm)
{
	struct term *t = state;

	pthread_mutex_lock(&t->lock);
	t->vm = vm;
	t->vga = vm_device(vm, "vga");
	t->kbd = vm_device(vm, "i8042");
	t->shown.valid = false;
	t->notice = false;
	memset(&t->keys, 0, sizeof(t->keys));
	pthread_mutex_unlock(&t->lock);
}

static void term_detach(void *state)
{
	struct term *t = state;

	pthread_mutex_lock(&t->lock);
	t->vm = NULL;
	t->vga = NULL;
	t->kbd = NULL;
	pthread_mutex_unlock(&t->lock);
}

static void term_close(void *state)
{
	struct term *t = state;
	uint64_t one = 1;

	atomic_store(&t->stop, true);
	if (write(t->wake_fd, &one, sizeof(one)) < 0)
		perror("kvm-launch: terminal");
	pthread_join(t->thread, NULL);
	give_back();
	term_free(t);
}

const struct ui_ops ui_terminal_ops = {
	.name = "terminal",
	.open = term_open, .attach = term_attach, .detach = term_detach, .close = term_close,
};
