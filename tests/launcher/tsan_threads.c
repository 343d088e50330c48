/* tests/launcher/tsan_threads.c: vCPU threads and the I/O thread hammer devices through the iobus, under ThreadSanitizer. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "iobus.h"
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

int main(void)
{
	pthread_t t[NR_VCPUS], io, mover;
	unsigned long i, want = 0;

	tap_plan(4);
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
	return tap_done();
}
