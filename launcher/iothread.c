/* launcher/iothread.c: the I/O thread: device timers, watched fds and quit signals in one event loop. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vmm.h"

/*
 * Timers may be armed from any thread (a vCPU writing the PIT): the list
 * and deadlines are under vm->timer_lock, and arming one earlier than the
 * loop's current wait wakes the loop through wake_fd. fire() runs on the
 * io thread with the timer owner's device mutex held, never timer_lock.
 */

/* Arming from a timer callback needs no wake-up: the loop looks again. */
static __thread bool on_io_thread;
/*
 * The device mutex of the timer or watch callback running on the io thread:
 * a watch that callback adds is dispatched under the same mutex.
 */
static __thread pthread_mutex_t *callback_lock;

static void lock(pthread_mutex_t *m)
{
	if (m)
		pthread_mutex_lock(m);
}

static void unlock(pthread_mutex_t *m)
{
	if (m)
		pthread_mutex_unlock(m);
}

void iothread_wake(struct vm *vm)
{
	uint64_t one = 1;

	if (vm->wake_fd >= 0 && write(vm->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("kvm-launch: waking the I/O thread");
}

void vm_timer_add(struct vm *vm, struct vm_timer *t,
		  void (*fire)(void *opaque, uint64_t now_ns), void *opaque)
{
	t->fire = fire;
	t->opaque = opaque;
	t->deadline = 0;
	t->lock = vm->creating;
	pthread_mutex_lock(&vm->timer_lock);
	t->next = vm->timers;
	vm->timers = t;
	pthread_mutex_unlock(&vm->timer_lock);
}

void vm_timer_del(struct vm *vm, struct vm_timer *t)
{
	struct vm_timer **p;

	pthread_mutex_lock(&vm->timer_lock);
	for (p = &vm->timers; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	pthread_mutex_unlock(&vm->timer_lock);
}

void vm_timer_arm(struct vm *vm, struct vm_timer *t, uint64_t deadline_ns)
{
	pthread_mutex_lock(&vm->timer_lock);
	t->deadline = deadline_ns ? deadline_ns : 1;
	pthread_mutex_unlock(&vm->timer_lock);
	/* The loop re-reads the deadlines whenever it wakes. */
	if (!on_io_thread)
		iothread_wake(vm);
}

void vm_timer_cancel(struct vm *vm, struct vm_timer *t)
{
	pthread_mutex_lock(&vm->timer_lock);
	t->deadline = 0;
	pthread_mutex_unlock(&vm->timer_lock);
}

/* Fire one due timer (0 when none was due) and tell the next deadline. */
static int fire_one(struct vm *vm, uint64_t now, uint64_t *next)
{
	struct vm_timer *t, *due = NULL;

	*next = 0;
	pthread_mutex_lock(&vm->timer_lock);
	for (t = vm->timers; t; t = t->next) {
		if (!t->deadline)
			continue;
		if (t->deadline <= now && !due) {
			due = t;
			t->deadline = 0;
		} else if (!*next || t->deadline < *next) {
			*next = t->deadline;
		}
	}
	pthread_mutex_unlock(&vm->timer_lock);
	if (!due)
		return 0;
	lock(due->lock);
	callback_lock = due->lock;
	due->fire(due->opaque, now);
	callback_lock = NULL;
	unlock(due->lock);
	return 1;
}

int vm_watch_fd_locked(struct vm *vm, int fd, void (*ready)(void *opaque), void *opaque,
		       pthread_mutex_t *lock)
{
	int ret = 0;

	pthread_mutex_lock(&vm->watch_lock);
	if (vm->nr_watch == VM_MAX_WATCHES) {
		ret = -1;
	} else {
		vm->watch[vm->nr_watch].fd = fd;
		vm->watch[vm->nr_watch].ready = ready;
		vm->watch[vm->nr_watch].opaque = opaque;
		vm->watch[vm->nr_watch].lock = lock;
		vm->nr_watch++;
	}
	pthread_mutex_unlock(&vm->watch_lock);
	if (!ret && !on_io_thread)
		iothread_wake(vm);	/* poll the new fd too */
	return ret;
}

int vm_watch_fd(struct vm *vm, int fd, void (*ready)(void *opaque), void *opaque)
{
	/* the caller's device: being created, in a callback here, or in a port/MMIO handler */
	return vm_watch_fd_locked(vm, fd, ready, opaque,
				  vm->creating ? vm->creating :
				  callback_lock ? callback_lock : iobus_dispatch_lock);
}

void vm_unwatch_fd(struct vm *vm, int fd)
{
	unsigned int i;

	pthread_mutex_lock(&vm->watch_lock);
	for (i = 0; i < vm->nr_watch; i++)
		if (vm->watch[i].fd == fd) {
			vm->watch[i] = vm->watch[--vm->nr_watch];
			break;
		}
	pthread_mutex_unlock(&vm->watch_lock);
	/* A poll already under way may still report fd: dispatch looks it up again. */
}

static void on_signal(struct vm *vm)
{
	struct signalfd_siginfo si;

	if (read(vm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR2) {
		if (vm->on_usr2)
			vm->on_usr2(vm);
		return;
	}
	if (!atomic_load(&vm->stop)) {
		fprintf(stderr, "\r\nkvm-launch: %s: ended by signal %u\r\n", vm->cfg->name,
			si.ssi_signo);
		vm_request_exit(vm, 128 + (int)si.ssi_signo);
	}
}

/* The watch of fd with this callback, looked up under the table's lock. */
static bool watch_find(struct vm *vm, int fd, void (**ready)(void *), void **opaque,
		       pthread_mutex_t **l)
{
	bool found = false;

	pthread_mutex_lock(&vm->watch_lock);
	for (unsigned int j = 0; j < vm->nr_watch && !found; j++)
		if (vm->watch[j].fd == fd && (!*ready || (vm->watch[j].ready == *ready &&
							   vm->watch[j].opaque == *opaque))) {
			*ready = vm->watch[j].ready;
			*opaque = vm->watch[j].opaque;
			*l = vm->watch[j].lock;
			found = true;
		}
	pthread_mutex_unlock(&vm->watch_lock);
	return found;
}

/*
 * fd polled readable: call its watcher under its device's mutex, if it
 * is still watched once that mutex is held (a device that unwatched it
 * under its mutex gets no late call).
 */
static void dispatch_watch(struct vm *vm, int fd)
{
	void (*ready)(void *opaque) = NULL;
	pthread_mutex_t *l = NULL, *held;
	void *opaque = NULL;

	if (!watch_find(vm, fd, &ready, &opaque, &l))
		return;
	held = l;
	lock(held);
	if (watch_find(vm, fd, &ready, &opaque, &l) && l == held) {
		callback_lock = held;
		ready(opaque);
		callback_lock = NULL;
	}
	unlock(held);
}

/*
 * Timers due by now fire first, but at most this many before the fds get
 * a look: a timer that keeps re-arming itself for "now" cannot starve them.
 */
#define TIMERS_PER_ROUND	64

static void *io_main(void *arg)
{
	struct vm *vm = arg;
	struct pollfd pfd[VM_MAX_WATCHES + 2];

	on_io_thread = true;
	while (!atomic_load(&vm->stop)) {
		uint64_t now = hw_clock_now(&vm->clock), next;
		struct timespec ts, *tsp = NULL;
		unsigned int i, n, fired = 0;
		uint64_t drain;

		/* fire() may arm or remove timers: each round looks at the list again */
		while (fire_one(vm, now, &next) && ++fired < TIMERS_PER_ROUND)
			;
		if (fired == TIMERS_PER_ROUND)
			next = now;
		if (next) {
			uint64_t d = next > now ? next - now : 0;

			ts.tv_sec = d / 1000000000ULL;
			ts.tv_nsec = d % 1000000000ULL;
			tsp = &ts;
		}
		pthread_mutex_lock(&vm->watch_lock);
		n = vm->nr_watch;
		for (i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = vm->watch[i].fd, .events = POLLIN };
		pthread_mutex_unlock(&vm->watch_lock);
		pfd[n] = (struct pollfd){ .fd = vm->wake_fd, .events = POLLIN };
		pfd[n + 1] = (struct pollfd){ .fd = vm->signal_fd, .events = POLLIN };
		if (ppoll(pfd, n + 2, tsp, NULL) <= 0)
			continue;
		if (pfd[n].revents & POLLIN && read(vm->wake_fd, &drain, sizeof(drain)) < 0)
			continue;
		if (pfd[n + 1].revents & POLLIN)
			on_signal(vm);
		for (i = 0; i < n; i++)
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				dispatch_watch(vm, pfd[i].fd);
	}
	return NULL;
}

int iothread_setup(struct vm *vm)
{
	sigset_t quit;

	pthread_mutex_init(&vm->timer_lock, NULL);
	pthread_mutex_init(&vm->watch_lock, NULL);
	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	sigemptyset(&quit);
	sigaddset(&quit, SIGINT);
	sigaddset(&quit, SIGTERM);
	sigaddset(&quit, SIGHUP);
	sigaddset(&quit, SIGUSR2);	/* a screendump */
	/*
	 * Quit signals reach this signalfd only: blocked from here on, in the
	 * main thread and so in every thread it starts (vCPUs, the I/O thread,
	 * a backend's own). They stay blocked across a reset.
	 */
	pthread_sigmask(SIG_BLOCK, &quit, NULL);
	vm->signal_fd = signalfd(-1, &quit, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->wake_fd < 0 || vm->signal_fd < 0) {
		fprintf(stderr, "kvm-launch: I/O thread: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int iothread_start(struct vm *vm)
{
	int err = pthread_create(&vm->io_thread, NULL, io_main, vm);

	if (err) {
		fprintf(stderr, "kvm-launch: I/O thread: %s\n", strerror(err));
		return -1;
	}
	pthread_setname_np(vm->io_thread, "io");
	vm->io_started = true;
	return 0;
}

void iothread_stop(struct vm *vm)
{
	if (!vm->io_started)
		return;
	iothread_wake(vm);
	pthread_join(vm->io_thread, NULL);
	vm->io_started = false;
}

void iothread_free(struct vm *vm)
{
	if (vm->wake_fd >= 0)
		close(vm->wake_fd);
	if (vm->signal_fd >= 0)
		close(vm->signal_fd);
	vm->wake_fd = vm->signal_fd = -1;
	pthread_mutex_destroy(&vm->timer_lock);
	pthread_mutex_destroy(&vm->watch_lock);
}
