// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/eventfd.c: KVM_IRQFD and KVM_IOEVENTFD, with KVM's semantics.
 *
 * An irqfd hooks a wait queue entry onto an eventfd: a signal (in atomic
 * context, under the eventfd's wait queue lock) delivers an MSI route at
 * once, and pulses any other route from a work item. A resampling irqfd
 * holds its line high (source KVMD_IRQFD_RESAMPLE_IRQ_SOURCE_ID) until the
 * guest EOIs it: then the line is lowered and every resamplefd of that gsi
 * signalled, and the next signal raises it again. Closing the eventfd
 * (EPOLLHUP) or deassigning tears the irqfd down on a per-VM workqueue.
 *
 * An ioeventfd is a device on the PIO or MMIO bus: a guest write at its
 * address (of its length, and with its value when it has a datamatch)
 * signals the eventfd and completes in the kernel; anything else is left
 * to the next device and then userspace.
 *
 * Locking: ev->lock (irqs off) guards the irqfd list and each irqfd's
 * cached route (written under a seqcount, read locklessly by the wakeup);
 * ev->resampler_lock the resamplers, whose irqfd lists are read under
 * vm->irq_srcu; ev->ioeventfd_lock the ioeventfd list.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/list.h>
#include <linux/poll.h>
#include <linux/rculist.h>
#include <linux/seqlock.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "kvmdrv.h"

/* The routes one gsi may have: PIC and IOAPIC pins, or MSIs (KVM_NR_IRQCHIPS). */
#define IRQFD_MAX_ROUTES	4

/* The virtio-ccw notify bus of KVM: accepted, never dispatched on x86. */
#define KVMD_CCW_BUS		KVMD_NR_BUSES

struct kvmd_eventfds {
	spinlock_t lock;			/* irqfds, their routes */
	struct list_head irqfds;
	struct mutex resampler_lock;
	struct list_head resamplers;
	struct workqueue_struct *cleanup_wq;	/* irqfd shutdowns */
	struct mutex ioeventfd_lock;
	struct list_head ioeventfds;
};

/* The resampling irqfds of one gsi share a line and an ack notifier. */
struct kvmd_resampler {
	struct kvmd_vm *vm;
	struct list_head irqfds;	/* under resampler_lock, read under irq_srcu */
	struct kvmd_irq_ack_notifier notifier;
	struct list_head link;		/* in ev->resamplers */
};

struct kvmd_irqfd {
	struct kvmd_vm *vm;
	struct eventfd_ctx *eventfd;
	u32 gsi;
	struct list_head list;		/* in ev->irqfds; empty once deactivated */
	seqcount_spinlock_t route_sc;
	struct kvmd_irq_route route;	/* gsi's only route; type 0: none or several */
	struct kvmd_resampler *resampler;
	struct eventfd_ctx *resamplefd;
	struct list_head resampler_link;
	wait_queue_entry_t wait;
	poll_table pt;
	struct work_struct inject;
	struct work_struct shutdown;
};

struct kvmd_ioeventfd {
	struct list_head list;		/* in ev->ioeventfds */
	u64 addr;
	int len;			/* 0: any length */
	int bus;			/* enum kvmd_bus or KVMD_CCW_BUS */
	bool wildcard;			/* no datamatch */
	u64 datamatch;
	struct eventfd_ctx *eventfd;
	struct kvmd_io_device dev;
};

/* ---- irqfd ---- */

static void irqfd_inject(struct work_struct *work)
{
	struct kvmd_irqfd *irqfd = container_of(work, struct kvmd_irqfd, inject);
	struct kvmd_vm *vm = irqfd->vm;

	if (!irqfd->resampler) {
		kvmd_set_irq(vm, KVMD_USERSPACE_IRQ_SOURCE_ID, irqfd->gsi, 1, false);
		kvmd_set_irq(vm, KVMD_USERSPACE_IRQ_SOURCE_ID, irqfd->gsi, 0, false);
	} else {
		kvmd_set_irq(vm, KVMD_IRQFD_RESAMPLE_IRQ_SOURCE_ID, irqfd->gsi,
			     1, false);
	}
}

/*
 * The guest EOIed the gsi of a resampler: lower the shared line once, then
 * tell every resamplefd, whose owners raise it again if still needed.
 */
static void irqfd_resampler_ack(struct kvmd_irq_ack_notifier *kian)
{
	struct kvmd_resampler *rs = container_of(kian, struct kvmd_resampler,
						 notifier);
	struct kvmd_vm *vm = rs->vm;
	struct kvmd_irqfd *irqfd;
	int idx;

	kvmd_set_irq(vm, KVMD_IRQFD_RESAMPLE_IRQ_SOURCE_ID, kian->gsi, 0, false);
	idx = srcu_read_lock(&vm->irq_srcu);
	list_for_each_entry_srcu(irqfd, &rs->irqfds, resampler_link,
				 srcu_read_lock_held(&vm->irq_srcu))
		eventfd_signal(irqfd->resamplefd, 1);
	srcu_read_unlock(&vm->irq_srcu, idx);
}

static void irqfd_resampler_shutdown(struct kvmd_irqfd *irqfd)
{
	struct kvmd_resampler *rs = irqfd->resampler;
	struct kvmd_vm *vm = rs->vm;
	struct kvmd_eventfds *ev = vm->eventfds;

	mutex_lock(&ev->resampler_lock);
	list_del_rcu(&irqfd->resampler_link);
	synchronize_srcu(&vm->irq_srcu);
	if (list_empty(&rs->irqfds)) {
		list_del(&rs->link);
		kvmd_unregister_irq_ack_notifier(vm, &rs->notifier);
		/* No ack handler of rs runs once this returns. */
		synchronize_srcu(&vm->irq_srcu);
		kvmd_set_irq(vm, KVMD_IRQFD_RESAMPLE_IRQ_SOURCE_ID,
			     rs->notifier.gsi, 0, false);
		kfree(rs);
	}
	mutex_unlock(&ev->resampler_lock);
}

/* Runs on ev->cleanup_wq once the irqfd left ev->irqfds. */
static void irqfd_shutdown(struct work_struct *work)
{
	struct kvmd_irqfd *irqfd = container_of(work, struct kvmd_irqfd,
						shutdown);
	struct kvmd_vm *vm = irqfd->vm;
	u64 cnt;

	/* The assign path holds irq_srcu until it is done with irqfd. */
	synchronize_srcu(&vm->irq_srcu);
	/* No wakeup runs or starts after this; then no injection either. */
	eventfd_ctx_remove_wait_queue(irqfd->eventfd, &irqfd->wait, &cnt);
	flush_work(&irqfd->inject);
	if (irqfd->resampler) {
		irqfd_resampler_shutdown(irqfd);
		eventfd_ctx_put(irqfd->resamplefd);
	}
	eventfd_ctx_put(irqfd->eventfd);
	kfree(irqfd);
}

static bool irqfd_is_active(struct kvmd_irqfd *irqfd)
{
	return !list_empty(&irqfd->list);
}

/* Under ev->lock. */
static void irqfd_deactivate(struct kvmd_irqfd *irqfd)
{
	list_del_init(&irqfd->list);
	queue_work(irqfd->vm->eventfds->cleanup_wq, &irqfd->shutdown);
}

/* Under ev->lock: cache the gsi's route if it has exactly one. */
static void irqfd_update(struct kvmd_vm *vm, struct kvmd_irqfd *irqfd)
{
	struct kvmd_irq_route routes[IRQFD_MAX_ROUTES];
	int n;

	n = kvmd_irq_map_gsi(vm, irqfd->gsi, routes, ARRAY_SIZE(routes));
	write_seqcount_begin(&irqfd->route_sc);
	if (n == 1)
		irqfd->route = routes[0];
	else
		irqfd->route.type = 0;
	write_seqcount_end(&irqfd->route_sc);
}

/* The eventfd's wait queue lock is held and interrupts are off. */
static int irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode, int sync,
			void *key)
{
	struct kvmd_irqfd *irqfd = container_of(wait, struct kvmd_irqfd, wait);
	__poll_t flags = key_to_poll(key);
	struct kvmd_vm *vm = irqfd->vm;
	int ret = 0;

	if (flags & EPOLLIN) {
		struct kvmd_irq_route route;
		unsigned int seq;
		u64 cnt;
		int idx;

		eventfd_ctx_do_read(irqfd->eventfd, &cnt);
		idx = srcu_read_lock(&vm->irq_srcu);
		do {
			seq = read_seqcount_begin(&irqfd->route_sc);
			route = irqfd->route;
		} while (read_seqcount_retry(&irqfd->route_sc, seq));
		/*
		 * An MSI goes straight to the local APICs (their delivery
		 * takes no sleeping lock). Lines, and an irqfd being torn
		 * down (its route no longer follows the routing), wait for
		 * the work item.
		 */
		if (route.type == KVM_IRQ_ROUTING_MSI && irqfd_is_active(irqfd))
			kvmd_set_msi(vm, &route.msi);
		else
			schedule_work(&irqfd->inject);
		srcu_read_unlock(&vm->irq_srcu, idx);
		ret = 1;
	}

	if (flags & EPOLLHUP) {
		struct kvmd_eventfds *ev = vm->eventfds;
		unsigned long iflags;

		/*
		 * The eventfd is going away. Whoever deactivated the irqfd
		 * first (a deassign, the VM's end) frees it; it can't be freed
		 * under us, as the shutdown takes the lock we hold to unhook.
		 */
		spin_lock_irqsave(&ev->lock, iflags);
		if (irqfd_is_active(irqfd))
			irqfd_deactivate(irqfd);
		spin_unlock_irqrestore(&ev->lock, iflags);
	}
	return ret;
}

