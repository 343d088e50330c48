/* launcher/vm.h: the VM object and the services it gives device glue code. */
#ifndef LAUNCHER_VM_H
#define LAUNCHER_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "hw/hw.h"

struct vm;

/* ---- I/O registration (dispatch of every PIO/MMIO exit) ---- */

/*
 * Claim ports [base, base + len). Accesses reach ops with the offset from
 * base. Fails (-1, message printed) when the range overlaps another.
 * Unclaimed ports read as all ones and ignore writes.
 */
int vm_register_pio(struct vm *vm, uint16_t base, uint16_t len,
		    const struct io_ops *ops, void *opaque);
/* Release a range claimed with exactly this base and opaque (BAR moves). */
void vm_unregister_pio(struct vm *vm, uint16_t base, void *opaque);
/*
 * Writes to ports [base, base + len) change nothing the guest can see
 * before its next exit (an address latch): the hypervisor may queue them
 * without an exit (KVM_CAP_COALESCED_PIO). They reach the device in order,
 * before any later exit is handled. Without the capability, a no-op.
 */
void vm_coalesce_pio(struct vm *vm, uint16_t base, uint16_t len);
int vm_register_mmio(struct vm *vm, uint64_t base, uint64_t len,
		     const struct io_ops *ops, void *opaque);
void vm_unregister_mmio(struct vm *vm, uint64_t base, void *opaque);

/* ---- interrupts, memory, time ---- */

/* ISA interrupt line irq (0..15) into the emulated i8259 pair. */
struct irq_line vm_irq_line(struct vm *vm, unsigned int irq);
/* Guest RAM for DMA (host pointer or NULL when not all RAM). */
const struct guest_mem *vm_guest_mem(struct vm *vm);
/* CLOCK_MONOTONIC in ns. */
const struct hw_clock *vm_clock(struct vm *vm);
/* The validated VM file (read-only). */
const struct vm_config *vm_config(const struct vm *vm);

/*
 * One-shot timers run on the vCPU thread (devices need no locks). fire()
 * gets the current time; it may re-arm. Deadlines are CLOCK_MONOTONIC ns.
 */
struct vm_timer {
	void (*fire)(void *opaque, uint64_t now_ns);
	void *opaque;
	uint64_t deadline;		/* 0 = not armed */
	struct vm_timer *next;		/* VM's list; owned by vm.c */
};
void vm_timer_add(struct vm *vm, struct vm_timer *t,
		  void (*fire)(void *opaque, uint64_t now_ns), void *opaque);
void vm_timer_del(struct vm *vm, struct vm_timer *t);
void vm_timer_arm(struct vm *vm, struct vm_timer *t, uint64_t deadline_ns);
void vm_timer_cancel(struct vm *vm, struct vm_timer *t);

/*
 * A host file descriptor watched on the vCPU thread when the guest idles
 * or a timer fires: ready() is called when fd is readable.
 */
int vm_watch_fd(struct vm *vm, int fd, void (*ready)(void *opaque),
		void *opaque);
void vm_unwatch_fd(struct vm *vm, int fd);

/* ---- life cycle, called by devices ---- */

/* Guest asked for a reset (i8042 pulse, PIIX3 0xcf9, triple fault). */
void vm_request_reset(struct vm *vm);
/* Guest powered off (ACPI PM), or the user quit: end with this status. */
void vm_request_exit(struct vm *vm, int status);

/* Another device's state by type name ("pic", "pci", ...), or NULL. */
void *vm_device(struct vm *vm, const char *name);

/* ---- memory map, for firmware tables (fw_cfg, ACPI) ---- */

enum e820_type { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3, E820_NVS = 4 };
struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};
/* The guest's e820 map; returns the number of entries. */
unsigned int vm_e820(const struct vm *vm, const struct e820_entry **table);
/* Host pointer for guest RAM [gpa, gpa + len), or NULL. */
void *vm_gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);

#endif
