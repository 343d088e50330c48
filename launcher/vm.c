/* launcher/vm.c: the VM object: KVM fds, guest RAM, devices, timers, watched fds. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/linux.h"
#include "vmm.h"

/* The linker collects every DEVICE_TYPE() pointer between these. */
extern const struct device_type *const __start_vm_device_types[];
extern const struct device_type *const __stop_vm_device_types[];

#define TIMER_SIGNAL	(SIGRTMIN + 1)

/* Set by on_quit() when SIGINT, SIGTERM or SIGHUP arrives. */
static volatile sig_atomic_t quit_signal;

/* ---- services for devices (vm.h) ---- */

int vm_register_pio(struct vm *vm, uint16_t base, uint16_t len,
		    const struct io_ops *ops, void *opaque)
{
	return iobus_add(&vm->pio, base, len, ops, opaque);
}

void vm_unregister_pio(struct vm *vm, uint16_t base, void *opaque)
{
	iobus_del(&vm->pio, base, opaque);
}

void vm_coalesce_pio(struct vm *vm, uint16_t base, uint16_t len)
{
	/* best effort: without it every write exits, as before */
	coalesced_add_pio(&vm->coalesced, vm->vm_fd, base, len);
}

int vm_register_mmio(struct vm *vm, uint64_t base, uint64_t len,
		     const struct io_ops *ops, void *opaque)
{
	return iobus_add(&vm->mmio, base, len, ops, opaque);
}

void vm_unregister_mmio(struct vm *vm, uint64_t base, void *opaque)
{
	iobus_del(&vm->mmio, base, opaque);
}

static void irq_set(void *ctx, unsigned int irq, int level)
{
	struct vm *vm = ctx;

	if (vm->irqchip)
		vm->irqchip->set(vm->irqchip_opaque, irq, level);
}

struct irq_line vm_irq_line(struct vm *vm, unsigned int irq)
{
	return (struct irq_line){ .set = irq_set, .ctx = vm, .irq = irq };
}

void vm_set_irqchip(struct vm *vm, const struct vm_irqchip *chip, void *opaque)
{
	vm->irqchip = chip;
	vm->irqchip_opaque = opaque;
}

void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < vm->nr_ram; i++) {
		const struct cfg_slot *s = &vm->ram[i];

		if (gpa >= s->base && len <= s->size && gpa - s->base <= s->size - len)
			return (uint8_t *)vm->ram_hva[i] + (gpa - s->base);
	}
	return NULL;
}

static void *gmem_map(void *ctx, uint64_t gpa, uint64_t len)
{
	return vm_gpa_to_hva(ctx, gpa, len);
}

const struct guest_mem *vm_guest_mem(struct vm *vm)
{
	return &vm->gmem;
}

static uint64_t monotonic_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

const struct hw_clock *vm_clock(struct vm *vm)
{
	return &vm->clock;
}

const struct vm_config *vm_config(const struct vm *vm)
{
	return vm->cfg;
}

unsigned int vm_e820(const struct vm *vm, const struct e820_entry **table)
{
	*table = vm->e820;
	return vm->nr_e820;
}

void vm_request_reset(struct vm *vm)
{
	vm->stop = true;
	vm->end = VM_END_RESET;
	vm->exit_status = 0;
}

void vm_request_exit(struct vm *vm, int status)
{
	vm->stop = true;
	vm->end = VM_END_EXIT;
	vm->exit_status = status;
}

void *vm_device(struct vm *vm, const char *name)
{
	unsigned int i;

	for (i = 0; i < vm->nr_dev; i++)
		if (!strcmp(vm->dev[i].type->name, name))
			return vm->dev[i].state;
	return NULL;
}

/* ---- timers ---- */

void vm_timer_add(struct vm *vm, struct vm_timer *t,
		  void (*fire)(void *opaque, uint64_t now_ns), void *opaque)
{
	t->fire = fire;
	t->opaque = opaque;
	t->deadline = 0;
	t->next = vm->timers;
	vm->timers = t;
}

void vm_timer_del(struct vm *vm, struct vm_timer *t)
{
	struct vm_timer **p;

	for (p = &vm->timers; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			return;
		}
}

void vm_timer_arm(struct vm *vm, struct vm_timer *t, uint64_t deadline_ns)
{
	(void)vm;
	t->deadline = deadline_ns ? deadline_ns : 1;
}

void vm_timer_cancel(struct vm *vm, struct vm_timer *t)
{
	(void)vm;
	t->deadline = 0;
}

