/* launcher/vm.h: the VM object and the services it gives device glue code. */
#ifndef LAUNCHER_VM_H
#define LAUNCHER_VM_H

#include <pthread.h>
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
/* The same for a range mapped after creation (a BAR), under the owner's lock. */
int vm_register_pio_locked(struct vm *vm, uint16_t base, uint16_t len,
			   const struct io_ops *ops, void *opaque, pthread_mutex_t *lock);
/* The mutex of the device whose create() runs now (NULL at other times). */
pthread_mutex_t *vm_creating_lock(struct vm *vm);
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
/* The same for a range mapped after creation (a memory BAR), under the owner's lock. */
int vm_register_mmio_locked(struct vm *vm, uint64_t base, uint64_t len,
			    const struct io_ops *ops, void *opaque, pthread_mutex_t *lock);
void vm_unregister_mmio(struct vm *vm, uint64_t base, void *opaque);

/* ---- interrupts, memory, time ---- */

/*
 * Interrupt line irq (a GSI: 0-15 the ISA IRQs, to 23 the other IOAPIC
 * pins): KVM_IRQ_LINE into the in-kernel PIC and IOAPIC, or the userspace
 * 8259 pair with irqchip = "user". Callable from any thread.
 */
struct irq_line vm_irq_line(struct vm *vm, unsigned int irq);

/*
 * MSIs, for a machine with local APICs (irqchip "kernel" or "split";
 * vm_has_msi() says). A device keeps one struct vm_msi per vector:
 * vm_msi_init() gives it a GSI route and an irqfd where the hypervisor
 * has them (raising is then one eventfd write, from any thread, with no
 * exit), else each raise is a KVM_SIGNAL_MSI. vm_msi_set() follows the
 * guest's programming of the address and data; raising an unprogrammed
 * vector does nothing.
 */
struct vm_msi {
	unsigned int gsi;
	int fd;				/* irqfd, or -1 */
	uint64_t addr;
	uint32_t data;
	bool valid;			/* the guest programmed it */
};
bool vm_has_msi(const struct vm *vm);
int vm_msi_init(struct vm *vm, struct vm_msi *m);
void vm_msi_set(struct vm *vm, struct vm_msi *m, uint64_t addr, uint32_t data);
void vm_msi_raise(struct vm *vm, struct vm_msi *m);
void vm_msi_free(struct vm *vm, struct vm_msi *m);
int vm_send_msi(struct vm *vm, uint64_t addr, uint32_t data);

/*
 * ioeventfd: guest writes to [addr, addr + len) (len 1, 2, 4 or 8; with
 * match only those of datamatch) signal the returned eventfd instead of
 * exiting; watch it with vm_watch_fd. -1 where the hypervisor has none:
 * the write then reaches the device's io_ops as an exit.
 */
int vm_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned int len,
		 bool match, uint64_t datamatch);
void vm_ioeventfd_del(struct vm *vm, int fd, bool pio, uint64_t addr, unsigned int len,
		      bool match, uint64_t datamatch);
/* Guest RAM for DMA (host pointer or NULL when not all RAM). */
const struct guest_mem *vm_guest_mem(struct vm *vm);
/* CLOCK_MONOTONIC in ns. */
const struct hw_clock *vm_clock(struct vm *vm);
/* The validated VM file (read-only). */
const struct vm_config *vm_config(const struct vm *vm);

/*
 * One-shot timers, armed from any thread, fire on the I/O thread with the
 * mutex of the device whose create() added them held. fire() gets the
 * current time; it may re-arm. Deadlines are CLOCK_MONOTONIC ns.
 */
struct vm_timer {
	void (*fire)(void *opaque, uint64_t now_ns);
	void *opaque;
	uint64_t deadline;		/* 0 = not armed */
	struct vm_timer *next;		/* VM's list; owned by iothread.c */
	pthread_mutex_t *lock;		/* the owner device's; set by vm_timer_add */
};
void vm_timer_add(struct vm *vm, struct vm_timer *t,
		  void (*fire)(void *opaque, uint64_t now_ns), void *opaque);
void vm_timer_del(struct vm *vm, struct vm_timer *t);
void vm_timer_arm(struct vm *vm, struct vm_timer *t, uint64_t deadline_ns);
void vm_timer_cancel(struct vm *vm, struct vm_timer *t);

/*
 * A host file descriptor watched by the I/O thread: ready() is called, with
 * the device's mutex held, when fd is readable. Call from the device's
 * create(), one of its callbacks, or one of its port or MMIO handlers (any
 * thread): the watch carries that device's mutex. At most 32 in a VM.
 */
int vm_watch_fd(struct vm *vm, int fd, void (*ready)(void *opaque),
		void *opaque);
/* The same under a mutex the caller names (a device's, whatever the calling thread). */
int vm_watch_fd_locked(struct vm *vm, int fd, void (*ready)(void *opaque),
		       void *opaque, pthread_mutex_t *lock);
void vm_unwatch_fd(struct vm *vm, int fd);

/* ---- life cycle, called by devices ---- */

/* Guest asked for a reset (i8042 pulse, PIIX3 0xcf9, triple fault). */
void vm_request_reset(struct vm *vm);
/* Guest powered off (ACPI PM), or the user quit: end with this status. */
void vm_request_exit(struct vm *vm, int status);

/* Another device's state by type name ("pic", "pci", ...), or NULL. */
void *vm_device(struct vm *vm, const char *name);
/* In a create(): which instance of its type is being made (0 for the first). */
unsigned int vm_device_index(const struct vm *vm);

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

/*
 * Memory a device provides as guest RAM (a framebuffer BAR), so that the
 * guest reaches it without exits. vm_ram_slot() reserves a memory slot for
 * the VM's life; vm_map_ram() maps guest [gpa, gpa + size) to hva through
 * it, replacing what the slot mapped, or only unmaps with size 0. Returns
 * -1 (message printed) when no slot is left or the range overlaps other
 * memory. Callable from any thread.
 */
int vm_ram_slot(struct vm *vm);
int vm_map_ram(struct vm *vm, int slot, uint64_t gpa, uint64_t size, void *hva);
/*
 * Dirty logging of a device slot (a framebuffer): after vm_ram_log_dirty,
 * the slot's mappings log the guest's writes, and vm_ram_dirty fills
 * bitmap (a bit a 4 KiB page of what the slot maps now, bitmap_len bytes,
 * at least one bit a page) with the pages written since its last call,
 * clearing the log. Returns 1 when some page was written, 0 when none, -1
 * when nothing is mapped or the hypervisor cannot say (take all as dirty).
 */
void vm_ram_log_dirty(struct vm *vm, int slot);
int vm_ram_dirty(struct vm *vm, int slot, unsigned long *bitmap, size_t bitmap_len);

#endif
