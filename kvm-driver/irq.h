/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm-driver/irq.h: the in-kernel interrupt controllers and what connects
 * them: the I/O bus (iobus.c), GSI routing and interrupt sources (irq.c),
 * the local APICs (lapic.c), the IOAPIC (ioapic.c), the 8259 pair
 * (i8259.c), the 8254 (i8254.c) and eventfds (eventfd.c).
 *
 * Locking, for every file above:
 * - Each device model has its own spinlock (irqs may be off: the PIT and
 *   LAPIC timers fire in hrtimer context). Never call out of a model (to
 *   another model, to the routing, to kick a vCPU) with its lock held,
 *   except the documented leaf calls: kvmd_apic_set_irq() may be called
 *   under any model lock (it takes none but atomics and the target's
 *   wait queue lock, and kicks).
 * - The I/O bus and the GSI routing table are read under vm->irq_srcu and
 *   replaced whole (copy, publish, synchronize_srcu) under vm->irq_lock.
 * - vm->pic, vm->ioapic, vm->pit are set once under vm->lock with
 *   smp_store_release and live until the VM is destroyed: read them with
 *   READ_ONCE (or smp_load_acquire) and no lock.
 * - A local APIC's registers are written by its own vCPU thread only,
 *   except IRR (atomic bitops, from any context) and the pending INIT/SIPI
 *   events (atomic); a writer from elsewhere then kicks the vCPU.
 */
#ifndef KVMDRV_IRQ_H
#define KVMDRV_IRQ_H

#include <linux/hrtimer.h>
#include <linux/kvm.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct kvmd_vm;
struct kvmd_vcpu;

/* ---- iobus.c: ranges of guest PIO or MMIO handled in the kernel ---- */

enum kvmd_bus {
	KVMD_MMIO_BUS,
	KVMD_PIO_BUS,
	KVMD_NR_BUSES
};

struct kvmd_io_device;

/*
 * Handlers return 0 when they handled the access, or -EOPNOTSUPP to let
 * the next device (and then userspace) have it (an ioeventfd whose
 * datamatch differs). They run in process context (a vCPU thread) with
 * vm->irq_srcu held: they must not sleep for long but may take spinlocks.
 * vcpu may be NULL for accesses that come from no vCPU.
 */
struct kvmd_io_ops {
	int (*read)(struct kvmd_vcpu *vcpu, struct kvmd_io_device *dev,
		    u64 addr, int len, void *val);
	int (*write)(struct kvmd_vcpu *vcpu, struct kvmd_io_device *dev,
		     u64 addr, int len, const void *val);
};

struct kvmd_io_device {
	const struct kvmd_io_ops *ops;
};

#define KVMD_IO_BUS_MAX		1000	/* ranges per bus, as KVM's NR_IOBUS_DEVS */

/* Caller holds vm->lock or nothing: the bus takes vm->irq_lock itself. */
int kvmd_io_bus_register(struct kvmd_vm *vm, enum kvmd_bus bus, u64 addr,
			 int len, struct kvmd_io_device *dev);
/* Removes every range of dev; returns once no handler of dev runs. */
void kvmd_io_bus_unregister(struct kvmd_vm *vm, enum kvmd_bus bus,
			    struct kvmd_io_device *dev);
/* 0: handled in the kernel; -EOPNOTSUPP: nobody wants it. */
int kvmd_io_bus_write(struct kvmd_vcpu *vcpu, enum kvmd_bus bus, u64 addr,
		      int len, const void *val);
int kvmd_io_bus_read(struct kvmd_vcpu *vcpu, enum kvmd_bus bus, u64 addr,
		     int len, void *val);
void kvmd_io_bus_destroy(struct kvmd_vm *vm);

/* ---- irq.c: routing, sources, acks ---- */

enum kvmd_irqchip_mode {
	KVMD_IRQCHIP_NONE,
	KVMD_IRQCHIP_KERNEL,	/* KVM_CREATE_IRQCHIP: PIC, IOAPIC, LAPICs */
	KVMD_IRQCHIP_SPLIT,	/* KVM_CAP_SPLIT_IRQCHIP: LAPICs only */
};

#define KVMD_NR_IOAPIC_PINS	24
#define KVMD_NR_PIC_PINS	16
#define KVMD_DEST_NOSHORT	0	/* ICR shorthand: none (asm/apicdef.h has the others) */

