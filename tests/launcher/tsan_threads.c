/* tests/launcher/tsan_threads.c: vCPU threads hammer devices through the iobus and the real I/O thread, under ThreadSanitizer. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "iobus.h"
#include "vmm.h"
#include "hw/i8254.h"

/*
 * What the launcher does with several vCPUs: each device instance has a
 * mutex that its port ranges carry (iobus_add_locked), and its timer runs
 * on the I/O thread under the same mutex; a PCI BAR moves (del + add) while
 * other vCPUs dispatch through the same bus. A data race here is a TSan
 * report, and so a failure of this test.
 */

#define NR_VCPUS	4
#define ROUNDS		20000

struct counter_dev {
	unsigned long writes;		/* plain: the device mutex protects it */
	unsigned long sum;
	unsigned long last;
};

static struct iobus bus = { .name = "port" };
static pthread_mutex_t pit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t ctr_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t bar_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pit pit;
static struct counter_dev ctr, bar;
static atomic_int irq_edges, stop_timer;

static uint64_t now_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static const struct hw_clock clk = { now_ns, NULL };

static void irq0(void *ctx, unsigned int irq, int level)
{
	(void)ctx;
	(void)irq;
	if (level)
		atomic_fetch_add(&irq_edges, 1);
}

static uint64_t pit_rd(void *o, uint64_t off, unsigned int s) { (void)s; return pit_read(o, off); }
static void pit_wr(void *o, uint64_t off, unsigned int s, uint64_t v) { (void)s; pit_write(o, off, v); }
static const struct io_ops pit_ops = { pit_rd, pit_wr };

static uint64_t ctr_rd(void *o, uint64_t off, unsigned int s)
{
	struct counter_dev *d = o;

	(void)off;
	(void)s;
	return d->last;
}

static void ctr_wr(void *o, uint64_t off, unsigned int s, uint64_t v)
{
	struct counter_dev *d = o;

	(void)off;
	(void)s;
	d->writes++;
	d->sum += v;
	d->last = v;
}
static const struct io_ops ctr_ops = { ctr_rd, ctr_wr };

static void *vcpu(void *arg)
{
	unsigned long id = (unsigned long)arg, i;
	uint64_t v;

	for (i = 0; i < ROUNDS; i++) {
		iobus_write(&bus, 0x100, 1, id + 1);
		iobus_read(&bus, 0x100, 1, &v);
		/* the BAR may be elsewhere or gone this instant: both are fine */
		iobus_write(&bus, 0xc000 + (i & 1) * 0x100, 4, 1);
		if ((i & 1023) == 0) {
			/* reprogram channel 0 as the guest's timer calibration does */
			iobus_write(&bus, 0x43, 1, 0x34);
			iobus_write(&bus, 0x40, 1, 0x9c);
			iobus_write(&bus, 0x40, 1, 0x00);
		}
		iobus_read(&bus, 0x40, 1, &v);
	}
	return NULL;
}

/* The I/O thread: the PIT's timer, under the PIT's mutex. */
static void *io_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_timer)) {
		pthread_mutex_lock(&pit_lock);
		pit_update(&pit, now_ns(NULL));
		pthread_mutex_unlock(&pit_lock);
	}
	return NULL;
}

/* A config-space write moving the BAR back and forth (the PCI device's own thread). */
static void *bar_mover(void *arg)
{
	unsigned int i;

	(void)arg;
	for (i = 0; i < 2000; i++) {
		uint64_t from = 0xc000 + (i & 1) * 0x100, to = 0xc100 - (i & 1) * 0x100;

		iobus_del(&bus, from, &bar);
		iobus_add_locked(&bus, to, 0x40, &ctr_ops, &bar, &bar_lock);
	}
	return NULL;
}

/*
 * Part two: the real I/O thread (iothread.c). A device's timer re-arms
 * itself there while vCPU threads arm it too; a port handler on a vCPU
 * thread adds and removes a watch on an eventfd that other vCPUs signal.
 * Every callback must run under the device's mutex (plain fields below).
 */
struct io_dev {
	struct vm *vm;
	struct vm_timer timer;
	int efd;
	bool watched;
	unsigned long ticks, events, port_writes;	/* plain: dev_lock protects them */
	atomic_int timer_unlocked, ready_unlocked;
};

static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct io_dev dev;
static struct iobus io_bus = { .name = "port" };

/* Stands in for vm.c: the I/O thread calls it on a quit signal. */
void vm_request_exit(struct vm *vm, int status)
{
	(void)vm;
	(void)status;
}

static void dev_tick(void *opaque, uint64_t now)
{
	struct io_dev *d = opaque;

	if (pthread_mutex_trylock(&dev_lock) == 0) {	/* must be held already */
		pthread_mutex_unlock(&dev_lock);
		atomic_fetch_add(&d->timer_unlocked, 1);
	}
	d->ticks++;
	if (d->ticks < 2000)
		vm_timer_arm(d->vm, &d->timer, now + 50000);
}

static void dev_ready(void *opaque)
{
	struct io_dev *d = opaque;
	uint64_t v;

	if (pthread_mutex_trylock(&dev_lock) == 0) {
		pthread_mutex_unlock(&dev_lock);
		atomic_fetch_add(&d->ready_unlocked, 1);
	}
	if (read(d->efd, &v, sizeof(v)) == sizeof(v))
		d->events += v;
}

