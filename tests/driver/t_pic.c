/* tests/driver/t_pic.c: the in-kernel 8259 pair (KVM_CREATE_IRQCHIP) driven by a guest through its ports: init, masks, EOIs, priorities, cascade, auto-EOI, ELCR level lines, poll mode, KVM_IRQ_LINE(_STATUS) and KVM_GET/SET_IRQCHIP. */
#include "irqtest.h"

#define OCW3_IRR	0x0a
#define OCW3_ISR	0x0b
#define OCW3_POLL	0x0c
#define EOI		0x20

static void test_errnos(void)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_PIC_MASTER };
	struct kvm_irq_level l = { .irq = 3, .level = 1 };
	struct tvm t;
	int vm;

	tvm_create(&t, 1 << 20);
	tap_ok(ioctl(t.kvm, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) == 1, "CAP_IRQCHIP is 1");
	tap_ok(xioctl(t.vm, KVM_GET_IRQCHIP, &chip) == -ENXIO, "GET_IRQCHIP without an irqchip: ENXIO");
	tap_ok(xioctl(t.vm, KVM_SET_IRQCHIP, &chip) == -ENXIO, "SET_IRQCHIP without an irqchip: ENXIO");
	tap_ok(xioctl(t.vm, KVM_IRQ_LINE, &l) == -ENXIO, "IRQ_LINE without an irqchip: ENXIO");
	tap_ok(xioctl(t.vm, KVM_CREATE_IRQCHIP, NULL) == -EINVAL, "CREATE_IRQCHIP after a vCPU: EINVAL");
	tvm_destroy(&t);

	t.kvm = open_kvm();
	vm = ioctl(t.kvm, KVM_CREATE_VM, 0);
	tap_ok(xioctl(vm, KVM_CREATE_IRQCHIP, NULL) == 0 &&
	       xioctl(vm, KVM_CREATE_IRQCHIP, NULL) == -EEXIST, "CREATE_IRQCHIP, then again: EEXIST");
	chip.chip_id = 3;
	tap_ok(xioctl(vm, KVM_GET_IRQCHIP, &chip) == -EINVAL && xioctl(vm, KVM_SET_IRQCHIP, &chip) == -EINVAL,
	       "GET/SET_IRQCHIP chip 3: EINVAL");
	tap_ok(xioctl(vm, KVM_GET_IRQCHIP, NULL) == -EFAULT, "GET_IRQCHIP NULL: EFAULT");
	chip.chip_id = KVM_IRQCHIP_PIC_MASTER;
	memset(&chip.chip, 0xaa, sizeof(chip.chip));
	xioctl(vm, KVM_GET_IRQCHIP, &chip);
	{
		struct kvm_pic_state z = { .elcr_mask = 0xf8 };

		tap_ok(!memcmp(&chip.chip.pic, &z, sizeof(z)), "master at creation: all 0, elcr_mask f8");
	}
	chip.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	xioctl(vm, KVM_GET_IRQCHIP, &chip);
	tap_ok(chip.chip.pic.elcr_mask == 0xde && chip.chip.pic.imr == 0, "slave at creation: elcr_mask de");
	close(vm);
	close(t.kvm);
}

