/* launcher/irq.c: where the interrupt controllers live, and how lines and MSIs reach them (GSI routing, irqfd). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm.h"

/*
 * Locking: the GSI routing table (vm->route*) is changed under
 * vm->route_lock and handed to KVM whole (KVM_SET_GSI_ROUTING replaces it).
 * KVM_IRQ_LINE, KVM_SIGNAL_MSI and irqfd writes need no lock of ours: any
 * thread may raise a line. The userspace PIC (irqchip "user" and "split")
 * is under its device mutex (vm->irqchip_lock); the userspace IOAPIC
 * ("split") under its own (vm->ioapic_lock). Order: PIC before IOAPIC
 * before route_lock; nothing is called with route_lock held.
 */

#define IOAPIC_PINS	24

static int check_cap(struct vm *vm, int cap)
{
	return ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap);
}

/* ---- the GSI routing table ---- */

static void route_irqchip(struct vm *vm, unsigned int gsi, unsigned int chip, unsigned int pin)
{
	vm->route[vm->nr_route++] = (struct kvm_irq_routing_entry){
		.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = chip, .pin = pin },
	};
}

/* Hand the table to KVM. Called with route_lock held (or before any thread). */
static int routes_commit(struct vm *vm)
{
	struct kvm_irq_routing *r;
	size_t sz = sizeof(*r) + vm->nr_route * sizeof(r->entries[0]);
	int ret;

	r = calloc(1, sz);
	if (!r)
		return -1;
	r->nr = vm->nr_route;
	memcpy(r->entries, vm->route, vm->nr_route * sizeof(r->entries[0]));
	ret = ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r);
	if (ret < 0)
		fprintf(stderr, "kvm-launch: KVM_SET_GSI_ROUTING: %s\n", strerror(errno));
	free(r);
	return ret < 0 ? -1 : 0;
}

/*
 * The PC's wiring, as QEMU gives it to KVM: ISA IRQs to the 8259 pair,
 * every GSI to the IOAPIC pin of that number except IRQ0, which the
 * guest finds on pin 2 (the MADT's interrupt source override). KVM's own
 * default puts IRQ0 on pin 0, which the tables would contradict.
 */
static int routes_pc(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < 16; i++)
		if (i != 2)
			route_irqchip(vm, i, i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				      i % 8);
	for (i = 0; i < IOAPIC_PINS; i++)
		if (i != 2)
			route_irqchip(vm, i, KVM_IRQCHIP_IOAPIC, i ? i : 2);
	vm->next_gsi = IOAPIC_PINS;
	return routes_commit(vm);
}

static struct kvm_irq_routing_entry *route_find(struct vm *vm, unsigned int gsi)
{
	for (unsigned int i = 0; i < vm->nr_route; i++)
		if (vm->route[i].gsi == gsi && vm->route[i].type == KVM_IRQ_ROUTING_MSI)
			return &vm->route[i];
	return NULL;
}

/* Point GSI gsi at an MSI (addr, data), adding the route if new. */
static int route_msi(struct vm *vm, unsigned int gsi, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing_entry *e;
	int ret;

	pthread_mutex_lock(&vm->route_lock);
	e = route_find(vm, gsi);
	if (!e) {
		if (vm->nr_route == VM_MAX_ROUTES) {
			pthread_mutex_unlock(&vm->route_lock);
			fprintf(stderr, "kvm-launch: more than %d interrupt routes\n", VM_MAX_ROUTES);
			return -1;
		}
		e = &vm->route[vm->nr_route++];
		*e = (struct kvm_irq_routing_entry){ .gsi = gsi, .type = KVM_IRQ_ROUTING_MSI };
	}
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
	ret = routes_commit(vm);
	pthread_mutex_unlock(&vm->route_lock);
	return ret;
}

static void route_del(struct vm *vm, unsigned int gsi)
{
	struct kvm_irq_routing_entry *e;

	pthread_mutex_lock(&vm->route_lock);
	e = route_find(vm, gsi);
	if (e) {
		*e = vm->route[--vm->nr_route];
		routes_commit(vm);
	}
	pthread_mutex_unlock(&vm->route_lock);
}