static uint64_t earliest_deadline(struct vm *vm)
{
	uint64_t min = 0;
	struct vm_timer *t;

	for (t = vm->timers; t; t = t->next)
		if (t->deadline && (!min || t->deadline < min))
			min = t->deadline;
	return min;
}

void vm_run_timers(struct vm *vm)
{
	uint64_t now = hw_clock_now(&vm->clock), next;
	struct vm_timer *t;
	int fired;

	if (quit_signal && !vm->stop) {
		fprintf(stderr, "\r\nkvm-launch: %s: ended by signal %d\r\n", vm->cfg->name, quit_signal);
		vm_request_exit(vm, 128 + quit_signal);
	}
	do {
		fired = 0;
		for (t = vm->timers; t; t = t->next) {
			if (t->deadline && t->deadline <= now) {
				t->deadline = 0;
				t->fire(t->opaque, now);
				fired = 1;
				break;	/* fire() may have changed the list */
			}
		}
	} while (fired);

	/*
	 * The host timer, one-shot, interrupts KVM_RUN when the next deadline
	 * comes; its handler sets immediate_exit, so a signal just before
	 * KVM_RUN is not lost. Every syscall is dear under nested
	 * virtualization: a timer that already fired needs no disarming.
	 */
	next = earliest_deadline(vm);
	if (vm->host_timer_ok && next != vm->host_timer_deadline) {
		struct itimerspec its = { 0 };

		if (!next && vm->host_timer_deadline <= now) {
			vm->host_timer_deadline = 0;
			return;
		}
		if (next) {
			its.it_value.tv_sec = next / 1000000000ULL;
			its.it_value.tv_nsec = next % 1000000000ULL;
		}
		timer_settime(vm->host_timer, TIMER_ABSTIME, &its, NULL);
		vm->host_timer_deadline = next;
	}
}

/* ---- watched fds ---- */

int vm_watch_fd(struct vm *vm, int fd, void (*ready)(void *opaque), void *opaque)
{
	if (vm->nr_watch == VM_MAX_WATCHES)
		return -1;
	vm->watch[vm->nr_watch].fd = fd;
	vm->watch[vm->nr_watch].ready = ready;
	vm->watch[vm->nr_watch].opaque = opaque;
	vm->nr_watch++;
	return 0;
}

void vm_unwatch_fd(struct vm *vm, int fd)
{
	unsigned int i;

	for (i = 0; i < vm->nr_watch; i++)
		if (vm->watch[i].fd == fd) {
			vm->watch[i] = vm->watch[--vm->nr_watch];
			return;
		}
}

void vm_poll_fds(struct vm *vm, int timeout_ms)
{
	struct pollfd pfd[VM_MAX_WATCHES];
	unsigned int i, n = vm->nr_watch;

	vm->last_poll = hw_clock_now(&vm->clock);
	for (i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = vm->watch[i].fd, .events = POLLIN };
	if (poll(pfd, n, timeout_ms) <= 0)
		return;
	/* ready() may unwatch its fd: walk the snapshot, match by fd. */
	for (i = 0; i < n; i++) {
		unsigned int j;

		if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (j = 0; j < vm->nr_watch; j++)
			if (vm->watch[j].fd == pfd[i].fd) {
				vm->watch[j].ready(vm->watch[j].opaque);
				break;
			}
	}
}

void vm_idle(struct vm *vm)
{
	for (;;) {
		uint64_t next, now;
		int timeout = -1;

		vm_run_timers(vm);
		if (vm->stop)
			return;
		if (vm->run->if_flag && vm->irqchip && vm->irqchip->pending(vm->irqchip_opaque))
			return;
		next = earliest_deadline(vm);
		now = hw_clock_now(&vm->clock);
		if (next)
			timeout = next <= now ? 0 : (int)((next - now + 999999) / 1000000);
		vm_poll_fds(vm, timeout);
	}
}

/* ---- creation ---- */

/*
 * Guest RAM, aligned to 2 MiB so that the host can back it with transparent
 * huge pages and the hypervisor can map it with 2 MiB nested page entries:
 * one nested page fault per 2 MiB instead of one per 4 KiB while the guest
 * first touches its memory (the kernel decompressing itself, for one).
 */
#define RAM_ALIGN (2ull << 20)

