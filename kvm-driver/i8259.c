// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/i8259.c: the master/slave 8259A pair of a PC, at ports
 * 0x20-0x21 and 0xa0-0xa1, with the PIIX edge/level control registers
 * (ELCR) at 0x4d0-0x4d1. It behaves as KVM's in-kernel PIC: ICW1-4,
 * OCW1-3, auto-EOI, rotation, poll mode, special fully nested mode, the
 * slave cascaded on the master's IR2, spurious IRQ 7/15, and the line of
 * each pin kept per interrupt source and ORed. Like KVM's, the special
 * mask bit is kept (and saved) but does not change priorities.
 *
 * The state of each chip is a struct kvm_pic_state, the layout
 * KVM_GET/SET_IRQCHIP exchange. One spinlock guards both chips and the
 * line states; what must run without it (the ack notifiers of EOIed pins
 * and the kick of the vCPUs when INTR rises) is collected in a struct
 * pic_defer and done once the lock is dropped.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": pic: " fmt

#include <linux/bitops.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "kvmdrv.h"

#define PIC_MASTER	0
#define PIC_SLAVE	1

struct kvmd_pic {
	spinlock_t lock;
	struct kvmd_vm *vm;
	struct kvm_pic_state chip[2];
	bool output;				/* INTR from the master */
	unsigned long irq_states[KVMD_NR_PIC_PINS];	/* a bit per source */
	struct kvmd_io_device dev_master;
	struct kvmd_io_device dev_slave;
	struct kvmd_io_device dev_elcr;
};

/* Work for after the lock: pins (0-15) whose ISR bit an EOI cleared, a kick. */
struct pic_defer {
	u16 acked;
	bool kick;
};

static void pic_lock(struct kvmd_pic *pic, unsigned long *flags)
	__acquires(&pic->lock)
{
	spin_lock_irqsave(&pic->lock, *flags);
}

static void pic_unlock(struct kvmd_pic *pic, unsigned long flags,
		       struct pic_defer *d)
	__releases(&pic->lock)
{
	unsigned long acked;
	int pin;

	spin_unlock_irqrestore(&pic->lock, flags);
	acked = d->acked;
	for_each_set_bit(pin, &acked, KVMD_NR_PIC_PINS)
		kvmd_notify_acked_irq(pic->vm, pin < 8 ? KVM_IRQCHIP_PIC_MASTER :
				      KVM_IRQCHIP_PIC_SLAVE, pin & 7);
	if (d->kick)
		kvmd_pic_kick_vcpus(pic->vm);
}

static void pic_clear_isr(struct kvmd_pic *pic, int idx, int irq,
			  struct pic_defer *d)
{
	pic->chip[idx].isr &= ~(1 << irq);
	d->acked |= 1 << (irq + 8 * idx);
}

/*
 * A new level on IR irq. An edge-triggered input sets IRR on a rising edge
 * only; a level-triggered one follows the line. Returns -1 if the input is
 * masked, 0 if the request was already pending, 1 if it is new.
 */
static int pic_set_irq1(struct kvm_pic_state *c, int irq, int level)
{
	u8 mask = 1 << irq;
	int ret = 1;

	if (c->elcr & mask) {
		if (level) {
			ret = !(c->irr & mask);
			c->irr |= mask;
			c->last_irr |= mask;
		} else {
			c->irr &= ~mask;
			c->last_irr &= ~mask;
		}
	} else if (level) {
		if (!(c->last_irr & mask)) {
			ret = !(c->irr & mask);
			c->irr |= mask;
		}
		c->last_irr |= mask;
	} else {
		c->last_irr &= ~mask;
	}
	return (c->imr & mask) ? -1 : ret;
}

/* Priority (0 highest) of the best bit of mask after rotation; 8 if none. */
static int get_priority(const struct kvm_pic_state *c, u8 mask)
{
	int prio = 0;

	if (!mask)
		return 8;
	while (!(mask & (1 << ((prio + c->priority_add) & 7))))
		prio++;
	return prio;
}