/* ---- lines: vm_irq_line() ---- */

/* The userspace PIC ("user", "split"): vCPU 0 learns of it by a kick. */
static void pic_set(struct vm *vm, unsigned int irq, int level)
{
	bool pending;

	if (!vm->irqchip || irq >= 16)
		return;
	pthread_mutex_lock(vm->irqchip_lock);
	vm->irqchip->set(vm->irqchip_opaque, irq, level);
	pending = vm->irqchip->pending(vm->irqchip_opaque);
	pthread_mutex_unlock(vm->irqchip_lock);
	if (pending) {
		pthread_mutex_lock(&vm->halt_lock);
		pthread_cond_broadcast(&vm->halt_cond);
		pthread_mutex_unlock(&vm->halt_lock);
		/* vCPU 0 injects before it enters again: no kick for itself */
		if (atomic_load(&vm->vcpu[0].started) &&
		    !pthread_equal(pthread_self(), vm->vcpu[0].thread))
			vcpu_kick(&vm->vcpu[0]);
	}
}

static void irq_set(void *ctx, unsigned int irq, int level)
{
	struct vm *vm = ctx;
	struct kvm_irq_level l = { .irq = irq, .level = level };

	switch (vm->irqchip_mode) {
	case CFG_IRQCHIP_USER:
		pic_set(vm, irq, level);
		return;
	case CFG_IRQCHIP_SPLIT:
		pic_set(vm, irq, level);
		if (vm->ioapic && irq < IOAPIC_PINS) {
			pthread_mutex_lock(vm->ioapic_lock);
			/* The MADT's override: ISA IRQ0 is IOAPIC pin 2. */
			vm->ioapic->set(vm->ioapic_opaque, irq ? irq : 2, level);
			pthread_mutex_unlock(vm->ioapic_lock);
		}
		return;
	case CFG_IRQCHIP_KERNEL:
		break;
	}
	/* The in-kernel PIC and IOAPIC: KVM_IRQ_LINE is safe from any thread. */
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		fprintf(stderr, "kvm-launch: KVM_IRQ_LINE %u: %s\n", irq, strerror(errno));
}

struct irq_line vm_irq_line(struct vm *vm, unsigned int irq)
{
	return (struct irq_line){ .set = irq_set, .ctx = vm, .irq = irq };
}

void vm_set_irqchip(struct vm *vm, const struct vm_irqchip *chip, void *opaque)
{
	vm->irqchip = chip;
	vm->irqchip_opaque = opaque;
	vm->irqchip_lock = vm->creating;
}

/* ---- the userspace IOAPIC of "split" ---- */

void vm_set_ioapic(struct vm *vm, const struct vm_ioapic *chip, void *opaque)
{
	vm->ioapic = chip;
	vm->ioapic_opaque = opaque;
	vm->ioapic_lock = vm->creating;
}

/*
 * Pin p's redirection entry now reads as the MSI (addr, data): GSI p
 * routes there. KVM learns from these routes which vectors are level
 * triggered, and exits with KVM_EXIT_IOAPIC_EOI when the guest EOIs one.
 */
int vm_ioapic_route(struct vm *vm, unsigned int pin, uint64_t addr, uint32_t data)
{
	return route_msi(vm, pin, addr, data);
}

/*
 * The IOAPIC delivers pin p through GSI p's MSI route, as QEMU does, so
 * the message is the one KVM scanned for level vectors. An MSI route
 * acts on level 1 only; there is nothing to lower.
 */
void vm_ioapic_deliver(struct vm *vm, unsigned int pin)
{
	struct kvm_irq_level l = { .irq = pin, .level = 1 };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		fprintf(stderr, "kvm-launch: KVM_IRQ_LINE %u: %s\n", pin, strerror(errno));
}