static void irqfd_ptable_queue_proc(struct file *file, wait_queue_head_t *wqh,
				    poll_table *pt)
{
	struct kvmd_irqfd *irqfd = container_of(pt, struct kvmd_irqfd, pt);

	/* First in line and exclusive: the irqfd consumes the signal. */
	add_wait_queue_priority(wqh, &irqfd->wait);
}

/* Join or create the resampler of irqfd's gsi. */
static int irqfd_resampler_join(struct kvmd_vm *vm, struct kvmd_irqfd *irqfd)
{
	struct kvmd_eventfds *ev = vm->eventfds;
	struct kvmd_resampler *rs;

	mutex_lock(&ev->resampler_lock);
	list_for_each_entry(rs, &ev->resamplers, link) {
		if (rs->notifier.gsi == irqfd->gsi) {
			irqfd->resampler = rs;
			break;
		}
	}
	if (!irqfd->resampler) {
		rs = kzalloc(sizeof(*rs), GFP_KERNEL_ACCOUNT);
		if (!rs) {
			mutex_unlock(&ev->resampler_lock);
			return -ENOMEM;
		}
		rs->vm = vm;
		INIT_LIST_HEAD(&rs->irqfds);
		rs->notifier.gsi = irqfd->gsi;
		rs->notifier.irq_acked = irqfd_resampler_ack;
		list_add(&rs->link, &ev->resamplers);
		kvmd_register_irq_ack_notifier(vm, &rs->notifier);
		irqfd->resampler = rs;
	}
	list_add_rcu(&irqfd->resampler_link, &irqfd->resampler->irqfds);
	synchronize_srcu(&vm->irq_srcu);
	mutex_unlock(&ev->resampler_lock);
	return 0;
}

