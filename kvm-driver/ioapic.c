// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/ioapic.c: the in-kernel IOAPIC of KVM_CREATE_IRQCHIP, an
 * 82093AA as KVM models it (version 0x11, 24 pins) at 0xfec00000:
 * IOREGSEL at +0x00, IOWIN at +0x10, and KVM's EOI register at +0x40.
 *
 * Locking: ioapic->lock guards every field. Delivery to the local APICs
 * (kvmd_irq_delivery_to_apic) is a leaf call made under it; ack notifiers
 * run with it dropped.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <asm/apicdef.h>

#include "kvmdrv.h"

#define IOAPIC_BASE		0xfec00000ULL
#define IOAPIC_MMIO_LEN		0x100
#define IOAPIC_VERSION_ID	0x11
#define IOAPIC_REG_SELECT	0x00
#define IOAPIC_REG_WINDOW	0x10
#define IOAPIC_REG_EOI		0x40
#define IOAPIC_RTC_PIN		8	/* KVM treats the RTC's EOIs apart */

#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VERSION	0x01
#define IOAPIC_REG_ARB		0x02

/* Redirection entry fields. */
#define RTE_VECTOR(e)		((e) & 0xff)
#define RTE_DELIVERY(e)		(((e) >> 8) & 7)
#define RTE_DEST_LOGICAL	(1ULL << 11)
#define RTE_DELIVERY_STATUS	(1ULL << 12)
#define RTE_REMOTE_IRR		(1ULL << 14)
#define RTE_LEVEL		(1ULL << 15)
#define RTE_MASKED		(1ULL << 16)
#define RTE_DEST(e)		((u32)((e) >> 56))

struct kvmd_ioapic {
	struct kvmd_io_device dev;
	struct kvmd_vm *vm;
	spinlock_t lock;
	u64 base;
	u32 ioregsel;
	u32 id;
	u32 irr;
	u32 irr_delivered;		/* edge pins already delivered */
	u64 redirtbl[KVMD_NR_IOAPIC_PINS];
	/* Vectors some pin delivers: only their EOIs need the pin scan. */
	DECLARE_BITMAP(vectors, 256);
	unsigned long irq_states[KVMD_NR_IOAPIC_PINS];	/* per source */
};

/* Under ioapic->lock, after the redirection table changed. */
static void ioapic_update_vectors(struct kvmd_ioapic *ioapic)
{
	int pin;

	bitmap_zero(ioapic->vectors, 256);
	for (pin = 0; pin < KVMD_NR_IOAPIC_PINS; pin++)
		__set_bit(RTE_VECTOR(ioapic->redirtbl[pin]), ioapic->vectors);
}

/* The line as all sources together drive it. */
static int line_state(unsigned long *state, int src, int level)
{
	if (level)
		__set_bit(src, state);
	else
		__clear_bit(src, state);
	return !!*state;
}

/* Deliver pin now; returns as kvmd_irq_delivery_to_apic, -1 when held. */
static int ioapic_service(struct kvmd_ioapic *ioapic, int pin)
{
	u64 e = ioapic->redirtbl[pin];
	struct kvmd_lapic_irq irq = {
		.vector = RTE_VECTOR(e),
		.delivery_mode = RTE_DELIVERY(e) << 8,
		.dest_logical = e & RTE_DEST_LOGICAL,
		.level = true,
		.trig_level = e & RTE_LEVEL,
		.shorthand = KVMD_DEST_NOSHORT,
		.dest_id = RTE_DEST(e),
	};
	int r;

	if ((e & RTE_MASKED) || ((e & RTE_LEVEL) && (e & RTE_REMOTE_IRR)))
		return -1;
	if (!(e & RTE_LEVEL))
		ioapic->irr_delivered |= 1U << pin;
	r = kvmd_irq_delivery_to_apic(ioapic->vm, NULL, &irq);
	if (r > 0 && (e & RTE_LEVEL))
		ioapic->redirtbl[pin] |= RTE_REMOTE_IRR;
	return r;
}

