// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/irq.c: the VM's interrupt plumbing: KVM_CREATE_IRQCHIP and
 * the split irqchip, the GSI routing table (KVM_SET_GSI_ROUTING and the
 * default one KVM installs), KVM_IRQ_LINE(_STATUS), KVM_SIGNAL_MSI,
 * KVM_GET/SET_IRQCHIP, interrupt source IDs and ack notifiers.
 *
 * Locking (irq.h): the routing table and the ack notifier list are read
 * under vm->irq_srcu and changed under vm->irq_lock; the irqchip mode and
 * the chips are published once, under vm->lock, before any vCPU exists.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/srcu.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>

#include "kvmdrv.h"

#define KVMD_NR_IRQCHIPS		3
#define KVMD_MAX_RESERVED_IOAPIC_PINS	48	/* KVM's MAX_NR_RESERVED_IOAPIC_PINS */

bool kvmd_irqchip_in_kernel(struct kvmd_vm *vm)
{
	return smp_load_acquire(&vm->irqchip_mode) != KVMD_IRQCHIP_NONE;
}

bool kvmd_irqchip_full(struct kvmd_vm *vm)
{
	return smp_load_acquire(&vm->irqchip_mode) == KVMD_IRQCHIP_KERNEL;
}

int kvmd_irq_init(struct kvmd_vm *vm)
{
	mutex_init(&vm->irq_lock);
	INIT_HLIST_HEAD(&vm->irq_ack_notifiers);
	INIT_HLIST_HEAD(&vm->irq_mask_notifiers);
	vm->irq_sources = BIT(KVMD_USERSPACE_IRQ_SOURCE_ID) |
			  BIT(KVMD_IRQFD_RESAMPLE_IRQ_SOURCE_ID);
	return init_srcu_struct(&vm->irq_srcu);
}

/* After the vCPUs and eventfds are gone. */
void kvmd_irq_destroy(struct kvmd_vm *vm)
{
	kvmd_ioapic_destroy(vm);
	if (vm->pic)
		kvmd_pic_destroy(vm);
	kfree(rcu_dereference_protected(vm->irq_routing, true));
	kvmd_io_bus_destroy(vm);
	cleanup_srcu_struct(&vm->irq_srcu);
}

/* ---- sources and ack notifiers ---- */

int kvmd_request_irq_source_id(struct kvmd_vm *vm)
{
	int id;

	mutex_lock(&vm->irq_lock);
	id = find_first_zero_bit(&vm->irq_sources, KVMD_MAX_IRQ_SOURCE_IDS);
	if (id >= KVMD_MAX_IRQ_SOURCE_IDS)
		id = -EFAULT;		/* as KVM */
	else
		__set_bit(id, &vm->irq_sources);
	mutex_unlock(&vm->irq_lock);
	return id;
}

void kvmd_free_irq_source_id(struct kvmd_vm *vm, int irq_source_id)
{
	struct kvmd_ioapic *ioapic = READ_ONCE(vm->ioapic);
	struct kvmd_pic *pic = READ_ONCE(vm->pic);

	if (irq_source_id <= KVMD_IRQFD_RESAMPLE_IRQ_SOURCE_ID ||
	    irq_source_id >= KVMD_MAX_IRQ_SOURCE_IDS)
		return;
	mutex_lock(&vm->irq_lock);
	__clear_bit(irq_source_id, &vm->irq_sources);
	mutex_unlock(&vm->irq_lock);
	if (ioapic)
		kvmd_ioapic_clear_all(ioapic, irq_source_id);
	if (pic)
		kvmd_pic_clear_all(pic, irq_source_id);
}

/* Notifier lists change under irq_lock; a removal waits out the readers. */
static void notifier_add(struct kvmd_vm *vm, struct hlist_node *n,
			 struct hlist_head *list)
{
	mutex_lock(&vm->irq_lock);
	hlist_add_head_rcu(n, list);
	mutex_unlock(&vm->irq_lock);
}

