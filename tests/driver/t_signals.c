/* tests/driver/t_signals.c: port and MMIO exits under a timer signal: a signal's EINTR says KVM_EXIT_INTR, immediate_exit's leaves the last exit in kvm_run (as KVM), a return of 0 never carries a stale INTR. */
#include <signal.h>
#include <sys/time.h>

#include "kvmtest.h"

#define NR_WRITES	4000
#define PORT		0x10
#define MMIO_GPA	0xc0000000ULL

/*
 *	mov $NR_WRITES, %ecx
 *	mov $0xc0000000, %ebx
 * 1:	mov %ecx, %eax
 *	out %eax, $0x10		; KVM_EXIT_IO, the countdown
 *	mov %ecx, (%rbx)	; KVM_EXIT_MMIO, the same value
 *	mov $50, %edx
 * 2:	dec %edx		; a little time in the guest between exits
 *	jnz 2b
 *	loop 1b
 *	hlt
 */
static const uint8_t guest[] = {
	0xb9, NR_WRITES & 0xff, NR_WRITES >> 8, 0, 0,
	0xbb, 0x00, 0x00, 0x00, 0xc0,
	0x89, 0xc8,
	0xe7, PORT,
	0x89, 0x0b,
	0xba, 50, 0, 0, 0,
	0xff, 0xca,
	0x75, 0xfc,
	0xe2, 0xef,
	0xf4,
};

static volatile sig_atomic_t ticks;

static void on_alarm(int sig)
{
	(void)sig;
	ticks++;
}

struct tally {
	int io, mmio, eintr, eintr_bad, zero_bad, order_bad, other_err;
	int immediate, immediate_bad;
	bool hlt;
	char first_bad[160];
};

