/* launcher/vm.c: the VM object: KVM fds, guest RAM, interrupt controllers, devices, life cycle. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/cpu.h"
#include "arch/layout.h"
#include "arch/linux.h"
#include "dev-vga.h"
#include "vmm.h"

/* The linker collects every DEVICE_TYPE() pointer between these. */
extern const struct device_type *const __start_vm_device_types[];
extern const struct device_type *const __stop_vm_device_types[];

/* ---- services for devices (vm.h) ---- */

int vm_register_pio(struct vm *vm, uint16_t base, uint16_t len,
		    const struct io_ops *ops, void *opaque)
{
	return iobus_add_locked(&vm->pio, base, len, ops, opaque, vm->creating);
}

int vm_register_pio_locked(struct vm *vm, uint16_t base, uint16_t len,
			   const struct io_ops *ops, void *opaque, pthread_mutex_t *lock)
{
	return iobus_add_locked(&vm->pio, base, len, ops, opaque, lock);
}

pthread_mutex_t *vm_creating_lock(struct vm *vm)
{
	return vm->creating;
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
	return iobus_add_locked(&vm->mmio, base, len, ops, opaque, vm->creating);
}

int vm_register_mmio_locked(struct vm *vm, uint64_t base, uint64_t len,
			    const struct io_ops *ops, void *opaque, pthread_mutex_t *lock)
{
	return iobus_add_locked(&vm->mmio, base, len, ops, opaque, lock);
}

void vm_unregister_mmio(struct vm *vm, uint64_t base, void *opaque)
{
	iobus_del(&vm->mmio, base, opaque);
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

/*
 * Device slots follow the RAM slots and the firmware ROM's (nr_ram);
 * firmware.c takes its PAM slots from the top of the hypervisor's range.
 */
int vm_ram_slot(struct vm *vm)
{
	if (vm->nr_dev_slots == VM_MAX_DEV_SLOTS) {
		fprintf(stderr, "kvm-launch: more than %d device memory slots\n", VM_MAX_DEV_SLOTS);
		return -1;
	}
	return (int)(vm->nr_ram + 1 + vm->nr_dev_slots++);
}

int vm_map_ram(struct vm *vm, int slot, uint64_t gpa, uint64_t size, void *hva)
{
	unsigned int i = (unsigned int)slot - vm->nr_ram - 1;
	struct kvm_userspace_memory_region r = { .slot = (uint32_t)slot };

	if (slot < 0 || i >= vm->nr_dev_slots)
		return -1;
	/* a slot moves by going away first */
	if (vm->dev_slot_size[i]) {
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
			fprintf(stderr, "kvm-launch: unmapping memory slot %d: %s\n", slot, strerror(errno));
			return -1;
		}
		vm->dev_slot_size[i] = 0;
	}
	if (!size)
		return 0;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = (uintptr_t)hva;
	if (vm->dev_slot_log[i])
		r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		fprintf(stderr, "kvm-launch: mapping %llu KiB at 0x%llx: %s\n",
			(unsigned long long)(size >> 10), (unsigned long long)gpa, strerror(errno));
		return -1;
	}
	vm->dev_slot_size[i] = size;
	return 0;
}

void vm_ram_log_dirty(struct vm *vm, int slot)
{
	unsigned int i = (unsigned int)slot - vm->nr_ram - 1;

	if (slot >= 0 && i < vm->nr_dev_slots)
		vm->dev_slot_log[i] = true;
}

int vm_ram_dirty(struct vm *vm, int slot, unsigned long *bitmap, size_t bitmap_len)
{
	unsigned int i = (unsigned int)slot - vm->nr_ram - 1;
	struct kvm_dirty_log log = { .slot = (uint32_t)slot, .dirty_bitmap = bitmap };
	size_t words;

	if (slot < 0 || i >= vm->nr_dev_slots || !vm->dev_slot_log[i] || !vm->dev_slot_size[i] ||
	    bitmap_len * 8 < vm->dev_slot_size[i] / 4096)
		return -1;
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return -1;
	/* KVM fills whole longs of the slot's pages */
	words = (vm->dev_slot_size[i] / 4096 + 63) / 64;
	for (size_t w = 0; w < words; w++)
		if (bitmap[w])
			return 1;
	return 0;
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

/* The first request decides how the VM ends; every thread is told. */
static void vm_end(struct vm *vm, enum vm_end end, int status)
{
	bool was = false;
	unsigned int i;

	if (atomic_compare_exchange_strong(&vm->stop, &was, true)) {
		atomic_store(&vm->end, end);
		atomic_store(&vm->exit_status, status);
	}
	pthread_mutex_lock(&vm->halt_lock);
	pthread_cond_broadcast(&vm->halt_cond);
	pthread_mutex_unlock(&vm->halt_lock);
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpu[i].started && !pthread_equal(pthread_self(), vm->vcpu[i].thread))
			vcpu_kick(&vm->vcpu[i]);
	iothread_wake(vm);
}