/* Interrupt source IDs, as KVM's: each asserts lines independently. */
#define KVMD_USERSPACE_IRQ_SOURCE_ID		0
#define KVMD_IRQFD_RESAMPLE_IRQ_SOURCE_ID	1
#define KVMD_PIT_IRQ_SOURCE_ID			2	/* allocated by the PIT */
#define KVMD_MAX_IRQ_SOURCE_IDS			BITS_PER_LONG

/* One resolved routing entry (struct kvm_irq_routing_entry, checked). */
struct kvmd_irq_route {
	u32 gsi;
	u32 type;			/* KVM_IRQ_ROUTING_IRQCHIP, _MSI or _HV_SINT */
	union {
		struct {
			u32 irqchip;	/* KVM_IRQCHIP_PIC_MASTER/SLAVE/IOAPIC */
			u32 pin;
		} irqchip;
		struct kvm_irq_routing_msi msi;
		struct kvm_irq_routing_hv_sint hv_sint;
	};
};

struct kvmd_irq_routing_table {
	struct rcu_head rcu;
	u32 nr_gsi;			/* highest gsi + 1 */
	u32 nr_routes;
	/* Routes of each gsi: routes[index[gsi]] .. routes[index[gsi+1]-1]. */
	u32 *index;
	struct kvmd_irq_route routes[];
};

/* A message-signalled or IOAPIC-resolved interrupt for the local APICs. */
struct kvmd_lapic_irq {
	u32 vector;
	u32 delivery_mode;		/* APIC_DM_FIXED, _LOWEST, _SMI, _NMI, _INIT, _STARTUP, _EXTINT */
	bool dest_logical;
	bool level;			/* assert (INIT de-assert is level 0) */
	bool trig_level;		/* level-triggered: sets TMR */
	u32 shorthand;			/* KVMD_DEST_NOSHORT, _SELF, _ALLINC, _ALLBUT */
	u32 dest_id;
};

/* Told when the guest acknowledges (EOIs) an interrupt of this gsi. */
struct kvmd_irq_ack_notifier {
	struct hlist_node link;
	u32 gsi;
	void (*irq_acked)(struct kvmd_irq_ack_notifier *kian);
};

/*
 * Told when the guest masks or unmasks a pin that gsi reaches (PIC IMR,
 * IOAPIC redirection mask). Runs under the chip's lock: atomics only.
 */
struct kvmd_irq_mask_notifier {
	struct hlist_node link;
	u32 gsi;
	void (*func)(struct kvmd_irq_mask_notifier *kimn, bool masked);
};

/*
 * Raise or lower gsi for one source. Returns as KVM_IRQ_LINE_STATUS
 * reports: < 0 ignored (masked), 0 coalesced (already pending), > 0
 * delivered. May be called from any context where spinlocks may be taken.
 */
int kvmd_set_irq(struct kvmd_vm *vm, int irq_source_id, u32 gsi, int level,
		 bool line_status);
int kvmd_set_msi(struct kvmd_vm *vm, const struct kvm_irq_routing_msi *msi);
void kvmd_msi_to_lapic_irq(const struct kvm_irq_routing_msi *msi,
			   struct kvmd_lapic_irq *irq);
/* The routes of gsi, copied out (at most max); under no lock. */
int kvmd_irq_map_gsi(struct kvmd_vm *vm, u32 gsi, struct kvmd_irq_route *out,
		     int max);
int kvmd_request_irq_source_id(struct kvmd_vm *vm);
void kvmd_free_irq_source_id(struct kvmd_vm *vm, int irq_source_id);
void kvmd_register_irq_ack_notifier(struct kvmd_vm *vm,
				    struct kvmd_irq_ack_notifier *kian);
void kvmd_unregister_irq_ack_notifier(struct kvmd_vm *vm,
				      struct kvmd_irq_ack_notifier *kian);
void kvmd_register_irq_mask_notifier(struct kvmd_vm *vm,
				     struct kvmd_irq_mask_notifier *kimn);
void kvmd_unregister_irq_mask_notifier(struct kvmd_vm *vm,
				       struct kvmd_irq_mask_notifier *kimn);
/* pin of irqchip was masked or unmasked: run the mask notifiers of its gsis. */
void kvmd_fire_mask_notifiers(struct kvmd_vm *vm, u32 irqchip, u32 pin,
			      bool masked);
