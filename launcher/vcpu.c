/* launcher/vcpu.c: one thread per vCPU: its run loop, I/O exits, interrupt injection without an in-kernel irqchip. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "arch/cpu.h"
#include "vmm.h"

/* The signal that kicks a vCPU thread out of KVM_RUN. */
#define KICK_SIGNAL	(SIGRTMIN + 1)

/* This thread's kvm_run, for the kick handler (a handler sees only statics). */
static __thread struct kvm_run *thread_run;

static void on_kick(int sig)
{
	(void)sig;
	if (thread_run)
		thread_run->immediate_exit = 1;
}

int vcpu_signal_setup(void)
{
	struct sigaction sa = { 0 };
	sigset_t set;

	sa.sa_handler = on_kick;
	sigemptyset(&sa.sa_mask);
	if (sigaction(KICK_SIGNAL, &sa, NULL) < 0) {
		perror("kvm-launch: sigaction");
		return -1;
	}
	/* Whoever started us may have blocked it (init systems do). */
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (atomic_load(&vcpu->started))
		pthread_kill(vcpu->thread, KICK_SIGNAL);
}

int vcpu_create(struct vm *vm, unsigned int id)
{
	struct vcpu *vcpu = &vm->vcpu[id];
	struct cpu_topology topo = {
		.apic = vm->irqchip_mode != CFG_IRQCHIP_USER,
		.apic_id = id,
		.nr_cpus = vm->cfg->vcpus,
	};
	int sz;

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		fprintf(stderr, "kvm-launch: KVM_CREATE_VCPU %u: %s\n", id, strerror(errno));
		return -1;
	}
	vm->nr_vcpus = id + 1;
	sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		fprintf(stderr, "kvm-launch: KVM_GET_VCPU_MMAP_SIZE: %s\n", strerror(errno));
		return -1;
	}
	vm->run_size = sz;
	vcpu->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		fprintf(stderr, "kvm-launch: mmap kvm_run: %s\n", strerror(errno));
		return -1;
	}
	if (topo.apic)
		topo.tsc_deadline = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
					  KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	return cpu_setup_cpuid(vm->kvm_fd, vcpu->fd, &topo);
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

static void handle_io(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned int size = run->io.size, i;

	if ((size != 1 && size != 2 && size != 4) ||
	    run->io.data_offset + (uint64_t)size * run->io.count > vm->run_size) {
		fprintf(stderr, "kvm-launch: malformed I/O exit (size %u count %u)\n",
			size, run->io.count);
		vm_request_exit(vm, 1);
		return;
	}
	for (i = 0; i < run->io.count; i++, data += size) {
		uint64_t v = 0;

		if (run->io.direction == KVM_EXIT_IO_OUT) {
			memcpy(&v, data, size);
			if (!iobus_write(&vm->pio, run->io.port, size, v) && vm->trace_io)
				fprintf(stderr, "io: unclaimed out%c 0x%x <- 0x%llx\n",
					"bw?l"[size - 1], run->io.port, (unsigned long long)v);
		} else {
			if (!iobus_read(&vm->pio, run->io.port, size, &v) && vm->trace_io)
				fprintf(stderr, "io: unclaimed in%c 0x%x\n", "bw?l"[size - 1],
					run->io.port);
			memcpy(data, &v, size);
		}
	}
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned int len = run->mmio.len;
	uint64_t v = 0;

	if (len != 1 && len != 2 && len != 4 && len != 8)
		return;
	if (run->mmio.is_write) {
		memcpy(&v, run->mmio.data, len);
		iobus_write(&vcpu->vm->mmio, run->mmio.phys_addr, len, v);
	} else {
		iobus_read(&vcpu->vm->mmio, run->mmio.phys_addr, len, &v);
		memcpy(run->mmio.data, &v, len);
	}
}

/* irqchip = "user": whether the PIC has an interrupt for INTA. */
static bool user_pending(struct vm *vm)
{
	bool p;

	if (!vm->irqchip)
		return false;
	if (vm->irqchip_lock)
		pthread_mutex_lock(vm->irqchip_lock);
	p = vm->irqchip->pending(vm->irqchip_opaque);
	if (vm->irqchip_lock)
		pthread_mutex_unlock(vm->irqchip_lock);
	return p;
}

/* irqchip = "user": hand the PIC's interrupt to KVM, or ask for an exit when it can take one. */
static bool inject(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_run *run = vcpu->run;
	struct kvm_interrupt irq;
	bool more;
	int vector;

	if (!vm->irqchip || !user_pending(vm)) {
		run->request_interrupt_window = 0;
		return false;
	}
	if (!run->ready_for_interrupt_injection) {
		run->request_interrupt_window = 1;
		return false;
	}
	if (vm->irqchip_lock)
		pthread_mutex_lock(vm->irqchip_lock);
	/* pending again under the lock: the I/O thread may have lowered the line */
	vector = vm->irqchip->pending(vm->irqchip_opaque) ?
		 vm->irqchip->ack(vm->irqchip_opaque) : -1;
	more = vm->irqchip->pending(vm->irqchip_opaque);
	if (vm->irqchip_lock)
		pthread_mutex_unlock(vm->irqchip_lock);
	run->request_interrupt_window = more;
	if (vector < 0)
		return false;
	irq.irq = vector;
	if (ioctl(vcpu->fd, KVM_INTERRUPT, &irq) < 0) {
		fprintf(stderr, "kvm-launch: KVM_INTERRUPT: %s\n", strerror(errno));
		vm_request_exit(vm, 1);
		return false;
	}
	return true;
}