static void notifier_del(struct kvmd_vm *vm, struct hlist_node *n)
{
	mutex_lock(&vm->irq_lock);
	hlist_del_init_rcu(n);
	mutex_unlock(&vm->irq_lock);
	synchronize_srcu(&vm->irq_srcu);
}

void kvmd_register_irq_ack_notifier(struct kvmd_vm *vm,
				    struct kvmd_irq_ack_notifier *kian)
{
	notifier_add(vm, &kian->link, &vm->irq_ack_notifiers);
}

void kvmd_unregister_irq_ack_notifier(struct kvmd_vm *vm,
				      struct kvmd_irq_ack_notifier *kian)
{
	notifier_del(vm, &kian->link);
}

void kvmd_register_irq_mask_notifier(struct kvmd_vm *vm,
				     struct kvmd_irq_mask_notifier *kimn)
{
	notifier_add(vm, &kimn->link, &vm->irq_mask_notifiers);
}

void kvmd_unregister_irq_mask_notifier(struct kvmd_vm *vm,
				       struct kvmd_irq_mask_notifier *kimn)
{
	notifier_del(vm, &kimn->link);
}

/*
 * The gsi whose route reaches pin of irqchip, or -1; under irq_srcu. As
 * KVM's kvm_irq_map_chip_pin, one gsi per pin: the highest that has it.
 */
static int chip_pin_gsi(struct kvmd_vm *vm, u32 irqchip, u32 pin)
{
	struct kvmd_irq_routing_table *t;
	int gsi = -1;
	u32 i;

	t = srcu_dereference(vm->irq_routing, &vm->irq_srcu);
	for (i = 0; t && i < t->nr_routes; i++) {
		const struct kvmd_irq_route *r = &t->routes[i];

		if (r->type == KVM_IRQ_ROUTING_IRQCHIP &&
		    r->irqchip.irqchip == irqchip && r->irqchip.pin == pin)
			gsi = r->gsi;
	}
	return gsi;
}

void kvmd_fire_mask_notifiers(struct kvmd_vm *vm, u32 irqchip, u32 pin,
			      bool masked)
{
	struct kvmd_irq_mask_notifier *kimn;
	int idx, gsi;

	idx = srcu_read_lock(&vm->irq_srcu);
	gsi = chip_pin_gsi(vm, irqchip, pin);
	if (gsi >= 0)
		hlist_for_each_entry_srcu(kimn, &vm->irq_mask_notifiers, link,
					  srcu_read_lock_held(&vm->irq_srcu))
			if (kimn->gsi == gsi)
				kimn->func(kimn, masked);
	srcu_read_unlock(&vm->irq_srcu, idx);
}

/*
 * The ack notifiers of pin of irqchip: with call, each is called; returns
 * whether any listens (lapic.c's PV EOI asks without calling).
 */
static bool ack_notifiers(struct kvmd_vm *vm, u32 irqchip, u32 pin, bool call)
{
	struct kvmd_irq_ack_notifier *kian;
	bool found = false;
	int idx, gsi;

	idx = srcu_read_lock(&vm->irq_srcu);
	gsi = chip_pin_gsi(vm, irqchip, pin);
	if (gsi >= 0)
		hlist_for_each_entry_srcu(kian, &vm->irq_ack_notifiers, link,
					  srcu_read_lock_held(&vm->irq_srcu)) {
			if (kian->gsi != gsi)
				continue;
			found = true;
			if (!call)
				break;
			kian->irq_acked(kian);
		}
	srcu_read_unlock(&vm->irq_srcu, idx);
	return found;
}

void kvmd_notify_acked_irq(struct kvmd_vm *vm, u32 irqchip, u32 pin)
{
	ack_notifiers(vm, irqchip, pin, true);
}

