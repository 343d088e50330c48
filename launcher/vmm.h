/* launcher/vmm.h: the VM object's insides: vCPUs, the I/O thread, devices, and who locks what. */
#ifndef LAUNCHER_VMM_H
#define LAUNCHER_VMM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "arch/e820.h"
#include "arch/layout.h"
#include "coalesced.h"
#include "device.h"
#include "iobus.h"
#include "vm.h"

/*
 * Threads and locks. Read this before touching any state below.
 *
 * - main: builds the VM (vm_create), starts the threads (vm_run), joins
 *   them, destroys the VM. Nothing else runs while it builds or destroys.
 * - vcpuN (one per vCPU, named so for top -H and ps -L): KVM_RUN and the
 *   exits it brings (port and MMIO accesses, HLT without an in-kernel
 *   irqchip). Only its own struct vcpu is touched without a lock.
 * - io: the event loop (iothread.c): every vm_timer and watched fd, and
 *   SIGINT/SIGTERM/SIGHUP (signalfd). Device callbacks fire there.
 * - slirp (one per NIC with backend = "user", net-slirp.c): libslirp's
 *   poll loop and timers; hands frames to its NIC under the NIC's mutex.
 * - vnc or term (display.type, ui-vnc.c, ui-terminal.c): the display
 *   frontend, started by main before the first machine and kept across
 *   resets; it reads the VGA and feeds the i8042 through pc_vga_* and
 *   pc_kbd_key/pc_mouse_event, which take those devices' mutexes. Its own
 *   lock comes before them; no device calls a frontend.
 *
 * Each device instance has its own mutex (struct vm.dev[].lock). Every
 * port or MMIO range, timer and watched fd a device registers while
 * create() runs carries that mutex: the dispatcher takes it around the
 * callback, so a device model sees one caller at a time, from whichever
 * thread. There is no lock common to all devices on the exit path.
 *
 * Lock order (outer first): PCI bus mutex (config cycles) -> device
 * mutex -> PCI INTx lock -> irqchip (the userspace PIC's, then IOAPIC's
 * device mutex, taken by vm_irq_line's setter) -> leaf locks (iobus
 * rwlock, timer list, watch table, coalesced ring, halt, GSI routes). A
 * device never calls into another device except through an irq_line;
 * leaf locks call nothing. A watch added by a running callback
 * or port handler carries that device's mutex. A NIC's network backend
 * (net.h) has its locks after the NIC's mutex (libslirp's: net-slirp.c).
 *
 * The iobus is read under its rwlock and the callback runs after it is
 * released, so a handler may move ranges (a PCI BAR) without deadlock.
 * vm->stop, end and exit_status change through vm_request_*(), atomically.
 */

#define VM_MAX_DEVICES	64
#define VM_MAX_WATCHES	32
#define VM_MAX_ROUTES	256
#define VM_MAX_DEV_SLOTS	4	/* device memory slots (vm_ram_slot) */

/* What a userspace interrupt controller offers the vCPU loop (irqchip = "user"). */
struct vm_irqchip {
	void (*set)(void *chip, unsigned int irq, int level);
	bool (*pending)(void *chip);		/* an interrupt awaits INTA */
	int (*ack)(void *chip);			/* INTA: the vector */
};
/* Called by the PIC device when it is created. */
void vm_set_irqchip(struct vm *vm, const struct vm_irqchip *chip, void *opaque);

/* The userspace IOAPIC of irqchip = "split" (dev-ioapic.c); see irq.c. */
struct vm_ioapic {
	void (*set)(void *chip, unsigned int pin, int level);
	void (*eoi)(void *chip, unsigned int vector);	/* KVM_EXIT_IOAPIC_EOI */
};
void vm_set_ioapic(struct vm *vm, const struct vm_ioapic *chip, void *opaque);
/* Pin's redirection entry changed: GSI pin now routes to this MSI. */
int vm_ioapic_route(struct vm *vm, unsigned int pin, uint64_t addr, uint32_t data);
/* Deliver pin through its route. */
void vm_ioapic_deliver(struct vm *vm, unsigned int pin);
void vm_ioapic_eoi(struct vm *vm, unsigned int vector);

enum vm_end { VM_END_EXIT, VM_END_RESET };

struct vcpu {
	struct vm *vm;
	unsigned int id;		/* also its APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	atomic_bool started;		/* thread is valid (set by main after creating it) */
};