static void note_bad(struct tally *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note_bad(struct tally *c, const char *fmt, ...)
{
	va_list ap;

	if (c->first_bad[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->first_bad, sizeof(c->first_bad), fmt, ap);
	va_end(ap);
}

/* One exit that KVM_RUN reported with 0: it must be the next expected one. */
static void check_exit(struct tvm *t, struct tally *c, uint32_t *next,
		       bool *want_mmio)
{
	struct kvm_run *run = t->run;
	uint32_t v = 0;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (run->io.port != PORT || run->io.direction != KVM_EXIT_IO_OUT ||
		    run->io.size != 4 || *want_mmio || tvm_io_val(t) != *next) {
			c->order_bad++;
			note_bad(c, "IO port %#x size %u value %u, expected %s %u",
				 run->io.port, run->io.size, tvm_io_val(t),
				 *want_mmio ? "MMIO" : "IO", *next);
		}
		c->io++;
		*want_mmio = true;
		break;
	case KVM_EXIT_MMIO:
		memcpy(&v, run->mmio.data, 4);
		if (run->mmio.phys_addr != MMIO_GPA || !run->mmio.is_write ||
		    run->mmio.len != 4 || !*want_mmio || v != *next) {
			c->order_bad++;
			note_bad(c, "MMIO %#llx len %u value %u, expected %s %u",
				 (unsigned long long)run->mmio.phys_addr,
				 run->mmio.len, v, *want_mmio ? "MMIO" : "IO", *next);
		}
		c->mmio++;
		*want_mmio = false;
		(*next)--;
		break;
	case KVM_EXIT_HLT:
		if (*next != 0) {
			c->order_bad++;
			note_bad(c, "HLT with %u writes to go", *next);
		}
		c->hlt = true;
		break;
	default:
		c->zero_bad++;
		note_bad(c, "KVM_RUN returned 0 with exit_reason %s after %d IO, %d MMIO exits",
			 exit_name(run->exit_reason), c->io, c->mmio);
		break;
	}
}

static void run_under_signals(struct tvm *t, struct tally *c)
{
	uint32_t next = NR_WRITES;
	bool want_mmio = false;
	int calls;

	memset(c, 0, sizeof(*c));
	for (calls = 0; !c->hlt && calls < 40 * NR_WRITES; calls++) {
		int r, err;

		/*
		 * Now and then the I/O is completed with immediate_exit, twice,
		 * as the selftests' get_ucall() can: EINTR each time, and
		 * kvm_run still shows the I/O exit, as with KVM.
		 */
		if (calls % 97 == 50 && t->run->exit_reason == KVM_EXIT_IO) {
			int i;

			c->immediate++;
			for (i = 0; i < 2; i++) {
				t->run->immediate_exit = 1;
				r = ioctl(t->vcpu, KVM_RUN, 0);
				err = errno;
				t->run->immediate_exit = 0;
				if (r != -1 || err != EINTR ||
				    t->run->exit_reason != KVM_EXIT_IO ||
				    t->run->io.port != PORT) {
					c->immediate_bad++;
					note_bad(c, "immediate_exit: KVM_RUN gave %d (errno %d), exit_reason %s",
						 r, err, exit_name(t->run->exit_reason));
				}
			}
			continue;
		}
		r = ioctl(t->vcpu, KVM_RUN, 0);
		err = errno;
		if (r == 0) {
			check_exit(t, c, &next, &want_mmio);
			if (c->zero_bad + c->order_bad > 20)
				break;
		} else if (err == EINTR) {
			c->eintr++;
			if (t->run->exit_reason != KVM_EXIT_INTR) {
				c->eintr_bad++;
				note_bad(c, "-EINTR with exit_reason %s",
					 exit_name(t->run->exit_reason));
			}
		} else {
			c->other_err++;
			note_bad(c, "KVM_RUN: %s", strerror(err));
			break;
		}
	}
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 250 }, { 0, 250 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	struct tally c;
	struct tvm t;
	int r;

	tap_plan(6);
	/* No SA_RESTART: the signal must end KVM_RUN, as it ends any wait. */
	sigaction(SIGALRM, &sa, NULL);

	tvm_create(&t, 1 << 20);
	tvm_long_mode(&t, 0x2000);
	tvm_load(&t, 0x2000, guest, sizeof(guest));

	setitimer(ITIMER_REAL, &it, NULL);
	run_under_signals(&t, &c);
	setitimer(ITIMER_REAL, &off, NULL);

	tap_diag("%d IO, %d MMIO exits, %d -EINTR, %d immediate exits, %d signals",
		 c.io, c.mmio, c.eintr, c.immediate, (int)ticks);
	if (c.first_bad[0])
		tap_diag("first anomaly: %s", c.first_bad);
	tap_ok(c.zero_bad == 0,
	       "every KVM_RUN that returned 0 carried its exit, never a stale INTR (%d did not)",
	       c.zero_bad);
	tap_ok(c.eintr > 0 && c.eintr_bad == 0,
	       "every -EINTR carried KVM_EXIT_INTR (%d of %d did not)", c.eintr_bad, c.eintr);
	tap_ok(c.io == NR_WRITES && c.mmio == NR_WRITES && c.order_bad == 0 && c.hlt,
	       "%d port and %d MMIO writes, each once and in order, then HLT", c.io, c.mmio);
	tap_ok(c.other_err == 0, "no KVM_RUN error but EINTR");
	tap_ok(c.immediate > 0 && c.immediate_bad == 0,
	       "immediate_exit after an I/O exit: -EINTR, kvm_run still the I/O exit, the I/O completed once (%d times)",
	       c.immediate);

	/* After HLT, with nothing pending: EINTR, and kvm_run still says HLT. */
	t.run->immediate_exit = 1;
	r = tvm_run(&t);
	t.run->immediate_exit = 0;
	tap_ok(r == -EINTR && t.run->exit_reason == KVM_EXIT_HLT,
	       "immediate_exit after HLT: -EINTR (%d), exit_reason still HLT (%s)",
	       r, exit_name(t.run->exit_reason));
	tvm_destroy(&t);
	return tap_done();
}