int kvmd_ioapic_set_irq(struct kvmd_ioapic *ioapic, u32 pin,
			int irq_source_id, int level, bool line_status)
{
	u32 mask = 1U << pin, old;
	int r;

	if (pin >= KVMD_NR_IOAPIC_PINS)
		return -1;
	spin_lock(&ioapic->lock);
	level = line_state(&ioapic->irq_states[pin], irq_source_id, level);
	if (!level) {
		ioapic->irr &= ~mask;
		r = 1;
		goto out;
	}
	old = ioapic->irr;
	ioapic->irr |= mask;
	if (!(ioapic->redirtbl[pin] & RTE_LEVEL)) {
		ioapic->irr_delivered &= ~mask;
		if (old == ioapic->irr) {
			r = 0;		/* an edge needs the line to fall first */
			goto out;
		}
	}
	r = ioapic_service(ioapic, pin);
out:
	spin_unlock(&ioapic->lock);
	return r;
}

void kvmd_ioapic_clear_all(struct kvmd_ioapic *ioapic, int irq_source_id)
{
	int i;

	spin_lock(&ioapic->lock);
	for (i = 0; i < KVMD_NR_IOAPIC_PINS; i++)
		__clear_bit(irq_source_id, &ioapic->irq_states[i]);
	spin_unlock(&ioapic->lock);
}

/* A pin's redirection entry, read under the lock for one look. */
static u64 ioapic_rte(struct kvmd_ioapic *ioapic, int pin)
{
	u64 e;

	spin_lock(&ioapic->lock);
	e = ioapic->redirtbl[pin];
	spin_unlock(&ioapic->lock);
	return e;
}

/*
 * An EOI of vector at a local APIC (or KVM's EOI register): every pin on
 * that vector hears of it, its ack notifiers run, a level pin drops remote
 * IRR and is delivered again if its line is still up.
 */
static void ioapic_eoi_vector(struct kvmd_ioapic *ioapic, int vector)
{
	int pin;

	for (pin = 0; pin < KVMD_NR_IOAPIC_PINS; pin++) {
		u64 e;

		if (RTE_VECTOR(ioapic_rte(ioapic, pin)) != vector)
			continue;
		kvmd_notify_acked_irq(ioapic->vm, KVM_IRQCHIP_IOAPIC, pin);
		spin_lock(&ioapic->lock);
		e = ioapic->redirtbl[pin];
		if (RTE_VECTOR(e) == vector && (e & RTE_LEVEL)) {
			ioapic->redirtbl[pin] &= ~RTE_REMOTE_IRR;
			if (!(e & RTE_MASKED) && (ioapic->irr & (1U << pin)))
				ioapic_service(ioapic, pin);
		}
		spin_unlock(&ioapic->lock);
	}
}

void kvmd_ioapic_eoi(struct kvmd_vm *vm, struct kvmd_vcpu *vcpu, int vector)
{
	struct kvmd_ioapic *ioapic = READ_ONCE(vm->ioapic);

	/* Most EOIs are of MSIs and IPIs: one bit test, no pin scan. */
	if (ioapic && test_bit(vector, ioapic->vectors))
		ioapic_eoi_vector(ioapic, vector);
}

/*
 * For lapic.c's PV EOI, as KVM's ioapic_handled_vectors: an EOI of vector
 * must reach the IOAPIC when a pin on it is level-triggered, has an ack
 * notifier (the PIT's reinjection, a resampling irqfd) or is the RTC's.
 * KVM also asks that the pin target the vCPU (or that the vector be
 * pending in its APIC when it scanned the table); any pin counts here,
 * which only costs a guest the PV EOI of a vector shared across vCPUs.
 */
bool kvmd_ioapic_handles_vector(struct kvmd_vm *vm, int vector)
{
	struct kvmd_ioapic *ioapic = READ_ONCE(vm->ioapic);
	int pin;

	if (!ioapic || !test_bit(vector, ioapic->vectors))
		return false;
	for (pin = 0; pin < KVMD_NR_IOAPIC_PINS; pin++) {
		u64 e = ioapic_rte(ioapic, pin);

		if (RTE_VECTOR(e) != vector)
			continue;
		if ((e & RTE_LEVEL) || pin == IOAPIC_RTC_PIN ||
		    kvmd_irq_has_notifier(vm, KVM_IRQCHIP_IOAPIC, pin))
			return true;
	}
	return false;
}

