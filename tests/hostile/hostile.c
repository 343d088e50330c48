/* tests/hostile/hostile.c: hostile guests on /dev/kvm: random code, CR/MSR/DR writes, I/O, MMIO, faults and SVM/VMX instructions in every mode; every VM must end with an exit the API defines. */
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guest.h"
#include "../lib/tap.h"

#define TICK_MS		5
#define MAX_OUTCOMES	128
/* Outcomes past the exit reasons: ended by our time or exit budget, errnos. */
#define OUT_TIME	(MAX_OUTCOMES - 1)
#define OUT_EXITS	(MAX_OUTCOMES - 2)
#define OUT_ERRNO	(MAX_OUTCOMES - 3)	/* + errno below: see errno_outcome */
/* Not run: its state would hang the test host's emulator (tcg_vmexit_hazard). */
#define OUT_SKIP	80

struct options {
	uint64_t seed;
	uint32_t seeds;
	uint32_t iters;
	uint32_t from;
	int64_t first;		/* the first seed starts at VM first, if >= 0 */
	uint32_t budget_ms;
	uint32_t max_exits;
	int only_scenario;
	int only_mode;
	int verbose;
};

static struct {
	uint64_t vms, kvm_runs, exits[MAX_OUTCOMES];
	uint64_t ends[NR_SCENARIOS][MAX_OUTCOMES];
	uint64_t bad[NR_SCENARIOS];
	uint64_t skipped;
	uint64_t setup_errors, bad_setup_errno, state_unreadable;
	double longest_run;
	char first_bad[NR_SCENARIOS][256];
} tally;

static volatile sig_atomic_t ticks, budget_ticks;
static struct kvm_run *volatile cur_run;
static volatile double run_started;
static char current_case[128];

static const char *const errno_names[] = {
	[EINTR] = "EINTR", [EAGAIN] = "EAGAIN", [EFAULT] = "EFAULT",
	[EINVAL] = "EINVAL", [ENOMEM] = "ENOMEM", [EIO] = "EIO",
	[ENXIO] = "ENXIO", [E2BIG] = "E2BIG", [EPERM] = "EPERM",
	[EBUSY] = "EBUSY", [EEXIST] = "EEXIST", [ENOENT] = "ENOENT",
	[ENOTTY] = "ENOTTY", [EOPNOTSUPP] = "EOPNOTSUPP",
};

/* KVM_RUN's errnos on stock x86 KVM (signal, memory, state, allocation). */
static bool run_errno_ok(int e)
{
	return e == EINTR || e == EAGAIN || e == EFAULT || e == EINVAL || e == ENOMEM;
}

/* Exits a VM without capabilities enabled may see: the API's own list. */
static bool exit_ok(int reason)
{
	switch (reason) {
	case KVM_EXIT_UNKNOWN: case KVM_EXIT_IO: case KVM_EXIT_HLT:
	case KVM_EXIT_MMIO: case KVM_EXIT_SHUTDOWN: case KVM_EXIT_FAIL_ENTRY:
	case KVM_EXIT_INTR: case KVM_EXIT_INTERNAL_ERROR: case KVM_EXIT_DEBUG:
	case KVM_EXIT_SYSTEM_EVENT:
		return true;
	}
	return false;
}

static const char *outcome_name(int o)
{
	static char buf[32];

	switch (o) {
	case OUT_TIME: return "time-bound";
	case OUT_EXITS: return "exit-budget";
	case OUT_SKIP: return "skipped-tcg";
	case KVM_EXIT_UNKNOWN: return "UNKNOWN";
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTR: return "INTR";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_DEBUG: return "DEBUG";
	case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT";
	}
	if (o < OUT_ERRNO && o >= OUT_ERRNO - 40) {
		int e = OUT_ERRNO - o;

		if (e < (int)(sizeof(errno_names) / sizeof(errno_names[0])) && errno_names[e])
			snprintf(buf, sizeof(buf), "-%s", errno_names[e]);
		else
			snprintf(buf, sizeof(buf), "-errno%d", e);
		return buf;
	}
	snprintf(buf, sizeof(buf), "exit%d", o);
	return buf;
}

