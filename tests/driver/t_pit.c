/* tests/driver/t_pit.c: the in-kernel 8254 (KVM_CREATE_PIT2) driven by a guest through ports 0x40-0x43 and 0x61: latches, read-back, access modes, the speaker gate, channel 0's tick through the PIC, reinjection, KVM_GET/SET_PIT(2) and their errnos. */
#include "irqtest.h"

#define PIT_CH(n)	(0x40 + (n))
#define PIT_CMD		0x43
#define EOI		0x20

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int get_pit2(int vm, struct kvm_pit_state2 *ps)
{
	memset(ps, 0xff, sizeof(*ps));
	return xioctl(vm, KVM_GET_PIT2, ps);
}

static void test_errnos(void)
{
	struct kvm_pit_config pc = { .flags = 0 };
	struct kvm_reinject_control rc = { .pit_reinject = 1 };
	struct kvm_pit_state2 ps2;
	struct kvm_pit_state ps;
	int kvm = open_kvm(), vm, i, reserved = 0, ok;

	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_PIT2) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_PIT_STATE2) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_REINJECT_CONTROL) > 0,
	       "CAP_PIT2, CAP_PIT_STATE2, CAP_REINJECT_CONTROL");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	memset(&ps, 0, sizeof(ps));
	memset(&ps2, 0, sizeof(ps2));
	tap_ok(xioctl(vm, KVM_GET_PIT2, &ps2) == -ENXIO && xioctl(vm, KVM_SET_PIT2, &ps2) == -ENXIO &&
	       xioctl(vm, KVM_GET_PIT, &ps) == -ENXIO && xioctl(vm, KVM_SET_PIT, &ps) == -ENXIO &&
	       xioctl(vm, KVM_REINJECT_CONTROL, &rc) == -ENXIO,
	       "GET/SET_PIT(2), REINJECT_CONTROL without a PIT: ENXIO");
	tap_ok(xioctl(vm, KVM_CREATE_PIT2, NULL) == -EFAULT, "CREATE_PIT2 NULL: EFAULT");
	tap_ok(xioctl(vm, KVM_CREATE_PIT2, &pc) == 0, "CREATE_PIT2 without an irqchip: created (as 6.1)");
	tap_ok(xioctl(vm, KVM_CREATE_PIT2, &pc) == -EEXIST && xioctl(vm, KVM_CREATE_PIT, NULL) == -EEXIST,
	       "a second CREATE_PIT2 or CREATE_PIT: EEXIST");
	tap_ok(get_pit2(vm, &ps2) == 0, "GET_PIT2");
	ok = ps2.flags == 0;
	for (i = 0; i < 3; i++)
		ok &= ps2.channels[i].mode == 0xff && ps2.channels[i].count == 0x10000 &&
		      ps2.channels[i].gate == (i != 2) && ps2.channels[i].rw_mode == 0;
	for (i = 0; i < 9; i++)
		reserved |= ps2.reserved[i];
	tap_ok(ok && !reserved, "at creation: mode 0xff, count 0x10000, gates 1 1 0, flags 0, reserved 0");
	tap_ok(xioctl(vm, KVM_GET_PIT2, NULL) == -EFAULT && xioctl(vm, KVM_SET_PIT2, NULL) == -EFAULT &&
	       xioctl(vm, KVM_GET_PIT, NULL) == -EFAULT && xioctl(vm, KVM_REINJECT_CONTROL, NULL) == -EFAULT,
	       "GET/SET_PIT2, GET_PIT, REINJECT_CONTROL NULL: EFAULT");
	tap_ok(xioctl(vm, KVM_REINJECT_CONTROL, &rc) == 0, "REINJECT_CONTROL");
	close(vm);

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	pc.flags = 0x80;
	tap_ok(xioctl(vm, KVM_CREATE_PIT2, &pc) == 0, "CREATE_PIT2 with unknown flags: created (as 6.1)");
	close(vm);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	tap_ok(xioctl(vm, KVM_CREATE_PIT, NULL) == 0 && xioctl(vm, KVM_GET_PIT, &ps) == 0 &&
	       ps.channels[0].mode == 0xff, "CREATE_PIT, GET_PIT");
	close(vm);
	close(kvm);
}