/* irqchip = "user": HLT came to us; sleep until the PIC has an interrupt the guest takes. */
static void halt(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->halt_lock);
	while (!atomic_load(&vm->stop) && !(vcpu->run->if_flag && user_pending(vm)))
		pthread_cond_wait(&vm->halt_cond, &vm->halt_lock);
	pthread_mutex_unlock(&vm->halt_lock);
}

static void fatal(struct vcpu *vcpu, const char *what)
{
	fprintf(stderr, "kvm-launch: %s: vcpu%u: %s\n", vcpu->vm->cfg->name, vcpu->id, what);
	cpu_dump(vcpu->fd, stderr);
	vm_request_exit(vcpu->vm, 1);
}

/* KVM_LAUNCH_STATS[=MS]: exits by kind, time in KVM_RUN, busiest ports, every MS (2000). */
struct exit_stats {
	unsigned long reason[64], eintr, injected;
	unsigned long replayed;		/* coalesced writes, at the last print */
	uint64_t in_run, t_run;		/* ns inside KVM_RUN; when it returned */
	uint32_t *port;			/* 65536 counters */
	uint64_t last, interval;	/* ns */
};

static void stats_print(struct vcpu *vcpu, struct exit_stats *st)
{
	struct vm *vm = vcpu->vm;
	unsigned int top[4] = { 0 }, i, j;
	struct kvm_regs r;

	for (i = 0; i < 65536; i++)
		for (j = 0; j < 4; j++)
			if (st->port[i] > st->port[top[j]]) {
				memmove(&top[j + 1], &top[j], (3 - j) * sizeof(top[0]));
				top[j] = i;
				break;
			}
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0)
		r.rip = 0;
	fprintf(stderr, "stats: vcpu%u io %lu mmio %lu hlt %lu win %lu eintr %lu inj %lu rip %llx"
		" coalesced %lu run %llums of %llums ports %x:%u %x:%u %x:%u %x:%u\n",
		vcpu->id, st->reason[KVM_EXIT_IO], st->reason[KVM_EXIT_MMIO],
		st->reason[KVM_EXIT_HLT], st->reason[KVM_EXIT_IRQ_WINDOW_OPEN], st->eintr,
		st->injected, r.rip, vm->coalesced.replayed - st->replayed,
		(unsigned long long)(st->in_run / 1000000),
		(unsigned long long)((hw_clock_now(&vm->clock) - st->last) / 1000000),
		top[0], st->port[top[0]], top[1], st->port[top[1]],
		top[2], st->port[top[2]], top[3], st->port[top[3]]);
	memset(st->reason, 0, sizeof(st->reason));
	memset(st->port, 0, 65536 * sizeof(st->port[0]));
	st->eintr = st->injected = 0;
	st->replayed = vm->coalesced.replayed;
	st->in_run = 0;
	st->last = hw_clock_now(&vm->clock);
}

/* One exit; false when the vCPU must stop. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char msg[128];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		break;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		break;
	case KVM_EXIT_HLT:
		halt(vcpu);
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_IOAPIC_EOI:
		/* "split": the guest EOIed a level-triggered vector of our IOAPIC */
		vm_ioapic_eoi(vcpu->vm, run->eoi.vector);
		break;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault: how a PC resets. */
		vm_request_reset(vcpu->vm);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(msg, sizeof(msg), "VM entry failed (hardware reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		fatal(vcpu, msg);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(msg, sizeof(msg), "hypervisor internal error (suberror %u)",
			 run->internal.suberror);
		fatal(vcpu, msg);
		return false;
	default:
		snprintf(msg, sizeof(msg), "unexpected exit reason %u", run->exit_reason);
		fatal(vcpu, msg);
		return false;
	}
	return true;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	struct kvm_run *run = vcpu->run;
	const char *stats_env = getenv("KVM_LAUNCH_STATS");
	/* the userspace PIC ("user", "split") is wired to vCPU 0's LINT0 */
	bool user_irq = vm->irqchip_mode != CFG_IRQCHIP_KERNEL && vcpu->id == 0;
	struct exit_stats st = { 0 };
	char msg[128];
	int ret;

	thread_run = run;
	if (stats_env) {
		int ms = atoi(stats_env);

		st.port = calloc(65536, sizeof(st.port[0]));
		st.last = hw_clock_now(&vm->clock);
		st.interval = (uint64_t)(ms > 0 ? ms : 2000) * 1000000ULL;
	}
	/* A kick before thread_run was set: look at stop once more. */
	while (!atomic_load(&vm->stop)) {
		if (user_irq && inject(vcpu))
			st.injected++;
		if (st.port && hw_clock_now(&vm->clock) - st.last > st.interval)
			stats_print(vcpu, &st);
		if (st.port)
			st.t_run = hw_clock_now(&vm->clock);
		ret = ioctl(vcpu->fd, KVM_RUN, 0);
		if (st.port)
			st.in_run += hw_clock_now(&vm->clock) - st.t_run;
		/* what KVM queued happened before this exit */
		coalesced_replay(&vm->coalesced, &vm->pio, &vm->mmio);
		run->immediate_exit = 0;
		if (ret < 0) {
			st.eintr++;
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(msg, sizeof(msg), "KVM_RUN: %s", strerror(errno));
			fatal(vcpu, msg);
			break;
		}
		if (st.port && run->exit_reason < 64) {
			st.reason[run->exit_reason]++;
			if (run->exit_reason == KVM_EXIT_IO)
				st.port[run->io.port]++;
		}
		if (!handle_exit(vcpu))
			break;
	}
	if (st.port)
		stats_print(vcpu, &st);
	free(st.port);
	thread_run = NULL;
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	char name[16];
	int err = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (err) {
		fprintf(stderr, "kvm-launch: vcpu%u thread: %s\n", vcpu->id, strerror(err));
		return -1;
	}
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(vcpu->thread, name);
	atomic_store(&vcpu->started, true);
	return 0;
}