/* The IR chip idx asks the CPU (or the master) for, or -1. */
static int pic_get_irq(struct kvmd_pic *pic, int idx)
{
	struct kvm_pic_state *c = &pic->chip[idx];
	int prio, cur;
	u8 in_service;

	prio = get_priority(c, c->irr & ~c->imr);
	if (prio == 8)
		return -1;
	/* Special fully nested mode: the slave may interrupt its own service. */
	in_service = c->isr;
	if (c->special_fully_nested_mode && idx == PIC_MASTER)
		in_service &= ~(1 << 2);
	cur = get_priority(c, in_service);
	if (prio < cur)
		return (prio + c->priority_add) & 7;
	return -1;
}

/* Recompute the cascade and INTR; call whenever a request may have changed. */
static void pic_update_irq(struct kvmd_pic *pic, struct pic_defer *d)
{
	bool level;

	if (pic_get_irq(pic, PIC_SLAVE) >= 0) {
		/* The slave's INT is an edge on the master's IR2. */
		pic_set_irq1(&pic->chip[PIC_MASTER], 2, 1);
		pic_set_irq1(&pic->chip[PIC_MASTER], 2, 0);
	}
	level = pic_get_irq(pic, PIC_MASTER) >= 0;
	if (level && !pic->output)
		d->kick = true;
	WRITE_ONCE(pic->output, level);
}

int kvmd_pic_set_irq(struct kvmd_pic *pic, u32 irq, int irq_source_id,
		     int level)
{
	struct pic_defer d = {};
	unsigned long flags;
	int ret, line;

	if (WARN_ON_ONCE(irq >= KVMD_NR_PIC_PINS ||
			 irq_source_id < 0 ||
			 irq_source_id >= KVMD_MAX_IRQ_SOURCE_IDS))
		return -EINVAL;

	pic_lock(pic, &flags);
	if (level)
		__set_bit(irq_source_id, &pic->irq_states[irq]);
	else
		__clear_bit(irq_source_id, &pic->irq_states[irq]);
	line = !!pic->irq_states[irq];
	ret = pic_set_irq1(&pic->chip[irq >> 3], irq & 7, line);
	pic_update_irq(pic, &d);
	pic_unlock(pic, flags, &d);
	return ret;
}

void kvmd_pic_clear_all(struct kvmd_pic *pic, int irq_source_id)
{
	unsigned long flags;
	int i;

	if (irq_source_id < 0 || irq_source_id >= KVMD_MAX_IRQ_SOURCE_IDS)
		return;
	spin_lock_irqsave(&pic->lock, flags);
	for (i = 0; i < KVMD_NR_PIC_PINS; i++)
		__clear_bit(irq_source_id, &pic->irq_states[i]);
	spin_unlock_irqrestore(&pic->lock, flags);
}

bool kvmd_pic_has_interrupt(struct kvmd_pic *pic)
{
	return READ_ONCE(pic->output);
}

/* The INTA cycle on chip idx: IR irq goes in service. */
static void pic_intack(struct kvmd_pic *pic, int idx, int irq,
		       struct pic_defer *d)
{
	struct kvm_pic_state *c = &pic->chip[idx];

	c->isr |= 1 << irq;
	/* A level-triggered request stays until its line drops. */
	if (!(c->elcr & (1 << irq)))
		c->irr &= ~(1 << irq);
	if (c->auto_eoi) {
		if (c->rotate_on_auto_eoi)
			c->priority_add = (irq + 1) & 7;
		pic_clear_isr(pic, idx, irq, d);
	}
}

int kvmd_pic_read_irq(struct kvmd_pic *pic)
{
	struct pic_defer d = {};
	unsigned long flags;
	int irq, irq2, intno;

	pic_lock(pic, &flags);
	pic->output = false;
	irq = pic_get_irq(pic, PIC_MASTER);
	if (irq >= 0) {
		pic_intack(pic, PIC_MASTER, irq, &d);
		if (irq == 2) {
			irq2 = pic_get_irq(pic, PIC_SLAVE);
			if (irq2 >= 0)
				pic_intack(pic, PIC_SLAVE, irq2, &d);
			else
				irq2 = 7;	/* spurious IRQ 15 */
			intno = pic->chip[PIC_SLAVE].irq_base + irq2;
		} else {
			intno = pic->chip[PIC_MASTER].irq_base + irq;
		}
	} else {
		/* Spurious IRQ 7. */
		intno = pic->chip[PIC_MASTER].irq_base + 7;
	}
	pic_update_irq(pic, &d);
	pic_unlock(pic, flags, &d);
	return intno;
}

