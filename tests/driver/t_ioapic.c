/*
 * tests/driver/t_ioapic.c: the in-kernel IOAPIC (KVM_CREATE_IRQCHIP) seen by a
 * long-mode guest through IOREGSEL/IOWIN at 0xfec00000, driven by
 * KVM_IRQ_LINE(_STATUS): registers and reset values, edge and level
 * delivery, masking, remote IRR and the LAPIC EOI, KVM_GET/SET_IRQCHIP,
 * GSI routing with an MSI route, KVM_SIGNAL_MSI, and the errnos of these
 * ioctls. The values asserted are stock KVM's (the oracle).
 */
#include "apictest.h"

#define RTE(pin)	(0x10 + 2 * (pin))
#define KVM_MAX_IRQ_ROUTES	4096	/* KVM_CHECK_EXTENSION(KVM_CAP_IRQ_ROUTING) */

/* KVM_IRQ_LINE_STATUS: the status, or 1000 + errno when the ioctl failed. */
static int line(int vm, uint32_t gsi, int level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	if (ioctl(vm, KVM_IRQ_LINE_STATUS, &l) < 0)
		return 1000 + errno;
	return l.status;
}

static long routing(int vm, const struct kvm_irq_routing_entry *e, int n, uint32_t flags)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[32];
	} b;

	memset(&b, 0, sizeof(b));
	b.r.nr = n;
	b.r.flags = flags;
	memcpy(b.e, e, n * sizeof(*e));
	return xioctl(vm, KVM_SET_GSI_ROUTING, &b);
}

static struct kvm_irq_routing_entry rt_chip(uint32_t gsi, uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry e = { .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP };

	e.u.irqchip.irqchip = chip;
	e.u.irqchip.pin = pin;
	return e;
}

static struct kvm_irq_routing_entry rt_msi(uint32_t gsi, uint32_t addr, uint32_t data)
{
	struct kvm_irq_routing_entry e = { .gsi = gsi, .type = KVM_IRQ_ROUTING_MSI };

	e.u.msi.address_lo = addr;
	e.u.msi.data = data;
	return e;
}

