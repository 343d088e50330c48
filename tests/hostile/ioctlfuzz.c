/* tests/hostile/ioctlfuzz.c: random ioctls with random argument structs, sizes and bad pointers on /dev/kvm, VM and vCPU fds, from several threads; the kernel must survive and answer. */
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"
#include "../lib/tap.h"

enum fd_kind { FD_SYS, FD_VM, FD_VCPU, FD_DEV, FD_ANY, NR_KINDS };
static const char *const kind_names[] = { "system", "VM", "vCPU", "device", "any" };

struct ioctl_def {
	const char *name;
	unsigned long nr;
	int kind;
};

/* The ioctls <linux/kvm.h> defines (other architectures' too, where their
 * structs are complete on x86), with the fd kind each belongs to. */
#define I(n, k) { #n, n, k }
static const struct ioctl_def defs[] = {
	I(KVM_GET_API_VERSION, FD_SYS),
	I(KVM_CREATE_VM, FD_SYS),
	I(KVM_GET_MSR_INDEX_LIST, FD_SYS),
	I(KVM_S390_ENABLE_SIE, FD_SYS),
	I(KVM_CHECK_EXTENSION, FD_ANY),
	I(KVM_GET_VCPU_MMAP_SIZE, FD_SYS),
	I(KVM_GET_SUPPORTED_CPUID, FD_SYS),
	I(KVM_GET_EMULATED_CPUID, FD_SYS),
	I(KVM_GET_MSR_FEATURE_INDEX_LIST, FD_SYS),
	I(KVM_SET_MEMORY_REGION, FD_VM),
	I(KVM_CREATE_VCPU, FD_VM),
	I(KVM_GET_DIRTY_LOG, FD_VM),
	I(KVM_SET_MEMORY_ALIAS, FD_VM),
	I(KVM_SET_NR_MMU_PAGES, FD_VM),
	I(KVM_GET_NR_MMU_PAGES, FD_VM),
	I(KVM_SET_USER_MEMORY_REGION, FD_VM),
	I(KVM_SET_TSS_ADDR, FD_VM),
	I(KVM_SET_IDENTITY_MAP_ADDR, FD_VM),
	I(KVM_S390_UCAS_MAP, FD_VM),
	I(KVM_S390_UCAS_UNMAP, FD_VM),
	I(KVM_S390_VCPU_FAULT, FD_VM),
	I(KVM_CREATE_IRQCHIP, FD_VM),
	I(KVM_IRQ_LINE, FD_VM),
	I(KVM_GET_IRQCHIP, FD_VM),
	I(KVM_SET_IRQCHIP, FD_VM),
	I(KVM_CREATE_PIT, FD_VM),
	I(KVM_GET_PIT, FD_VM),
	I(KVM_SET_PIT, FD_VM),
	I(KVM_IRQ_LINE_STATUS, FD_VM),
	I(KVM_ASSIGN_PCI_DEVICE, FD_VM),
	I(KVM_SET_GSI_ROUTING, FD_VM),
	I(KVM_ASSIGN_DEV_IRQ, FD_VM),
	I(KVM_REINJECT_CONTROL, FD_VM),
	I(KVM_DEASSIGN_PCI_DEVICE, FD_VM),
	I(KVM_ASSIGN_SET_MSIX_NR, FD_VM),
	I(KVM_ASSIGN_SET_MSIX_ENTRY, FD_VM),
	I(KVM_DEASSIGN_DEV_IRQ, FD_VM),
	I(KVM_IRQFD, FD_VM),
	I(KVM_CREATE_PIT2, FD_VM),
	I(KVM_SET_BOOT_CPU_ID, FD_VM),
	I(KVM_IOEVENTFD, FD_VM),
	I(KVM_XEN_HVM_CONFIG, FD_VM),
	I(KVM_SET_CLOCK, FD_VM),
	I(KVM_GET_CLOCK, FD_VM),
	I(KVM_GET_PIT2, FD_VM),
	I(KVM_SET_PIT2, FD_VM),
	I(KVM_PPC_GET_PVINFO, FD_VM),
	I(KVM_SET_TSC_KHZ, FD_VM),
	I(KVM_GET_TSC_KHZ, FD_VM),
	I(KVM_ASSIGN_SET_INTX_MASK, FD_VM),
	I(KVM_SIGNAL_MSI, FD_VM),
	I(KVM_PPC_GET_SMMU_INFO, FD_VM),
	I(KVM_PPC_ALLOCATE_HTAB, FD_VM),
	I(KVM_ARM_SET_DEVICE_ADDR, FD_VM),
	I(KVM_PPC_RESIZE_HPT_PREPARE, FD_VM),
	I(KVM_PPC_RESIZE_HPT_COMMIT, FD_VM),
	I(KVM_SET_PMU_EVENT_FILTER, FD_VM),
	I(KVM_PPC_SVM_OFF, FD_VM),
	I(KVM_CREATE_DEVICE, FD_VM),
	I(KVM_SET_DEVICE_ATTR, FD_ANY),
	I(KVM_GET_DEVICE_ATTR, FD_ANY),
	I(KVM_HAS_DEVICE_ATTR, FD_ANY),
	I(KVM_RUN, FD_VCPU),
	I(KVM_GET_REGS, FD_VCPU),
	I(KVM_SET_REGS, FD_VCPU),
	I(KVM_GET_SREGS, FD_VCPU),
	I(KVM_SET_SREGS, FD_VCPU),
	I(KVM_TRANSLATE, FD_VCPU),
	I(KVM_INTERRUPT, FD_VCPU),
	I(KVM_GET_MSRS, FD_VCPU),
	I(KVM_SET_MSRS, FD_VCPU),
	I(KVM_SET_CPUID, FD_VCPU),
	I(KVM_SET_SIGNAL_MASK, FD_VCPU),
	I(KVM_GET_FPU, FD_VCPU),
	I(KVM_SET_FPU, FD_VCPU),
	I(KVM_GET_LAPIC, FD_VCPU),
	I(KVM_SET_LAPIC, FD_VCPU),
	I(KVM_SET_CPUID2, FD_VCPU),
	I(KVM_GET_CPUID2, FD_VCPU),
	I(KVM_TPR_ACCESS_REPORTING, FD_VCPU),
	I(KVM_SET_VAPIC_ADDR, FD_VCPU),
	I(KVM_S390_INTERRUPT, FD_VCPU),
	I(KVM_S390_STORE_STATUS, FD_VCPU),
	I(KVM_S390_SET_INITIAL_PSW, FD_VCPU),
	I(KVM_S390_INITIAL_RESET, FD_VCPU),
	I(KVM_GET_MP_STATE, FD_VCPU),
	I(KVM_SET_MP_STATE, FD_VCPU),
	I(KVM_NMI, FD_VCPU),
	I(KVM_SET_GUEST_DEBUG, FD_VCPU),
	I(KVM_X86_SETUP_MCE, FD_VCPU),
	I(KVM_X86_GET_MCE_CAP_SUPPORTED, FD_VCPU),
	I(KVM_X86_SET_MCE, FD_VCPU),
	I(KVM_GET_VCPU_EVENTS, FD_VCPU),
	I(KVM_SET_VCPU_EVENTS, FD_VCPU),
	I(KVM_GET_DEBUGREGS, FD_VCPU),
	I(KVM_SET_DEBUGREGS, FD_VCPU),
	I(KVM_ENABLE_CAP, FD_ANY),
	I(KVM_GET_XSAVE, FD_VCPU),
	I(KVM_SET_XSAVE, FD_VCPU),
	I(KVM_GET_XCRS, FD_VCPU),
	I(KVM_SET_XCRS, FD_VCPU),
	I(KVM_DIRTY_TLB, FD_VCPU),
	I(KVM_GET_ONE_REG, FD_VCPU),
	I(KVM_SET_ONE_REG, FD_VCPU),
	I(KVM_KVMCLOCK_CTRL, FD_VCPU),
	I(KVM_GET_REG_LIST, FD_VCPU),
	I(KVM_S390_MEM_OP, FD_VCPU),
	I(KVM_S390_GET_SKEYS, FD_VCPU),
	I(KVM_S390_SET_SKEYS, FD_VCPU),
	I(KVM_S390_IRQ, FD_VCPU),
	I(KVM_S390_SET_IRQ_STATE, FD_VCPU),
	I(KVM_S390_GET_IRQ_STATE, FD_VCPU),
	I(KVM_SMI, FD_VCPU),
	I(KVM_S390_GET_CMMA_BITS, FD_VCPU),
	I(KVM_S390_SET_CMMA_BITS, FD_VCPU),
	I(KVM_MEMORY_ENCRYPT_OP, FD_VM),
	I(KVM_MEMORY_ENCRYPT_REG_REGION, FD_VM),
	I(KVM_MEMORY_ENCRYPT_UNREG_REGION, FD_VM),
	I(KVM_HYPERV_EVENTFD, FD_VCPU),
	I(KVM_GET_NESTED_STATE, FD_VCPU),
	I(KVM_SET_NESTED_STATE, FD_VCPU),
	I(KVM_CLEAR_DIRTY_LOG, FD_VCPU),
	I(KVM_GET_SUPPORTED_HV_CPUID, FD_ANY),
	I(KVM_ARM_VCPU_FINALIZE, FD_VCPU),
	I(KVM_S390_NORMAL_RESET, FD_VCPU),
	I(KVM_S390_CLEAR_RESET, FD_VCPU),
	I(KVM_S390_PV_COMMAND, FD_VCPU),
	I(KVM_X86_SET_MSR_FILTER, FD_VCPU),
	I(KVM_RESET_DIRTY_RINGS, FD_VCPU),
	I(KVM_XEN_HVM_GET_ATTR, FD_VCPU),
	I(KVM_XEN_HVM_SET_ATTR, FD_VCPU),
	I(KVM_XEN_VCPU_GET_ATTR, FD_VCPU),
	I(KVM_XEN_VCPU_SET_ATTR, FD_VCPU),
	I(KVM_XEN_HVM_EVTCHN_SEND, FD_VCPU),
	I(KVM_GET_SREGS2, FD_VCPU),
	I(KVM_SET_SREGS2, FD_VCPU),
	I(KVM_GET_STATS_FD, FD_ANY),
	I(KVM_GET_XSAVE2, FD_VCPU),
	I(KVM_S390_PV_CPU_COMMAND, FD_VCPU),
	I(KVM_S390_ZPCI_OP, FD_VCPU),
};
#undef I
#define NR_DEFS (sizeof(defs) / sizeof(defs[0]))