bool kvmd_irq_has_notifier(struct kvmd_vm *vm, u32 irqchip, u32 pin)
{
	return ack_notifiers(vm, irqchip, pin, false);
}

/* ---- routing ---- */

static int route_check(struct kvmd_vm *vm, const struct kvm_irq_routing_entry *ue,
		       struct kvmd_irq_route *r)
{
	/* As KVM: an MSI may say its device ID is valid (x86 ignores it). */
	if (ue->gsi >= KVMD_MAX_IRQ_ROUTES ||
	    (ue->flags & ~(ue->type == KVM_IRQ_ROUTING_MSI ? KVM_MSI_VALID_DEVID : 0)))
		return -EINVAL;
	r->gsi = ue->gsi;
	r->type = ue->type;
	switch (ue->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		/* The split irqchip has no PIC or IOAPIC in the kernel. */
		if (vm->irqchip_mode == KVMD_IRQCHIP_SPLIT)
			return -EINVAL;
		r->irqchip.irqchip = ue->u.irqchip.irqchip;
		r->irqchip.pin = ue->u.irqchip.pin;
		switch (ue->u.irqchip.irqchip) {
		case KVM_IRQCHIP_PIC_MASTER:
		case KVM_IRQCHIP_PIC_SLAVE:
			if (ue->u.irqchip.pin >= KVMD_NR_PIC_PINS / 2)
				return -EINVAL;
			break;
		case KVM_IRQCHIP_IOAPIC:
			if (ue->u.irqchip.pin >= KVMD_NR_IOAPIC_PINS)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
		return 0;
	case KVM_IRQ_ROUTING_MSI:
		r->msi = ue->u.msi;
		return 0;
	case KVM_IRQ_ROUTING_HV_SINT:
		r->hv_sint = ue->u.hv_sint;
		return 0;
	default:
		return -EINVAL;
	}
}

static int gsi_cmp(const void *a, const void *b)
{
	const struct kvmd_irq_route *x = a, *y = b;

	return x->gsi < y->gsi ? -1 : x->gsi > y->gsi;
}

/* Build a table from entries; NULL entries mean the empty table. */
static struct kvmd_irq_routing_table *
routing_build(struct kvmd_vm *vm, const struct kvm_irq_routing_entry *ue, u32 nr)
{
	struct kvmd_irq_routing_table *t;
	u32 i, j, g, nr_gsi = 0;
	int r;

	t = kvzalloc(struct_size(t, routes, nr), GFP_KERNEL_ACCOUNT);
	if (!t)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < nr; i++) {
		r = route_check(vm, &ue[i], &t->routes[i]);
		if (r)
			goto fail;
		nr_gsi = max(nr_gsi, ue[i].gsi + 1);
	}
	t->nr_routes = nr;
	sort(t->routes, nr, sizeof(t->routes[0]), gsi_cmp, NULL);
	/* As KVM: one pin per irqchip for a gsi, one MSI only alone. */
	for (i = 0; i < nr; i++)
		for (j = i + 1; j < nr && t->routes[j].gsi == t->routes[i].gsi; j++) {
			const struct kvmd_irq_route *a = &t->routes[i], *b = &t->routes[j];

			if (a->type != KVM_IRQ_ROUTING_IRQCHIP ||
			    b->type != KVM_IRQ_ROUTING_IRQCHIP ||
			    a->irqchip.irqchip == b->irqchip.irqchip) {
				r = -EINVAL;
				goto fail;
			}
		}
	t->nr_gsi = nr_gsi;
	t->index = kvcalloc(nr_gsi + 1, sizeof(u32), GFP_KERNEL_ACCOUNT);
	if (!t->index) {
		r = -ENOMEM;
		goto fail;
	}
	for (g = 0, i = 0; g <= nr_gsi; g++) {
		while (i < nr && t->routes[i].gsi < g)
			i++;
		t->index[g] = i;
	}
	return t;
fail:
	kvfree(t);
	return ERR_PTR(r);
}

