// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/i8254.c: the 8254 interval timer at ports 0x40-0x43, and with
 * KVM_PIT_SPEAKER_DUMMY the gate of channel 2 at port 0x61, as KVM's
 * in-kernel PIT: three channels in modes 0-5, counter and status latches,
 * the read-back command, lsb/msb access. Counts are computed from the time
 * a channel was loaded; only channel 0 interrupts, on GSI 0, from an
 * hrtimer (periodic in modes 2 and 3, one-shot in 0, 1 and 4) whose
 * expiry queues the injection on a kthread worker.
 *
 * With reinjection (the default, KVM_REINJECT_CONTROL) ticks are counted
 * and the next is injected only once the guest acknowledged the previous
 * one; without it a tick is injected at each expiry, coalescing the missed.
 *
 * Locking: the channels, flags and the timer's programming are under
 * pit->lock, a mutex as KVM's: the port handlers run on a vCPU thread and
 * reprogramming waits for the worker. The hrtimer and the ack notifier
 * touch only atomics. KVM_REINJECT_CONTROL registers the ack notifier
 * under reinject_lock, never under pit->lock: unregistering waits for the
 * irq_srcu readers, and a port handler is one while it waits for pit->lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": pit: " fmt

#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kvmdrv.h"

#define PIT_BASE		0x40
#define PIT_LEN			4
#define PIT_SPEAKER		0x61
#define PIT_SPEAKER_LEN		4
#define PIT_FREQ		1193181		/* Hz */
/* Shortest period of a periodic tick, as KVM's min_timer_period_us. */
#define PIT_MIN_PERIOD_NS	(200 * NSEC_PER_USEC)

#define RW_STATE_LSB		1
#define RW_STATE_MSB		2
#define RW_STATE_WORD0		3
#define RW_STATE_WORD1		4

struct kvmd_pit {
	struct kvmd_vm *vm;
	struct mutex lock;		/* everything up to the atomics */
	struct kvm_pit_channel_state ch[3];	/* KVM_GET/SET_PIT's layout */
	u32 flags;			/* KVM_PIT_FLAGS_* */
	bool is_periodic;
	s64 period;			/* ns */
	struct hrtimer timer;

	struct mutex reinject_lock;
	atomic_t reinject;
	atomic_t pending;		/* ticks not yet acknowledged */
	atomic_t irq_ack;		/* the last injected tick was acknowledged */
	struct kvmd_irq_ack_notifier ack_notifier;
	struct kvmd_irq_mask_notifier mask_notifier;

	int irq_source_id;
	struct kthread_worker *worker;
	struct kthread_work expired;
	struct kvmd_io_device dev;
	struct kvmd_io_device speaker_dev;
	bool speaker;
};

static void pit_set_gate(struct kvmd_pit *pit, int channel, u32 val)
{
	struct kvm_pit_channel_state *c = &pit->ch[channel];

	switch (c->mode) {
	case 1:
	case 2:
	case 3:
	case 5:
		/* A rising gate restarts the count. */
		if (c->gate < val)
			c->count_load_time = ktime_get();
		break;
	default:
		/* Modes 0 and 4: the gate would only pause counting. */
		break;
	}
	c->gate = val;
}

/* Nanoseconds since channel was loaded (channel 0: since its period began). */
static s64 pit_elapsed(struct kvmd_pit *pit, int channel)
{
	if (channel)
		return ktime_to_ns(ktime_sub(ktime_get(),
					     pit->ch[channel].count_load_time));
	if (!pit->period)
		return 0;
	/* Past a one-shot's expiry the remaining time goes negative. */
	return pit->period - ktime_to_ns(hrtimer_get_remaining(&pit->timer));
}

/* Input clock ticks since the channel was loaded. */
static s64 pit_ticks(struct kvmd_pit *pit, int channel)
{
	s64 t = pit_elapsed(pit, channel);

	return mul_u64_u32_div(t, PIT_FREQ, NSEC_PER_SEC);
}