static void test_errnos(void)
{
	struct kvm_irq_level l = { .irq = 16, .level = 1 };
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x40 };
	struct kvm_irq_routing_entry e[3];
	struct kvm_irq_routing big = { .nr = KVM_MAX_IRQ_ROUTES + 1 };
	struct tvm t;
	int vm2, kvm;

	tvm_create(&t, 1 << 20);
	tap_ok(xioctl(t.vm, KVM_IRQ_LINE, &l) == -ENXIO, "KVM_IRQ_LINE without an irqchip: ENXIO");
	tap_ok(xioctl(t.vm, KVM_IRQ_LINE_STATUS, &l) == -ENXIO, "KVM_IRQ_LINE_STATUS without an irqchip: ENXIO");
	tap_ok(xioctl(t.vm, KVM_GET_IRQCHIP, &chip) == -ENXIO, "KVM_GET_IRQCHIP without an irqchip: ENXIO");
	tap_ok(xioctl(t.vm, KVM_SET_IRQCHIP, &chip) == -ENXIO, "KVM_SET_IRQCHIP without an irqchip: ENXIO");
	tap_ok(xioctl(t.vm, KVM_SIGNAL_MSI, &msi) == -EINVAL, "KVM_SIGNAL_MSI without an irqchip: EINVAL");
	tap_ok(xioctl(t.vm, KVM_CREATE_IRQCHIP, 0) == -EINVAL, "KVM_CREATE_IRQCHIP after a vCPU exists: EINVAL");
	tvm_destroy(&t);

	kvm = open_kvm();
	vm2 = ioctl(kvm, KVM_CREATE_VM, 0);
	tap_ok(xioctl(vm2, KVM_CREATE_IRQCHIP, 0) == 0, "KVM_CREATE_IRQCHIP");
	tap_ok(xioctl(vm2, KVM_CREATE_IRQCHIP, 0) == -EEXIST, "KVM_CREATE_IRQCHIP twice: EEXIST");
	chip.chip_id = 3;
	tap_ok(xioctl(vm2, KVM_GET_IRQCHIP, &chip) == -EINVAL && xioctl(vm2, KVM_SET_IRQCHIP, &chip) == -EINVAL,
	       "KVM_GET/SET_IRQCHIP chip 3: EINVAL");
	tap_ok(xioctl(vm2, KVM_GET_IRQCHIP, NULL) == -EFAULT, "KVM_GET_IRQCHIP NULL: EFAULT");
	msi.flags = 2;
	tap_ok(xioctl(vm2, KVM_SIGNAL_MSI, &msi) == -EINVAL, "KVM_SIGNAL_MSI with unknown flags: EINVAL");
	tap_ok(xioctl(vm2, KVM_SIGNAL_MSI, NULL) == -EFAULT, "KVM_SIGNAL_MSI NULL: EFAULT");
	/* Routing tables stock refuses. */
	e[0] = rt_chip(16, KVM_IRQCHIP_IOAPIC, 16);
	tap_ok(routing(vm2, e, 1, 1) == -EINVAL, "SET_GSI_ROUTING with flags: EINVAL");
	tap_ok(xioctl(vm2, KVM_SET_GSI_ROUTING, &big) == -EINVAL, "SET_GSI_ROUTING with 4097 entries: EINVAL");
	e[0] = rt_chip(KVM_MAX_IRQ_ROUTES, KVM_IRQCHIP_IOAPIC, 1);
	tap_ok(routing(vm2, e, 1, 0) == -EINVAL, "routing entry with GSI 4096: EINVAL");
	e[0] = rt_chip(1, KVM_IRQCHIP_IOAPIC, 24);
	tap_ok(routing(vm2, e, 1, 0) == -EINVAL, "routing entry to IOAPIC pin 24: EINVAL");
	e[0] = rt_chip(1, KVM_IRQCHIP_PIC_SLAVE, 8);
	tap_ok(routing(vm2, e, 1, 0) == -EINVAL, "routing entry to PIC pin 8: EINVAL");
	e[0] = rt_chip(1, 3, 0);
	tap_ok(routing(vm2, e, 1, 0) == -EINVAL, "routing entry to irqchip 3: EINVAL");
	e[0] = rt_chip(1, KVM_IRQCHIP_IOAPIC, 1);
	e[0].type = 99;
	tap_ok(routing(vm2, e, 1, 0) == -EINVAL, "routing entry of type 99: EINVAL");
	e[0] = rt_chip(1, KVM_IRQCHIP_IOAPIC, 1);
	e[0].flags = 1;
	tap_ok(routing(vm2, e, 1, 0) == -EINVAL, "irqchip routing entry with flags: EINVAL");
	e[0] = rt_msi(1, 0xfee00000, 0x40);
	e[0].flags = 2;
	tap_ok(routing(vm2, e, 1, 0) == -EINVAL, "MSI routing entry with unknown flags: EINVAL");
	e[0] = rt_chip(1, KVM_IRQCHIP_IOAPIC, 1);
	e[1] = rt_chip(1, KVM_IRQCHIP_IOAPIC, 2);
	tap_ok(routing(vm2, e, 2, 0) == -EINVAL, "one GSI routed twice to the IOAPIC: EINVAL");
	e[1] = rt_msi(1, 0xfee00000, 0x40);
	tap_ok(routing(vm2, e, 2, 0) == -EINVAL, "one GSI routed to the IOAPIC and an MSI: EINVAL");
	e[1] = rt_chip(1, KVM_IRQCHIP_PIC_MASTER, 1);
	tap_ok(routing(vm2, e, 2, 0) == 0, "one GSI routed to the IOAPIC and the PIC: accepted");
	tap_ok(routing(vm2, e, 0, 0) == 0, "an empty routing table: accepted");
	close(vm2);
	close(kvm);
}