static int irqfd_assign(struct kvmd_vm *vm, struct kvm_irqfd *args)
{
	struct kvmd_eventfds *ev = vm->eventfds;
	struct eventfd_ctx *eventfd = NULL, *resamplefd = NULL;
	struct kvmd_irqfd *irqfd, *tmp;
	__poll_t events;
	struct fd f;
	int ret, idx;

	/*
	 * As x86 KVM (kvm_arch_irqfd_allowed), before looking at the fds:
	 * the LAPICs in the kernel, and the full irqchip to resample.
	 */
	if (!((args->flags & KVM_IRQFD_FLAG_RESAMPLE) ? kvmd_irqchip_full(vm) :
	      kvmd_irqchip_in_kernel(vm)))
		return -EINVAL;

	irqfd = kzalloc(sizeof(*irqfd), GFP_KERNEL_ACCOUNT);
	if (!irqfd)
		return -ENOMEM;
	irqfd->vm = vm;
	irqfd->gsi = args->gsi;
	INIT_LIST_HEAD(&irqfd->list);
	INIT_WORK(&irqfd->inject, irqfd_inject);
	INIT_WORK(&irqfd->shutdown, irqfd_shutdown);
	seqcount_spinlock_init(&irqfd->route_sc, &ev->lock);

	f = fdget(args->fd);
	if (!f.file) {
		ret = -EBADF;
		goto out;
	}
	eventfd = eventfd_ctx_fileget(f.file);
	if (IS_ERR(eventfd)) {
		ret = PTR_ERR(eventfd);
		eventfd = NULL;
		goto fail;
	}
	irqfd->eventfd = eventfd;

	if (args->flags & KVM_IRQFD_FLAG_RESAMPLE) {
		resamplefd = eventfd_ctx_fdget(args->resamplefd);
		if (IS_ERR(resamplefd)) {
			ret = PTR_ERR(resamplefd);
			resamplefd = NULL;
			goto fail;
		}
		irqfd->resamplefd = resamplefd;
		ret = irqfd_resampler_join(vm, irqfd);
		if (ret)
			goto fail;
	}

	init_waitqueue_func_entry(&irqfd->wait, irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, irqfd_ptable_queue_proc);

	spin_lock_irq(&ev->lock);
	list_for_each_entry(tmp, &ev->irqfds, list) {
		if (tmp->eventfd == eventfd) {
			/* That eventfd already drives an interrupt. */
			spin_unlock_irq(&ev->lock);
			ret = -EBUSY;
			goto fail;
		}
	}
	idx = srcu_read_lock(&vm->irq_srcu);
	irqfd_update(vm, irqfd);
	list_add_tail(&irqfd->list, &ev->irqfds);
	spin_unlock_irq(&ev->lock);

	/* Hook the wait queue; a signal from before counts. */
	events = vfs_poll(f.file, &irqfd->pt);
	if (events & EPOLLIN)
		schedule_work(&irqfd->inject);
	srcu_read_unlock(&vm->irq_srcu, idx);

	/* Holding the file until now keeps EPOLLHUP out of the way. */
	fdput(f);
	return 0;

fail:
	if (irqfd->resampler)
		irqfd_resampler_shutdown(irqfd);
	if (resamplefd)
		eventfd_ctx_put(resamplefd);
	if (eventfd)
		eventfd_ctx_put(eventfd);
	fdput(f);
out:
	kfree(irqfd);
	return ret;
}