static int pit_get_count(struct kvmd_pit *pit, int channel)
{
	struct kvm_pit_channel_state *c = &pit->ch[channel];
	s64 d = pit_ticks(pit, channel);

	switch (c->mode) {
	case 0:
	case 1:
	case 4:
	case 5:
		/* These wrap past zero and keep counting down. */
		return (c->count - d) & 0xffff;
	case 3:
		/* Square wave: the counter runs down by two. */
		return c->count - (2 * d) % c->count;
	default:
		return c->count - d % c->count;
	}
}

static int pit_get_out(struct kvmd_pit *pit, int channel)
{
	struct kvm_pit_channel_state *c = &pit->ch[channel];
	s64 d = pit_ticks(pit, channel);

	switch (c->mode) {
	case 1:
		return d < c->count;
	case 2:
		return d % c->count == 0 && d != 0;
	case 3:
		return d % c->count < ((c->count + 1) >> 1);
	case 4:
	case 5:
		return d == c->count;
	default:
		return d >= c->count;
	}
}

static void pit_latch_count(struct kvmd_pit *pit, int channel)
{
	struct kvm_pit_channel_state *c = &pit->ch[channel];

	if (!c->count_latched) {
		c->latched_count = pit_get_count(pit, channel);
		c->count_latched = c->rw_mode;
	}
}

static void pit_latch_status(struct kvmd_pit *pit, int channel)
{
	struct kvm_pit_channel_state *c = &pit->ch[channel];

	if (!c->status_latched) {
		/* OUT, access, mode, BCD; NULL COUNT (bit 6) reads 0, as KVM. */
		c->status = (pit_get_out(pit, channel) << 7) |
			    (c->rw_mode << 4) | (c->mode << 1) | c->bcd;
		c->status_latched = 1;
	}
}

static void pit_reset_reinject(struct kvmd_pit *pit)
{
	atomic_set(&pit->pending, 0);
	atomic_set(&pit->irq_ack, 1);
}

/*
 * GSI 0 unmasked at the PIC or IOAPIC: as KVM, ticks missed while masked are
 * dropped, and the next one goes out without waiting for an old ack.
 */
static void pit_mask_notify(struct kvmd_irq_mask_notifier *kimn, bool masked)
{
	struct kvmd_pit *pit = container_of(kimn, struct kvmd_pit, mask_notifier);

	if (!masked)
		pit_reset_reinject(pit);
}

/* The guest EOIed GSI 0: inject the next pending tick, if any. */
static void pit_ack_irq(struct kvmd_irq_ack_notifier *kian)
{
	struct kvmd_pit *pit = container_of(kian, struct kvmd_pit,
					    ack_notifier);

	atomic_set(&pit->irq_ack, 1);
	/* irq_ack before pending: pairs with pit_timer_fn and pit_do_work. */
	smp_mb();
	if (atomic_dec_if_positive(&pit->pending) > 0)
		kthread_queue_work(pit->worker, &pit->expired);
}

static void pit_do_work(struct kthread_work *work)
{
	struct kvmd_pit *pit = container_of(work, struct kvmd_pit, expired);

	if (atomic_read(&pit->reinject) && !atomic_xchg(&pit->irq_ack, 0))
		return;
	kvmd_set_irq(pit->vm, pit->irq_source_id, 0, 1, false);
	kvmd_set_irq(pit->vm, pit->irq_source_id, 0, 0, false);
}

static enum hrtimer_restart pit_timer_fn(struct hrtimer *timer)
{
	struct kvmd_pit *pit = container_of(timer, struct kvmd_pit, timer);

	if (atomic_read(&pit->reinject))
		atomic_inc(&pit->pending);
	kthread_queue_work(pit->worker, &pit->expired);
	if (!pit->is_periodic)
		return HRTIMER_NORESTART;
	hrtimer_add_expires_ns(&pit->timer, pit->period);
	return HRTIMER_RESTART;
}

/* Caller holds reinject_lock; may sleep (the notifier list waits for readers). */
static void pit_set_reinject(struct kvmd_pit *pit, bool reinject)
{
	if (atomic_read(&pit->reinject) == reinject)
		return;
	if (reinject) {
		pit_reset_reinject(pit);
		kvmd_register_irq_ack_notifier(pit->vm, &pit->ack_notifier);
		kvmd_register_irq_mask_notifier(pit->vm, &pit->mask_notifier);
	} else {
		kvmd_unregister_irq_ack_notifier(pit->vm, &pit->ack_notifier);
		kvmd_unregister_irq_mask_notifier(pit->vm, &pit->mask_notifier);
	}
	atomic_set(&pit->reinject, reinject);
}