/* Port 0x200: 1 starts watching the eventfd, 0 stops; any write counts. */
static void dev_port_write(void *o, uint64_t off, unsigned int s, uint64_t v)
{
	struct io_dev *d = o;

	(void)off;
	(void)s;
	d->port_writes++;
	if (v && !d->watched)
		d->watched = vm_watch_fd(d->vm, d->efd, dev_ready, d) == 0;
	else if (!v && d->watched) {
		vm_unwatch_fd(d->vm, d->efd);
		d->watched = false;
	}
}
static const struct io_ops dev_port_ops = { NULL, dev_port_write };

static void *io_vcpu(void *arg)
{
	unsigned long id = (unsigned long)arg;
	uint64_t one = 1;

	for (unsigned int i = 0; i < 5000; i++) {
		iobus_write(&io_bus, 0x200, 1, (i + id) % 7 != 0);
		if (write(dev.efd, &one, sizeof(one)) < 0)
			break;
		if ((i & 255) == 0)
			vm_timer_arm(dev.vm, &dev.timer, now_ns(NULL) + 10000);
	}
	return NULL;
}

static void test_iothread(void)
{
	struct vm_config cfg = { .name = "tsan" };
	struct vm *vm = calloc(1, sizeof(*vm));
	pthread_t t[NR_VCPUS];
	unsigned long i;
	uint64_t rest;

	vm->cfg = &cfg;
	vm->clock = clk;
	vm->wake_fd = vm->signal_fd = -1;
	dev.vm = vm;
	dev.efd = eventfd(0, EFD_NONBLOCK);
	pthread_rwlock_init(&io_bus.lock, NULL);
	tap_ok(iothread_setup(vm) == 0 && dev.efd >= 0 &&
	       iobus_add_locked(&io_bus, 0x200, 1, &dev_port_ops, &dev, &dev_lock) == 0,
	       "I/O thread set up, the device's port carries its mutex");
	vm->creating = &dev_lock;	/* what create_devices() does around create() */
	vm_timer_add(vm, &dev.timer, dev_tick, &dev);
	vm->creating = NULL;
	vm_timer_arm(vm, &dev.timer, now_ns(NULL));
	iothread_start(vm);
	for (i = 0; i < NR_VCPUS; i++)
		pthread_create(&t[i], NULL, io_vcpu, (void *)i);
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(t[i], NULL);
	/* one last watch, so what the vCPUs signalled is all read */
	iobus_write(&io_bus, 0x200, 1, 1);
	for (i = 0; i < 2000; i++) {
		pthread_mutex_lock(&dev_lock);
		rest = dev.events;
		pthread_mutex_unlock(&dev_lock);
		if (rest == NR_VCPUS * 5000UL)
			break;
		usleep(1000);
	}
	atomic_store(&vm->stop, true);
	iothread_stop(vm);
	tap_ok(dev.port_writes == NR_VCPUS * 5000UL + 1, "every port write reached the device (%lu)",
	       dev.port_writes);
	tap_ok(dev.events == NR_VCPUS * 5000UL,
	       "every eventfd signal was read by a watch added from vCPU threads (%lu)", dev.events);
	tap_ok(dev.ticks > 0 && !atomic_load(&dev.timer_unlocked) && !atomic_load(&dev.ready_unlocked),
	       "timer (%lu ticks) and watch callbacks ran under the device's mutex", dev.ticks);
	iothread_free(vm);
	close(dev.efd);
	iobus_free(&io_bus);
	free(vm);
}

int main(void)
{
	pthread_t t[NR_VCPUS], io, mover;
	unsigned long i, want = 0;

	tap_plan(8);
	pthread_rwlock_init(&bus.lock, NULL);
	pit_init(&pit, &clk, (struct irq_line){ irq0, NULL, 0 });
	tap_ok(iobus_add_locked(&bus, 0x40, 4, &pit_ops, &pit, &pit_lock) == 0 &&
	       iobus_add_locked(&bus, 0x100, 1, &ctr_ops, &ctr, &ctr_lock) == 0 &&
	       iobus_add_locked(&bus, 0xc000, 0x40, &ctr_ops, &bar, &bar_lock) == 0,
	       "devices registered with their mutexes");
	pthread_create(&io, NULL, io_thread, NULL);
	pthread_create(&mover, NULL, bar_mover, NULL);
	for (i = 0; i < NR_VCPUS; i++)
		pthread_create(&t[i], NULL, vcpu, (void *)i);
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(t[i], NULL);
	pthread_join(mover, NULL);
	atomic_store(&stop_timer, 1);
	pthread_join(io, NULL);

	for (i = 0; i < NR_VCPUS; i++)
		want += (i + 1) * ROUNDS;
	tap_ok(ctr.writes == NR_VCPUS * ROUNDS, "no write lost (%lu of %u)", ctr.writes,
	       NR_VCPUS * ROUNDS);
	tap_ok(ctr.sum == want, "every write's value arrived once (%lu, want %lu)", ctr.sum, want);
	tap_ok(atomic_load(&irq_edges) > 0, "the I/O thread's PIT raised IRQ0 while vCPUs programmed it (%d edges)",
	       atomic_load(&irq_edges));
	iobus_free(&bus);
	test_iothread();
	return tap_done();
}