/* Init, mask, edge IRQ through KVM_IRQ_LINE, IRR/ISR reads, EOI. */
static void test_basic(struct irqvm *v)
{
	struct kvm_irqchip m, s;
	int a, b, c, d, e, f;

	s_pic_init(v, 0x20, 0x28, 0x01);
	a = s_in(v, 0x21);
	s_out(v, 0x21, 0xf7);
	s_out(v, 0xa1, 0xff);
	b = s_in(v, 0x21);
	c = s_in(v, 0xa1);
	tap_ok(irqg_run(v) == 0, "guest initializes the PIC pair");
	get_chip(v, KVM_IRQCHIP_PIC_MASTER, &m);
	get_chip(v, KVM_IRQCHIP_PIC_SLAVE, &s);
	tap_ok(m.chip.pic.irq_base == 0x20 && s.chip.pic.irq_base == 0x28 &&
	       m.chip.pic.init4 == 1 && m.chip.pic.init_state == 0 && s.chip.pic.init_state == 0,
	       "GET_IRQCHIP: bases %#x %#x, init4, init done", m.chip.pic.irq_base, s.chip.pic.irq_base);
	tap_ok(s_result(v, a) == 0 && s_result(v, b) == 0xf7 && s_result(v, c) == 0xff,
	       "IMR: 0 after ICW1, then reads back (%#x %#x %#x)", s_result(v, a), s_result(v, b), s_result(v, c));

	tap_ok(irq_line(v, 3, 1) == 0 && irq_line(v, 3, 0) == 0, "IRQ_LINE 3 up and down");
	s_out(v, 0x20, OCW3_IRR);
	a = s_in(v, 0x20);
	s_window(v);
	s_out(v, 0x20, OCW3_ISR);
	b = s_in(v, 0x20);
	c = s_in(v, 0x20);	/* still ISR: the selection sticks */
	s_out(v, 0x20, EOI);
	d = s_in(v, 0x20);
	s_out(v, 0x20, OCW3_IRR);
	e = s_in(v, 0x20);
	log_clear(v);
	irqg_run(v);
	tap_ok(s_result(v, a) == 0x08, "an edge on IR3 is latched in IRR (%#x)", s_result(v, a));
	tap_ok(log_count(v) == 1 && log_vec(v, 0) == 0x23, "delivered as vector 0x23 (%s)", log_str(v));
	tap_ok(s_result(v, b) == 0x08 && s_result(v, c) == 0x08, "then in service, IRR cleared (ISR %#x)",
	       s_result(v, b));
	tap_ok(s_result(v, d) == 0 && s_result(v, e) == 0, "non-specific EOI clears ISR");

	/* Masked: latched but not delivered until unmasked. */
	s_out(v, 0x21, 0xff);
	irqg_run(v);
	irq_line(v, 4, 1);
	irq_line(v, 4, 0);
	s_window(v);
	s_out(v, 0x20, OCW3_IRR);
	a = s_in(v, 0x20);
	s_out(v, 0x21, 0xef);
	s_window(v);
	s_out(v, 0x20, EOI);
	log_clear(v);
	irqg_run(v);
	tap_ok(s_result(v, a) == 0x10 && log_count(v) == 1 && log_vec(v, 0) == 0x24,
	       "a masked IR4 waits in IRR (%#x), unmasking delivers it (%s)", s_result(v, a), log_str(v));

	/* Cascade: slave IR2 is IRQ 10, through the master's IR2. */
	s_out(v, 0x21, 0xfb);
	s_out(v, 0xa1, 0xfb);
	irqg_run(v);
	irq_line(v, 10, 1);
	irq_line(v, 10, 0);
	s_window(v);
	s_out(v, 0x20, OCW3_ISR);
	a = s_in(v, 0x20);
	s_out(v, 0xa0, OCW3_ISR);
	b = s_in(v, 0xa0);
	s_out(v, 0xa0, EOI);
	s_out(v, 0x20, EOI);
	c = s_in(v, 0x20);
	d = s_in(v, 0xa0);
	log_clear(v);
	irqg_run(v);
	tap_ok(log_count(v) == 1 && log_vec(v, 0) == 0x2a, "IRQ 10 arrives as vector 0x2a (%s)", log_str(v));
	tap_ok(s_result(v, a) == 0x04 && s_result(v, b) == 0x04 && s_result(v, c) == 0 && s_result(v, d) == 0,
	       "in service on master IR2 and slave IR2 (%#x %#x), EOIs clear both",
	       s_result(v, a), s_result(v, b));

	/* Priority: IR3 before IR5; IR5 waits for the EOI; IR1 nests over IR3. */
	s_out(v, 0x21, 0xd5);
	irqg_run(v);
	irq_line(v, 5, 1);
	irq_line(v, 3, 1);
	irq_line(v, 5, 0);
	irq_line(v, 3, 0);
	s_window(v);
	s_window(v);
	s_out(v, 0x20, EOI);
	s_window(v);
	s_out(v, 0x20, EOI);
	log_clear(v);
	irqg_run(v);
	tap_ok(!strcmp(log_str(v), "23 25"), "IR3 and IR5: 0x23, then 0x25 only after the EOI (%s)", log_str(v));

	irq_line(v, 3, 1);
	irq_line(v, 3, 0);
	s_window(v);
	irqg_run(v);
	irq_line(v, 1, 1);
	irq_line(v, 1, 0);
	s_window(v);
	s_out(v, 0x20, OCW3_ISR);
	a = s_in(v, 0x20);
	s_out(v, 0x20, 0x63);	/* specific EOI, IR3 */
	b = s_in(v, 0x20);
	s_out(v, 0x20, EOI);
	c = s_in(v, 0x20);
	log_clear(v);
	irqg_run(v);
	tap_ok(log_count(v) == 1 && log_vec(v, 0) == 0x21 && s_result(v, a) == 0x0a,
	       "IR1 nests over IR3 in service (%s, ISR %#x)", log_str(v), s_result(v, a));
	tap_ok(s_result(v, b) == 0x02 && s_result(v, c) == 0,
	       "specific EOI of IR3 leaves IR1 (%#x), non-specific ends it", s_result(v, b));

	/* Set priority: IR4 lowest, so IR5 beats IR3. */
	s_out(v, 0x20, 0xc4);
	irqg_run(v);
	irq_line(v, 3, 1);
	irq_line(v, 5, 1);
	irq_line(v, 3, 0);
	irq_line(v, 5, 0);
	s_window(v);
	s_out(v, 0x20, EOI);
	s_window(v);
	s_out(v, 0x20, EOI);
	log_clear(v);
	irqg_run(v);
	get_chip(v, KVM_IRQCHIP_PIC_MASTER, &m);
	tap_ok(!strcmp(log_str(v), "25 23") && m.chip.pic.priority_add == 5,
	       "OCW2 set priority (IR4 lowest): 0x25 before 0x23 (%s), priority_add %d",
	       log_str(v), m.chip.pic.priority_add);
	s_out(v, 0x20, 0xc7);	/* back to IR0 highest */
	irqg_run(v);
	(void)e;
	(void)f;
}