#define MAX_FDS		48
#define MAX_THREADS	8
#define SLICE		(64 << 10)	/* one thread's argument buffers */
#define PAGE		4096
#define RAM_SIZE	(2 << 20)	/* backed guest RAM ... */
#define RAM_RESERVE	(1ULL << 30)	/* ... at the start of this much PROT_NONE */
#define MAX_ERRNO	140

struct options {
	uint64_t seed;
	uint32_t seeds;
	uint32_t ops;
	uint32_t threads;
	uint32_t seed_timeout;
	int verbose;
};

/* What one seed's child reports back through a pipe. */
struct stats {
	uint64_t calls, ok, by_kind[NR_KINDS], runs, mmaps, fds_made;
	uint64_t err[MAX_ERRNO + 1];
};

struct fuzzer {
	int fd[MAX_FDS];
	int kind[MAX_FDS];
	int nfds;
	struct kvm_run *run[MAX_FDS];	/* for vCPU fds */
	int run_size;
	uint8_t *arena;			/* MAX_THREADS slices, each before a guard page */
	uint8_t *ram;
	uint8_t *hole;			/* a PROT_NONE page, never reused */
	int evfd[2];
	struct stats st;
	pthread_mutex_t lock;
};

struct worker {
	struct fuzzer *f;
	struct rng r;
	uint8_t *slice;
	uint32_t ops;
	struct stats st;
};