static int errno_outcome(int e)
{
	if (e <= 0 || e > 40)
		e = 40;
	return OUT_ERRNO - e;
}

static void on_tick(int sig)
{
	(void)sig;
	if (++ticks >= budget_ticks && cur_run)
		cur_run->immediate_exit = 1;
}

static void *watchdog(void *arg)
{
	double limit = *(double *)arg;

	for (;;) {
		double t = run_started;

		sleep(1);
		if (t && t == run_started && now_sec() - t > limit) {
			printf("Bail out! KVM_RUN did not return for %.0f s despite signals: %s\n",
			       limit, current_case);
			fflush(stdout);
			_exit(3);
		}
	}
	return NULL;
}

static timer_t tick_timer;

static void ticks_start(uint32_t budget_ms)
{
	struct itimerspec it = {
		.it_interval = { 0, TICK_MS * 1000000L },
		.it_value = { 0, TICK_MS * 1000000L },
	};

	ticks = 0;
	budget_ticks = (budget_ms + TICK_MS - 1) / TICK_MS;
	timer_settime(tick_timer, 0, &it, NULL);
}

static void ticks_stop(void)
{
	struct itimerspec it = { 0 };

	timer_settime(tick_timer, 0, &it, NULL);
}

static void timer_setup(void)
{
	struct sigaction sa = { .sa_handler = on_tick };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: KVM_RUN returns EINTR */
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &tick_timer)) {
		printf("Bail out! timer_create: %s\n", strerror(errno));
		exit(1);
	}
}

struct host {
	int kvm;
	struct kvm_cpuid2 *cpuid;
	int run_size;
	uint8_t *ram;
	uint8_t *rom;
};

static struct kvm_cpuid2 *supported_cpuid(int kvm)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));

	c->nent = 256;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		printf("Bail out! KVM_GET_SUPPORTED_CPUID: %s\n", strerror(errno));
		exit(1);
	}
	return c;
}

/* A setup ioctl on a hostile state: an error is fine if stock can give it. */
static void setup_ioctl(int fd, unsigned long req, void *arg)
{
	if (ioctl(fd, req, arg) < 0) {
		tally.setup_errors++;
		/* EPERM: SET_CPUID2 with AMX tile data, which stock permits no one here. */
		if (errno != EINVAL && errno != EFAULT && errno != ENXIO && errno != EBUSY &&
		    errno != EPERM) {
			tally.bad_setup_errno++;
			tap_diag("setup ioctl %#lx: unexpected %s (%s)", req, strerror(errno),
				 current_case);
		}
	}
}

static void set_cpuid(struct host *h, int vcpu, struct rng *r)
{
	size_t sz = sizeof(*h->cpuid) + h->cpuid->nent * sizeof(h->cpuid->entries[0]);
	struct kvm_cpuid2 *c;
	uint32_t i, n;

	switch (rng_below(r, 6)) {
	case 0:
		return;		/* no CPUID: what KVM_CREATE_VCPU left */
	case 1:
		c = malloc(sz);
		memcpy(c, h->cpuid, sz);
		for (n = rng_below(r, 8), i = 0; i < n; i++) {
			struct kvm_cpuid_entry2 *e = &c->entries[rng_below(r, c->nent)];
			uint32_t *regs[] = { &e->eax, &e->ebx, &e->ecx, &e->edx };

			*regs[rng_below(r, 4)] ^= 1U << rng_below(r, 32);
		}
		setup_ioctl(vcpu, KVM_SET_CPUID2, c);
		free(c);
		return;
	default:
		setup_ioctl(vcpu, KVM_SET_CPUID2, h->cpuid);
	}
}