static void test_ports(void)
{
	struct kvm_pit_state2 ps;
	struct irqvm v;
	int a, b, c, d, e;
	unsigned int cnt;

	irqvm_create(&v, KVM_PIT_SPEAKER_DUMMY);
	s_out(&v, PIT_CMD, 0xb4);	/* ch2, lsb then msb, mode 2, binary */
	s_out(&v, PIT_CH(2), 0x34);
	s_out(&v, PIT_CH(2), 0x12);
	s_out(&v, PIT_CMD, 0x80);	/* latch ch2 */
	irqg_run(&v);
	get_pit2(v.t.vm, &ps);
	tap_ok(ps.channels[2].count == 0x1234 && ps.channels[2].mode == 2 && ps.channels[2].rw_mode == 3 &&
	       ps.channels[2].bcd == 0, "ch2 programmed: count %#x mode %d rw %d",
	       ps.channels[2].count, ps.channels[2].mode, ps.channels[2].rw_mode);
	tap_ok(ps.channels[2].count_latched == 3, "counter latch command: count_latched %d",
	       ps.channels[2].count_latched);
	s_spin(&v, 20000);
	a = s_in(&v, PIT_CH(2));
	b = s_in(&v, PIT_CH(2));
	irqg_run(&v);
	get_pit2(v.t.vm, &ps);
	cnt = s_result(&v, a) | s_result(&v, b) << 8;
	tap_ok(cnt > 0 && cnt <= 0x1234 && ps.channels[2].count_latched == 0 &&
	       ps.channels[2].latched_count == cnt,
	       "latched count read lsb, msb: %#x, the latch released", cnt);

	s_out(&v, PIT_CMD, 0xc8);	/* read-back ch2: count and status */
	a = s_in(&v, PIT_CH(2));
	b = s_in(&v, PIT_CH(2));
	c = s_in(&v, PIT_CH(2));
	s_out(&v, PIT_CMD, 0xe8);	/* read-back ch2: status only */
	d = s_in(&v, PIT_CH(2));
	irqg_run(&v);
	get_pit2(v.t.vm, &ps);
	cnt = s_result(&v, b) | s_result(&v, c) << 8;
	tap_ok((s_result(&v, a) & 0x7f) == 0x34 && cnt > 0 && cnt <= 0x1234,
	       "read-back: status %#x (lsb/msb, mode 2), then the count %#x", s_result(&v, a), cnt);
	tap_ok((s_result(&v, d) & 0x7f) == 0x34 && ps.channels[2].count_latched == 0 &&
	       ps.channels[2].status_latched == 0, "read-back of the status alone: %#x, nothing else latched",
	       s_result(&v, d));

	s_out(&v, PIT_CMD, 0xb1);	/* ch2, lsb/msb, mode 0, BCD */
	s_out(&v, PIT_CMD, 0xe8);
	a = s_in(&v, PIT_CH(2));
	s_out(&v, PIT_CMD, 0x7c);	/* ch1, lsb/msb, mode 6 = 2 */
	irqg_run(&v);
	get_pit2(v.t.vm, &ps);
	tap_ok((s_result(&v, a) & 0x3f) == 0x31 && ps.channels[2].bcd == 1 && ps.channels[1].mode == 2,
	       "BCD in the status (%#x); mode 6 is mode 2 (%d)", s_result(&v, a), ps.channels[1].mode);

	s_out(&v, PIT_CMD, 0x90);	/* ch2, lsb only, mode 0 */
	s_out(&v, PIT_CH(2), 0x50);
	irqg_run(&v);
	get_pit2(v.t.vm, &ps);
	cnt = ps.channels[2].count;
	s_out(&v, PIT_CMD, 0xa0);	/* ch2, msb only, mode 0 */
	s_out(&v, PIT_CH(2), 0x02);
	irqg_run(&v);
	get_pit2(v.t.vm, &ps);
	tap_ok(cnt == 0x50 && ps.channels[2].count == 0x200, "lsb-only load %#x, msb-only load %#x",
	       cnt, ps.channels[2].count);

	/* The speaker port: gate and data bits, OUT of channel 2. */
	s_out(&v, 0x61, 0x03);
	a = s_in(&v, 0x61);
	irqg_run(&v);
	a = s_result(&v, a);
	get_pit2(v.t.vm, &ps);
	b = ps.channels[2].gate;
	c = ps.flags;
	s_out(&v, 0x61, 0x00);
	d = s_in(&v, 0x61);
	irqg_run(&v);
	get_pit2(v.t.vm, &ps);
	tap_ok((a & 3) == 3 && b == 1 && (c & KVM_PIT_FLAGS_SPEAKER_DATA_ON),
	       "port 0x61 = 3: reads %#x, gate %d, flags %#x", a, b, c);
	tap_ok((s_result(&v, d) & 3) == 0 && ps.channels[2].gate == 0 &&
	       !(ps.flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON) && v.user_exits == 0,
	       "port 0x61 = 0: reads %#x, gate 0, in the kernel", s_result(&v, d));
	s_out(&v, PIT_CMD, 0xb0);	/* ch2, lsb/msb, mode 0: OUT low until the count ends */
	s_out(&v, PIT_CH(2), 0xff);
	s_out(&v, PIT_CH(2), 0xff);
	a = s_in(&v, 0x61);
	s_out(&v, PIT_CMD, 0x90);
	s_out(&v, PIT_CH(2), 2);
	irqg_run(&v);
	a = s_result(&v, a);
	sleep_ms(2);
	e = s_in(&v, 0x61);
	irqg_run(&v);
	tap_ok(!(a & 0x20) && (s_result(&v, e) & 0x20),
	       "channel 2 OUT on 0x61 bit 5: low while counting (%#x), high after (%#x)",
	       a, s_result(&v, e));
	irqvm_destroy(&v);

	irqvm_create(&v, 0);
	s_out(&v, 0x61, 0x03);
	irqg_run(&v);
	tap_ok(v.user_exits == 1 && v.user_port == 0x61, "without SPEAKER_DUMMY port 0x61 goes to userspace");
	irqvm_destroy(&v);
}