/* Every irqfd of this eventfd and gsi goes; none is not an error (KVM's). */
static int irqfd_deassign(struct kvmd_vm *vm, struct kvm_irqfd *args)
{
	struct kvmd_eventfds *ev = vm->eventfds;
	struct kvmd_irqfd *irqfd, *tmp;
	struct eventfd_ctx *eventfd;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	spin_lock_irq(&ev->lock);
	list_for_each_entry_safe(irqfd, tmp, &ev->irqfds, list) {
		if (irqfd->eventfd == eventfd && irqfd->gsi == args->gsi)
			irqfd_deactivate(irqfd);
	}
	spin_unlock_irq(&ev->lock);
	eventfd_ctx_put(eventfd);
	/* No interrupt from it once this returns. */
	flush_workqueue(ev->cleanup_wq);
	return 0;
}

int kvmd_irqfd(struct kvmd_vm *vm, struct kvm_irqfd *args)
{
	if (args->flags & ~(KVM_IRQFD_FLAG_DEASSIGN | KVM_IRQFD_FLAG_RESAMPLE))
		return -EINVAL;
	if (args->flags & KVM_IRQFD_FLAG_DEASSIGN)
		return irqfd_deassign(vm, args);
	return irqfd_assign(vm, args);
}

/*
 * The routing changed (the new table is published, the old one not yet
 * freed): each irqfd takes its gsi's route again.
 */