static uint8_t *slice_of(struct fuzzer *f, int t)
{
	return f->arena + (size_t)t * (SLICE + PAGE);
}

static uint64_t bad_pointer(struct fuzzer *f, struct worker *w, struct rng *r)
{
	switch (rng_below(r, 8)) {
	case 0: return 0;
	case 1: return 1 + rng_below(r, 4095);
	case 2: return 0xffff888000000000ULL + (rng_next(r) & 0xfffffff000ULL);
	case 3: return 0xffffffffff600000ULL;		/* vsyscall page */
	case 4: return (uintptr_t)f->hole + rng_below(r, PAGE);	/* EFAULT */
	case 5: return 0x8000000000000000ULL;		/* non-canonical */
	case 6: return (uintptr_t)w->slice + SLICE - rng_below(r, 64);	/* straddles the guard */
	default: return 0x00007ffffffff000ULL;
	}
}

/*
 * A slot's bad address: never one with our own mappings within its size
 * above it, or a guest would write into this process.
 */
static uint64_t bad_slot_addr(struct rng *r)
{
	switch (rng_below(r, 3)) {
	case 0: return 0xffff888000000000ULL;
	case 1: return 0x8000000000000000ULL;
	default: return 0x10000 + 1 + rng_below(r, 4095);	/* unaligned */
	}
}

/* A pointer the kernel may write through without hurting this process. */
static uint64_t safe_pointer(struct fuzzer *f, struct worker *w, struct rng *r)
{
	switch (rng_below(r, 4)) {
	case 0: return (uintptr_t)f->ram + (rng_below(r, RAM_SIZE / PAGE) * PAGE);
	case 1: return bad_pointer(f, w, r);
	default: return (uintptr_t)w->slice + rng_below(r, SLICE / 2);
	}
}

static bool is_nr(unsigned long nr, unsigned long def)
{
	return nr == def;
}