void vm_request_reset(struct vm *vm)
{
	vm_end(vm, VM_END_RESET, 0);
}

void vm_request_exit(struct vm *vm, int status)
{
	vm_end(vm, VM_END_EXIT, status);
}

unsigned int vm_device_index(const struct vm *vm)
{
	return vm->creating_index;
}

void *vm_device(struct vm *vm, const char *name)
{
	unsigned int i;

	for (i = 0; i < vm->nr_dev; i++)
		if (!strcmp(vm->dev[i].type->name, name))
			return vm->dev[i].state;
	return NULL;
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

	types = malloc(n * sizeof(*types) + 1);
	if (!types)
		return -1;
	for (i = 0; i < n; i++)
		types[i] = __start_vm_device_types[i];
	qsort(types, n, sizeof(*types), cmp_dev);
	for (i = 0; i < n; i++) {
		unsigned int k, count = types[i]->instances ? types[i]->instances(vm->cfg) : 1;

		for (k = 0; k < count; k++) {
			pthread_mutex_t *lock = &vm->dev[vm->nr_dev].lock;
			void *state = NULL;
			int ret;

			if (vm->nr_dev == VM_MAX_DEVICES) {
				fprintf(stderr, "kvm-launch: more than %d devices\n", VM_MAX_DEVICES);
				free(types);
				return -1;
			}
			/* What create() registers is dispatched under this mutex. */
			pthread_mutex_init(lock, NULL);
			vm->creating = lock;
			vm->creating_index = k;
			ret = types[i]->create(vm, &state);
			vm->creating = NULL;
			if (ret || !state)
				pthread_mutex_destroy(lock);
			if (ret) {
				free(types);
				return -1;
			}
			if (state) {
				vm->dev[vm->nr_dev].type = types[i];
				vm->dev[vm->nr_dev].state = state;
				vm->nr_dev++;
			}
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
	return cpu_setup_linux(vm->vcpu[0].fd, &mem, entry, entry64);
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


void vm_run(struct vm *vm)
{
	unsigned int i;

	/* quit signals are blocked since iothread_setup(): its signalfd takes them */
	if (iothread_start(vm)) {
		vm_request_exit(vm, 1);
		return;
	}
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_start(&vm->vcpu[i])) {
			vm_request_exit(vm, 1);
			break;
		}
	for (i = 0; i < vm->nr_vcpus; i++)
		if (atomic_load(&vm->vcpu[i].started))
			pthread_join(vm->vcpu[i].thread, NULL);
	iothread_stop(vm);
}

static void screendump_asked(struct vm *vm)
{
	vm_screendump(vm, true);
}

struct vm *vm_create(const struct vm_config *cfg)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	unsigned int i;
	int api;

	if (!vm)
		return NULL;
	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = vm->wake_fd = vm->signal_fd = -1;
	for (i = 0; i < CFG_MAX_VCPUS; i++)
		vm->vcpu[i].fd = -1;
	vm->pio.name = "port";
	vm->mmio.name = "MMIO";
	pthread_rwlock_init(&vm->pio.lock, NULL);
	pthread_rwlock_init(&vm->mmio.lock, NULL);
	pthread_mutex_init(&vm->halt_lock, NULL);
	pthread_cond_init(&vm->halt_cond, NULL);
	vm->gmem = (struct guest_mem){ gmem_map, vm };
	vm->clock = (struct hw_clock){ monotonic_ns, NULL };
	vm->trace_io = getenv("KVM_LAUNCH_TRACE_IO") != NULL;
	vm->on_usr2 = screendump_asked;

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
	if (irq_setup(vm) || setup_ram(vm) || vcpu_signal_setup())
		goto fail;
	for (i = 0; i < cfg->vcpus; i++)
		if (vcpu_create(vm, i))
			goto fail;
	coalesced_init(&vm->coalesced, vm->kvm_fd, vm->vcpu[0].run, vm->run_size);
	if (iothread_setup(vm) || create_devices(vm))
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
	for (i = vm->nr_dev; i-- > 0;) {
		vm->dev[i].type->destroy(vm->dev[i].state);
		pthread_mutex_destroy(&vm->dev[i].lock);
	}
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpu[i]);
	iothread_free(vm);
	irq_free(vm);
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
	pthread_rwlock_destroy(&vm->pio.lock);
	pthread_rwlock_destroy(&vm->mmio.lock);
	pthread_mutex_destroy(&vm->halt_lock);
	pthread_cond_destroy(&vm->halt_cond);
	free(vm);
}