static void inject_event(int vcpu, struct rng *r)
{
	struct kvm_vcpu_events ev;

	if (ioctl(vcpu, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return;
	switch (rng_below(r, 3)) {
	case 0:
		ev.exception.injected = 1;
		ev.exception.nr = rng_below(r, 32);
		ev.exception.has_error_code = rng_below(r, 2);
		ev.exception.error_code = (uint32_t)rng_value(r);
		break;
	case 1:
		ev.interrupt.injected = 1;
		ev.interrupt.nr = (uint8_t)rng_next(r);
		ev.interrupt.soft = rng_below(r, 2);
		break;
	default:
		ev.nmi.injected = rng_below(r, 2);
		ev.nmi.pending = rng_below(r, 2);
		ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
	}
	setup_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &ev);
}

static void complete_exit(struct kvm_run *run, struct rng *r)
{
	if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_IN) {
		size_t n = (size_t)run->io.size * run->io.count;

		if (run->io.data_offset + n <= 4096 * 2 && n)
			rng_fill(r, (uint8_t *)run + run->io.data_offset, n);
	} else if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write) {
		rng_fill(r, run->mmio.data, sizeof(run->mmio.data));
	}
}

static void note_bad(int sc, const char *what)
{
	tally.bad[sc]++;
	if (!tally.first_bad[sc][0])
		snprintf(tally.first_bad[sc], sizeof(tally.first_bad[sc]), "%s: %s",
			 current_case, what);
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	tap_diag("  %-3s sel %#06x base %#018llx limit %#010x type %u s %u dpl %u p %u db %u l %u g %u unusable %u",
		 name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->s, s->dpl,
		 s->present, s->db, s->l, s->g, s->unusable);
}

/* -v -v -v: the state the vCPU holds before its first KVM_RUN, to replay a case by hand. */
static void dump_state(int vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_vcpu_events ev;

	if (ioctl(vcpu, KVM_GET_REGS, &r) < 0 || ioctl(vcpu, KVM_GET_SREGS, &s) < 0 ||
	    ioctl(vcpu, KVM_GET_VCPU_EVENTS, &ev) < 0) {
		tap_diag("  state unreadable: %s", strerror(errno));
		return;
	}
	tap_diag("  rip %#llx rsp %#llx rflags %#llx rax %#llx rcx %#llx rsi %#llx rdi %#llx",
		 (unsigned long long)r.rip, (unsigned long long)r.rsp,
		 (unsigned long long)r.rflags, (unsigned long long)r.rax,
		 (unsigned long long)r.rcx, (unsigned long long)r.rsi, (unsigned long long)r.rdi);
	tap_diag("  cr0 %#llx cr2 %#llx cr3 %#llx cr4 %#llx cr8 %#llx efer %#llx apic_base %#llx",
		 (unsigned long long)s.cr0, (unsigned long long)s.cr2, (unsigned long long)s.cr3,
		 (unsigned long long)s.cr4, (unsigned long long)s.cr8, (unsigned long long)s.efer,
		 (unsigned long long)s.apic_base);
	tap_diag("  gdt %#llx/%#x idt %#llx/%#x irq bitmap %#llx %#llx %#llx %#llx",
		 (unsigned long long)s.gdt.base, s.gdt.limit, (unsigned long long)s.idt.base,
		 s.idt.limit, (unsigned long long)s.interrupt_bitmap[0],
		 (unsigned long long)s.interrupt_bitmap[1], (unsigned long long)s.interrupt_bitmap[2],
		 (unsigned long long)s.interrupt_bitmap[3]);
	dump_seg("cs", &s.cs);
	dump_seg("ds", &s.ds);
	dump_seg("es", &s.es);
	dump_seg("fs", &s.fs);
	dump_seg("gs", &s.gs);
	dump_seg("ss", &s.ss);
	dump_seg("tr", &s.tr);
	dump_seg("ldt", &s.ldt);
	tap_diag("  events: exception %u/%u nr %u err %u/%#x, interrupt %u nr %u soft %u, nmi %u pending %u masked %u, shadow %#x",
		 ev.exception.injected, ev.exception.pending, ev.exception.nr,
		 ev.exception.has_error_code, ev.exception.error_code, ev.interrupt.injected,
		 ev.interrupt.nr, ev.interrupt.soft, ev.nmi.injected, ev.nmi.pending,
		 ev.nmi.masked, ev.interrupt.shadow);
}