/* Keep the fuzzer itself alive: what random structs must not do to us. */
static void sanitize(struct fuzzer *f, struct worker *w, unsigned long nr, uint8_t *p, size_t len)
{
	struct rng *r = &w->r;

	if (!p || p < w->slice || p + len > w->slice + SLICE)
		return;
	if (is_nr(nr, KVM_SET_SIGNAL_MASK) && len > 4 + (SIGUSR1 - 1) / 8) {
		/* The timer signal that ends every KVM_RUN must stay deliverable. */
		p[4 + (SIGUSR1 - 1) / 8] &= ~(1 << ((SIGUSR1 - 1) % 8));
	} else if (is_nr(nr, KVM_SET_USER_MEMORY_REGION) && len >= 32) {
		struct kvm_userspace_memory_region *m = (void *)p;

		/* Guest RAM only where a guest's writes hurt nobody, at most 1 GiB. */
		m->userspace_addr = rng_chance(r, 4) ? bad_slot_addr(r) :
				    (uintptr_t)f->ram + rng_below(r, 16) * PAGE;
		if (m->memory_size > RAM_RESERVE - 16 * PAGE)
			m->memory_size &= RAM_RESERVE / 2 - 1;
		if (rng_chance(r, 2))
			m->memory_size &= ~(uint64_t)(PAGE - 1);
		if (rng_chance(r, 2))
			m->guest_phys_addr &= 0xffffffffffULL & ~(uint64_t)(PAGE - 1);
		if (rng_chance(r, 2))
			m->slot &= 0x1000f;
	} else if ((is_nr(nr, KVM_GET_DIRTY_LOG) || is_nr(nr, KVM_CLEAR_DIRTY_LOG)) && len >= 16) {
		/* A 1 GiB slot's bitmap is 32 KiB: the slice's start holds it. */
		uint64_t b = rng_chance(r, 4) ? bad_pointer(f, w, r) : (uintptr_t)w->slice;

		memcpy(p + 8, &b, 8);
	} else if (is_nr(nr, KVM_SET_DEBUGREGS) && len >= 48) {
		p[40] = 0;				/* dr7 enables: see dr7_tcg_safe */
	} else if (is_nr(nr, KVM_SET_GUEST_DEBUG) && len >= 72) {
		p[64] = 0;				/* debugreg[7] */
	} else if ((is_nr(nr, KVM_SET_SREGS) || is_nr(nr, KVM_SET_SREGS2)) &&
		   len >= offsetof(struct kvm_sregs, apic_base)) {
		struct kvm_sregs *s = (void *)p;	/* SREGS2 starts the same way */

		if (tcg_vmexit_hazard(s->efer, s->cr0, s->cr4))
			s->efer &= ~H_EFER_LME;
	} else if (is_nr(nr, KVM_SET_MSRS) && len >= 8) {
		struct kvm_msrs *m = (void *)p;
		size_t i;

		/* EFER.LME stays as it was: see tcg_vmexit_hazard */
		for (i = 0; 8 + (i + 1) * sizeof(m->entries[0]) <= len; i++)
			if (m->entries[i].index == 0xc0000080)
				m->entries[i].data &= ~H_EFER_LME;
	} else if (is_nr(nr, KVM_SET_NESTED_STATE) && len > 128 + 0x560) {
		p[128 + 0x560] = 0;			/* the VMCB12 save area's DR7 */
	}
}

/* A random argument: an integer, or a buffer of random struct-like bytes. */
static unsigned long make_arg(struct fuzzer *f, struct worker *w, unsigned long nr)
{
	struct rng *r = &w->r;
	size_t size = _IOC_SIZE(nr), len, i;
	uint8_t *p;

	if (_IOC_DIR(nr) == _IOC_NONE && !rng_chance(r, 4)) {
		switch (rng_below(r, 5)) {
		case 0: return 0;
		case 1: return rng_below(r, 8);
		case 2: return f->fd[rng_below(r, f->nfds)];
		case 3: return rng_below(r, 300);
		default: return rng_value(r);
		}
	}
	switch (rng_below(r, 10)) {
	case 0:
		return bad_pointer(f, w, r);
	case 1:
		/* The struct ends exactly at the guard page, or runs into it. */
		len = size ? size : 8;
		if (len > SLICE)
			len = SLICE;
		p = w->slice + SLICE - len + (rng_chance(r, 2) ? rng_below(r, len) : 0);
		rng_fill(r, p, w->slice + SLICE - p);
		sanitize(f, w, nr, p, w->slice + SLICE - p);
		return (uintptr_t)p;
	}
	len = size + (rng_chance(r, 2) ? rng_below(r, 4096) : 0);
	if (len < 8)
		len = 8;
	if (len > SLICE / 2)
		len = SLICE / 2;
	p = w->slice + SLICE / 2 + (rng_chance(r, 2) ? 0 : rng_below(r, SLICE / 2 - len));
	rng_fill(r, p, len);
	code_tcg_safe(p, len);
	if (rng_chance(r, 2)) {		/* counts (nent, nmsrs, len) small enough to matter */
		uint32_t n = rng_chance(r, 2) ? rng_below(r, 4) : rng_below(r, 300);

		memcpy(p, &n, 4);
		if (rng_chance(r, 2))
			memset(p + 4, 0, 4);
	}
	if (rng_chance(r, 3))
		for (i = 0; i + 8 <= len; i += 8)
			if (rng_chance(r, 8)) {
				uint64_t v = rng_chance(r, 2) ? safe_pointer(f, w, r) :
					     (uint64_t)f->fd[rng_below(r, f->nfds)];

				memcpy(p + i, &v, 8);
			}
	if (rng_chance(r, 4)) {		/* an eventfd where an fd may be */
		int e = f->evfd[rng_below(r, 2)];

		memcpy(p + 4 * rng_below(r, 2), &e, 4);
	}
	if (rng_chance(r, 3))		/* flags and padding often zero */
		memset(p + 8 + rng_below(r, len - 8), 0, rng_below(r, 16));
	sanitize(f, w, nr, p, len);
	return (uintptr_t)p;
}