static void pit_stop_timer(struct kvmd_pit *pit)
{
	hrtimer_cancel(&pit->timer);
	kthread_flush_work(&pit->expired);
}

static void pit_start_timer(struct kvmd_pit *pit, u32 val, bool periodic)
{
	s64 interval;

	/* As KVM: no tick without the in-kernel IOAPIC, or as the HPET's. */
	if (!kvmd_irqchip_full(pit->vm) ||
	    (pit->flags & KVM_PIT_FLAGS_HPET_LEGACY))
		return;

	interval = mul_u64_u32_div(val, NSEC_PER_SEC, PIT_FREQ);
	pit_stop_timer(pit);
	pit->period = interval;
	pit->is_periodic = periodic;
	pit_reset_reinject(pit);
	/* hrtimers are not throttled by the scheduler: bound the rate. */
	if (periodic && pit->period < PIT_MIN_PERIOD_NS) {
		pr_info_ratelimited("requested %lld ns i8254 timer period limited to %lld ns\n",
				    pit->period, (s64)PIT_MIN_PERIOD_NS);
		pit->period = PIT_MIN_PERIOD_NS;
	}
	hrtimer_start(&pit->timer, ktime_add_ns(ktime_get(), interval),
		      HRTIMER_MODE_ABS);
}

/* Caller holds pit->lock. */
static void pit_load_count(struct kvmd_pit *pit, int channel, u32 val)
{
	/* An initial count of 0 stands for 2^16. */
	if (!val)
		val = 0x10000;
	pit->ch[channel].count = val;
	if (channel) {
		pit->ch[channel].count_load_time = ktime_get();
		return;
	}
	switch (pit->ch[0].mode) {
	case 0:
	case 1:
	case 4:
		pit_start_timer(pit, val, false);
		break;
	case 2:
	case 3:
		pit_start_timer(pit, val, true);
		break;
	default:
		pit_stop_timer(pit);
		break;
	}
}

/* KVM_SET_PIT2 turning HPET legacy mode on loads channel 0 with its timer off. */
static void pit_load_count_hpet(struct kvmd_pit *pit, u32 val)
{
	u8 mode = pit->ch[0].mode;

	pit->ch[0].mode = 0xff;
	pit_load_count(pit, 0, val);
	pit->ch[0].mode = mode;
}

static void pit_write_control(struct kvmd_pit *pit, u8 val)
{
	struct kvm_pit_channel_state *c;
	int channel = val >> 6, access;

	if (channel == 3) {
		/* Read-back: bit 5 low latches counts, bit 4 low statuses. */
		for (channel = 0; channel < 3; channel++) {
			if (!(val & (2 << channel)))
				continue;
			if (!(val & 0x20))
				pit_latch_count(pit, channel);
			if (!(val & 0x10))
				pit_latch_status(pit, channel);
		}
		return;
	}
	c = &pit->ch[channel];
	access = (val >> 4) & 3;
	if (!access) {
		pit_latch_count(pit, channel);
		return;
	}
	c->rw_mode = access;
	c->read_state = access;
	c->write_state = access;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;	/* 6 and 7 are aliases of 2 and 3 */
	c->bcd = val & 1;
}

static void pit_write_count(struct kvmd_pit *pit, int channel, u8 val)
{
	struct kvm_pit_channel_state *c = &pit->ch[channel];

	switch (c->write_state) {
	default:
	case RW_STATE_LSB:
		pit_load_count(pit, channel, val);
		break;
	case RW_STATE_MSB:
		pit_load_count(pit, channel, val << 8);
		break;
	case RW_STATE_WORD0:
		c->write_latch = val;
		c->write_state = RW_STATE_WORD1;
		break;
	case RW_STATE_WORD1:
		pit_load_count(pit, channel, c->write_latch | (val << 8));
		c->write_state = RW_STATE_WORD0;
		break;
	}
}