/* Poll mode, auto-EOI, special mask bit, non-byte reads. */
static void test_modes(struct irqvm *v)
{
	struct kvm_irqchip m;
	int a, b, c, d;

	irq_line(v, 6, 1);
	irq_line(v, 6, 0);
	s_out(v, 0x21, 0xbf);
	s_out(v, 0x20, OCW3_POLL);
	a = s_in(v, 0x20);
	s_out(v, 0x20, OCW3_IRR);
	b = s_in(v, 0x20);
	s_out(v, 0x20, OCW3_POLL);
	c = s_in(v, 0x20);
	s_window(v);
	log_clear(v);
	irqg_run(v);
	tap_ok(s_result(v, a) == 6 && s_result(v, b) == 0 && log_count(v) == 0,
	       "poll: reads IR 6 (%#x) and takes it, nothing left to deliver", s_result(v, a));
	tap_ok(s_result(v, c) == 7, "poll with nothing pending reads 7 (%#x)", s_result(v, c));

	/* Auto-EOI: ICW4 0x03. */
	s_pic_init(v, 0x20, 0x28, 0x03);
	s_out(v, 0x21, 0xf7);
	s_out(v, 0xa1, 0xff);
	irqg_run(v);
	irq_line(v, 3, 1);
	irq_line(v, 3, 0);
	s_window(v);
	s_out(v, 0x20, OCW3_ISR);
	a = s_in(v, 0x20);
	log_clear(v);
	irqg_run(v);
	get_chip(v, KVM_IRQCHIP_PIC_MASTER, &m);
	tap_ok(log_count(v) == 1 && log_vec(v, 0) == 0x23 && s_result(v, a) == 0 && m.chip.pic.auto_eoi == 1,
	       "auto-EOI: 0x23 delivered (%s), ISR clear at once (%#x)", log_str(v), s_result(v, a));
	s_pic_init(v, 0x20, 0x28, 0x01);
	s_out(v, 0x21, 0xf7);
	s_out(v, 0xa1, 0xff);
	s_out(v, 0x20, 0x68);	/* OCW3: set special mask */
	a = s_inw(v, 0x20);
	irqg_run(v);
	get_chip(v, KVM_IRQCHIP_PIC_MASTER, &m);
	tap_ok(m.chip.pic.special_mask == 1 && m.chip.pic.auto_eoi == 0, "OCW3 special mask kept; ICW4 1 ends auto-EOI");
	tap_ok(s_resultw(v, a) == 0, "a word read of port 0x20 reads 0 (%#x)", s_resultw(v, a));
	(void)d;
}