static unsigned long pick_nr(struct rng *r, int *kind)
{
	const struct ioctl_def *d = &defs[rng_below(r, NR_DEFS)];
	unsigned long nr = d->nr;

	*kind = d->kind;
	switch (rng_below(r, 20)) {
	case 0: case 1: case 2:		/* the right number with another size */
		nr = (nr & ~((unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT)) |
		     ((unsigned long)rng_below(r, _IOC_SIZEMASK + 1) << _IOC_SIZESHIFT);
		break;
	case 3:				/* or another direction */
		nr ^= (unsigned long)(1 + rng_below(r, 3)) << _IOC_DIRSHIFT;
		break;
	case 4: case 5:			/* any KVM number */
		nr = _IOC(rng_below(r, 4), KVMIO, rng_below(r, 256), rng_below(r, 4096));
		*kind = FD_ANY;
		break;
	case 6:				/* anything at all */
		nr = (uint32_t)rng_next(r);
		*kind = FD_ANY;
		break;
	}
	return nr;
}

static bool returns_fd(unsigned long nr)
{
	return nr == KVM_CREATE_VM || nr == KVM_CREATE_VCPU || nr == KVM_GET_STATS_FD;
}

static void count(struct stats *st, long rc, int e, int kind)
{
	st->calls++;
	st->by_kind[kind]++;
	if (rc >= 0)
		st->ok++;
	else
		st->err[e > 0 && e < MAX_ERRNO ? e : MAX_ERRNO]++;
}

static int pick_fd(struct fuzzer *f, struct rng *r, int kind, int *fd_kind)
{
	int i, tries;

	if (kind != FD_ANY && !rng_chance(r, 4))
		for (tries = 0; tries < 8; tries++) {
			i = rng_below(r, f->nfds);
			if (f->kind[i] == kind) {
				*fd_kind = kind;
				return f->fd[i];
			}
		}
	i = rng_below(r, f->nfds);
	*fd_kind = f->kind[i];
	return f->fd[i];
}

/* The call a thread was making, for the report of a crash of our own. */
static __thread unsigned long last_nr, last_arg;
static __thread int last_fd;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	char msg[160];
	int n;

	(void)uc;
	n = snprintf(msg, sizeof(msg), "# signal %d at %p after ioctl(%d, %#lx, %#lx)\n",
		     sig, si->si_addr, last_fd, last_nr, last_arg);
	if (write(1, msg, n) < 0)
		_exit(45);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* One random ioctl (or mmap) on one of the fuzzer's fds. */
static void fuzz_one(struct worker *w)
{
	struct fuzzer *f = w->f;
	struct rng *r = &w->r;
	int kind, fd_kind, fd;
	unsigned long nr, arg;
	long rc;

	if (rng_chance(r, 64)) {	/* kvm_run and friends: pgoff, size, prot */
		void *m;
		size_t len = PAGE * (1 + rng_below(r, 4));

		fd = pick_fd(f, r, FD_VCPU, &fd_kind);
		m = mmap(NULL, len, rng_chance(r, 2) ? PROT_READ : PROT_READ | PROT_WRITE,
			 rng_chance(r, 4) ? MAP_PRIVATE : MAP_SHARED, fd,
			 (off_t)rng_below(r, 8) * PAGE);
		if (m != MAP_FAILED) {
			w->st.mmaps++;
			munmap(m, len);
		}
		return;
	}
	nr = pick_nr(r, &kind);
	if (nr == KVM_RUN && rng_chance(r, 2))
		kind = FD_VCPU;
	fd = pick_fd(f, r, kind, &fd_kind);
	arg = make_arg(f, w, nr);
	if (nr == KVM_RUN)
		w->st.runs++;
	last_fd = fd;
	last_nr = nr;
	last_arg = arg;
	rc = ioctl(fd, nr, arg);
	count(&w->st, rc, errno, fd_kind);
	if (rc > 2 && returns_fd(nr)) {
		w->st.fds_made++;
		close((int)rc);
	}
	if (rc == 0 && nr == KVM_CREATE_DEVICE) {
		struct kvm_create_device *cd = (void *)arg;

		if (cd->fd > 2) {
			pthread_mutex_lock(&f->lock);
			if (f->nfds < MAX_FDS) {
				f->kind[f->nfds] = FD_DEV;
				f->fd[f->nfds++] = cd->fd;
			} else {
				close(cd->fd);
			}
			pthread_mutex_unlock(&f->lock);
		}
	}
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* A per-thread periodic signal: no KVM_RUN or halt blocks for long. */
static timer_t kick_start(void)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1 };
	struct itimerspec it = { { 0, 10000000 }, { 0, 10000000 } };
	timer_t t;

	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &t))
		_exit(40);
	timer_settime(t, 0, &it, NULL);
	return t;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	timer_t t = kick_start();
	uint32_t i;

	for (i = 0; i < w->ops; i++)
		fuzz_one(w);
	timer_delete(t);
	return NULL;
}

static void add_fd(struct fuzzer *f, int fd, int kind)
{
	if (fd < 0 || f->nfds >= MAX_FDS)
		return;
	f->kind[f->nfds] = kind;
	f->fd[f->nfds++] = fd;
}