static void *alloc_ram(uint64_t size)
{
	uint64_t len = size + RAM_ALIGN;
	uint8_t *p, *start;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	start = (uint8_t *)(((uintptr_t)p + RAM_ALIGN - 1) & ~(uintptr_t)(RAM_ALIGN - 1));
	if (start > p)
		munmap(p, start - p);
	if (start + size < p + len)
		munmap(start + size, p + len - (start + size));
	madvise(start, size, MADV_HUGEPAGE);
	/* A process forked to fill the kernel cache needs none of it. */
	madvise(start, size, MADV_DONTFORK);
	return start;
}

static int setup_ram(struct vm *vm)
{
	unsigned int i;

	vm->nr_ram = layout_ram(vm->cfg, vm->ram);
	for (i = 0; i < vm->nr_ram; i++) {
		struct kvm_userspace_memory_region r = { 0 };
		void *p = alloc_ram(vm->ram[i].size);

		if (!p) {
			fprintf(stderr, "kvm-launch: cannot allocate %llu MiB of guest RAM: %s\n",
				(unsigned long long)(vm->ram[i].size >> 20), strerror(errno));
			return -1;
		}
		vm->ram_hva[i] = p;
		r.slot = i;
		r.guest_phys_addr = vm->ram[i].base;
		r.memory_size = vm->ram[i].size;
		r.userspace_addr = (uintptr_t)p;
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
			fprintf(stderr, "kvm-launch: KVM_SET_USER_MEMORY_REGION: %s\n", strerror(errno));
			return -1;
		}
	}
	vm->nr_e820 = e820_build(vm->ram, vm->nr_ram, vm->e820, E820_MAX);
	return 0;
}

static int cmp_dev(const void *a, const void *b)
{
	const struct device_type *x = *(const struct device_type *const *)a;
	const struct device_type *y = *(const struct device_type *const *)b;

	if (x->stage != y->stage)
		return x->stage < y->stage ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int create_devices(struct vm *vm)
{
	size_t i, n = __stop_vm_device_types - __start_vm_device_types;
	const struct device_type **types;

	if (n > VM_MAX_DEVICES) {
		fprintf(stderr, "kvm-launch: %zu device types, at most %d\n", n, VM_MAX_DEVICES);
		return -1;
	}
	types = malloc(n * sizeof(*types) + 1);
	if (!types)
		return -1;
	for (i = 0; i < n; i++)
		types[i] = __start_vm_device_types[i];
	qsort(types, n, sizeof(*types), cmp_dev);
	for (i = 0; i < n; i++) {
		void *state = NULL;

		if (types[i]->create(vm, &state)) {
			free(types);
			return -1;
		}
		if (state) {
			vm->dev[vm->nr_dev].type = types[i];
			vm->dev[vm->nr_dev].state = state;
			vm->nr_dev++;
		}
	}
	free(types);
	return 0;
}

static void *load_map(void *ctx, uint64_t gpa, uint64_t len)
{
	return vm_gpa_to_hva(ctx, gpa, len);
}

static int load_linux(struct vm *vm)
{
	struct linux_load_mem mem = { load_map, vm };
	uint64_t entry;
	bool entry64;
	char err[512];

	if (linux_load(vm->cfg, &mem, vm->ram, vm->nr_ram, vm->e820, vm->nr_e820,
		       &entry, &entry64, err, sizeof(err))) {
		fprintf(stderr, "kvm-launch: %s\n", err);
		return -1;
	}
	return cpu_setup_linux(vm->vcpu_fd, &mem, entry, entry64);
}

/*
 * BIOS boot: the image as ROM just below 4 GiB (where the reset vector
 * points) and its last 128 KiB copied to 0xe0000 as the legacy shadow.
 * The vCPU stays in its reset state (f000:fff0).
 */
static int load_firmware(struct vm *vm)
{
	struct kvm_userspace_memory_region r = { 0 };
	uint64_t size, low;
	void *rom, *shadow;
	int fd = open(vm->cfg->firmware, O_RDONLY | O_CLOEXEC);
	off_t end;

	if (fd < 0 || (end = lseek(fd, 0, SEEK_END)) <= 0 || (end & 0xffff) ||
	    end > 16 * (off_t)MiB) {
		fprintf(stderr, "kvm-launch: %s: not a firmware image (size a multiple of 64K, at most 16M)\n",
			vm->cfg->firmware);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size = end;
	rom = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (rom == MAP_FAILED) {
		fprintf(stderr, "kvm-launch: %s: %s\n", vm->cfg->firmware, strerror(errno));
		return -1;
	}
	vm->rom = rom;
	vm->rom_size = size;
	r.slot = vm->nr_ram;
	r.flags = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0 ?
		  KVM_MEM_READONLY : 0;
	r.guest_phys_addr = 4 * GiB - size;
	r.memory_size = size;
	r.userspace_addr = (uintptr_t)rom;
	if (!r.flags) {
		/* Without read-only slots, a private writable copy. */
		void *copy = mmap(NULL, size, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (copy == MAP_FAILED)
			return -1;
		memcpy(copy, rom, size);
		munmap(rom, size);
		rom = copy;
		vm->rom = rom;
		r.userspace_addr = (uintptr_t)rom;
	}
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		fprintf(stderr, "kvm-launch: mapping firmware: %s\n", strerror(errno));
		return -1;
	}
	low = size < 128 * KiB ? size : 128 * KiB;
	shadow = vm_gpa_to_hva(vm, BIOS_AREA_END - low, low);
	if (!shadow) {
		fprintf(stderr, "kvm-launch: BIOS boot needs RAM below 1 MiB\n");
		return -1;
	}
	memcpy(shadow, (uint8_t *)rom + size - low, low);
	return 0;
}

static void timer_signal(int sig, siginfo_t *si, void *uc);

/* The vCPU loop's kvm_run, for the signal handler (one vCPU thread). */
static __thread struct kvm_run *signal_run;

static void timer_signal(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	if (signal_run)
		signal_run->immediate_exit = 1;
}

/*
 * SIGINT, SIGTERM, SIGHUP end the VM cleanly (the terminal leaves raw
 * mode). A handler reaches nothing but statics: this flag is the one
 * piece of process-wide state (declared at the top).
 */

static void on_quit(int sig)
{
	quit_signal = sig;
	if (signal_run)
		signal_run->immediate_exit = 1;
}

static int setup_host_timer(struct vm *vm)
{
	struct sigaction sa = { 0 };
	sigset_t set;
	struct sigevent sev = { 0 };

	sa.sa_sigaction = timer_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(TIMER_SIGNAL, &sa, NULL) < 0)
		return -1;
	/* Whoever started us may have blocked it (init systems do). */
	sigemptyset(&set);
	sigaddset(&set, TIMER_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	sa.sa_handler = on_quit;
	sa.sa_flags = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = TIMER_SIGNAL;
	sev._sigev_un._tid = syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &vm->host_timer) < 0) {
		fprintf(stderr, "kvm-launch: timer_create: %s\n", strerror(errno));
		return -1;
	}
	vm->host_timer_ok = true;
	signal_run = vm->run;
	return 0;
}