void vm_ioapic_eoi(struct vm *vm, unsigned int vector)
{
	if (!vm->ioapic)
		return;
	pthread_mutex_lock(vm->ioapic_lock);
	vm->ioapic->eoi(vm->ioapic_opaque, vector);
	pthread_mutex_unlock(vm->ioapic_lock);
}

/* ---- MSIs for devices ---- */

bool vm_has_msi(const struct vm *vm)
{
	return vm->irqchip_mode != CFG_IRQCHIP_USER;
}

int vm_msi_init(struct vm *vm, struct vm_msi *m)
{
	struct kvm_irqfd irqfd = { 0 };

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (!vm_has_msi(vm))
		return -1;
	if (!vm->has_irqfd)
		return 0;	/* KVM_SIGNAL_MSI on every raise */
	pthread_mutex_lock(&vm->route_lock);
	m->gsi = vm->next_gsi++;
	pthread_mutex_unlock(&vm->route_lock);
	m->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->fd < 0)
		return -1;
	/* Until the guest programs it, the route points nowhere a LAPIC answers. */
	if (route_msi(vm, m->gsi, 0xfee00000, 0))
		goto fail;
	irqfd.fd = (uint32_t)m->fd;
	irqfd.gsi = m->gsi;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		fprintf(stderr, "kvm-launch: KVM_IRQFD: %s\n", strerror(errno));
		route_del(vm, m->gsi);
		goto fail;
	}
	return 0;
fail:
	close(m->fd);
	m->fd = -1;
	return -1;
}

void vm_msi_set(struct vm *vm, struct vm_msi *m, uint64_t addr, uint32_t data)
{
	if (m->addr == addr && m->data == data && m->valid)
		return;
	m->addr = addr;
	m->data = data;
	m->valid = true;
	if (m->fd >= 0)
		route_msi(vm, m->gsi, addr, data);
}

void vm_msi_raise(struct vm *vm, struct vm_msi *m)
{
	uint64_t one = 1;

	if (!m->valid)
		return;
	if (m->fd >= 0) {
		if (write(m->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			perror("kvm-launch: irqfd");
		return;
	}
	vm_send_msi(vm, m->addr, m->data);
}

void vm_msi_free(struct vm *vm, struct vm_msi *m)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)m->fd, .gsi = m->gsi,
				   .flags = KVM_IRQFD_FLAG_DEASSIGN };

	if (m->fd < 0)
		return;
	ioctl(vm->vm_fd, KVM_IRQFD, &irqfd);
	route_del(vm, m->gsi);
	close(m->fd);
	m->fd = -1;
}