static u32 ioapic_read_indirect(struct kvmd_ioapic *ioapic)
{
	u32 sel = ioapic->ioregsel, pin;

	switch (sel) {
	case IOAPIC_REG_VERSION:
		return ((KVMD_NR_IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION_ID;
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return (ioapic->id & 0xf) << 24;
	default:
		pin = (sel - 0x10) >> 1;
		if (sel < 0x10 || pin >= KVMD_NR_IOAPIC_PINS)
			return ~0U;
		return sel & 1 ? ioapic->redirtbl[pin] >> 32 :
				 (u32)ioapic->redirtbl[pin];
	}
}

static void ioapic_write_indirect(struct kvmd_ioapic *ioapic, u32 val)
{
	u32 sel = ioapic->ioregsel, pin;
	bool was_masked;
	u64 e, keep;

	switch (sel) {
	case IOAPIC_REG_VERSION:
		return;		/* read-only */
	case IOAPIC_REG_ID:
		ioapic->id = (val >> 24) & 0xf;
		return;
	case IOAPIC_REG_ARB:
		return;
	}
	pin = (sel - 0x10) >> 1;
	if (sel < 0x10 || pin >= KVMD_NR_IOAPIC_PINS)
		return;
	e = ioapic->redirtbl[pin];
	was_masked = e & RTE_MASKED;
	keep = e & (RTE_REMOTE_IRR | RTE_DELIVERY_STATUS);
	if (sel & 1)
		e = (e & 0xffffffffULL) | (u64)val << 32;
	else
		e = (e & ~0xffffffffULL) | val;
	e = (e & ~(RTE_REMOTE_IRR | RTE_DELIVERY_STATUS)) | keep;
	/* Linux expects remote IRR to clear when a pin turns edge-triggered. */
	if (!(e & RTE_LEVEL))
		e &= ~RTE_REMOTE_IRR;
	ioapic->redirtbl[pin] = e;
	ioapic_update_vectors(ioapic);
	if (was_masked != !!(e & RTE_MASKED))
		kvmd_fire_mask_notifiers(ioapic->vm, KVM_IRQCHIP_IOAPIC, pin,
					 e & RTE_MASKED);
	if ((e & RTE_LEVEL) && (ioapic->irr & (1U << pin)) &&
	    !(e & RTE_MASKED) && !(e & RTE_REMOTE_IRR))
		ioapic_service(ioapic, pin);
}

static int ioapic_mmio_read(struct kvmd_vcpu *vcpu, struct kvmd_io_device *dev,
			    u64 addr, int len, void *val)
{
	struct kvmd_ioapic *ioapic = container_of(dev, struct kvmd_ioapic, dev);
	u32 r = 0;
	u64 v;

	spin_lock(&ioapic->lock);
	switch ((addr - ioapic->base) & ~0xfULL) {
	case IOAPIC_REG_SELECT:
		r = ioapic->ioregsel;
		break;
	case IOAPIC_REG_WINDOW:
		r = ioapic_read_indirect(ioapic);
		break;
	}
	spin_unlock(&ioapic->lock);
	v = r;
	switch (len) {
	case 8:
	case 4:
	case 2:
	case 1:
		memset(val, 0, len);
		memcpy(val, &v, min(len, 8));
		break;
	default:
		memset(val, 0, len);
	}
	return 0;
}

static int ioapic_mmio_write(struct kvmd_vcpu *vcpu, struct kvmd_io_device *dev,
			     u64 addr, int len, const void *val)
{
	struct kvmd_ioapic *ioapic = container_of(dev, struct kvmd_ioapic, dev);
	u32 data = 0;
	bool eoi = false;

	/* As KVM: 32- or 64-bit writes (the low half counts); others ignored. */
	switch (len) {
	case 8:
	case 4:
		memcpy(&data, val, 4);
		break;
	case 2:
	case 1:
		memcpy(&data, val, len);
		break;
	default:
		return 0;
	}
	spin_lock(&ioapic->lock);
	switch (addr - ioapic->base) {
	case IOAPIC_REG_SELECT:
		ioapic->ioregsel = data & 0xff;
		break;
	case IOAPIC_REG_WINDOW:
		ioapic_write_indirect(ioapic, data);
		break;
	case IOAPIC_REG_EOI:
		eoi = true;
		break;
	}
	spin_unlock(&ioapic->lock);
	if (eoi)
		ioapic_eoi_vector(ioapic, data & 0xff);
	return 0;
}

static const struct kvmd_io_ops ioapic_ops = {
	.read = ioapic_mmio_read,
	.write = ioapic_mmio_write,
};

static void ioapic_reset(struct kvmd_ioapic *ioapic)
{
	int i;

	for (i = 0; i < KVMD_NR_IOAPIC_PINS; i++)
		ioapic->redirtbl[i] = RTE_MASKED;
	ioapic_update_vectors(ioapic);
	ioapic->base = IOAPIC_BASE;
	ioapic->ioregsel = 0;
	ioapic->irr = 0;
	ioapic->irr_delivered = 0;
	ioapic->id = 0;
	memset(ioapic->irq_states, 0, sizeof(ioapic->irq_states));
}

void kvmd_ioapic_get_state(struct kvmd_ioapic *ioapic,
			   struct kvm_ioapic_state *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	spin_lock(&ioapic->lock);
	s->base_address = ioapic->base;
	s->ioregsel = ioapic->ioregsel;
	s->id = ioapic->id;
	s->irr = ioapic->irr & ~ioapic->irr_delivered;
	for (i = 0; i < KVMD_NR_IOAPIC_PINS; i++)
		s->redirtbl[i].bits = ioapic->redirtbl[i];
	spin_unlock(&ioapic->lock);
}

void kvmd_ioapic_set_state(struct kvmd_ioapic *ioapic,
			   const struct kvm_ioapic_state *s)
{
	int i;

	spin_lock(&ioapic->lock);
	ioapic->ioregsel = s->ioregsel;
	ioapic->id = s->id;
	ioapic->irr = 0;
	ioapic->irr_delivered = 0;
	for (i = 0; i < KVMD_NR_IOAPIC_PINS; i++)
		ioapic->redirtbl[i] = s->redirtbl[i].bits;
	ioapic_update_vectors(ioapic);
	/* As KVM: pins that are up now are delivered again. */
	for (i = 0; i < KVMD_NR_IOAPIC_PINS; i++)
		if (s->irr & (1U << i)) {
			ioapic->irr |= 1U << i;
			ioapic_service(ioapic, i);
		}
	spin_unlock(&ioapic->lock);
}

int kvmd_ioapic_create(struct kvmd_vm *vm)
{
	struct kvmd_ioapic *ioapic;
	int r;

	ioapic = kzalloc(sizeof(*ioapic), GFP_KERNEL_ACCOUNT);
	if (!ioapic)
		return -ENOMEM;
	spin_lock_init(&ioapic->lock);
	ioapic->vm = vm;
	ioapic->dev.ops = &ioapic_ops;
	ioapic_reset(ioapic);
	r = kvmd_io_bus_register(vm, KVMD_MMIO_BUS, ioapic->base,
				 IOAPIC_MMIO_LEN, &ioapic->dev);
	if (r) {
		kfree(ioapic);
		return r;
	}
	smp_store_release(&vm->ioapic, ioapic);
	return 0;
}

void kvmd_ioapic_destroy(struct kvmd_vm *vm)
{
	struct kvmd_ioapic *ioapic = vm->ioapic;

	if (!ioapic)
		return;
	kvmd_io_bus_unregister(vm, KVMD_MMIO_BUS, &ioapic->dev);
	vm->ioapic = NULL;
	kfree(ioapic);
}