/* Whether the PIC's INTR reaches some vCPU; read without the PIC lock. */
static bool pic_intr_accepted(struct kvmd_vm *vm)
{
	int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++)
		if (kvmd_apic_accept_pic_intr(vm->vcpus[i]))
			return true;
	return false;
}

/* ICW1: the chip restarts its initialization sequence. */
static void pic_reset(struct kvmd_pic *pic, int idx, bool accepted,
		      struct pic_defer *d)
{
	struct kvm_pic_state *c = &pic->chip[idx];
	u8 edge_irr = c->irr & ~c->elcr;
	int irq;

	c->last_irr = 0;
	c->irr &= c->elcr;
	c->imr = 0;
	c->priority_add = 0;
	c->special_mask = 0;
	c->read_reg_select = 0;
	if (!c->init4) {
		c->special_fully_nested_mode = 0;
		c->auto_eoi = 0;
	}
	c->init_state = 1;

	/*
	 * As KVM: the edge requests dropped here will never be acknowledged,
	 * so tell their ack notifiers (the PIT waits for them to reinject).
	 */
	if (!accepted)
		return;
	for (irq = 0; irq < 8; irq++)
		if (edge_irr & (1 << irq))
			pic_clear_isr(pic, idx, irq, d);
}

static void pic_ioport_write(struct kvmd_pic *pic, int idx, u32 addr, u8 val,
			     bool accepted, struct pic_defer *d)
{
	struct kvm_pic_state *c = &pic->chip[idx];
	int prio, cmd, irq;

	if (addr & 1) {
		switch (c->init_state) {
		case 0: {	/* OCW1: the mask */
			u8 changed = c->imr ^ val;
			int pin;

			c->imr = val;
			/* Mask notifiers (the PIT's) only touch atomics: under the lock. */
			for (pin = 0; pin < 8; pin++)
				if (changed & (1 << pin))
					kvmd_fire_mask_notifiers(pic->vm,
						idx ? KVM_IRQCHIP_PIC_SLAVE : KVM_IRQCHIP_PIC_MASTER,
						pin, val & (1 << pin));
			pic_update_irq(pic, d);
			break;
		}
		case 1:		/* ICW2: the vector base */
			c->irq_base = val & 0xf8;
			c->init_state = 2;
			break;
		case 2:		/* ICW3: cascade wiring, fixed here */
			c->init_state = c->init4 ? 3 : 0;
			break;
		case 3:		/* ICW4 */
			c->special_fully_nested_mode = (val >> 4) & 1;
			c->auto_eoi = (val >> 1) & 1;
			c->init_state = 0;
			break;
		}
		return;
	}

	if (val & 0x10) {	/* ICW1 */
		c->init4 = val & 1;
		if (val & 0x02)
			pr_err_ratelimited("single mode not supported\n");
		if (val & 0x08)
			pr_err_ratelimited("level sensitive irq not supported\n");
		pic_reset(pic, idx, accepted, d);
		return;
	}
	if (val & 0x08) {	/* OCW3 */
		if (val & 0x04)
			c->poll = 1;
		if (val & 0x02)
			c->read_reg_select = val & 1;
		if (val & 0x40)
			c->special_mask = (val >> 5) & 1;
		return;
	}

	/* OCW2 */
	cmd = val >> 5;
	switch (cmd) {
	case 0:		/* rotate in auto-EOI mode: clear */
	case 4:		/* set */
		c->rotate_on_auto_eoi = cmd >> 2;
		break;
	case 1:		/* non-specific EOI */
	case 5:		/* rotate on non-specific EOI */
		prio = get_priority(c, c->isr);
		if (prio != 8) {
			irq = (prio + c->priority_add) & 7;
			if (cmd == 5)
				c->priority_add = (irq + 1) & 7;
			pic_clear_isr(pic, idx, irq, d);
			pic_update_irq(pic, d);
		}
		break;
	case 3:		/* specific EOI */
		irq = val & 7;
		pic_clear_isr(pic, idx, irq, d);
		pic_update_irq(pic, d);
		break;
	case 6:		/* set priority */
		c->priority_add = (val + 1) & 7;
		pic_update_irq(pic, d);
		break;
	case 7:		/* rotate on specific EOI */
		irq = val & 7;
		c->priority_add = (irq + 1) & 7;
		pic_clear_isr(pic, idx, irq, d);
		pic_update_irq(pic, d);
		break;
	default:	/* 2: no operation */
		break;
	}
}