int vm_send_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data,
	};

	if (!vm_has_msi(vm))
		return -1;
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0) {
		fprintf(stderr, "kvm-launch: KVM_SIGNAL_MSI: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- ioeventfd ---- */

int vm_ioeventfd(struct vm *vm, bool pio, uint64_t addr, unsigned int len,
		 bool match, uint64_t datamatch)
{
	struct kvm_ioeventfd io = {
		.addr = addr, .len = len, .datamatch = datamatch,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0),
	};
	int fd;

	if (!vm->has_ioeventfd)
		return -1;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -1;
	io.fd = fd;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		fprintf(stderr, "kvm-launch: KVM_IOEVENTFD %#llx: %s\n",
			(unsigned long long)addr, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void vm_ioeventfd_del(struct vm *vm, int fd, bool pio, uint64_t addr, unsigned int len,
		      bool match, uint64_t datamatch)
{
	struct kvm_ioeventfd io = {
		.addr = addr, .len = len, .datamatch = datamatch, .fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DEASSIGN | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0),
	};

	if (fd < 0)
		return;
	ioctl(vm->vm_fd, KVM_IOEVENTFD, &io);
	close(fd);
}

/* ---- creation ---- */

static int check_vcpus(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	int max = check_cap(vm, KVM_CAP_MAX_VCPUS);

	if (max <= 0)
		max = check_cap(vm, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4;	/* KVM's documented floor without the capability */
	if (cfg->vcpus > (unsigned int)max) {
		fprintf(stderr, "%s:%d: vcpus: %u vCPUs asked, %s allows %d (KVM_CAP_MAX_VCPUS)\n",
			cfg->path, cfg->vcpus_line, cfg->vcpus, cfg->hypervisor, max);
		return -1;
	}
	return 0;
}

/* The capability a mode needs, or a message at the line that chose it. */
static int need_cap(struct vm *vm, int cap, const char *cap_name, int line,
		    const char *setting, const char *what)
{
	const struct vm_config *cfg = vm->cfg;

	if (check_cap(vm, cap) > 0)
		return 0;
	fprintf(stderr, "%s:%d: %s: %s has no %s (%s)\n", cfg->path, line, setting,
		cfg->hypervisor, what, cap_name);
	return -1;
}

static int create_kernel_irqchip(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;

	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		fprintf(stderr, "kvm-launch: KVM_CREATE_IRQCHIP: %s\n", strerror(errno));
		return -1;
	}
	if (routes_pc(vm))
		return -1;
	if (vm->kernel_pit) {
		struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

		if (check_cap(vm, KVM_CAP_PIT2) <= 0) {
			if (cfg->pit_line)
				return need_cap(vm, KVM_CAP_PIT2, "KVM_CAP_PIT2", cfg->pit_line,
						"pit", "in-kernel PIT");
			vm->kernel_pit = false;
		} else if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
			fprintf(stderr, "kvm-launch: KVM_CREATE_PIT2: %s\n", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int create_split_irqchip(struct vm *vm)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_SPLIT_IRQCHIP, .args = { IOAPIC_PINS },
	};

	if (need_cap(vm, KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP", vm->cfg->irqchip_line,
		     "irqchip", "split interrupt controller"))
		return -1;
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		fprintf(stderr, "kvm-launch: KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): %s\n",
			strerror(errno));
		return -1;
	}
	vm->next_gsi = IOAPIC_PINS;	/* GSIs 0-23: the IOAPIC's pins, routed as it is programmed */
	return 0;
}

/*
 * Resolve irqchip and pit against what the hypervisor offers, and create
 * the in-kernel parts. Called before any vCPU exists, as KVM requires.
 */
int irq_setup(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;

	pthread_mutex_init(&vm->route_lock, NULL);
	if (check_vcpus(vm))
		return -1;
	vm->irqchip_mode = cfg->irqchip;
	vm->kernel_pit = cfg->pit == CFG_PIT_KERNEL;
	if (vm->irqchip_mode != CFG_IRQCHIP_USER && check_cap(vm, KVM_CAP_IRQCHIP) <= 0) {
		if (cfg->irqchip_given || cfg->vcpus > 1) {
			fprintf(stderr, "%s:%d: %s: %s has no in-kernel interrupt controller (KVM_CAP_IRQCHIP)%s\n",
				cfg->path, cfg->irqchip_given ? cfg->irqchip_line : cfg->vcpus_line,
				cfg->irqchip_given ? "irqchip" : "vcpus", cfg->hypervisor,
				cfg->vcpus > 1 ? ": more than 1 vCPU needs one" : "");
			return -1;
		}
		/* The default where there is none: the userspace PIC. */
		vm->irqchip_mode = CFG_IRQCHIP_USER;
		vm->kernel_pit = false;
	}
	vm->has_irqfd = check_cap(vm, KVM_CAP_IRQFD) > 0 && check_cap(vm, KVM_CAP_IRQ_ROUTING) > 0;
	vm->has_ioeventfd = check_cap(vm, KVM_CAP_IOEVENTFD) > 0;
	switch (vm->irqchip_mode) {
	case CFG_IRQCHIP_USER:
		vm->has_irqfd = false;	/* irqfd needs the in-kernel LAPIC */
		return 0;
	case CFG_IRQCHIP_SPLIT:
		return create_split_irqchip(vm);
	case CFG_IRQCHIP_KERNEL:
		break;
	}
	return create_kernel_irqchip(vm);
}

void irq_free(struct vm *vm)
{
	pthread_mutex_destroy(&vm->route_lock);
}