/* The guest EOIs and waits for the next tick, n times: the last stays in service. */
static double ticks(struct irqvm *v, int n)
{
	double t0;
	int i;

	for (i = 0; i < n; i++) {
		s_out(v, 0x20, EOI);
		s_hlt(v);
	}
	log_clear(v);
	t0 = now_ms();
	irqg_run(v);
	return now_ms() - t0;
}

static void s_ch0(struct irqvm *v, uint8_t cmd, unsigned int count)
{
	s_out(v, PIT_CMD, cmd);
	s_out(v, PIT_CH(0), count & 0xff);
	s_out(v, PIT_CH(0), count >> 8);
}

static void test_timer(void)
{
	struct kvm_reinject_control rc = { .pit_reinject = 0 };
	struct kvm_pit_state2 ps;
	struct kvm_pit_state ps1;
	struct irqvm v;
	unsigned int cnt;
	double ms, t0;
	int a, b;

	irqvm_create(&v, KVM_PIT_SPEAKER_DUMMY);
	s_pic_init(&v, 0x20, 0x28, 0x01);
	s_out(&v, 0x21, 0xfe);
	s_out(&v, 0xa1, 0xff);
	irqg_run(&v);
	/* Timed from the programming: tick n can come no sooner than n periods after. */
	t0 = now_ms();
	s_ch0(&v, 0x34, 11932);		/* mode 2, 10 ms */
	ticks(&v, 5);
	ms = now_ms() - t0;
	tap_ok(log_count(&v) == 5 && !strcmp(log_str(&v), "20 20 20 20 20"),
	       "mode 2: IRQ 0 ticks through the PIC as vector 0x20 (%s)", log_str(&v));
	tap_ok(ms >= 45, "5 ticks of 10 ms took %.1f ms", ms);

	/* Reprogrammed before the EOI: no tick of the old period is left. */
	s_ch0(&v, 0x30, 1193);		/* mode 0, 1 ms, once */
	s_out(&v, 0x20, EOI);
	s_hlt(&v);
	s_out(&v, 0x20, EOI);
	log_clear(&v);
	irqg_run(&v);
	sleep_ms(30);
	s_window(&v);
	irqg_run(&v);
	tap_ok(!strcmp(log_str(&v), "20"), "mode 0: one tick only (%s)", log_str(&v));

	/* Reinjection: ticks missed while the guest does not EOI come after. */
	s_ch0(&v, 0x34, 5966);		/* 5 ms */
	s_hlt(&v);
	irqg_run(&v);
	sleep_ms(200);
	ms = ticks(&v, 20);
	tap_ok(log_count(&v) == 20 && ms < 40,
	       "reinjection: 20 ticks missed while not EOIed come one per EOI (%.1f ms)", ms);
	tap_ok(xioctl(v.t.vm, KVM_REINJECT_CONTROL, &rc) == 0, "REINJECT_CONTROL 0");
	s_ch0(&v, 0x34, 5966);
	s_out(&v, 0x20, EOI);
	s_hlt(&v);
	irqg_run(&v);
	sleep_ms(200);
	ms = ticks(&v, 20);
	tap_ok(log_count(&v) == 20 && ms >= 50,
	       "without reinjection the missed ticks are dropped: 20 ticks take %.1f ms", ms);

	/* HPET legacy mode stops channel 0's tick. */
	get_pit2(v.t.vm, &ps);
	ps.flags = KVM_PIT_FLAGS_HPET_LEGACY;
	ps.channels[0].count = 1193;
	ps.channels[0].mode = 2;
	tap_ok(xioctl(v.t.vm, KVM_SET_PIT2, &ps) == 0, "SET_PIT2 with HPET_LEGACY");
	s_out(&v, 0x20, EOI);
	s_window(&v);
	s_out(&v, 0x20, EOI);
	irqg_run(&v);
	sleep_ms(30);
	s_window(&v);
	log_clear(&v);
	irqg_run(&v);
	get_pit2(v.t.vm, &ps);
	tap_ok(log_count(&v) == 0 && ps.flags == KVM_PIT_FLAGS_HPET_LEGACY && ps.channels[0].count == 1193,
	       "HPET_LEGACY kept, channel 0 silent (%s)", log_str(&v));
	ps.flags = 0;
	xioctl(v.t.vm, KVM_SET_PIT2, &ps);
	ticks(&v, 3);
	tap_ok(log_count(&v) == 3, "SET_PIT2 without it: channel 0 ticks again (%s)", log_str(&v));

	/* KVM_SET_PIT / GET_PIT, and the guest reads what was set. */
	s_ch0(&v, 0x30, 0);
	s_out(&v, 0x20, EOI);
	irqg_run(&v);
	memset(&ps1, 0, sizeof(ps1));
	xioctl(v.t.vm, KVM_GET_PIT, &ps1);
	ps1.channels[1].count = 0x4321;
	ps1.channels[1].mode = 2;
	ps1.channels[1].rw_mode = 3;
	ps1.channels[1].read_state = 3;
	ps1.channels[1].write_state = 3;
	tap_ok(xioctl(v.t.vm, KVM_SET_PIT, &ps1) == 0, "SET_PIT");
	memset(&ps1, 0, sizeof(ps1));
	xioctl(v.t.vm, KVM_GET_PIT, &ps1);
	s_out(&v, PIT_CMD, 0x40);	/* latch ch1 */
	a = s_in(&v, PIT_CH(1));
	b = s_in(&v, PIT_CH(1));
	irqg_run(&v);
	cnt = s_result(&v, a) | s_result(&v, b) << 8;
	tap_ok(ps1.channels[1].count == 0x4321 && ps1.channels[1].mode == 2 && cnt > 0 && cnt <= 0x4321,
	       "GET_PIT returns it; the guest latches ch1 at %#x", cnt);
	irqvm_destroy(&v);
}

int main(void)
{
	tap_plan(33);
	test_errnos();
	test_ports();
	test_timer();
	return tap.failed ? 1 : 0;
}