/* A read in poll mode: the request is taken and ended at once, as KVM. */
static u8 pic_poll_read(struct kvmd_pic *pic, int idx, struct pic_defer *d)
{
	struct kvm_pic_state *c = &pic->chip[idx];
	int irq;

	irq = pic_get_irq(pic, idx);
	if (irq < 0) {
		pic_update_irq(pic, d);
		return 0x07;
	}
	if (idx == PIC_SLAVE) {
		pic->chip[PIC_MASTER].isr &= ~(1 << 2);
		pic->chip[PIC_MASTER].irr &= ~(1 << 2);
	}
	c->irr &= ~(1 << irq);
	pic_clear_isr(pic, idx, irq, d);
	if (idx == PIC_SLAVE || irq != 2)
		pic_update_irq(pic, d);
	return irq;
}

static u8 pic_ioport_read(struct kvmd_pic *pic, int idx, u32 addr,
			  struct pic_defer *d)
{
	struct kvm_pic_state *c = &pic->chip[idx];
	u8 ret;

	if (c->poll) {
		ret = pic_poll_read(pic, idx, d);
		c->poll = 0;
	} else if (addr & 1) {
		ret = c->imr;
	} else {
		ret = c->read_reg_select ? c->isr : c->irr;
	}
	return ret;
}