static void routing_free(struct kvmd_irq_routing_table *t)
{
	if (!t)
		return;
	kvfree(t->index);
	kvfree(t);
}

static int routing_set(struct kvmd_vm *vm, const struct kvm_irq_routing_entry *ue,
		       u32 nr)
{
	struct kvmd_irq_routing_table *new, *old;

	new = routing_build(vm, ue, nr);
	if (IS_ERR(new))
		return PTR_ERR(new);
	mutex_lock(&vm->irq_lock);
	old = rcu_dereference_protected(vm->irq_routing,
					lockdep_is_held(&vm->irq_lock));
	rcu_assign_pointer(vm->irq_routing, new);
	mutex_unlock(&vm->irq_lock);
	synchronize_srcu_expedited(&vm->irq_srcu);
	kvmd_irqfd_routing_update(vm);
	routing_free(old);
	return 0;
}

static int routing_set_default(struct kvmd_vm *vm)
{
	struct kvm_irq_routing_entry *e;
	int i, n = 0, r;

	e = kcalloc(KVMD_NR_PIC_PINS + KVMD_NR_IOAPIC_PINS, sizeof(*e), GFP_KERNEL);
	if (!e)
		return -ENOMEM;
	for (i = 0; i < KVMD_NR_IOAPIC_PINS; i++) {
		if (i < KVMD_NR_PIC_PINS) {
			e[n].gsi = i;
			e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
			e[n].u.irqchip.irqchip = i < 8 ? KVM_IRQCHIP_PIC_MASTER :
							 KVM_IRQCHIP_PIC_SLAVE;
			e[n].u.irqchip.pin = i & 7;
			n++;
		}
		e[n].gsi = i;
		e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		e[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e[n].u.irqchip.pin = i;
		n++;
	}
	r = routing_set(vm, e, n);
	kfree(e);
	return r;
}

int kvmd_irq_map_gsi(struct kvmd_vm *vm, u32 gsi, struct kvmd_irq_route *out,
		     int max)
{
	struct kvmd_irq_routing_table *t;
	int n = 0, idx;
	u32 i;

	idx = srcu_read_lock(&vm->irq_srcu);
	t = srcu_dereference(vm->irq_routing, &vm->irq_srcu);
	if (t && gsi < t->nr_gsi)
		for (i = t->index[gsi]; i < t->index[gsi + 1] && n < max; i++)
			out[n++] = t->routes[i];
	srcu_read_unlock(&vm->irq_srcu, idx);
	return n;
}

/* ---- delivery ---- */

void kvmd_msi_to_lapic_irq(const struct kvm_irq_routing_msi *msi,
			   struct kvmd_lapic_irq *irq)
{
	memset(irq, 0, sizeof(*irq));
	irq->dest_id = (msi->address_lo >> 12) & 0xff;
	irq->vector = msi->data & 0xff;
	irq->dest_logical = msi->address_lo & (1 << 2);
	irq->trig_level = msi->data & (1 << 15);
	irq->delivery_mode = msi->data & APIC_MODE_MASK;
	/* The redirection hint asks for lowest priority, as KVM reads it. */
	if ((msi->address_lo & (1 << 3)) && irq->delivery_mode == APIC_DM_FIXED)
		irq->delivery_mode = APIC_DM_LOWEST;
	irq->level = true;
	irq->shorthand = KVMD_DEST_NOSHORT;
}

int kvmd_set_msi(struct kvmd_vm *vm, const struct kvm_irq_routing_msi *msi)
{
	struct kvmd_lapic_irq irq;

	kvmd_msi_to_lapic_irq(msi, &irq);
	return kvmd_irq_delivery_to_apic(vm, NULL, &irq);
}

static int route_set(struct kvmd_vm *vm, const struct kvmd_irq_route *r,
		     int src, int level, bool line_status)
{
	struct kvmd_ioapic *ioapic;
	struct kvmd_pic *pic;

	switch (r->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		if (r->irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
			ioapic = READ_ONCE(vm->ioapic);
			return ioapic ? kvmd_ioapic_set_irq(ioapic, r->irqchip.pin,
							    src, level, line_status) : -1;
		}
		pic = READ_ONCE(vm->pic);
		if (!pic)
			return -1;
		return kvmd_pic_set_irq(pic, r->irqchip.pin +
					(r->irqchip.irqchip == KVM_IRQCHIP_PIC_SLAVE ? 8 : 0),
					src, level);
	case KVM_IRQ_ROUTING_MSI:
		return level ? kvmd_set_msi(vm, &r->msi) : -1;
	case KVM_IRQ_ROUTING_HV_SINT:
		return level ? kvmd_hv_synic_set_irq(vm, r->hv_sint.vcpu,
						     r->hv_sint.sint) : -1;
	}
	return -1;
}

int kvmd_set_irq(struct kvmd_vm *vm, int irq_source_id, u32 gsi, int level,
		 bool line_status)
{
	struct kvmd_irq_route routes[KVMD_NR_IRQCHIPS];
	int i, n, ret = -1;

	n = kvmd_irq_map_gsi(vm, gsi, routes, ARRAY_SIZE(routes));
	/* As KVM: the sum of what the chips delivered, -1 if none took it. */
	for (i = n - 1; i >= 0; i--) {
		int r = route_set(vm, &routes[i], irq_source_id, level, line_status);

		if (r < 0)
			continue;
		ret = r + (ret < 0 ? 0 : ret);
	}
	return ret;
}

/* ---- ioctls ---- */

static int create_irqchip(struct kvmd_vm *vm)
{
	int r;

	mutex_lock(&vm->lock);
	r = -EEXIST;
	if (vm->irqchip_mode != KVMD_IRQCHIP_NONE)
		goto out;
	r = -EINVAL;
	if (vm->nr_vcpus)
		goto out;
	r = kvmd_pic_create(vm);
	if (r)
		goto out;
	r = kvmd_ioapic_create(vm);
	if (r)
		goto err_pic;
	r = routing_set_default(vm);
	if (r)
		goto err_ioapic;
	smp_store_release(&vm->irqchip_mode, KVMD_IRQCHIP_KERNEL);
	mutex_unlock(&vm->lock);
	return 0;
err_ioapic:
	kvmd_ioapic_destroy(vm);
err_pic:
	kvmd_pic_destroy(vm);
out:
	mutex_unlock(&vm->lock);
	return r;
}

int kvmd_enable_split_irqchip(struct kvmd_vm *vm, u64 nr_pins)
{
	int r;

	if (nr_pins > KVMD_MAX_RESERVED_IOAPIC_PINS)
		return -EINVAL;
	mutex_lock(&vm->lock);
	r = -EEXIST;
	if (vm->irqchip_mode != KVMD_IRQCHIP_NONE)
		goto out;
	r = -EINVAL;
	if (vm->nr_vcpus)
		goto out;
	r = routing_set(vm, NULL, 0);
	if (r)
		goto out;
	vm->nr_reserved_ioapic_pins = nr_pins;
	smp_store_release(&vm->irqchip_mode, KVMD_IRQCHIP_SPLIT);
out:
	mutex_unlock(&vm->lock);
	return r;
}

static int set_gsi_routing(struct kvmd_vm *vm, struct kvm_irq_routing __user *u)
{
	struct kvm_irq_routing_entry *e = NULL;
	struct kvm_irq_routing hdr;
	int r;

	if (copy_from_user(&hdr, u, sizeof(hdr)))
		return -EFAULT;
	if (!kvmd_irqchip_in_kernel(vm))
		return -EINVAL;
	if (hdr.nr > KVMD_MAX_IRQ_ROUTES || hdr.flags)
		return -EINVAL;
	if (hdr.nr) {
		e = vmemdup_user(u->entries, array_size(sizeof(*e), hdr.nr));
		if (IS_ERR(e))
			return PTR_ERR(e);
	}
	r = routing_set(vm, e, hdr.nr);
	kvfree(e);
	return r;
}

static int get_irqchip(struct kvmd_vm *vm, struct kvm_irqchip *chip)
{
	switch (chip->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		kvmd_pic_get_state(vm->pic, chip->chip_id, &chip->chip.pic);
		return 0;
	case KVM_IRQCHIP_IOAPIC:
		kvmd_ioapic_get_state(vm->ioapic, &chip->chip.ioapic);
		return 0;
	}
	return -EINVAL;
}

static int set_irqchip(struct kvmd_vm *vm, const struct kvm_irqchip *chip)
{
	switch (chip->chip_id) {
	case KVM_IRQCHIP_PIC_MASTER:
	case KVM_IRQCHIP_PIC_SLAVE:
		kvmd_pic_set_state(vm->pic, chip->chip_id, &chip->chip.pic);
		return 0;
	case KVM_IRQCHIP_IOAPIC:
		kvmd_ioapic_set_state(vm->ioapic, &chip->chip.ioapic);
		return 0;
	}
	return -EINVAL;
}

long kvmd_irq_vm_ioctl(struct kvmd_vm *vm, unsigned int ioctl,
		       void __user *argp)
{
	union {
		struct kvm_irq_level level;
		struct kvm_msi msi;
		struct kvm_irqchip chip;
	} *u;
	long r;

	switch (ioctl) {
	case KVM_CREATE_IRQCHIP:
		return create_irqchip(vm);
	case KVM_SET_GSI_ROUTING:
		return set_gsi_routing(vm, argp);
	}

	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	r = -EFAULT;
	switch (ioctl) {
	case KVM_IRQ_LINE:
	case KVM_IRQ_LINE_STATUS:
		if (copy_from_user(&u->level, argp, sizeof(u->level)))
			break;
		r = -ENXIO;
		if (!kvmd_irqchip_in_kernel(vm))
			break;
		u->level.status = kvmd_set_irq(vm, KVMD_USERSPACE_IRQ_SOURCE_ID,
					       u->level.irq, u->level.level,
					       ioctl == KVM_IRQ_LINE_STATUS);
		r = 0;
		if (ioctl == KVM_IRQ_LINE_STATUS &&
		    copy_to_user(argp, &u->level, sizeof(u->level)))
			r = -EFAULT;
		break;
	case KVM_SIGNAL_MSI: {
		struct kvm_irq_routing_msi m = {};

		if (copy_from_user(&u->msi, argp, sizeof(u->msi)))
			break;
		r = -EINVAL;
		if (!kvmd_irqchip_in_kernel(vm) || (u->msi.flags & ~KVM_MSI_VALID_DEVID))
			break;
		m.address_lo = u->msi.address_lo;
		m.address_hi = u->msi.address_hi;
		m.data = u->msi.data;
		r = kvmd_set_msi(vm, &m);
		break;
	}
	case KVM_GET_IRQCHIP:
		if (copy_from_user(&u->chip, argp, sizeof(u->chip)))
			break;
		r = -ENXIO;
		if (!kvmd_irqchip_full(vm))
			break;
		r = get_irqchip(vm, &u->chip);
		if (!r && copy_to_user(argp, &u->chip, sizeof(u->chip)))
			r = -EFAULT;
		break;
	case KVM_SET_IRQCHIP:
		if (copy_from_user(&u->chip, argp, sizeof(u->chip)))
			break;
		r = -ENXIO;
		if (!kvmd_irqchip_full(vm))
			break;
		r = set_irqchip(vm, &u->chip);
		break;
	default:
		r = -ENOTTY;
	}
	kfree(u);
	return r;
}