static void test_registers(struct ivm *v)
{
	struct icpu *c = &v->cpu[0];
	int pin, ok = 1;
	uint32_t lo, hi;

	tap_ok(ioapic_rd(c, 1) == 0x170011, "IOAPIC version: 0x11, 24 entries (%#x)", ioapic_rd(c, 1));
	tap_ok(ioapic_rd(c, 0) == 0 && ioapic_rd(c, 2) == 0, "IOAPIC ID and arbitration 0 after reset");
	ioapic_wr(c, 0, 0xff000000);
	tap_ok(ioapic_rd(c, 0) == 0x0f000000 && ioapic_rd(c, 2) == 0x0f000000,
	       "IOAPIC ID keeps 4 bits; arbitration follows it (%#x, %#x)", ioapic_rd(c, 0), ioapic_rd(c, 2));
	ioapic_wr(c, 2, 0);
	ioapic_wr(c, 1, 0);
	tap_ok(ioapic_rd(c, 2) == 0x0f000000 && ioapic_rd(c, 1) == 0x170011,
	       "writes to version and arbitration are ignored");
	ioapic_wr(c, 0, 0);
	for (pin = 0; pin < 24; pin++)
		if (ioapic_rd(c, RTE(pin)) != 0x10000 || ioapic_rd(c, RTE(pin) + 1) != 0)
			ok = 0;
	tap_ok(ok, "24 redirection entries, masked after reset");
	tap_ok(ioapic_rd(c, RTE(24)) == 0xffffffff && ioapic_rd(c, RTE(24) + 1) == 0xffffffff,
	       "entry 24 does not exist: reads all ones");
	tap_ok(cmd(c, OP_RD32, IOAPIC, 0, 0) == RTE(24) + 1, "IOREGSEL reads back");
	/* Delivery status and remote IRR are read-only. */
	ioapic_wr(c, RTE(5), 0xffffffff);
	ioapic_wr(c, RTE(5) + 1, 0xffffffff);
	lo = ioapic_rd(c, RTE(5));
	hi = ioapic_rd(c, RTE(5) + 1);
	tap_ok(lo == 0xffffafff && hi == 0xffffffff,
	       "entry written all ones: delivery status and remote IRR stay 0 (%#x %#x)", lo, hi);
	ioapic_wr(c, RTE(5), 0x10000);
	ioapic_wr(c, RTE(5) + 1, 0);
}

