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
static void inject(struct vm *vm)
{
	struct kvm_run *run = vm->run;

	if (!vm->irqchip || !vm->irqchip->pending(vm->irqchip_opaque)) {
		run->request_interrupt_window = 0;
		return;
	}
	if (run->ready_for_interrupt_injection) {
		struct kvm_interrupt irq;

		irq.irq = vm->irqchip->ack(vm->irqchip_opaque);
		if (ioctl(vm->vcpu_fd, KVM_INTERRUPT, &irq) < 0) {
			fprintf(stderr, "kvm-launch: KVM_INTERRUPT: %s\n", strerror(errno));
			vm_request_exit(vm, 1);
			return;
		}
		run->request_interrupt_window =
			vm->irqchip->pending(vm->irqchip_opaque);
	} else {
		run->request_interrupt_window = 1;
	}
}

static void fatal(struct vm *vm, const char *what)
{
	fprintf(stderr, "kvm-launch: %s: %s\n", vm->cfg->name, what);
	cpu_dump(vm->vcpu_fd, stderr);
	vm_request_exit(vm, 1);
}

void vcpu_run(struct vm *vm)
{
	struct kvm_run *run = vm->run;
	char msg[128];
	bool stats = getenv("KVM_LAUNCH_STATS") != NULL;
	unsigned long cnt[64] = { 0 }, nintr = 0;
	uint64_t last = hw_clock_now(&vm->clock);

	while (!vm->stop) {
		vm_run_timers(vm);
		if (vm->stop)
			break;
		inject(vm);
		if (stats && hw_clock_now(&vm->clock) - last > 2000000000ULL) {
			struct kvm_regs r;

			ioctl(vm->vcpu_fd, KVM_GET_REGS, &r);
			fprintf(stderr, "stats: io %lu mmio %lu hlt %lu win %lu eintr %lu rip %llx if %u\n",
				cnt[KVM_EXIT_IO], cnt[KVM_EXIT_MMIO], cnt[KVM_EXIT_HLT],
				cnt[KVM_EXIT_IRQ_WINDOW_OPEN], nintr, r.rip, run->if_flag);
			memset(cnt, 0, sizeof(cnt));
			nintr = 0;
			last = hw_clock_now(&vm->clock);
		}
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
			run->immediate_exit = 0;
			nintr++;
			if (errno == EINTR || errno == EAGAIN) {
				vm_poll_fds(vm, 0);
				continue;
			}
			snprintf(msg, sizeof(msg), "KVM_RUN: %s", strerror(errno));
			fatal(vm, msg);
			break;
		}
		if (run->exit_reason < 64)
			cnt[run->exit_reason]++;
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
}