/* A real-mode guest that says hello on port 0x10 and halts, in a loop. */
static const uint8_t hello[] = { 0xe6, 0x10, 0xf4, 0xeb, 0xfb };

/* One seed: build VMs in some state, fuzz single- then multi-threaded, tear down. */
static void fuzz_seed(const struct options *o, uint64_t seed, int out)
{
	struct sigaction sa = { .sa_handler = on_usr1 }, segv = { .sa_sigaction = on_segv };
	struct fuzzer f = { .nfds = 0 };
	struct worker w[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	struct rng r;
	int sys, nvm, v, i, t;

	rng_seed(&r, seed, 0);
	pthread_mutex_init(&f.lock, NULL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	segv.sa_flags = SA_SIGINFO;
	sigemptyset(&segv.sa_mask);
	sigaction(SIGSEGV, &segv, NULL);
	sigaction(SIGBUS, &segv, NULL);
	kick_start();		/* the setup's KVM_RUNs may halt too */
	f.arena = mmap(NULL, (size_t)MAX_THREADS * (SLICE + PAGE), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	f.ram = mmap(NULL, RAM_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	f.hole = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f.arena == MAP_FAILED || f.ram == MAP_FAILED || f.hole == MAP_FAILED)
		_exit(41);
	mprotect(f.ram, RAM_SIZE, PROT_READ | PROT_WRITE);
	for (t = 0; t < MAX_THREADS; t++)
		mprotect(slice_of(&f, t) + SLICE, PAGE, PROT_NONE);
	for (i = 0; i < RAM_SIZE; i += sizeof(hello))
		if (i + sizeof(hello) <= RAM_SIZE)
			memcpy(f.ram + i, hello, sizeof(hello));
	f.evfd[0] = eventfd(0, EFD_CLOEXEC);
	f.evfd[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	sys = open(kvm_path(), O_RDWR | O_CLOEXEC);
	if (sys < 0)
		_exit(42);
	add_fd(&f, sys, FD_SYS);
	f.run_size = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	for (nvm = 1 + rng_below(&r, 2), i = 0; i < nvm; i++) {
		struct kvm_userspace_memory_region slot = {
			.memory_size = RAM_SIZE, .userspace_addr = (uintptr_t)f.ram,
		};
		int vm;

		do	/* the kick may interrupt it */
			vm = ioctl(sys, KVM_CREATE_VM, 0);
		while (vm < 0 && errno == EINTR);

		if (vm < 0)
			_exit(43);
		add_fd(&f, vm, FD_VM);
		if (rng_chance(&r, 2))
			ioctl(vm, KVM_CREATE_IRQCHIP, 0);
		if (rng_chance(&r, 2)) {
			struct kvm_pit_config pit = { 0 };

			ioctl(vm, KVM_CREATE_PIT2, &pit);
		}
		if (rng_chance(&r, 4) == 0)
			ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot);
		for (v = 0; v < 1 + (int)rng_below(&r, 3); v++) {
			int vcpu;
			struct kvm_sregs s;
			struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
			int n;

			do
				vcpu = ioctl(vm, KVM_CREATE_VCPU, v);
			while (vcpu < 0 && errno == EINTR);
			if (vcpu < 0)
				continue;
			f.run[f.nfds] = mmap(NULL, f.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
			add_fd(&f, vcpu, FD_VCPU);
			if (!rng_chance(&r, 3))
				continue;
			/* Let it run a little first: state after exits is state too. */
			ioctl(vcpu, KVM_GET_SREGS, &s);
			s.cs.base = 0;
			s.cs.selector = 0;
			ioctl(vcpu, KVM_SET_SREGS, &s);
			ioctl(vcpu, KVM_SET_REGS, &regs);
			for (n = 0; n < 4; n++)
				ioctl(vcpu, KVM_RUN, 0);
		}
	}

	/* Alone first, then all threads at once on the same fds. */
	for (t = 0; t < (int)o->threads; t++) {
		w[t] = (struct worker){ .f = &f, .slice = slice_of(&f, t), .ops = o->ops };
		rng_seed(&w[t].r, seed, 1 + t);
	}
	w[0].ops = o->ops / 2;
	worker_main(&w[0]);
	for (t = 0; t < (int)o->threads; t++)
		pthread_create(&th[t], NULL, worker_main, &w[t]);
	for (t = 0; t < (int)o->threads; t++)
		pthread_join(th[t], NULL);

	for (t = 0; t < (int)o->threads; t++) {
		struct stats *s = &w[t].st;

		f.st.calls += s->calls;
		f.st.ok += s->ok;
		f.st.runs += s->runs;
		f.st.mmaps += s->mmaps;
		f.st.fds_made += s->fds_made;
		for (i = 0; i < NR_KINDS; i++)
			f.st.by_kind[i] += s->by_kind[i];
		for (i = 0; i <= MAX_ERRNO; i++)
			f.st.err[i] += s->err[i];
	}
	if (getenv("IOCTLFUZZ_MAPS")) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "tail -n 12 /proc/%d/maps", (int)getpid());
		if (system(cmd) < 0)
			_exit(46);
	}
	/* Tear down in a random order: vCPUs may outlive their VM's fd. */
	while (f.nfds) {
		i = rng_below(&r, f.nfds);
		if (f.run[i] && f.run[i] != MAP_FAILED)
			munmap(f.run[i], f.run_size);
		close(f.fd[i]);
		f.fd[i] = f.fd[f.nfds - 1];
		f.kind[i] = f.kind[f.nfds - 1];
		f.run[i] = f.run[f.nfds - 1];
		f.nfds--;
	}
	if (write(out, &f.st, sizeof(f.st)) != sizeof(f.st))
		_exit(44);
	_exit(0);
}

static const char *errno_name(int e)
{
	static char buf[24];

	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOEXEC: return "ENOEXEC";
	case ESRCH: return "ESRCH";
	}
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

/*
 * Errnos some stock KVM ioctl returns: anything else (ENOSYS, a positive
 * error, a kernel-internal code above 511) is a driver bug.
 */
static bool stock_errno(int e)
{
	switch (e) {
	case EPERM: case ENOENT: case EINTR: case EIO: case ENXIO: case E2BIG:
	case EBADF: case EAGAIN: case ENOMEM: case EACCES: case EFAULT:
	case EBUSY: case EEXIST: case ENODEV: case EINVAL: case EMFILE:
	case ENOTTY: case ENOSPC: case ERANGE: case EOPNOTSUPP: case ENOEXEC:
	case ESRCH:
		return true;
	}
	return false;
}

/* Where a hung child's threads sit in the kernel, for the report. */
static void show_stacks(pid_t pid)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd),
		 "for t in /proc/%d/task/*; do echo \"$t: $(cat $t/wchan 2>/dev/null)\"; "
		 "head -n 6 $t/stack 2>/dev/null; done | sed 's/^/# /'", (int)pid);
	fflush(stdout);
	if (system(cmd) < 0)
		tap_diag("no stacks");
}

