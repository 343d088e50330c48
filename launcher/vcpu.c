/* launcher/vcpu.c: the vCPU thread's run loop: I/O exits, interrupt injection, end of life. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "arch/cpu.h"
#include "vmm.h"

int vcpu_create(struct vm *vm)
{
	int sz;

	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0) {
		fprintf(stderr, "kvm-launch: KVM_CREATE_VCPU: %s\n", strerror(errno));
		return -1;
	}
	sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		fprintf(stderr, "kvm-launch: KVM_GET_VCPU_MMAP_SIZE: %s\n", strerror(errno));
		return -1;
	}
	vm->run_size = sz;
	vm->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		fprintf(stderr, "kvm-launch: mmap kvm_run: %s\n", strerror(errno));
		return -1;
	}
	coalesced_init(&vm->coalesced, vm->kvm_fd, vm->run, vm->run_size);
	return cpu_setup_cpuid(vm->kvm_fd, vm->vcpu_fd);
}

static void handle_io(struct vm *vm)
{
	struct kvm_run *run = vm->run;
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

static void handle_mmio(struct vm *vm)
{
	struct kvm_run *run = vm->run;
	unsigned int len = run->mmio.len;
	uint64_t v = 0;

	if (len != 1 && len != 2 && len != 4 && len != 8)
		return;
	if (run->mmio.is_write) {
		memcpy(&v, run->mmio.data, len);
		iobus_write(&vm->mmio, run->mmio.phys_addr, len, v);
	} else {
		iobus_read(&vm->mmio, run->mmio.phys_addr, len, &v);
		memcpy(run->mmio.data, &v, len);
	}
}

/* Hand the PIC's interrupt to KVM, or ask for an exit when it can take one. */
static bool inject(struct vm *vm)
{
	struct kvm_run *run = vm->run;

	if (!vm->irqchip || !vm->irqchip->pending(vm->irqchip_opaque)) {
		run->request_interrupt_window = 0;
		return false;
	}
	if (run->ready_for_interrupt_injection) {
		struct kvm_interrupt irq;

		irq.irq = vm->irqchip->ack(vm->irqchip_opaque);
		if (ioctl(vm->vcpu_fd, KVM_INTERRUPT, &irq) < 0) {
			fprintf(stderr, "kvm-launch: KVM_INTERRUPT: %s\n", strerror(errno));
			vm_request_exit(vm, 1);
			return false;
		}
		run->request_interrupt_window =
			vm->irqchip->pending(vm->irqchip_opaque);
		return true;
	}
	run->request_interrupt_window = 1;
	return false;
}

static void fatal(struct vm *vm, const char *what)
{
	fprintf(stderr, "kvm-launch: %s: %s\n", vm->cfg->name, what);
	cpu_dump(vm->vcpu_fd, stderr);
	vm_request_exit(vm, 1);
}

/* KVM_LAUNCH_STATS[=MS]: exits by kind, time in KVM_RUN, busiest ports, every MS (2000). */
struct exit_stats {
	unsigned long reason[64], eintr, injected;
	unsigned long replayed;		/* coalesced writes, at the last print */
	uint64_t in_run, t_run;		/* ns inside KVM_RUN; when it returned */
	uint32_t *port;			/* 65536 counters */
	uint64_t last, interval;	/* ns */
};

static void stats_print(struct vm *vm, struct exit_stats *st)
{
	unsigned int top[4] = { 0 }, i, j;
	struct kvm_regs r;

	for (i = 0; i < 65536; i++)
		for (j = 0; j < 4; j++)
			if (st->port[i] > st->port[top[j]]) {
				memmove(&top[j + 1], &top[j], (3 - j) * sizeof(top[0]));
				top[j] = i;
				break;
			}
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) < 0)
		r.rip = 0;
	fprintf(stderr, "stats: io %lu mmio %lu hlt %lu win %lu eintr %lu inj %lu rip %llx"
		" coalesced %lu run %llums of %llums ports %x:%u %x:%u %x:%u %x:%u\n",
		st->reason[KVM_EXIT_IO], st->reason[KVM_EXIT_MMIO], st->reason[KVM_EXIT_HLT],
		st->reason[KVM_EXIT_IRQ_WINDOW_OPEN], st->eintr, st->injected, r.rip,
		vm->coalesced.replayed - st->replayed,
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

void vcpu_run(struct vm *vm)
{
	struct kvm_run *run = vm->run;
	const char *stats_env = getenv("KVM_LAUNCH_STATS");
	struct exit_stats st = { 0 };
	char msg[128];
	int ret;

	if (stats_env) {
		int ms = atoi(stats_env);

		st.port = calloc(65536, sizeof(st.port[0]));
		st.last = hw_clock_now(&vm->clock);
		st.interval = (uint64_t)(ms > 0 ? ms : 2000) * 1000000ULL;
	}

	while (!vm->stop) {
		vm_run_timers(vm);
		if (vm->stop)
			break;
		if (inject(vm))
			st.injected++;
		if (st.port && hw_clock_now(&vm->clock) - st.last > st.interval)
			stats_print(vm, &st);
		if (st.port)
			st.t_run = hw_clock_now(&vm->clock);
		ret = ioctl(vm->vcpu_fd, KVM_RUN, 0);
		if (st.port)
			st.in_run += hw_clock_now(&vm->clock) - st.t_run;
		/* what KVM queued happened before this exit */
		coalesced_replay(&vm->coalesced, &vm->pio, &vm->mmio);
		if (ret < 0) {
			run->immediate_exit = 0;
			st.eintr++;
			if (errno == EINTR || errno == EAGAIN) {
				/*
				 * Mostly the guest's timer: look at the watched fds
				 * (the console's input) every 10 ms at most.
				 */
				if (hw_clock_now(&vm->clock) - vm->last_poll >= 10000000ULL)
					vm_poll_fds(vm, 0);
				continue;
			}
			snprintf(msg, sizeof(msg), "KVM_RUN: %s", strerror(errno));
			fatal(vm, msg);
			break;
		}
		if (st.port && run->exit_reason < 64) {
			st.reason[run->exit_reason]++;
			if (run->exit_reason == KVM_EXIT_IO)
				st.port[run->io.port]++;
		}
		run->immediate_exit = 0;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(vm);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(vm);
			break;
		case KVM_EXIT_HLT:
			vm_idle(vm);
			break;
		case KVM_EXIT_IRQ_WINDOW_OPEN:
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SHUTDOWN:
			/* A triple fault: how a PC resets. */
			vm_request_reset(vm);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			snprintf(msg, sizeof(msg), "VM entry failed (hardware reason 0x%llx)",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			fatal(vm, msg);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			snprintf(msg, sizeof(msg), "hypervisor internal error (suberror %u)",
				 run->internal.suberror);
			fatal(vm, msg);
			break;
		default:
			snprintf(msg, sizeof(msg), "unexpected exit reason %u", run->exit_reason);
			fatal(vm, msg);
			break;
		}
	}
	if (st.port)
		stats_print(vm, &st);
	free(st.port);
}