static int pic_write(struct kvmd_pic *pic, u64 addr, int len, const void *val)
{
	struct pic_defer d = {};
	unsigned long flags;
	bool accepted = false;
	u8 data;

	if (len != 1) {
		pr_err_ratelimited("non byte write\n");
		return 0;
	}
	data = *(const u8 *)val;
	switch (addr) {
	case 0x20:
	case 0x21:
	case 0xa0:
	case 0xa1:
		/* An ICW1 asks the LAPICs; they are not called under our lock. */
		if (!(addr & 1) && (data & 0x10))
			accepted = pic_intr_accepted(pic->vm);
		pic_lock(pic, &flags);
		pic_ioport_write(pic, addr >> 7, addr, data, accepted, &d);
		pic_unlock(pic, flags, &d);
		return 0;
	case 0x4d0:
	case 0x4d1:
		pic_lock(pic, &flags);
		pic->chip[addr & 1].elcr = data & pic->chip[addr & 1].elcr_mask;
		pic_unlock(pic, flags, &d);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static int pic_read(struct kvmd_pic *pic, u64 addr, int len, void *val)
{
	struct pic_defer d = {};
	unsigned long flags;
	u8 *data = val;

	if (len != 1) {
		memset(val, 0, len);
		pr_err_ratelimited("non byte read\n");
		return 0;
	}
	switch (addr) {
	case 0x20:
	case 0x21:
	case 0xa0:
	case 0xa1:
		pic_lock(pic, &flags);
		*data = pic_ioport_read(pic, addr >> 7, addr, &d);
		pic_unlock(pic, flags, &d);
		return 0;
	case 0x4d0:
	case 0x4d1:
		pic_lock(pic, &flags);
		*data = pic->chip[addr & 1].elcr;
		pic_unlock(pic, flags, &d);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

#define PIC_DEV_OPS(name)						\
static int pic_##name##_read(struct kvmd_vcpu *vcpu,			\
			     struct kvmd_io_device *dev, u64 addr,	\
			     int len, void *val)			\
{									\
	return pic_read(container_of(dev, struct kvmd_pic, dev_##name),	\
			addr, len, val);				\
}									\
static int pic_##name##_write(struct kvmd_vcpu *vcpu,			\
			      struct kvmd_io_device *dev, u64 addr,	\
			      int len, const void *val)			\
{									\
	return pic_write(container_of(dev, struct kvmd_pic, dev_##name),\
			 addr, len, val);				\
}									\
static const struct kvmd_io_ops pic_##name##_ops = {			\
	.read	= pic_##name##_read,					\
	.write	= pic_##name##_write,					\
}

PIC_DEV_OPS(master);
PIC_DEV_OPS(slave);
PIC_DEV_OPS(elcr);

void kvmd_pic_get_state(struct kvmd_pic *pic, int chip,
			struct kvm_pic_state *s)
{
	unsigned long flags;

	if (WARN_ON_ONCE(chip != PIC_MASTER && chip != PIC_SLAVE))
		return;
	spin_lock_irqsave(&pic->lock, flags);
	*s = pic->chip[chip];
	spin_unlock_irqrestore(&pic->lock, flags);
}

/* KVM_SET_IRQCHIP takes every field as given, elcr_mask included, as KVM. */
void kvmd_pic_set_state(struct kvmd_pic *pic, int chip,
			const struct kvm_pic_state *s)
{
	struct pic_defer d = {};
	unsigned long flags;

	pic_lock(pic, &flags);
	if (!WARN_ON_ONCE(chip != PIC_MASTER && chip != PIC_SLAVE))
		pic->chip[chip] = *s;
	pic_update_irq(pic, &d);
	pic_unlock(pic, flags, &d);
}

int kvmd_pic_create(struct kvmd_vm *vm)
{
	struct kvmd_pic *pic;
	int r;

	lockdep_assert_held(&vm->lock);
	if (vm->pic)
		return -EEXIST;
	pic = kzalloc(sizeof(*pic), GFP_KERNEL_ACCOUNT);
	if (!pic)
		return -ENOMEM;
	spin_lock_init(&pic->lock);
	pic->vm = vm;
	/* IRQ 0, 1, 2, 8 and 13 are edge-only on a PIIX. */
	pic->chip[PIC_MASTER].elcr_mask = 0xf8;
	pic->chip[PIC_SLAVE].elcr_mask = 0xde;
	pic->dev_master.ops = &pic_master_ops;
	pic->dev_slave.ops = &pic_slave_ops;
	pic->dev_elcr.ops = &pic_elcr_ops;

	r = kvmd_io_bus_register(vm, KVMD_PIO_BUS, 0x20, 2, &pic->dev_master);
	if (r)
		goto err_free;
	r = kvmd_io_bus_register(vm, KVMD_PIO_BUS, 0xa0, 2, &pic->dev_slave);
	if (r)
		goto err_master;
	r = kvmd_io_bus_register(vm, KVMD_PIO_BUS, 0x4d0, 2, &pic->dev_elcr);
	if (r)
		goto err_slave;

	smp_store_release(&vm->pic, pic);
	return 0;

err_slave:
	kvmd_io_bus_unregister(vm, KVMD_PIO_BUS, &pic->dev_slave);
err_master:
	kvmd_io_bus_unregister(vm, KVMD_PIO_BUS, &pic->dev_master);
err_free:
	kfree(pic);
	return r;
}

void kvmd_pic_destroy(struct kvmd_vm *vm)
{
	struct kvmd_pic *pic = vm->pic;

	if (!pic)
		return;
	kvmd_io_bus_unregister(vm, KVMD_PIO_BUS, &pic->dev_master);
	kvmd_io_bus_unregister(vm, KVMD_PIO_BUS, &pic->dev_slave);
	kvmd_io_bus_unregister(vm, KVMD_PIO_BUS, &pic->dev_elcr);
	WRITE_ONCE(vm->pic, NULL);
	kfree(pic);
}