/* An EOI reached pin of irqchip: run the ack notifiers of its gsis. */
void kvmd_notify_acked_irq(struct kvmd_vm *vm, u32 irqchip, u32 pin);
bool kvmd_irq_has_notifier(struct kvmd_vm *vm, u32 irqchip, u32 pin);
bool kvmd_irqchip_in_kernel(struct kvmd_vm *vm);	/* LAPICs in the kernel */
bool kvmd_irqchip_full(struct kvmd_vm *vm);		/* and PIC + IOAPIC */
int kvmd_irq_init(struct kvmd_vm *vm);
void kvmd_irq_destroy(struct kvmd_vm *vm);
long kvmd_irq_vm_ioctl(struct kvmd_vm *vm, unsigned int ioctl,
		       void __user *argp);
int kvmd_enable_split_irqchip(struct kvmd_vm *vm, u64 nr_pins);

/* ---- lapic.c ---- */

struct kvmd_lapic;

int kvmd_lapic_create(struct kvmd_vcpu *vcpu);
void kvmd_lapic_free(struct kvmd_vcpu *vcpu);
void kvmd_lapic_reset(struct kvmd_vcpu *vcpu, bool init);
/* An in-kernel APIC, enabled in IA32_APIC_BASE and in its SVR (KVM's kvm_lapic_enabled). */
bool kvmd_lapic_enabled(struct kvmd_vcpu *vcpu);
/* Deliver to every APIC irq addresses; returns the number that took it, or -1. */
int kvmd_irq_delivery_to_apic(struct kvmd_vm *vm, struct kvmd_vcpu *src,
			      const struct kvmd_lapic_irq *irq);
/* Set vector pending in vcpu's APIC and kick it; returns 1 if newly set. */
int kvmd_apic_set_irq(struct kvmd_vcpu *vcpu, const struct kvmd_lapic_irq *irq);
/* The APIC takes the PIC's INTR (LVT0 ExtINT, or the APIC disabled). */
bool kvmd_apic_accept_pic_intr(struct kvmd_vcpu *vcpu);
/* Wake or kick every vCPU that takes the PIC's INTR. */
void kvmd_pic_kick_vcpus(struct kvmd_vm *vm);
/* Make KVMD_REQ_EVENT and wake the vCPU or make it leave guest mode. */
void kvmd_vcpu_kick(struct kvmd_vcpu *vcpu);
/* The vCPU side, on its own thread. */
void kvmd_apic_sync(struct kvmd_vcpu *vcpu);
void kvmd_apic_accept_events(struct kvmd_vcpu *vcpu);
bool kvmd_apic_has_events(struct kvmd_vcpu *vcpu);
void kvmd_apic_set_sipi_pending(struct kvmd_vcpu *vcpu);
bool kvmd_apic_latched_init(struct kvmd_vcpu *vcpu);
void kvmd_apic_set_latched_init(struct kvmd_vcpu *vcpu, bool latched);
int kvmd_apic_take_eoi_exit(struct kvmd_vcpu *vcpu);
bool kvmd_cpu_has_interrupt(struct kvmd_vcpu *vcpu);
int kvmd_cpu_get_interrupt(struct kvmd_vcpu *vcpu);
bool kvmd_cpu_accept_dm_intr(struct kvmd_vcpu *vcpu);
void kvmd_apic_set_tpr(struct kvmd_vcpu *vcpu, u64 cr8);
u64 kvmd_apic_get_cr8(struct kvmd_vcpu *vcpu);
void kvmd_apic_base_changed(struct kvmd_vcpu *vcpu, u64 old);
void kvmd_apic_update_version(struct kvmd_vcpu *vcpu);
u64 kvmd_apic_get_tscdeadline(struct kvmd_vcpu *vcpu);
void kvmd_apic_set_tscdeadline(struct kvmd_vcpu *vcpu, u64 data);
bool kvmd_apic_mmio_in_range(struct kvmd_vcpu *vcpu, u64 gpa);
void kvmd_apic_mmio_read(struct kvmd_vcpu *vcpu, u64 gpa, void *data, int len);
void kvmd_apic_mmio_write(struct kvmd_vcpu *vcpu, u64 gpa, const void *data,
			  int len);