void kvmd_irqfd_routing_update(struct kvmd_vm *vm)
{
	struct kvmd_eventfds *ev = vm->eventfds;
	struct kvmd_irqfd *irqfd;

	if (!ev)
		return;
	spin_lock_irq(&ev->lock);
	list_for_each_entry(irqfd, &ev->irqfds, list)
		irqfd_update(vm, irqfd);
	spin_unlock_irq(&ev->lock);
}

/* ---- ioeventfd ---- */

static struct kvmd_ioeventfd *to_ioeventfd(struct kvmd_io_device *dev)
{
	return container_of(dev, struct kvmd_ioeventfd, dev);
}

static bool ioeventfd_in_range(struct kvmd_ioeventfd *p, u64 addr, int len,
			       const void *val)
{
	u64 v = 0;

	if (addr != p->addr)
		return false;
	if (!p->len)
		return true;
	if (len != p->len)
		return false;
	if (p->wildcard)
		return true;
	memcpy(&v, val, len);
	return v == p->datamatch;
}

static int ioeventfd_write(struct kvmd_vcpu *vcpu, struct kvmd_io_device *dev,
			   u64 addr, int len, const void *val)
{
	struct kvmd_ioeventfd *p = to_ioeventfd(dev);

	if (!ioeventfd_in_range(p, addr, len, val))
		return -EOPNOTSUPP;
	eventfd_signal(p->eventfd, 1);
	return 0;
}

static const struct kvmd_io_ops ioeventfd_ops = {
	.write = ioeventfd_write,
};

static void ioeventfd_release(struct kvmd_ioeventfd *p)
{
	eventfd_ctx_put(p->eventfd);
	list_del(&p->list);
	kfree(p);
}

/* Under ioeventfd_lock: would p answer a write another one answers? */
static bool ioeventfd_collides(struct kvmd_eventfds *ev,
			       struct kvmd_ioeventfd *p)
{
	struct kvmd_ioeventfd *q;

	list_for_each_entry(q, &ev->ioeventfds, list) {
		if (q->bus == p->bus && q->addr == p->addr &&
		    (!q->len || !p->len ||
		     (q->len == p->len &&
		      (q->wildcard || p->wildcard ||
		       q->datamatch == p->datamatch))))
			return true;
	}
	return false;
}

static int ioeventfd_bus(u32 flags)
{
	if (flags & KVM_IOEVENTFD_FLAG_PIO)
		return KVMD_PIO_BUS;
	if (flags & KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return KVMD_CCW_BUS;
	return KVMD_MMIO_BUS;
}

static int ioeventfd_assign(struct kvmd_vm *vm, struct kvm_ioeventfd *args)
{
	struct kvmd_eventfds *ev = vm->eventfds;
	struct eventfd_ctx *eventfd;
	struct kvmd_ioeventfd *p;
	int ret;

	switch (args->len) {
	case 0:
	case 1:
	case 2:
	case 4:
	case 8:
		break;
	default:
		return -EINVAL;
	}
	if (args->addr + args->len < args->addr)
		return -EINVAL;
	/*
	 * As stock x86 KVM: every flag it defines passes, the virtio-ccw
	 * one too (its bus exists but no access reaches it).
	 */
	if (args->flags & ~KVM_IOEVENTFD_VALID_FLAG_MASK)
		return -EINVAL;
	/* Any length can't go with a value to match. */
	if (!args->len && (args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH))
		return -EINVAL;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p) {
		ret = -ENOMEM;
		goto fail;
	}
	INIT_LIST_HEAD(&p->list);
	p->addr = args->addr;
	p->len = args->len;
	p->bus = ioeventfd_bus(args->flags);
	p->eventfd = eventfd;
	if (args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH)
		p->datamatch = args->datamatch;
	else
		p->wildcard = true;
	p->dev.ops = &ioeventfd_ops;

	mutex_lock(&ev->ioeventfd_lock);
	if (ioeventfd_collides(ev, p)) {
		ret = -EEXIST;
		goto unlock;
	}
	if (p->bus != KVMD_CCW_BUS) {
		ret = kvmd_io_bus_register(vm, p->bus, p->addr, p->len, &p->dev);
		if (ret)
			goto unlock;
	}
	list_add_tail(&p->list, &ev->ioeventfds);
	mutex_unlock(&ev->ioeventfd_lock);
	return 0;

unlock:
	mutex_unlock(&ev->ioeventfd_lock);
fail:
	kfree(p);
	eventfd_ctx_put(eventfd);
	return ret;
}