/*
 * --probe: every known ioctl on fresh system, VM and vCPU fds with four
 * fixed arguments, one line each, for comparing errnos between lanes.
 */
static void probe(void)
{
	static const char *const arg_names[] = { "0", "kernel-pointer", "zeroes", "ones" };
	size_t d;
	uint8_t *zero = mmap(NULL, 2 * SLICE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *ones = zero + SLICE;
	struct sigaction sa = { .sa_handler = on_usr1 };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	kick_start();
	for (d = 0; d < NR_DEFS; d++) {
		int kind, a, sys, vm, vcpu;

		/* Fresh fds for each ioctl; its four arguments share them. */
		sys = open(kvm_path(), O_RDWR | O_CLOEXEC);
		do
			vm = ioctl(sys, KVM_CREATE_VM, 0);
		while (vm < 0 && errno == EINTR);
		do
			vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
		while (vcpu < 0 && errno == EINTR);
		for (kind = FD_SYS; kind <= FD_VCPU; kind++) {
			for (a = 0; a < 4; a++) {
				unsigned long args[] = { 0, 0xffff888000000000UL,
							 (uintptr_t)zero, (uintptr_t)ones };
				int fd = kind == FD_SYS ? sys : kind == FD_VM ? vm : vcpu;
				long rc;

				if (defs[d].nr == KVM_RUN && a)
					continue;
				memset(zero, 0, SLICE);
				memset(ones, 0xff, SLICE);
				do
					rc = ioctl(fd, defs[d].nr, args[a]);
				while (rc < 0 && errno == EINTR && defs[d].nr != KVM_RUN);
				if (rc < 0)
					printf("probe %s %s %s -> %s\n", kind_names[kind], defs[d].name,
					       arg_names[a], errno_name(errno));
				else if (returns_fd(defs[d].nr) || rc > 100000)
					printf("probe %s %s %s -> ok\n", kind_names[kind],
					       defs[d].name, arg_names[a]);
				else
					printf("probe %s %s %s -> %ld\n", kind_names[kind],
					       defs[d].name, arg_names[a], rc);
				if (rc > 2 && returns_fd(defs[d].nr))
					close((int)rc);
			}
		}
		close(vcpu);
		close(vm);
		close(sys);
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ioctlfuzz [--seed S] [--seeds N] [--ops K] [--threads T] [--seed-timeout SEC] [-v]\n"
		"       ioctlfuzz --probe   (each known ioctl, fixed arguments: one result a line)\n"
		"  for each seed S..S+N-1, in a child process: VMs and vCPUs in a random\n"
		"  state (memslots, irqchip, PIT, vCPUs that ran), K/2 random ioctls from one\n"
		"  thread, then K from each of T threads at once, then a random teardown.\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct options o = { .seed = 1, .seeds = 8, .ops = 400, .threads = 4,
			     .seed_timeout = 120 };
	struct stats total = { 0 };
	uint64_t hung = 0, crashed = 0, failed = 0, odd_errno = 0;
	char line[2048];
	size_t n = 0;
	double start;
	uint32_t s;
	int i, fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-v")) {
			o.verbose = 1;
			continue;
		}
		if (!strcmp(a, "--probe")) {
			probe();
			return 0;
		}
		if (!v)
			usage();
		if (!strcmp(a, "--seed")) o.seed = parse_u64(v, a);
		else if (!strcmp(a, "--seeds")) o.seeds = parse_u64(v, a);
		else if (!strcmp(a, "--ops")) o.ops = parse_u64(v, a);
		else if (!strcmp(a, "--threads")) o.threads = parse_u64(v, a);
		else if (!strcmp(a, "--seed-timeout")) o.seed_timeout = parse_u64(v, a);
		else usage();
		i++;
	}
	if (o.threads < 1 || o.threads > MAX_THREADS)
		usage();
	fd = open(kvm_path(), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("1..0 # SKIP cannot open %s: %s\n", kvm_path(), strerror(errno));
		return 0;
	}
	close(fd);
	tap_plan(4);
	start = now_sec();
	for (s = 0; s < o.seeds; s++) {
		uint64_t seed = o.seed + s;
		struct stats st;
		int p[2], status = 0;
		double t0 = now_sec();
		pid_t pid, got = 0;

		if (o.verbose)
			tap_diag("seed %llu: start", (unsigned long long)seed);
		if (pipe(p))
			return 1;
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			fuzz_seed(&o, seed, p[1]);
		}
		close(p[1]);
		while ((got = waitpid(pid, &status, WNOHANG)) == 0 &&
		       now_sec() - t0 < o.seed_timeout)
			usleep(20000);
		if (got == 0) {
			/* Killable is the least a hung ioctl owes us. */
			hung++;
			tap_diag("seed %llu: no end after %u s; SIGKILL",
				 (unsigned long long)seed, o.seed_timeout);
			show_stacks(pid);
			kill(pid, SIGKILL);
			t0 = now_sec();
			while ((got = waitpid(pid, &status, WNOHANG)) == 0 && now_sec() - t0 < 60)
				usleep(50000);
			if (got == 0) {
				printf("Bail out! seed %llu: the fuzzer is stuck in the kernel past SIGKILL\n",
				       (unsigned long long)seed);
				return 3;
			}
		} else if (WIFSIGNALED(status)) {
			crashed++;
			tap_diag("seed %llu: the fuzzer died of signal %d", (unsigned long long)seed,
				 WTERMSIG(status));
		} else if (WEXITSTATUS(status)) {
			failed++;
			tap_diag("seed %llu: the fuzzer's setup failed (status %d)",
				 (unsigned long long)seed, WEXITSTATUS(status));
		}
		memset(&st, 0, sizeof(st));
		if (read(p[0], &st, sizeof(st)) == sizeof(st)) {
			total.calls += st.calls;
			total.ok += st.ok;
			total.runs += st.runs;
			total.mmaps += st.mmaps;
			total.fds_made += st.fds_made;
			for (i = 0; i < NR_KINDS; i++)
				total.by_kind[i] += st.by_kind[i];
			for (i = 0; i <= MAX_ERRNO; i++)
				total.err[i] += st.err[i];
		}
		close(p[0]);
		if (o.verbose)
			tap_diag("seed %llu: %llu ioctls, %.1f s", (unsigned long long)seed,
				 (unsigned long long)st.calls, now_sec() - t0);
	}
	for (i = 0; i <= MAX_ERRNO; i++) {
		if (!total.err[i])
			continue;
		if (i == MAX_ERRNO || !stock_errno(i))
			odd_errno += total.err[i];
		n += snprintf(line + n, sizeof(line) - n, " %s=%llu",
			      i == MAX_ERRNO ? "other" : errno_name(i),
			      (unsigned long long)total.err[i]);
		if (n >= sizeof(line))
			break;
	}
	tap_ok(!hung, "every seed ended by itself within %u s (%llu did not)", o.seed_timeout,
	       (unsigned long long)hung);
	tap_ok(!crashed && !failed, "no fuzzer process crashed (%llu) or failed to set up (%llu)",
	       (unsigned long long)crashed, (unsigned long long)failed);
	tap_ok(total.calls > 0, "%llu ioctls issued, %llu succeeded", (unsigned long long)total.calls,
	       (unsigned long long)total.ok);
	tap_ok(!odd_errno, "every failure carried an errno stock KVM gives (%llu others)",
	       (unsigned long long)odd_errno);
	tap_diag("totals: %u seeds from %llu, %u threads, %llu ioctls (system %llu, VM %llu, vCPU %llu, device %llu), "
		 "%llu KVM_RUN, %llu mmaps, %llu fds made, %.1f s",
		 o.seeds, (unsigned long long)o.seed, o.threads, (unsigned long long)total.calls,
		 (unsigned long long)total.by_kind[FD_SYS], (unsigned long long)total.by_kind[FD_VM],
		 (unsigned long long)total.by_kind[FD_VCPU], (unsigned long long)total.by_kind[FD_DEV],
		 (unsigned long long)total.runs, (unsigned long long)total.mmaps,
		 (unsigned long long)total.fds_made, now_sec() - start);
	tap_diag("errors by errno:%s", line);
	(void)kind_names;
	return tap_done();
}