/* ELCR: the mask of level-capable pins, level lines redeliver until lowered. */
static void test_elcr(struct irqvm *v)
{
	int a, b, c, d, e;

	s_out(v, 0x4d0, 0xff);
	a = s_in(v, 0x4d0);
	s_out(v, 0x4d1, 0xff);
	b = s_in(v, 0x4d1);
	s_out(v, 0x4d1, 0x00);
	s_out(v, 0x4d0, 0x08);
	c = s_in(v, 0x4d0);
	irqg_run(v);
	tap_ok(s_result(v, a) == 0xf8 && s_result(v, b) == 0xde && s_result(v, c) == 0x08,
	       "ELCR writes masked by f8/de (%#x %#x), IR3 level (%#x)",
	       s_result(v, a), s_result(v, b), s_result(v, c));

	irq_line(v, 3, 1);
	s_window(v);
	s_out(v, 0x20, EOI);
	s_window(v);
	s_out(v, 0x20, EOI);
	s_out(v, 0x20, OCW3_IRR);
	a = s_in(v, 0x20);
	log_clear(v);
	irqg_run(v);
	tap_ok(!strcmp(log_str(v), "23 23") && s_result(v, a) == 0x08,
	       "a high level line is delivered again after each EOI (%s), stays in IRR", log_str(v));
	irq_line(v, 3, 0);
	s_out(v, 0x20, OCW3_IRR);
	b = s_in(v, 0x20);
	s_window(v);
	log_clear(v);
	irqg_run(v);
	tap_ok(s_result(v, b) == 0 && log_count(v) == 0, "lowered: IRR clear, nothing more (%s)", log_str(v));

	/* Edge pin: a new rising edge while the request is pending coalesces. */
	s_out(v, 0x21, 0xe7);
	irqg_run(v);
	irq_line(v, 4, 0);
	d = irq_line_status(v, 4, 1);
	irq_line(v, 4, 0);
	e = irq_line_status(v, 4, 1);
	tap_ok(d == 1 && e == 0, "IRQ_LINE_STATUS: a new edge 1 (%d), raised again while pending 0 (%d)", d, e);
	s_window(v);
	s_out(v, 0x20, EOI);
	log_clear(v);
	irqg_run(v);
	irq_line(v, 4, 0);
	s_out(v, 0x21, 0xff);
	irqg_run(v);
	d = irq_line_status(v, 4, 1);
	irq_line(v, 4, 0);
	tap_ok(d == -1, "IRQ_LINE_STATUS on a masked pin: -1 (%d)", d);
	s_out(v, 0x4d0, 0);
	s_out(v, 0x20, OCW3_IRR);
	s_out(v, 0x21, 0xef);
	s_window(v);
	s_out(v, 0x20, EOI);
	irqg_run(v);
}

/* KVM_GET/SET_IRQCHIP round trips that the guest sees. */
static void test_state(struct irqvm *v)
{
	struct kvm_irqchip m, m2;
	int a;

	get_chip(v, KVM_IRQCHIP_PIC_MASTER, &m);
	m.chip.pic.imr = 0x5a;
	m.chip.pic.elcr = 0x20;
	tap_ok(xioctl(v->t.vm, KVM_SET_IRQCHIP, &m) == 0, "SET_IRQCHIP master");
	get_chip(v, KVM_IRQCHIP_PIC_MASTER, &m2);
	tap_ok(!memcmp(&m.chip.pic, &m2.chip.pic, sizeof(m.chip.pic)), "GET_IRQCHIP returns what was set");
	a = s_in(v, 0x21);
	irqg_run(v);
	tap_ok(s_result(v, a) == 0x5a, "the guest reads the IMR set (%#x)", s_result(v, a));

	/* A request set through the state is delivered. */
	m.chip.pic.imr = 0xfe;
	m.chip.pic.elcr = 0;
	m.chip.pic.irr = 0x01;
	xioctl(v->t.vm, KVM_SET_IRQCHIP, &m);
	s_window(v);
	s_out(v, 0x20, EOI);
	log_clear(v);
	irqg_run(v);
	tap_ok(log_count(v) == 1 && log_vec(v, 0) == 0x20, "an IRR bit set by SET_IRQCHIP is delivered (%s)",
	       log_str(v));
	m.chip.pic.irq_base = 0x40;
	m.chip.pic.irr = 0x01;
	xioctl(v->t.vm, KVM_SET_IRQCHIP, &m);
	s_window(v);
	s_out(v, 0x20, EOI);
	log_clear(v);
	irqg_run(v);
	tap_ok(log_count(v) == 1 && log_vec(v, 0) == 0x40, "with the vector base set to 0x40 (%s)", log_str(v));
}

int main(void)
{
	struct irqvm v;

	tap_plan(40);
	test_errnos();
	irqvm_create(&v, -1);
	test_basic(&v);
	test_modes(&v);
	test_elcr(&v);
	test_state(&v);
	irqvm_destroy(&v);
	return tap.failed ? 1 : 0;
}