static int pit_read_port(struct kvmd_pit *pit, int channel)
{
	struct kvm_pit_channel_state *c = &pit->ch[channel];
	int ret;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		switch (c->count_latched) {
		default:
		case RW_STATE_LSB:
			ret = c->latched_count & 0xff;
			c->count_latched = 0;
			break;
		case RW_STATE_MSB:
			ret = c->latched_count >> 8;
			c->count_latched = 0;
			break;
		case RW_STATE_WORD0:
			ret = c->latched_count & 0xff;
			c->count_latched = RW_STATE_MSB;
			break;
		}
		return ret;
	}
	switch (c->read_state) {
	default:
	case RW_STATE_LSB:
		return pit_get_count(pit, channel) & 0xff;
	case RW_STATE_MSB:
		return (pit_get_count(pit, channel) >> 8) & 0xff;
	case RW_STATE_WORD0:
		c->read_state = RW_STATE_WORD1;
		return pit_get_count(pit, channel) & 0xff;
	case RW_STATE_WORD1:
		c->read_state = RW_STATE_WORD0;
		return (pit_get_count(pit, channel) >> 8) & 0xff;
	}
}

static int pit_ioport_write(struct kvmd_vcpu *vcpu, struct kvmd_io_device *dev,
			    u64 addr, int len, const void *data)
{
	struct kvmd_pit *pit = container_of(dev, struct kvmd_pit, dev);
	u8 val = *(const u8 *)data;

	if (addr < PIT_BASE || addr >= PIT_BASE + PIT_LEN)
		return -EOPNOTSUPP;
	mutex_lock(&pit->lock);
	if ((addr & 3) == 3)
		pit_write_control(pit, val);
	else
		pit_write_count(pit, addr & 3, val);
	mutex_unlock(&pit->lock);
	return 0;
}

static int pit_ioport_read(struct kvmd_vcpu *vcpu, struct kvmd_io_device *dev,
			   u64 addr, int len, void *data)
{
	struct kvmd_pit *pit = container_of(dev, struct kvmd_pit, dev);
	int ret;

	if (addr < PIT_BASE || addr >= PIT_BASE + PIT_LEN)
		return -EOPNOTSUPP;
	/* The control word can't be read: as KVM, the data is left alone. */
	if ((addr & 3) == 3)
		return 0;
	mutex_lock(&pit->lock);
	ret = pit_read_port(pit, addr & 3);
	mutex_unlock(&pit->lock);
	memcpy(data, &ret, min_t(int, len, sizeof(ret)));
	return 0;
}

static int speaker_ioport_write(struct kvmd_vcpu *vcpu,
				struct kvmd_io_device *dev, u64 addr, int len,
				const void *data)
{
	struct kvmd_pit *pit = container_of(dev, struct kvmd_pit, speaker_dev);
	u8 val = *(const u8 *)data;

	if (addr != PIT_SPEAKER)
		return -EOPNOTSUPP;
	mutex_lock(&pit->lock);
	if (val & 2)
		pit->flags |= KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	else
		pit->flags &= ~KVM_PIT_FLAGS_SPEAKER_DATA_ON;
	pit_set_gate(pit, 2, val & 1);
	mutex_unlock(&pit->lock);
	return 0;
}

static int speaker_ioport_read(struct kvmd_vcpu *vcpu,
			       struct kvmd_io_device *dev, u64 addr, int len,
			       void *data)
{
	struct kvmd_pit *pit = container_of(dev, struct kvmd_pit, speaker_dev);
	unsigned int refresh;
	int ret;

	if (addr != PIT_SPEAKER)
		return -EOPNOTSUPP;
	/* The refresh bit toggles about every 15 us: take 2^14 ns. */
	refresh = ((unsigned int)ktime_to_ns(ktime_get()) >> 14) & 1;
	mutex_lock(&pit->lock);
	ret = (!!(pit->flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON) << 1) |
	      pit->ch[2].gate | (pit_get_out(pit, 2) << 5) | (refresh << 4);
	mutex_unlock(&pit->lock);
	memcpy(data, &ret, min_t(int, len, sizeof(ret)));
	return 0;
}

static const struct kvmd_io_ops pit_ops = {
	.read	= pit_ioport_read,
	.write	= pit_ioport_write,
};