struct vm {
	const struct vm_config *cfg;
	int kvm_fd, vm_fd;
	size_t run_size;
	struct vcpu vcpu[CFG_MAX_VCPUS];
	unsigned int nr_vcpus;
	struct coalesced coalesced;	/* writes KVM queued without an exit */

	/* resolved from cfg and the hypervisor's capabilities */
	enum cfg_irqchip irqchip_mode;
	bool kernel_pit;

	struct cfg_slot ram[LAYOUT_MAX_RAM];
	void *ram_hva[LAYOUT_MAX_RAM];
	unsigned int nr_ram;
	unsigned int nr_dev_slots;	/* memory slots devices took (vm_ram_slot) */
	uint64_t dev_slot_size[VM_MAX_DEV_SLOTS];	/* what each maps now, 0: nothing */
	bool dev_slot_log[VM_MAX_DEV_SLOTS];	/* KVM_MEM_LOG_DIRTY_PAGES on its mappings */
	void *rom;			/* firmware image mapping (BIOS boot) */
	size_t rom_size;
	struct e820_entry e820[E820_MAX];
	unsigned int nr_e820;
	struct guest_mem gmem;
	struct hw_clock clock;

	struct iobus pio, mmio;
	/* irqchip = "user": the PIC, its lock, and halted vCPU 0's wake-up */
	const struct vm_irqchip *irqchip;
	void *irqchip_opaque;
	pthread_mutex_t *irqchip_lock;
	pthread_mutex_t halt_lock;
	pthread_cond_t halt_cond;
	/* irqchip = "split": the IOAPIC in kvm-launch */
	const struct vm_ioapic *ioapic;
	void *ioapic_opaque;
	pthread_mutex_t *ioapic_lock;

	/* GSI routing, irqfd and ioeventfd (irq.c) */
	pthread_mutex_t route_lock;
	struct kvm_irq_routing_entry route[VM_MAX_ROUTES];
	unsigned int nr_route;
	unsigned int next_gsi;		/* the next GSI for a device's MSI */
	bool has_irqfd, has_ioeventfd;

	/* the I/O thread (iothread.c) */
	pthread_mutex_t timer_lock;	/* the list and every deadline */
	struct vm_timer *timers;
	struct {
		int fd;
		void (*ready)(void *opaque);
		void *opaque;
		pthread_mutex_t *lock;
	} watch[VM_MAX_WATCHES];
	unsigned int nr_watch;
	pthread_mutex_t watch_lock;	/* the watch table (not held across ready()) */
	int wake_fd;			/* eventfd: timers or watches changed, or stop */
	int signal_fd;
	/* SIGUSR2: a screendump (vm.c sets it; a test's fake VM may leave it NULL) */
	void (*on_usr2)(struct vm *vm);
	pthread_t io_thread;
	bool io_started;

	struct {
		const struct device_type *type;
		void *state;
		pthread_mutex_t lock;
	} dev[VM_MAX_DEVICES];
	unsigned int nr_dev;
	pthread_mutex_t *creating;	/* the lock of the device being created */
	unsigned int creating_index;	/* which instance of its type (vm_device_index) */

	atomic_bool stop;		/* leave the run loops */
	atomic_int end;			/* enum vm_end */
	atomic_int exit_status;
	bool trace_io;			/* KVM_LAUNCH_TRACE_IO set */
};

/* Build everything from cfg: KVM fds, RAM, devices, loaded kernel. */
struct vm *vm_create(const struct vm_config *cfg);
/* Run the vCPU threads and the I/O thread until the VM ends (vm->end). */
void vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* irq.c: the interrupt controllers, created before the vCPUs. */
int irq_setup(struct vm *vm);
void irq_free(struct vm *vm);

/* iothread.c: the event loop; setup before devices, start after. */
int iothread_setup(struct vm *vm);
int iothread_start(struct vm *vm);
void iothread_stop(struct vm *vm);
void iothread_wake(struct vm *vm);
void iothread_free(struct vm *vm);

/* vcpu.c */
int vcpu_create(struct vm *vm, unsigned int id);
void vcpu_destroy(struct vcpu *vcpu);
int vcpu_start(struct vcpu *vcpu);
/* Make a vCPU leave KVM_RUN (and a userspace HLT) soon. */
void vcpu_kick(struct vcpu *vcpu);
/* The signal that kicks: installed once, per process. */
int vcpu_signal_setup(void);

#endif