/* -v: what an internal error reports, and the exit before it, to compare lanes by instruction. */
static void note_internal_error(int vcpu, const struct kvm_run *run, const char *before)
{
	char line[512];
	struct kvm_regs regs;
	size_t n;
	uint32_t i;

	n = snprintf(line, sizeof(line), "suberror %u, ndata %u:", run->internal.suberror,
		     run->internal.ndata);
	for (i = 0; i < run->internal.ndata && i < 16 && n < sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - n, " %#llx",
			      (unsigned long long)run->internal.data[i]);
	if (n < sizeof(line) && ioctl(vcpu, KVM_GET_REGS, &regs) == 0)
		n += snprintf(line + n, sizeof(line) - n, "; rip %#llx rcx %#llx rsi %#llx rdi %#llx",
			      (unsigned long long)regs.rip, (unsigned long long)regs.rcx,
			      (unsigned long long)regs.rsi, (unsigned long long)regs.rdi);
	tap_diag("%s: internal error %s; before it: %s", current_case, line, before);
}

/* -v: an entry failure's reason and the state it failed on, with the exit before it. */
static void note_fail_entry(int vcpu, const struct kvm_run *run, const char *before)
{
	struct kvm_regs regs;
	struct kvm_sregs s;

	if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0 || ioctl(vcpu, KVM_GET_SREGS, &s) < 0) {
		tap_diag("%s: entry failure %#llx; state unreadable; before it: %s", current_case,
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason, before);
		return;
	}
	tap_diag("%s: entry failure %#llx; rip %#llx rflags %#llx cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx cs %#x/l%u/db%u; before it: %s",
		 current_case, (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
		 (unsigned long long)regs.rip, (unsigned long long)regs.rflags,
		 (unsigned long long)s.cr0, (unsigned long long)s.cr3, (unsigned long long)s.cr4,
		 (unsigned long long)s.efer, s.cs.selector, s.cs.l, s.cs.db, before);
}

static void describe_exit(const struct kvm_run *run, char *buf, size_t len)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf, len, "IO %s port %#x size %u count %u",
			 run->io.direction == KVM_EXIT_IO_IN ? "in" : "out", run->io.port,
			 run->io.size, run->io.count);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf, len, "MMIO %s %#llx len %u", run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len);
		break;
	default:
		snprintf(buf, len, "%s", outcome_name(run->exit_reason));
	}
}