static void test_edge_level(struct ivm *v)
{
	struct icpu *c = &v->cpu[0];
	struct kvm_irq_level l = { .irq = 16, .level = 1 };
	int s1, s2, s3, s4;

	eoi_mode_all(c, 1);
	irq_reset(c);
	apic_wr(c, A_SVR, 0x1ff);
	/* Edge: pin 16 -> vector 0x40, fixed, physical destination 0. */
	ioapic_wr(c, RTE(16) + 1, 0);
	ioapic_wr(c, RTE(16), 0x40);
	s1 = line(v->vm, 16, 1);
	tap_ok(s1 == 1, "edge pin 16 raised: status 1, one LAPIC took it (%d)", s1);
	window(c);
	tap_ok(irqs(c, 0x40) == 1, "edge: vector 0x40 delivered");
	s2 = line(v->vm, 16, 1);
	s3 = line(v->vm, 16, 0);
	window(c);
	tap_ok(s2 == 0 && s3 == 1 && irqs(c, 0x40) == 1,
	       "raised again without a falling edge: status 0 (coalesced), no interrupt; lowered: 1 (%d, %d)", s2, s3);
	tap_ok(xioctl(v->vm, KVM_IRQ_LINE, &l) == 0, "KVM_IRQ_LINE returns 0");
	l.level = 0;
	xioctl(v->vm, KVM_IRQ_LINE, &l);
	window(c);
	tap_ok(irqs(c, 0x40) == 2, "KVM_IRQ_LINE edge: delivered");
	/* A masked edge is lost. */
	ioapic_wr(c, RTE(16), 0x10040);
	s1 = line(v->vm, 16, 1);
	window(c);
	ioapic_wr(c, RTE(16), 0x40);
	window(c);
	s2 = line(v->vm, 16, 0);
	tap_ok(s1 == -1 && irqs(c, 0x40) == 2, "masked edge: status -1, not delivered (%d)", s1);
	tap_ok(irqs(c, 0x40) == 2, "masked edge: lost, not delivered on unmask");
	/* Destination with no APIC. */
	ioapic_wr(c, RTE(16) + 1, 5u << 24);
	s1 = line(v->vm, 16, 1);
	line(v->vm, 16, 0);
	window(c);
	tap_ok(s1 == 0 && irqs(c, 0x40) == 2, "edge to physical ID 5 (no such APIC): status 0 (%d)", s1);
	ioapic_wr(c, RTE(16) + 1, 0);

	/* Logical destination (flat LDR 0x01) and lowest priority from a pin. */
	apic_wr(c, A_LDR, 0x01000000);
	ioapic_wr(c, RTE(21) + 1, 0x01000000);
	ioapic_wr(c, RTE(21), 0x84a);
	s1 = line(v->vm, 21, 1);
	line(v->vm, 21, 0);
	ioapic_wr(c, RTE(21), 0x94b);
	s2 = line(v->vm, 21, 1);
	line(v->vm, 21, 0);
	window(c);
	tap_ok(s1 == 1 && s2 == 1 && irqs(c, 0x4a) == 1 && irqs(c, 0x4b) == 1,
	       "pin 21, logical destination 0x01: fixed and lowest priority delivered (%d, %d)", s1, s2);
	ioapic_wr(c, RTE(21), 0x10000);

	/* Level: pin 17 -> vector 0x41, level; the handler leaves the EOI to us. */
	eoi_mode(c, 0x41, 0);
	ioapic_wr(c, RTE(17), 0x8041);
	s1 = line(v->vm, 17, 1);
	window(c);
	tap_ok(s1 == 1 && irqs(c, 0x41) == 1, "level pin 17 raised: status 1, delivered (%d)", s1);
	tap_ok(ioapic_rd(c, RTE(17)) == 0xc041, "remote IRR set while the interrupt is in service (%#x)",
	       ioapic_rd(c, RTE(17)));
	tap_ok(apic_bit(c, A_TMR, 0x41) == 1 && apic_bit(c, A_ISR, 0x41) == 1,
	       "LAPIC: TMR and ISR bits for the level vector");
	s2 = line(v->vm, 17, 1);
	window(c);
	tap_ok(s2 == -1 && irqs(c, 0x41) == 1, "raised again before the EOI: status -1, nothing new (%d)", s2);
	/* EOI with the line still high: remote IRR clears, the interrupt comes again. */
	apic_wr(c, A_EOI, 0);
	window(c);
	tap_ok(irqs(c, 0x41) == 2 && (ioapic_rd(c, RTE(17)) & 0x4000),
	       "EOI with the line still asserted: delivered again, remote IRR set again");
	s3 = line(v->vm, 17, 0);
	apic_wr(c, A_EOI, 0);
	window(c);
	tap_ok(s3 == 1 && irqs(c, 0x41) == 2 && ioapic_rd(c, RTE(17)) == 0x8041 &&
	       apic_bit(c, A_ISR, 0x41) == 0,
	       "lowered, then EOI: remote IRR clear, no more interrupts (%d)", s3);
	/* Masked level: stays pending, delivered on unmask. */
	ioapic_wr(c, RTE(17), 0x18041);
	s1 = line(v->vm, 17, 1);
	window(c);
	tap_ok(s1 == -1 && irqs(c, 0x41) == 2, "masked level raised: status -1, not delivered (%d)", s1);
	ioapic_wr(c, RTE(17), 0x8041);
	window(c);
	tap_ok(irqs(c, 0x41) == 3, "masked level: delivered when unmasked");
	s4 = line(v->vm, 17, 0);
	apic_wr(c, A_EOI, 0);
	tap_ok(s4 == 1 && ioapic_rd(c, RTE(17)) == 0x8041, "lowered and EOI: remote IRR clear");
	/* Switching a level entry to edge clears its remote IRR. */
	line(v->vm, 17, 1);
	window(c);
	ioapic_wr(c, RTE(17), 0x41);
	tap_ok(ioapic_rd(c, RTE(17)) == 0x41, "entry switched to edge: remote IRR cleared (%#x)",
	       ioapic_rd(c, RTE(17)));
	line(v->vm, 17, 0);
	apic_wr(c, A_EOI, 0);
	ioapic_wr(c, RTE(17), 0x10000);
	/* A GSI nobody routes. */
	tap_ok(line(v->vm, 1000, 1) == -1, "KVM_IRQ_LINE_STATUS for an unrouted GSI 1000: status -1");
}

static void test_irqchip_state(struct ivm *v)
{
	struct icpu *c = &v->cpu[0];
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	int r;

	eoi_mode_all(c, 1);
	irq_reset(c);
	ioapic_wr(c, RTE(19) + 1, 0x01000000);
	ioapic_wr(c, RTE(19), 0x18049);
	r = ioctl(v->vm, KVM_GET_IRQCHIP, &chip);
	tap_ok(r == 0 && chip.chip.ioapic.base_address == IOAPIC && chip.chip.ioapic.id == 0 &&
	       chip.chip.ioapic.redirtbl[19].bits == 0x0100000000018049ULL &&
	       chip.chip.ioapic.redirtbl[18].bits == 0x10000,
	       "KVM_GET_IRQCHIP IOAPIC: base 0xfec00000, entries as the guest wrote them (%#llx)",
	       (unsigned long long)chip.chip.ioapic.redirtbl[19].bits);
	chip.chip.ioapic.redirtbl[18].bits = 0x42;
	chip.chip.ioapic.irr = 1u << 18;
	r = ioctl(v->vm, KVM_SET_IRQCHIP, &chip);
	tap_ok(r == 0 && ioapic_rd(c, RTE(18)) == 0x42, "KVM_SET_IRQCHIP: the guest reads the new entry 18");
	window(c);
	/* IRR bits in the state are raised again by KVM_SET_IRQCHIP (kvm_ioapic_inject_all). */
	tap_ok(irqs(c, 0x42) == 1, "KVM_SET_IRQCHIP with pin 18 in IRR: vector 0x42 delivered");
	line(v->vm, 18, 0);
	r = line(v->vm, 18, 1);
	line(v->vm, 18, 0);
	window(c);
	tap_ok(r == 1 && irqs(c, 0x42) == 2, "pin 18 configured by KVM_SET_IRQCHIP: edge delivered");
	chip.chip_id = KVM_IRQCHIP_PIC_MASTER;
	tap_ok(ioctl(v->vm, KVM_GET_IRQCHIP, &chip) == 0, "KVM_GET_IRQCHIP PIC master");
	ioapic_wr(c, RTE(18), 0x10000);
	ioapic_wr(c, RTE(19), 0x10000);
}