struct vm *vm_create(const struct vm_config *cfg)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	int api;

	if (!vm)
		return NULL;
	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
	vm->pio.name = "port";
	vm->mmio.name = "MMIO";
	vm->gmem = (struct guest_mem){ gmem_map, vm };
	vm->clock = (struct hw_clock){ monotonic_ns, NULL };
	vm->trace_io = getenv("KVM_LAUNCH_TRACE_IO") != NULL;

	vm->kvm_fd = open(cfg->hypervisor, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		fprintf(stderr, "kvm-launch: %s: %s\n", cfg->hypervisor, strerror(errno));
		goto fail;
	}
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "kvm-launch: %s: KVM API version %d, need %d\n",
			cfg->hypervisor, api, KVM_API_VERSION);
		goto fail;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		fprintf(stderr, "kvm-launch: KVM_CREATE_VM: %s\n", strerror(errno));
		goto fail;
	}
	/* Needed by VMX only; harmless elsewhere. Just below the BIOS ROM. */
	ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xfeffd000UL);
	if (setup_ram(vm) || vcpu_create(vm) || setup_host_timer(vm) ||
	    create_devices(vm))
		goto fail;
	if (cfg->kernel && !cfg->firmware) {
		if (load_linux(vm))
			goto fail;
	} else if (cfg->firmware) {
		if (load_firmware(vm))
			goto fail;
	}
	return vm;
fail:
	vm_destroy(vm);
	return NULL;
}

void vm_destroy(struct vm *vm)
{
	unsigned int i;

	if (!vm)
		return;
	for (i = vm->nr_dev; i-- > 0;)
		vm->dev[i].type->destroy(vm->dev[i].state);
	if (vm->host_timer_ok)
		timer_delete(vm->host_timer);
	signal_run = NULL;
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	for (i = 0; i < vm->nr_ram; i++)
		if (vm->ram_hva[i])
			munmap(vm->ram_hva[i], vm->ram[i].size);
	if (vm->rom)
		munmap(vm->rom, vm->rom_size);
	iobus_free(&vm->pio);
	iobus_free(&vm->mmio);
	free(vm);
}