/* One VM: returns its outcome. */
static int run_vm(struct host *h, const struct options *o, struct guest *g, struct rng *r)
{
	struct kvm_userspace_memory_region slot = {
		.slot = 0, .memory_size = G_RAM, .userspace_addr = (uintptr_t)h->ram,
	};
	struct kvm_run *run;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int vm, vcpu, outcome = -1, exits = 0;
	char before[96] = "none";
	bool irqchip = rng_chance(r, 3);
	double t0;

	vm = ioctl(h->kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		printf("Bail out! KVM_CREATE_VM: %s\n", strerror(errno));
		exit(1);
	}
	if (irqchip) {
		setup_ioctl(vm, KVM_CREATE_IRQCHIP, NULL);
		if (rng_chance(r, 2)) {
			struct kvm_pit_config pit = { .flags = 0 };

			setup_ioctl(vm, KVM_CREATE_PIT2, &pit);
		}
	}
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
		printf("Bail out! memory slot: %s\n", strerror(errno));
		exit(1);
	}
	if (rng_chance(r, 4)) {		/* a read-only slot right above RAM */
		struct kvm_userspace_memory_region rom = {
			.slot = 1, .flags = KVM_MEM_READONLY, .guest_phys_addr = G_RAM,
			.memory_size = 0x10000, .userspace_addr = (uintptr_t)h->rom,
		};

		setup_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &rom);
	} else if (rng_chance(r, 3)) {	/* a logged slot */
		struct kvm_userspace_memory_region log = {
			.slot = 1, .flags = KVM_MEM_LOG_DIRTY_PAGES, .guest_phys_addr = G_RAM,
			.memory_size = 0x10000, .userspace_addr = (uintptr_t)h->rom,
		};

		setup_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &log);
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		printf("Bail out! KVM_CREATE_VCPU: %s\n", strerror(errno));
		exit(1);
	}
	run = mmap(NULL, h->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		printf("Bail out! mmap kvm_run: %s\n", strerror(errno));
		exit(1);
	}
	set_cpuid(h, vcpu, r);

	g->mem = h->ram;
	ioctl(vcpu, KVM_GET_SREGS, &g->sregs);
	guest_build(g, r);
	if (g->scenario == SC_REGS)
		guest_mutate_state(g, r);
	if (o->verbose > 2) {
		FILE *f = fopen(getenv("HOSTILE_DUMP") ? getenv("HOSTILE_DUMP") : "/tmp/hostile-code.bin", "w");

		if (f) {
			fwrite(h->ram + G_CODE, 1, G_CODE_END - G_CODE, f);
			fclose(f);
		}
	}
	setup_ioctl(vcpu, KVM_SET_SREGS, &g->sregs);
	setup_ioctl(vcpu, KVM_SET_REGS, &g->regs);
	if (g->scenario == SC_REGS && rng_chance(r, 2))
		inject_event(vcpu, r);
	if (rng_chance(r, 16)) {
		struct kvm_guest_debug dbg = {
			.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
		};

		setup_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg);
	}
	if (o->verbose > 2)
		dump_state(vcpu);
	if (!getenv("HOSTILE_TCG_HAZARDS") && ioctl(vcpu, KVM_GET_SREGS, &sregs) == 0 &&
	    tcg_vmexit_hazard(sregs.efer, sregs.cr0, sregs.cr4)) {
		tap_diag("SKIP %s: EFER.LME set with CR0.PG and CR4.PAE clear, "
			 "which QEMU TCG's #VMEXIT cannot leave (tcg_vmexit_hazard)", current_case);
		outcome = OUT_SKIP;
	}

	cur_run = run;
	ticks_start(o->budget_ms);
	while (outcome < 0) {
		int rc;
		double dt;

		t0 = now_sec();
		run_started = t0;
		rc = ioctl(vcpu, KVM_RUN, 0);
		run_started = 0;
		dt = now_sec() - t0;
		if (dt > tally.longest_run)
			tally.longest_run = dt;
		tally.kvm_runs++;
		if (rc < 0) {
			int e = errno;

			tally.exits[errno_outcome(e)]++;
			if (e == EINTR && ticks >= budget_ticks)
				outcome = OUT_TIME;
			else if (e == EINTR)
				continue;
			else
				outcome = errno_outcome(e);
			if (!run_errno_ok(e)) {
				char what[64];

				snprintf(what, sizeof(what), "KVM_RUN failed with %s", strerror(e));
				note_bad(g->scenario, what);
			}
			break;
		}
		if (run->exit_reason < 64)
			tally.exits[run->exit_reason]++;
		if (!exit_ok(run->exit_reason)) {
			char what[64];

			snprintf(what, sizeof(what), "exit reason %u", run->exit_reason);
			note_bad(g->scenario, what);
			outcome = run->exit_reason < 64 ? (int)run->exit_reason : 0;
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
		case KVM_EXIT_MMIO:
		case KVM_EXIT_DEBUG:
		case KVM_EXIT_INTR:
			describe_exit(run, before, sizeof(before));
			complete_exit(run, r);
			if (++exits >= (int)o->max_exits)
				outcome = OUT_EXITS;
			else if (ticks >= budget_ticks)
				outcome = OUT_TIME;
			break;
		default:
			if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR && o->verbose)
				note_internal_error(vcpu, run, before);
			if (run->exit_reason == KVM_EXIT_FAIL_ENTRY && o->verbose)
				note_fail_entry(vcpu, run, before);
			outcome = run->exit_reason;
		}
	}
	ticks_stop();
	cur_run = NULL;

	/* The vCPU must still answer, whatever the guest did. */
	if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0 || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		tally.state_unreadable++;
		note_bad(g->scenario, "KVM_GET_REGS/SREGS failed after the run");
	}
	/* Tear down in a random order: the fds hold each other. */
	switch (rng_below(r, 3)) {
	case 0:
		munmap(run, h->run_size);
		close(vcpu);
		close(vm);
		break;
	case 1:
		close(vm);
		close(vcpu);
		munmap(run, h->run_size);
		break;
	default:
		close(vcpu);
		close(vm);
		munmap(run, h->run_size);
	}
	return outcome;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: hostile [--seed S] [--seeds N] [--iters M] [--budget-ms T]\n"
		"               [--max-exits E] [--scenario I] [--mode I] [--from I] [--first I] [-v]\n"
		"  runs VMs I..I+M-1 (I from --from, default 0) for each seed S..S+N-1 on $KVM_DEV (default /dev/kvm);\n"
		"  --first I: the first seed starts at VM I (a run resumed past a hung VM);\n"
		"  $HOSTILE_TCG_HAZARDS set: run the VMs skipped as tcg_vmexit_hazard too;\n"
		"  -v: each VM's end, -v -v: its start too, -v -v -v: its state before KVM_RUN;\n"
		"  VM i of a seed is scenario i %% %d in mode (i / %d) %% %d, the rest\n"
		"  from the PRNG seeded with (seed, i).\n",
		NR_SCENARIOS, NR_SCENARIOS, NR_MODES);
	exit(2);
}

