/* tests/driver/t_hyperv_synic.c: Hyper-V SynIC with the in-kernel irqchip: KVM_CAP_HYPERV_SYNIC2, the SIMP exit, message and direct synthetic timers, HV_SINT routes. */
#include <signal.h>
#include <sys/eventfd.h>

#include "kvmtest.h"

extern const uint8_t synic_guest[], synic_guest_end[];
extern const uint8_t g_synic[], h_msg[], h_direct[], h_sint[];

#define GA(sym)		(0x2000 + (uint64_t)((sym) - synic_guest))
#define DATA		0x5000
#define MSG_PAGE	0x14000
#define HVMSG_TIMER_EXPIRED	0x80000010
#define SINT_GSI	30
#define MAX_ENT		128

struct cpuid_buf {
	struct kvm_cpuid2 c;
	struct kvm_cpuid_entry2 e[MAX_ENT];
};

/* Run until the next exit; it must be an OUT to @port. Its value, or ~0. */
static uint32_t expect_out(struct tvm *t, uint16_t port, const char *what)
{
	int r;

	alarm(10);
	r = tvm_run(t);
	alarm(0);
	if (r == KVM_EXIT_IO && t->run->io.direction == KVM_EXIT_IO_OUT &&
	    t->run->io.port == port)
		return tvm_io_val(t);
	tap_diag("%s: expected OUT to 0x%x, got exit %s (port 0x%x)", what, port,
		 exit_name(r), r == KVM_EXIT_IO ? t->run->io.port : 0);
	return ~0U;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* The supported CPUID without KVM's own 0x400000xx leaves, plus Hyper-V's. */
static void set_hv_cpuid(struct tvm *t)
{
	struct cpuid_buf sup = { .c.nent = MAX_ENT }, hv = { .c.nent = MAX_ENT }, out;

	if (ioctl(t->kvm, KVM_GET_SUPPORTED_CPUID, &sup) < 0 ||
	    ioctl(t->vcpu, KVM_GET_SUPPORTED_HV_CPUID, &hv) < 0) {
		printf("Bail out! supported CPUID: %s\n", strerror(errno));
		exit(1);
	}
	out.c.nent = 0;
	for (uint32_t i = 0; i < sup.c.nent; i++)
		if (sup.e[i].function < 0x40000000 || sup.e[i].function >= 0x40000100)
			out.e[out.c.nent++] = sup.e[i];
	for (uint32_t i = 0; i < hv.c.nent && out.c.nent < MAX_ENT; i++)
		out.e[out.c.nent++] = hv.e[i];
	if (ioctl(t->vcpu, KVM_SET_CPUID2, &out) < 0) {
		printf("Bail out! KVM_SET_CPUID2: %s\n", strerror(errno));
		exit(1);
	}
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

int main(void)
{
	struct kvm_enable_cap synic = { .cap = KVM_CAP_HYPERV_SYNIC2 };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[1];
	} rt = { .r.nr = 1 };
	struct kvm_irq_level line = { .irq = SINT_GSI };
	struct kvm_hyperv_eventfd evt = { .conn_id = 7 };
	uint64_t cnt;
	struct tvm t;
	uint32_t v;
	int r;

	tap_plan(17);
	memset(&t, 0, sizeof(t));
	t.kvm = open_kvm();
	if (ioctl(t.kvm, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV_SYNIC2) != 1) {
		tap_skip_all("no KVM_CAP_HYPERV_SYNIC2");
		return 0;
	}
	sigaction(SIGALRM, &sa, NULL);
	t.vm = ioctl(t.kvm, KVM_CREATE_VM, 0);
	t.mem_size = 4 << 20;
	t.mem = guest_alloc(t.mem_size);
	if (t.vm < 0 || set_slot(t.vm, 0, 0, t.mem, t.mem_size, 0) ||
	    ioctl(t.vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		printf("Bail out! VM with irqchip: %s\n", strerror(errno));
		return 1;
	}
	tvm_add_vcpu(&t);
	set_hv_cpuid(&t);
	r = xioctl(t.vcpu, KVM_ENABLE_CAP, &synic);
	tap_ok(r == 0, "KVM_ENABLE_CAP(KVM_CAP_HYPERV_SYNIC2) with the in-kernel irqchip (%d)", r);
	synic.args[0] = 1;
	r = xioctl(t.vcpu, KVM_ENABLE_CAP, &synic);
	tap_ok(r == -EINVAL, "KVM_CAP_HYPERV_SYNIC2 with args[0] 1: EINVAL (%d)", r);

	tvm_load(&t, 0x2000, synic_guest, synic_guest_end - synic_guest);
	tvm_long_mode(&t, GA(g_synic));
	tvm_idt_set(&t, 0x40, GA(h_msg));
	tvm_idt_set(&t, 0x41, GA(h_direct));
	tvm_idt_set(&t, 0x42, GA(h_sint));
	memset(t.mem + MSG_PAGE, 0xaa, 4096);	/* SynIC2: the page is not zeroed */
	memset(t.mem + MSG_PAGE + 2 * 256, 0, 256);

	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_HYPERV && t.run->hyperv.type == KVM_EXIT_HYPERV_SYNIC &&
	       t.run->hyperv.u.synic.msr == 0x40000083 &&
	       t.run->hyperv.u.synic.msg_page == (MSG_PAGE | 1) &&
	       t.run->hyperv.u.synic.control == 1,
	       "SIMP write: KVM_EXIT_HYPERV, SYNIC, msr SIMP, msg_page %#llx, control %llu (exit %s)",
	       (unsigned long long)t.run->hyperv.u.synic.msg_page,
	       (unsigned long long)t.run->hyperv.u.synic.control, exit_name(r));
	tap_ok(t.mem[MSG_PAGE] == 0xaa, "SynIC2 left the message page's contents alone");

	v = expect_out(&t, 0x40, "message timer");
	tap_ok(v == 1, "timer 0 (one-shot, 1 ms) interrupted on SINT 2's vector once (%u)", v);
	tap_ok(get32(t.mem + DATA) == HVMSG_TIMER_EXPIRED && get32(t.mem + DATA + 4) == 0,
	       "its message: HVMSG_TIMER_EXPIRED (%#x), timer index %u",
	       get32(t.mem + DATA), get32(t.mem + DATA + 4));
	v = expect_out(&t, 0x41, "direct timer");
	tap_ok(v == 1, "timer 1 (direct mode) interrupted on its own vector once (%u)", v);

	v = expect_out(&t, 0x42, "route");
	rt.e[0].gsi = SINT_GSI;
	rt.e[0].type = KVM_IRQ_ROUTING_HV_SINT;
	rt.e[0].u.hv_sint.vcpu = 0;
	rt.e[0].u.hv_sint.sint = 3;
	r = xioctl(t.vm, KVM_SET_GSI_ROUTING, &rt);
	tap_ok(r == 0, "KVM_SET_GSI_ROUTING: GSI %d to VP 0's SINT 3 (%d)", SINT_GSI, r);
	line.level = 1;
	r = xioctl(t.vm, KVM_IRQ_LINE_STATUS, &line);
	tap_ok(r == 0 && line.status == 1, "KVM_IRQ_LINE_STATUS raises the SINT: status %d (%d)",
	       line.status, r);
	line.level = 0;
	ioctl(t.vm, KVM_IRQ_LINE, &line);
	v = expect_out(&t, 0x43, "HV_SINT route");
	tap_ok(v == 1, "SINT 3 interrupted on its vector once (%u)", v);
	{
		struct kvm_lapic_state ls;

		r = ioctl(t.vcpu, KVM_GET_LAPIC, &ls);
		tap_ok(r == 0 && !(get32((uint8_t *)ls.regs + 0x120) & (1U << 2)),
		       "auto-EOI SINT: vector 0x42 not left in service (ISR %#x)",
		       get32((uint8_t *)ls.regs + 0x120));
	}
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_HYPERV && t.run->hyperv.type == KVM_EXIT_HYPERV_HCALL &&
	       t.run->hyperv.u.hcall.input == 0x5c &&
	       t.run->hyperv.u.hcall.params[0] == 0x12000 &&
	       t.run->hyperv.u.hcall.params[1] == 0x13000,
	       "HvPostMessage: KVM_EXIT_HYPERV, HCALL, input %#llx, params %#llx %#llx (exit %s)",
	       (unsigned long long)t.run->hyperv.u.hcall.input,
	       (unsigned long long)t.run->hyperv.u.hcall.params[0],
	       (unsigned long long)t.run->hyperv.u.hcall.params[1], exit_name(r));
	t.run->hyperv.u.hcall.result = 0x1234;
	v = expect_out(&t, 0x45, "post message");
	tap_ok(v == 0x1234, "the VMM's result reaches the guest: %#x", v);
	evt.fd = eventfd(0, EFD_NONBLOCK);
	r = xioctl(t.vm, KVM_HYPERV_EVENTFD, &evt);
	tap_ok(r == 0 && xioctl(t.vm, KVM_HYPERV_EVENTFD, &evt) == -EEXIST,
	       "KVM_HYPERV_EVENTFD: connection 7 assigned (%d), again EEXIST", r);
	v = expect_out(&t, 0x46, "signal event");
	cnt = 0;
	r = read(evt.fd, &cnt, 8);
	tap_ok(v == 0 && r == 8 && cnt == 1,
	       "HvSignalEvent on connection 7: HV_STATUS_SUCCESS (%u), eventfd %llu", v,
	       (unsigned long long)cnt);
	evt.flags = KVM_HYPERV_EVENTFD_DEASSIGN;
	r = xioctl(t.vm, KVM_HYPERV_EVENTFD, &evt);
	tap_ok(r == 0 && xioctl(t.vm, KVM_HYPERV_EVENTFD, &evt) == -ENOENT,
	       "KVM_HYPERV_EVENTFD deassign (%d), again ENOENT", r);
	v = expect_out(&t, 0x44, "end");
	tap_ok(v != ~0U, "guest reaches its end");
	tvm_destroy(&t);
	return tap_done();
}