static void test_msi(struct ivm *v)
{
	struct icpu *c = &v->cpu[0];
	struct kvm_msi msi = { .address_lo = 0xfee00000, .data = 0x43 };
	struct kvm_irq_routing_entry e[10];
	uint64_t n;
	int r, i;

	eoi_mode_all(c, 1);
	irq_reset(c);
	r = ioctl(v->vm, KVM_SIGNAL_MSI, &msi);
	window(c);
	tap_ok(r == 1 && irqs(c, 0x43) == 1, "KVM_SIGNAL_MSI to APIC 0: returns 1, vector 0x43 delivered (%d)", r);
	/*
	 * Raised while the vCPU is out in userspace with IF clear: the next
	 * STI;HLT takes it (the HLT ends), as on hardware.
	 */
	irq_reset(c);
	r = ioctl(v->vm, KVM_SIGNAL_MSI, &msi);
	n = cmd_t(c, 3000, OP_STI_HLT, 0, 0, 0);
	tap_ok(r == 1 && n == 1 && irqs(c, 0x43) == 1,
	       "an MSI raised while the vCPU is in userspace wakes the next STI;HLT (%llu)",
	       (unsigned long long)n);
	c->broken = 0;
	msi.address_lo = 0xfee05000;
	r = xioctl(v->vm, KVM_SIGNAL_MSI, &msi);
	window(c);
	tap_ok(r == 0 && irqs(c, 0x43) == 1, "KVM_SIGNAL_MSI to APIC ID 5 (none): returns 0 (%d)", r);
	/* A table: GSI 16-23 to the IOAPIC as by default, GSI 30 an MSI. */
	for (i = 0; i < 8; i++)
		e[i] = rt_chip(16 + i, KVM_IRQCHIP_IOAPIC, 16 + i);
	e[8] = rt_msi(30, 0xfee00000, 0x44);
	tap_ok(routing(v->vm, e, 9, 0) == 0, "KVM_SET_GSI_ROUTING with an MSI route for GSI 30");
	r = line(v->vm, 30, 1);
	window(c);
	tap_ok(r == 1 && irqs(c, 0x44) == 1, "KVM_IRQ_LINE on GSI 30: the MSI's vector 0x44 delivered (%d)", r);
	r = line(v->vm, 30, 0);
	window(c);
	tap_ok(r == -1 && irqs(c, 0x44) == 1, "GSI 30 lowered: status -1, nothing delivered (%d)", r);
	ioapic_wr(c, RTE(20), 0x45);
	r = line(v->vm, 20, 1);
	line(v->vm, 20, 0);
	window(c);
	tap_ok(r == 1 && irqs(c, 0x45) == 1, "GSI 20 still routed to the IOAPIC");
	r = line(v->vm, 4, 1);
	tap_ok(r == -1, "GSI 4, left out of the table: status -1 (%d)", r);
	ioapic_wr(c, RTE(20), 0x10000);
}

int main(void)
{
	struct ivm v;

	tap_plan(67);
	test_errnos();
	ivm_create(&v, 1, 1, 0);
	test_registers(&v);
	test_edge_level(&v);
	test_irqchip_state(&v);
	test_msi(&v);
	tap_ok(v.cpu[0].mmio_exits == 0, "no MMIO exit reached userspace: the IOAPIC and APIC pages are the kernel's (%d)",
	       v.cpu[0].mmio_exits);
	ivm_destroy(&v);
	return tap_done();
}