static void parse(int argc, char **argv, struct options *o)
{
	int i;

	*o = (struct options){ .seed = 1, .seeds = 2, .iters = NR_SCENARIOS * NR_MODES,
			       .budget_ms = 30, .max_exits = 64, .only_scenario = -1,
			       .only_mode = -1, .first = -1 };
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-v")) {
			o->verbose++;
			continue;
		}
		if (!v)
			usage();
		if (!strcmp(a, "--seed")) o->seed = parse_u64(v, a);
		else if (!strcmp(a, "--seeds")) o->seeds = parse_u64(v, a);
		else if (!strcmp(a, "--iters")) o->iters = parse_u64(v, a);
		else if (!strcmp(a, "--from")) o->from = parse_u64(v, a);
		else if (!strcmp(a, "--first")) o->first = parse_u64(v, a);
		else if (!strcmp(a, "--budget-ms")) o->budget_ms = parse_u64(v, a);
		else if (!strcmp(a, "--max-exits")) o->max_exits = parse_u64(v, a);
		else if (!strcmp(a, "--scenario")) o->only_scenario = parse_u64(v, a) % NR_SCENARIOS;
		else if (!strcmp(a, "--mode")) o->only_mode = parse_u64(v, a) % NR_MODES;
		else usage();
		i++;
	}
}