int kvmd_x2apic_msr_read(struct kvmd_vcpu *vcpu, u32 msr, u64 *data);
int kvmd_x2apic_msr_write(struct kvmd_vcpu *vcpu, u32 msr, u64 data);
/* Hyper-V EOI, ICR, TPR MSRs: the register by offset in any APIC mode. */
int kvmd_apic_hv_msr_read(struct kvmd_vcpu *vcpu, u32 off, u64 *data);
int kvmd_apic_hv_msr_write(struct kvmd_vcpu *vcpu, u32 off, u64 data);
void kvmd_apic_sync_from_vapic(struct kvmd_vcpu *vcpu);
void kvmd_apic_sync_to_vapic(struct kvmd_vcpu *vcpu);
/* PV EOI (MSR_KVM_PV_EOI_EN): after each exit, an EOI the guest made by clearing its bit. */
void kvmd_apic_pv_eoi_from_guest(struct kvmd_vcpu *vcpu);
int kvmd_get_lapic(struct kvmd_vcpu *vcpu, struct kvm_lapic_state *s);
int kvmd_set_lapic(struct kvmd_vcpu *vcpu, const struct kvm_lapic_state *s);

/* ---- ioapic.c ---- */

struct kvmd_ioapic;

int kvmd_ioapic_create(struct kvmd_vm *vm);
void kvmd_ioapic_destroy(struct kvmd_vm *vm);
int kvmd_ioapic_set_irq(struct kvmd_ioapic *ioapic, u32 pin,
			int irq_source_id, int level, bool line_status);
void kvmd_ioapic_clear_all(struct kvmd_ioapic *ioapic, int irq_source_id);
/* A level-triggered vector was EOIed at a local APIC. */
void kvmd_ioapic_eoi(struct kvmd_vm *vm, struct kvmd_vcpu *vcpu, int vector);
/* The EOI of vector must reach the IOAPIC (lapic.c's PV EOI asks). */
bool kvmd_ioapic_handles_vector(struct kvmd_vm *vm, int vector);
void kvmd_ioapic_get_state(struct kvmd_ioapic *ioapic,
			   struct kvm_ioapic_state *s);
void kvmd_ioapic_set_state(struct kvmd_ioapic *ioapic,
			   const struct kvm_ioapic_state *s);

/* ---- i8259.c: the master/slave pair at ports 0x20, 0xa0 and ELCR 0x4d0 ---- */

struct kvmd_pic;

int kvmd_pic_create(struct kvmd_vm *vm);
void kvmd_pic_destroy(struct kvmd_vm *vm);
int kvmd_pic_set_irq(struct kvmd_pic *pic, u32 irq, int irq_source_id,
		     int level);
void kvmd_pic_clear_all(struct kvmd_pic *pic, int irq_source_id);
/* The PIC's INTR output is high. */
bool kvmd_pic_has_interrupt(struct kvmd_pic *pic);
/* INTA cycle: the vector of the highest request, or the spurious IRQ 7/15's. */
int kvmd_pic_read_irq(struct kvmd_pic *pic);
/* chip: 0 master, 1 slave. */
void kvmd_pic_get_state(struct kvmd_pic *pic, int chip,
			struct kvm_pic_state *s);
void kvmd_pic_set_state(struct kvmd_pic *pic, int chip,
			const struct kvm_pic_state *s);

/* ---- i8254.c: the PIT at ports 0x40-0x43, its gate at 0x61 ---- */

struct kvmd_pit;

/* KVM_CREATE_PIT2 (flags as struct kvm_pit_config), KVM_CREATE_PIT. */
int kvmd_pit_create(struct kvmd_vm *vm, u32 flags);
void kvmd_pit_destroy(struct kvmd_vm *vm);
/* KVM_GET/SET_PIT, KVM_GET/SET_PIT2, KVM_REINJECT_CONTROL. */
long kvmd_pit_ioctl(struct kvmd_vm *vm, unsigned int ioctl, void __user *argp);

/* ---- eventfd.c: KVM_IRQFD and KVM_IOEVENTFD ---- */

int kvmd_eventfd_init(struct kvmd_vm *vm);
void kvmd_eventfd_destroy(struct kvmd_vm *vm);
int kvmd_irqfd(struct kvmd_vm *vm, struct kvm_irqfd *args);
int kvmd_ioeventfd(struct kvmd_vm *vm, struct kvm_ioeventfd *args);
/* The routing table changed: irqfds re-read their routes. */
void kvmd_irqfd_routing_update(struct kvmd_vm *vm);

#endif