static const struct kvmd_io_ops speaker_ops = {
	.read	= speaker_ioport_read,
	.write	= speaker_ioport_write,
};

/* Power-on state: mode 0xff (no timer), counts 0x10000, gates 1, 1, 0. */
static void pit_reset(struct kvmd_pit *pit)
{
	int i;

	mutex_lock(&pit->lock);
	pit->flags = 0;
	for (i = 0; i < 3; i++) {
		pit->ch[i].mode = 0xff;
		pit->ch[i].gate = i != 2;
		pit_load_count(pit, i, 0);
	}
	mutex_unlock(&pit->lock);
	pit_reset_reinject(pit);
}

int kvmd_pit_create(struct kvmd_vm *vm, u32 flags)
{
	struct kvmd_pit *pit;
	int r;

	lockdep_assert_held(&vm->lock);
	if (vm->pit)
		return -EEXIST;
	pit = kzalloc(sizeof(*pit), GFP_KERNEL_ACCOUNT);
	if (!pit)
		return -ENOMEM;
	pit->vm = vm;
	mutex_init(&pit->lock);
	mutex_init(&pit->reinject_lock);

	r = kvmd_request_irq_source_id(vm);
	if (r < 0)
		goto err_free;
	pit->irq_source_id = r;

	pit->worker = kthread_create_worker(0, "kvm-pit/%d",
					    task_tgid_vnr(current));
	if (IS_ERR(pit->worker)) {
		r = PTR_ERR(pit->worker);
		goto err_source;
	}
	kthread_init_work(&pit->expired, pit_do_work);
	hrtimer_init(&pit->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	pit->timer.function = pit_timer_fn;
	pit->ack_notifier.gsi = 0;
	pit->ack_notifier.irq_acked = pit_ack_irq;
	pit->mask_notifier.gsi = 0;
	pit->mask_notifier.func = pit_mask_notify;

	pit_reset(pit);
	mutex_lock(&pit->reinject_lock);
	pit_set_reinject(pit, true);
	mutex_unlock(&pit->reinject_lock);

	pit->dev.ops = &pit_ops;
	r = kvmd_io_bus_register(vm, KVMD_PIO_BUS, PIT_BASE, PIT_LEN, &pit->dev);
	if (r)
		goto err_reinject;
	if (flags & KVM_PIT_SPEAKER_DUMMY) {
		pit->speaker_dev.ops = &speaker_ops;
		r = kvmd_io_bus_register(vm, KVMD_PIO_BUS, PIT_SPEAKER,
					 PIT_SPEAKER_LEN, &pit->speaker_dev);
		if (r)
			goto err_pit_dev;
		pit->speaker = true;
	}
	smp_store_release(&vm->pit, pit);
	return 0;

err_pit_dev:
	kvmd_io_bus_unregister(vm, KVMD_PIO_BUS, &pit->dev);
err_reinject:
	mutex_lock(&pit->reinject_lock);
	pit_set_reinject(pit, false);
	mutex_unlock(&pit->reinject_lock);
	hrtimer_cancel(&pit->timer);
	kthread_destroy_worker(pit->worker);
err_source:
	kvmd_free_irq_source_id(vm, pit->irq_source_id);
err_free:
	kfree(pit);
	return r;
}

void kvmd_pit_destroy(struct kvmd_vm *vm)
{
	struct kvmd_pit *pit = vm->pit;

	if (!pit)
		return;
	kvmd_io_bus_unregister(vm, KVMD_PIO_BUS, &pit->dev);
	if (pit->speaker)
		kvmd_io_bus_unregister(vm, KVMD_PIO_BUS, &pit->speaker_dev);
	mutex_lock(&pit->reinject_lock);
	pit_set_reinject(pit, false);
	mutex_unlock(&pit->reinject_lock);
	hrtimer_cancel(&pit->timer);
	/* Runs the work still queued, then stops the thread. */
	kthread_destroy_worker(pit->worker);
	kvmd_free_irq_source_id(vm, pit->irq_source_id);
	WRITE_ONCE(vm->pit, NULL);
	kfree(pit);
}

static void pit_get_state2(struct kvmd_pit *pit, struct kvm_pit_state2 *ps)
{
	memset(ps, 0, sizeof(*ps));
	mutex_lock(&pit->lock);
	memcpy(ps->channels, pit->ch, sizeof(ps->channels));
	ps->flags = pit->flags;
	mutex_unlock(&pit->lock);
}

/* KVM_SET_PIT(2): every field as given, then each count loaded again. */
static void pit_set_state2(struct kvmd_pit *pit, const struct kvm_pit_state2 *ps,
			   bool with_flags)
{
	bool hpet_start = false;
	int i;

	mutex_lock(&pit->lock);
	memcpy(pit->ch, ps->channels, sizeof(pit->ch));
	if (with_flags) {
		hpet_start = !(pit->flags & KVM_PIT_FLAGS_HPET_LEGACY) &&
			     (ps->flags & KVM_PIT_FLAGS_HPET_LEGACY);
		pit->flags = ps->flags;
	}
	for (i = 0; i < 3; i++) {
		if (i == 0 && hpet_start)
			pit_load_count_hpet(pit, pit->ch[0].count);
		else
			pit_load_count(pit, i, pit->ch[i].count);
	}
	mutex_unlock(&pit->lock);
}

/* KVM_CREATE_PIT(2): as KVM, any failure but a second PIT is ENOMEM. */
static int pit_create_ioctl(struct kvmd_vm *vm, u32 flags)
{
	int r;

	mutex_lock(&vm->lock);
	r = kvmd_pit_create(vm, flags);
	mutex_unlock(&vm->lock);
	if (r && r != -EEXIST)
		r = -ENOMEM;
	return r;
}

long kvmd_pit_ioctl(struct kvmd_vm *vm, unsigned int ioctl, void __user *argp)
{
	struct kvmd_pit *pit = smp_load_acquire(&vm->pit);
	union {
		struct kvm_pit_state ps;
		struct kvm_pit_state2 ps2;
		struct kvm_pit_config config;
		struct kvm_reinject_control control;
	} u;
	BUILD_BUG_ON(sizeof(u.ps.channels) != sizeof(pit->ch));

	switch (ioctl) {
	case KVM_CREATE_PIT:
		return pit_create_ioctl(vm, KVM_PIT_SPEAKER_DUMMY);
	case KVM_CREATE_PIT2:
		if (copy_from_user(&u.config, argp, sizeof(u.config)))
			return -EFAULT;
		return pit_create_ioctl(vm, u.config.flags);
	case KVM_GET_PIT:
		if (copy_from_user(&u.ps, argp, sizeof(u.ps)))
			return -EFAULT;
		if (!pit)
			return -ENXIO;
		mutex_lock(&pit->lock);
		memcpy(u.ps.channels, pit->ch, sizeof(u.ps.channels));
		mutex_unlock(&pit->lock);
		if (copy_to_user(argp, &u.ps, sizeof(u.ps)))
			return -EFAULT;
		return 0;
	case KVM_SET_PIT:
		if (copy_from_user(&u.ps, argp, sizeof(u.ps)))
			return -EFAULT;
		if (!pit)
			return -ENXIO;
		mutex_lock(&vm->lock);
		pit_set_state2(pit, &u.ps2, false);
		mutex_unlock(&vm->lock);
		return 0;
	case KVM_GET_PIT2:
		if (!pit)
			return -ENXIO;
		pit_get_state2(pit, &u.ps2);
		if (copy_to_user(argp, &u.ps2, sizeof(u.ps2)))
			return -EFAULT;
		return 0;
	case KVM_SET_PIT2:
		if (copy_from_user(&u.ps2, argp, sizeof(u.ps2)))
			return -EFAULT;
		if (!pit)
			return -ENXIO;
		mutex_lock(&vm->lock);
		pit_set_state2(pit, &u.ps2, true);
		mutex_unlock(&vm->lock);
		return 0;
	case KVM_REINJECT_CONTROL:
		if (copy_from_user(&u.control, argp, sizeof(u.control)))
			return -EFAULT;
		if (!pit)
			return -ENXIO;
		mutex_lock(&pit->reinject_lock);
		pit_set_reinject(pit, u.control.pit_reinject);
		mutex_unlock(&pit->reinject_lock);
		return 0;
	default:
		return -ENOTTY;
	}
}