static void report(const struct options *o, double secs)
{
	char line[1024];
	int s, x;
	size_t n;
	uint64_t all_exits = 0;

	for (s = 0; s < NR_SCENARIOS; s++) {
		uint64_t vms = 0, skipped = tally.ends[s][OUT_SKIP];

		n = 0;
		line[0] = 0;
		for (x = 0; x < MAX_OUTCOMES; x++) {
			if (!tally.ends[s][x])
				continue;
			if (x != OUT_SKIP)
				vms += tally.ends[s][x];
			n += snprintf(line + n, sizeof(line) - n, " %s %llu", outcome_name(x),
				      (unsigned long long)tally.ends[s][x]);
			if (n >= sizeof(line))
				break;
		}
		if (tally.bad[s])
			tap_diag("first failure: %s", tally.first_bad[s]);
		/* A resumed run of fewer VMs than scenarios may miss some. */
		tap_ok(!tally.bad[s] && (vms + skipped || tally.vms < NR_SCENARIOS),
		       "%s: %llu VMs ended with an API exit, %llu skipped (ends:%s)",
		       scenario_names[s], (unsigned long long)vms, (unsigned long long)skipped, line);
		tally.skipped += skipped;
	}
	tap_ok(!tally.bad_setup_errno,
	       "setup ioctls on hostile state: %llu errors, all with stock's errnos",
	       (unsigned long long)tally.setup_errors);
	tap_ok(!tally.state_unreadable, "every vCPU answered KVM_GET_REGS/SREGS after its run");
	tap_ok(tally.longest_run < 10,
	       "no KVM_RUN outlived its time bound by far (longest %.3f s)", tally.longest_run);

	n = 0;
	for (x = 0; x < MAX_OUTCOMES; x++) {
		if (!tally.exits[x])
			continue;
		all_exits += tally.exits[x];
		n += snprintf(line + n, sizeof(line) - n, " %s=%llu", outcome_name(x),
			      (unsigned long long)tally.exits[x]);
		if (n >= sizeof(line))
			break;
	}
	tap_diag("totals: %llu VMs (iterations), %llu skipped as TCG hazards, %u seeds from %llu, %llu KVM_RUN calls, %.1f s",
		 (unsigned long long)tally.vms, (unsigned long long)tally.skipped, o->seeds, (unsigned long long)o->seed,
		 (unsigned long long)tally.kvm_runs, secs);
	tap_diag("exits by reason (%llu):%s", (unsigned long long)all_exits, line);
}

int main(int argc, char **argv)
{
	struct options o;
	struct host h = { 0 };
	pthread_t wd;
	double limit = 30, start;
	uint32_t s, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse(argc, argv, &o);
	h.kvm = open(kvm_path(), O_RDWR | O_CLOEXEC);
	if (h.kvm < 0) {
		printf("1..0 # SKIP cannot open %s: %s\n", kvm_path(), strerror(errno));
		return 0;
	}
	h.cpuid = supported_cpuid(h.kvm);
	h.run_size = ioctl(h.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	h.ram = mmap(NULL, G_RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	h.rom = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h.ram == MAP_FAILED || h.rom == MAP_FAILED) {
		printf("Bail out! mmap: %s\n", strerror(errno));
		return 1;
	}
	timer_setup();
	pthread_create(&wd, NULL, watchdog, &limit);
	tap_plan(NR_SCENARIOS + 3);

	start = now_sec();
	for (s = 0; s < o.seeds; s++) {
		for (i = s == 0 && o.first >= 0 ? (uint32_t)o.first : o.from; i < o.from + o.iters; i++) {
			struct guest g = { 0 };
			struct rng r;
			int outcome;

			g.scenario = o.only_scenario >= 0 ? o.only_scenario : (int)(i % NR_SCENARIOS);
			g.mode = o.only_mode >= 0 ? o.only_mode :
				 (int)(i / NR_SCENARIOS % NR_MODES);
			rng_seed(&r, o.seed + s, i);
			rng_fill(&r, h.rom, 0x10000);
			code_tcg_safe(h.rom, 0x10000);
			snprintf(current_case, sizeof(current_case),
				 "seed %llu vm %u (%s, %s)", (unsigned long long)(o.seed + s), i,
				 scenario_names[g.scenario], mode_names[g.mode]);
			if (o.verbose > 1)
				tap_diag("%s: start", current_case);
			outcome = run_vm(&h, &o, &g, &r);
			tally.vms++;
			tally.ends[g.scenario][outcome]++;
			if (o.verbose)
				tap_diag("%s: %s", current_case, outcome_name(outcome));
		}
	}
	report(&o, now_sec() - start);
	return tap_done();
}