/* The one ioeventfd assigned with these arguments, or -ENOENT. */
static int ioeventfd_deassign(struct kvmd_vm *vm, struct kvm_ioeventfd *args)
{
	struct kvmd_eventfds *ev = vm->eventfds;
	bool wildcard = !(args->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	int bus = ioeventfd_bus(args->flags);
	struct kvmd_ioeventfd *p, *tmp;
	struct eventfd_ctx *eventfd;
	int ret = -ENOENT;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	mutex_lock(&ev->ioeventfd_lock);
	list_for_each_entry_safe(p, tmp, &ev->ioeventfds, list) {
		if (p->bus != bus || p->eventfd != eventfd ||
		    p->addr != args->addr || p->len != args->len ||
		    p->wildcard != wildcard)
			continue;
		if (!p->wildcard && p->datamatch != args->datamatch)
			continue;
		/* Returns once no vCPU is in ioeventfd_write for p. */
		if (p->bus != KVMD_CCW_BUS)
			kvmd_io_bus_unregister(vm, p->bus, &p->dev);
		ioeventfd_release(p);
		ret = 0;
		break;
	}
	mutex_unlock(&ev->ioeventfd_lock);
	eventfd_ctx_put(eventfd);
	return ret;
}

int kvmd_ioeventfd(struct kvmd_vm *vm, struct kvm_ioeventfd *args)
{
	if (args->flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
		return ioeventfd_deassign(vm, args);
	return ioeventfd_assign(vm, args);
}

/* ---- the VM ---- */

int kvmd_eventfd_init(struct kvmd_vm *vm)
{
	struct kvmd_eventfds *ev;

	ev = kzalloc(sizeof(*ev), GFP_KERNEL_ACCOUNT);
	if (!ev)
		return -ENOMEM;
	ev->cleanup_wq = alloc_workqueue("kvmd-irqfd", 0, 0);
	if (!ev->cleanup_wq) {
		kfree(ev);
		return -ENOMEM;
	}
	spin_lock_init(&ev->lock);
	INIT_LIST_HEAD(&ev->irqfds);
	mutex_init(&ev->resampler_lock);
	INIT_LIST_HEAD(&ev->resamplers);
	mutex_init(&ev->ioeventfd_lock);
	INIT_LIST_HEAD(&ev->ioeventfds);
	vm->eventfds = ev;
	return 0;
}

/*
 * The VM's last reference is gone: no vCPU runs and no ioctl is in
 * progress, but eventfds may still be signalled or closed.
 */
void kvmd_eventfd_destroy(struct kvmd_vm *vm)
{
	struct kvmd_eventfds *ev = vm->eventfds;
	struct kvmd_ioeventfd *p, *tmp;
	struct kvmd_irqfd *irqfd, *itmp;

	if (!ev)
		return;
	spin_lock_irq(&ev->lock);
	list_for_each_entry_safe(irqfd, itmp, &ev->irqfds, list)
		irqfd_deactivate(irqfd);
	spin_unlock_irq(&ev->lock);
	/* Drains the shutdowns: every irqfd is unhooked and freed. */
	destroy_workqueue(ev->cleanup_wq);
	WARN_ON(!list_empty(&ev->resamplers));

	/*
	 * No access reaches the buses any more: their arrays, which still
	 * point at these devices, are freed with the VM (kvmd_io_bus_destroy)
	 * and never read again, as KVM frees its ioeventfds.
	 */
	list_for_each_entry_safe(p, tmp, &ev->ioeventfds, list)
		ioeventfd_release(p);
	kfree(ev);
	vm->eventfds = NULL;
}
