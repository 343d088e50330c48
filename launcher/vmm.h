/* launcher/vmm.h: the VM object's insides, shared by vm.c, vcpu.c and main.c only. */
#ifndef LAUNCHER_VMM_H
#define LAUNCHER_VMM_H

#include <linux/kvm.h>
#include <signal.h>
#include <time.h>

#include "arch/e820.h"
#include "coalesced.h"
#include "device.h"
#include "iobus.h"
#include "vm.h"

#define VM_MAX_DEVICES	32
#define VM_MAX_WATCHES	8

/* What an interrupt controller device offers the vCPU loop. */
struct vm_irqchip {
	void (*set)(void *chip, unsigned int irq, int level);
	bool (*pending)(void *chip);		/* an interrupt awaits INTA */
	int (*ack)(void *chip);			/* INTA: the vector */
};
/* Called by the PIC device when it is created. */
void vm_set_irqchip(struct vm *vm, const struct vm_irqchip *chip, void *opaque);

enum vm_end { VM_END_EXIT, VM_END_RESET };

struct vm {
	const struct vm_config *cfg;
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	struct coalesced coalesced;	/* writes KVM queued without an exit */

	struct cfg_slot ram[CFG_MAX_SLOTS];
	void *ram_hva[CFG_MAX_SLOTS];
	unsigned int nr_ram;
	void *rom;			/* firmware image mapping (BIOS boot) */
	size_t rom_size;
	struct e820_entry e820[E820_MAX];
	unsigned int nr_e820;
	struct guest_mem gmem;
	struct hw_clock clock;

	struct iobus pio, mmio;
	const struct vm_irqchip *irqchip;
	void *irqchip_opaque;

	struct vm_timer *timers;
	timer_t host_timer;
	bool host_timer_ok;
	uint64_t host_timer_deadline;

	struct {
		int fd;
		void (*ready)(void *opaque);
		void *opaque;
	} watch[VM_MAX_WATCHES];
	unsigned int nr_watch;
	uint64_t last_poll;		/* ns, hw_clock */

	struct {
		const struct device_type *type;
		void *state;
	} dev[VM_MAX_DEVICES];
	unsigned int nr_dev;

	bool stop;			/* leave the run loop */
	enum vm_end end;
	int exit_status;
	bool trace_io;			/* KVM_LAUNCH_TRACE_IO set */
};

/* Build everything from cfg: KVM fds, RAM, devices, loaded kernel. */
struct vm *vm_create(const struct vm_config *cfg);
void vm_destroy(struct vm *vm);

/* Timers and watched fds: fire what is due; re-arm the host timer. */
void vm_run_timers(struct vm *vm);
/* Wait (guest halted) until an interrupt is due, or the VM stops. */
void vm_idle(struct vm *vm);
/* Poll watched fds without blocking. */
void vm_poll_fds(struct vm *vm, int timeout_ms);

/* The vCPU loop: returns when the VM ends (vm->end says how). */
int vcpu_create(struct vm *vm);
void vcpu_run(struct vm *vm);

#endif
