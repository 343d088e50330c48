/* tests/driver/t_smm.c: system management mode: SMRAM in address space 1, SMIs from KVM_SMI, the local APIC and KVM_SET_VCPU_EVENTS, the state save maps, RSM, SMBASE relocation, latched SMI and INIT, and the errnos. */
#include "kvmtest.h"

extern const uint8_t smm_guest[], smm_guest_end[], g_main[], g_after_smi[],
	g_after_ipi[], g_ud_handler[], g_real[], g_real_after[], smi_handler[],
	smi_handler_end[], reset_stub[], reset_stub_end[];

#define GA(sym)		(0x2000 + (uint64_t)((sym) - smm_guest))
#define MEM_SIZE	0x200000
#define SMRAM_GPA	0x30000		/* SMRAM in address space 1, over RAM in 0 */
#define SMRAM_SIZE	0x20000
#define SMBASE		0x30000		/* the power-on SMBASE */
#define SMBASE2		0x38000		/* where the handler moves it */
#define ALIAS_SIZE	0x30000		/* RAM below SMRAM, seen in SMM too */
#define COUNT_OFF	0x100		/* SMRAM_COUNT - SMRAM_GPA */
#define RELOC_OFF	0x104
#define MAP(smbase, off)	((smbase) - SMRAM_GPA + 0x8000 + (off))
#define MSR_SMBASE	0x9e
#define MSR_SMI_COUNT	0x34

static uint8_t *smram;

static int port_exit(struct tvm *t, uint16_t port, const char *what)
{
	int r = tvm_run(t);

	if (r == KVM_EXIT_IO && t->run->io.port == port)
		return 1;
	tap_diag("%s: expected I/O to 0x%x, got exit %s (port 0x%x)", what, port,
		 exit_name(r), r == KVM_EXIT_IO ? t->run->io.port : 0);
	return 0;
}

static uint64_t map64(uint64_t smbase, uint32_t off)
{
	uint64_t v;

	memcpy(&v, smram + MAP(smbase, off), 8);
	return v;
}

static uint32_t map32(uint64_t smbase, uint32_t off)
{
	uint32_t v;

	memcpy(&v, smram + MAP(smbase, off), 4);
	return v;
}

static uint16_t map16(uint64_t smbase, uint32_t off)
{
	uint16_t v;

	memcpy(&v, smram + MAP(smbase, off), 2);
	return v;
}

static uint64_t get_msr(struct tvm *t, uint32_t index, long *r)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = index };

	*r = xioctl(t->vcpu, KVM_GET_MSRS, &m);
	return m.e.data;
}

static struct kvm_vcpu_events events(struct tvm *t)
{
	struct kvm_vcpu_events e;

	memset(&e, 0xff, sizeof(e));
	ioctl(t->vcpu, KVM_GET_VCPU_EVENTS, &e);
	return e;
}

static uint32_t smm_count(void)
{
	uint32_t v;

	memcpy(&v, smram + COUNT_OFF, 4);
	return v;
}

/* Into the handler (its port 0x80 exit): the SMI's number, or 0. */
static uint32_t enter_handler(struct tvm *t, const char *what)
{
	if (!port_exit(t, 0x80, what))
		return 0;
	return tvm_io_byte(t);
}

/* The handler's second exit (the aliased word) and its RSM, up to @port. */
static int leave_handler(struct tvm *t, uint16_t port, const char *what)
{
	return port_exit(t, 0x81, what) && port_exit(t, port, what);
}

static void setup_slots_errnos(struct tvm *t)
{
	struct kvm_dirty_log log = { 0 };
	uint64_t bitmap[4] = { 0 };

	tap_ok(ioctl(t->kvm, KVM_CHECK_EXTENSION, KVM_CAP_X86_SMM) == 1 &&
	       ioctl(t->kvm, KVM_CHECK_EXTENSION, KVM_CAP_MULTI_ADDRESS_SPACE) == 2,
	       "KVM_CAP_X86_SMM is 1, KVM_CAP_MULTI_ADDRESS_SPACE is 2");
	tap_ok(set_slot(t->vm, 2 << 16, SMRAM_GPA, smram, SMRAM_SIZE, 0) == -EINVAL &&
	       set_slot(t->vm, 0xffff0000, SMRAM_GPA, smram, SMRAM_SIZE, 0) == -EINVAL,
	       "a slot in address space 2 or 0xffff is EINVAL");
	tap_ok(set_slot(t->vm, 1 << 16 | 0x8000, SMRAM_GPA, smram, SMRAM_SIZE, 0) == -EINVAL,
	       "slot id 0x8000 in address space 1 is EINVAL");
	tap_ok(set_slot(t->vm, 1 << 16 | 5, 0, NULL, 0, 0) == -EINVAL,
	       "deleting an absent slot of address space 1 is EINVAL");
	tap_ok(set_slot(t->vm, 1 << 16, SMRAM_GPA, smram, SMRAM_SIZE,
			KVM_MEM_LOG_DIRTY_PAGES) == 0,
	       "SMRAM in address space 1 over address space 0's RAM");
	tap_ok(set_slot(t->vm, 1 << 16 | 2, SMRAM_GPA + 0x1000, t->mem, 0x1000, 0) == -EEXIST,
	       "an overlap within address space 1 is EEXIST");
	tap_ok(set_slot(t->vm, 1 << 16 | 1, 0, t->mem, ALIAS_SIZE, 0) == 0,
	       "RAM below SMRAM aliased into address space 1");
	log.slot = 2 << 16;
	log.dirty_bitmap = bitmap;
	tap_ok(xioctl(t->vm, KVM_GET_DIRTY_LOG, &log) == -EINVAL,
	       "KVM_GET_DIRTY_LOG in address space 2 is EINVAL");
	log.slot = 1 << 16 | 1;
	tap_ok(xioctl(t->vm, KVM_GET_DIRTY_LOG, &log) == -ENOENT,
	       "KVM_GET_DIRTY_LOG of a slot of space 1 without logging is ENOENT");
}

/* The 64-bit guest: KVM_SMI, the map, RSM, the APIC's SMI, #UD. */
static void long_mode_smis(struct tvm *t)
{
	struct kvm_vcpu_events e;
	struct kvm_sregs s;
	struct kvm_regs r;
	long mr;
	uint64_t v;

	v = get_msr(t, MSR_SMBASE, &mr);
	tap_ok(mr == 1 && v == SMBASE, "MSR_IA32_SMBASE reads 0x%llx at power-on",
	       (unsigned long long)v);

	tap_ok(port_exit(t, 0x15, "normal word") && tvm_io_val(t) == 0x600dcafe,
	       "outside SMM, SMRAM's address reads address space 0's RAM");
	if (!port_exit(t, 0x10, "KVM_SMI point"))
		return;
	e = events(t);
	tap_ok((e.flags & KVM_VCPUEVENT_VALID_SMM) && !e.smi.smm && !e.smi.pending &&
	       !(t->run->flags & KVM_RUN_X86_SMM), "before the SMI: not in SMM");
	tap_ok(xioctl(t->vcpu, KVM_SMI, NULL) == 0, "KVM_SMI");
	e = events(t);
	tap_ok(e.smi.pending && !e.smi.smm, "the SMI shows as pending before KVM_RUN");

	tap_ok(enter_handler(t, "first SMI") == 1 && (t->run->flags & KVM_RUN_X86_SMM),
	       "the handler runs from SMRAM (count 1) with KVM_RUN_X86_SMM");
	e = events(t);
	if (!tap_ok(e.smi.smm && !e.smi.pending && !e.smi.smm_inside_nmi && e.nmi.masked,
		    "in SMM: events smm 1, pending 0, NMIs masked"))
		tap_diag("smm %u pending %u inside_nmi %u nmi.masked %u", e.smi.smm,
			 e.smi.pending, e.smi.smm_inside_nmi, e.nmi.masked);
	ioctl(t->vcpu, KVM_GET_SREGS, &s);
	ioctl(t->vcpu, KVM_GET_REGS, &r);
	tap_ok(s.cs.base == SMBASE && s.cs.selector == SMBASE >> 4 &&
	       s.cs.limit == 0xffffffff && s.ds.base == 0 && s.ds.limit == 0xffffffff &&
	       s.cr0 == 0x00050032 && s.cr4 == 0 && s.efer == 0 && s.idt.limit == 0 &&
	       r.rflags == 2, "SMM entry state: CS at SMBASE, 4 GiB limits, CR0 0x%llx, CR4 0, EFER 0, IDT limit 0",
	       (unsigned long long)s.cr0);
	tap_ok(map32(SMBASE, 0x7efc) == 0x00020064 && map32(SMBASE, 0x7f00) == SMBASE,
	       "AMD64 map: revision 0x%x, SMBASE 0x%x", map32(SMBASE, 0x7efc),
	       map32(SMBASE, 0x7f00));
	tap_ok(map64(SMBASE, 0x7f78) == GA(g_after_smi) &&
	       map64(SMBASE, 0x7ff8) == 0x77 &&
	       map64(SMBASE, 0x7ff8 - 3 * 8) == 0x1111111111111111ULL &&
	       map64(SMBASE, 0x7ff8 - 4 * 8) == 0x7ff0 &&
	       map64(SMBASE, 0x7ff8 - 15 * 8) == 0xffffffffffffffffULL &&
	       map32(SMBASE, 0x7f70) == 2,
	       "map: RIP after the exit, RAX, RBX, RSP, R15, RFLAGS");
	tap_ok(map64(SMBASE, 0x7f58) == 0x80050033 && map64(SMBASE, 0x7f50) == 0x9000 &&
	       map64(SMBASE, 0x7f48) == 0x20 && map64(SMBASE, 0x7ed0) == 0x500 &&
	       map64(SMBASE, 0x7f60) == 0x400,
	       "map: CR0, CR3, CR4, EFER, DR7");
	tap_ok(map16(SMBASE, 0x7e10) == 8 && map16(SMBASE, 0x7e12) == 0xa09b &&
	       map32(SMBASE, 0x7e14) == 0xffffffff && map16(SMBASE, 0x7e20) == 0x10 &&
	       map64(SMBASE, 0x7e68) == 0x8000 && map32(SMBASE, 0x7e64) == 23 &&
	       map64(SMBASE, 0x7e88) == 0x8800,
	       "map: CS 8 (attributes 0x%x), SS 0x10, GDT, IDT", map16(SMBASE, 0x7e12));
	v = get_msr(t, MSR_SMI_COUNT, &mr);
	tap_ok(mr == 1 && v == 1, "MSR_SMI_COUNT is 1");
	{
		uint64_t bitmap[(SMRAM_SIZE >> 12) / 64 + 1] = { 0 };
		struct kvm_dirty_log log = { .slot = 1 << 16, .dirty_bitmap = bitmap };

		long lr = xioctl(t->vm, KVM_GET_DIRTY_LOG, &log);

		tap_ok(lr == 0 && (bitmap[0] & 1) && (bitmap[0] & (1 << 0xf)),
		       "SMRAM's dirty log: the counter's page and the map's (0x%llx)",
		       (unsigned long long)bitmap[0]);
	}
	tap_ok(port_exit(t, 0x81, "alias") && tvm_io_val(t) == 0xa11a5,
	       "in SMM, RAM aliased into address space 1 reads the same");
	if (!port_exit(t, 0x11, "after RSM"))
		return;
	ioctl(t->vcpu, KVM_GET_REGS, &r);
	ioctl(t->vcpu, KVM_GET_SREGS, &s);
	tap_ok(r.rbx == 0x1111111111111111ULL && r.rcx == 0x2222222222222222ULL &&
	       r.rdx == 0x3333333333333333ULL && r.rsi == 0x4444444444444444ULL &&
	       r.rdi == 0x5555555555555555ULL && r.rbp == 0x6666666666666666ULL &&
	       r.rsp == 0x7ff0 && r.r8 == 0x8888888888888888ULL &&
	       r.r15 == 0xffffffffffffffffULL && r.rip == GA(g_after_smi),
	       "RSM restores the registers the handler clobbered");
	e = events(t);
	if (!tap_ok(s.cr0 == 0x80050033 && s.cr3 == 0x9000 && s.cr4 == 0x20 &&
		    s.efer == 0x500 && s.cs.selector == 8 && s.cs.l && s.cs.base == 0 &&
		    !e.smi.smm && !e.nmi.masked && !(t->run->flags & KVM_RUN_X86_SMM),
		    "back in long mode, out of SMM, NMIs unmasked"))
		tap_diag("cr0 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx cs %x l %u base 0x%llx smm %u nmi.masked %u flags 0x%x",
			 (unsigned long long)s.cr0, (unsigned long long)s.cr3,
			 (unsigned long long)s.cr4, (unsigned long long)s.efer, s.cs.selector,
			 s.cs.l, (unsigned long long)s.cs.base, e.smi.smm, e.nmi.masked,
			 t->run->flags);

	/* The local APIC's SMI. */
	tap_ok(enter_handler(t, "self IPI") == 2 &&
	       map64(SMBASE, 0x7f78) == GA(g_after_ipi),
	       "a self IPI with delivery mode SMI enters SMM after the ICR write");
	tap_ok(leave_handler(t, 0x12, "self IPI RSM"), "and RSM returns");

	/* RSM outside SMM. */
	tap_ok(port_exit(t, 0x16, "#UD") && tvm_rip(t) == GA(g_ud_handler),
	       "RSM outside SMM is #UD");
	port_exit(t, 0x13, "after #UD");
}

/* SMIs while in SMM, KVM_SET_VCPU_EVENTS, SMBASE relocation, INIT in SMM. */
static void latched_events(struct tvm *t)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_INIT_RECEIVED };
	struct kvm_vcpu_events e, e2;
	struct kvm_sregs s;
	long mr;
	uint64_t v;

	if (!port_exit(t, 0x14, "loop"))
		return;
	ioctl(t->vcpu, KVM_SMI, NULL);
	if (enter_handler(t, "third SMI") != 3)
		tap_diag("count %u", smm_count());
	ioctl(t->vcpu, KVM_SMI, NULL);
	e = events(t);
	tap_ok(e.smi.smm && e.smi.pending, "an SMI in SMM stays pending");
	tap_ok(xioctl(t->vcpu, KVM_SET_MP_STATE, &mp) == -EINVAL,
	       "KVM_SET_MP_STATE INIT_RECEIVED in SMM is EINVAL");
	tap_ok(xioctl(t->vcpu, KVM_SET_VCPU_EVENTS, &e) == 0, "KVM_SET_VCPU_EVENTS of what GET gave");
	e2 = events(t);
	tap_ok(e2.smi.smm == 1 && e2.smi.pending == 1 && e2.smi.smm_inside_nmi == 0 &&
	       e2.smi.latched_init == 0 && (t->run->flags & KVM_RUN_X86_SMM),
	       "round trip: smm, pending, inside_nmi, latched_init kept");
	tap_ok(port_exit(t, 0x81, "third RSM") && enter_handler(t, "latched SMI") == 4,
	       "the latched SMI is taken right after RSM");
	v = get_msr(t, MSR_SMI_COUNT, &mr);
	tap_ok(mr == 1 && v == 4, "MSR_SMI_COUNT is 4");
	tap_ok(leave_handler(t, 0x14, "fourth RSM"), "RSM from the latched SMI");

	/* An SMI from KVM_SET_VCPU_EVENTS; the handler moves SMBASE. */
	e = events(t);
	e.smi.pending = 1;
	e.flags = KVM_VCPUEVENT_VALID_SMM;
	tap_ok(xioctl(t->vcpu, KVM_SET_VCPU_EVENTS, &e) == 0 &&
	       enter_handler(t, "events SMI") == 5, "smi.pending from KVM_SET_VCPU_EVENTS");
	memcpy(smram + RELOC_OFF, &(uint32_t){ SMBASE2 }, 4);
	tap_ok(leave_handler(t, 0x14, "relocating RSM"), "RSM with a new SMBASE in the map");
	v = get_msr(t, MSR_SMBASE, &mr);
	tap_ok(mr == 1 && v == SMBASE2, "MSR_IA32_SMBASE is now 0x%llx", (unsigned long long)v);
	ioctl(t->vcpu, KVM_SMI, NULL);
	tap_ok(enter_handler(t, "relocated SMI") == 6 &&
	       !ioctl(t->vcpu, KVM_GET_SREGS, &s) && s.cs.base == SMBASE2 &&
	       s.cs.selector == SMBASE2 >> 4 && map32(SMBASE2, 0x7f00) == SMBASE2,
	       "the next SMI enters at the new SMBASE, its map there");

	/* An INIT in SMM waits for RSM. */
	e = events(t);
	e.smi.latched_init = 1;
	e.flags = KVM_VCPUEVENT_VALID_SMM;
	tap_ok(xioctl(t->vcpu, KVM_SET_VCPU_EVENTS, &e) == 0 && events(t).smi.latched_init == 1,
	       "latched_init set in SMM");
	tap_ok(port_exit(t, 0x81, "INIT RSM") && port_exit(t, 0x87, "reset vector"),
	       "RSM, then the latched INIT: the vCPU restarts at the reset vector");
	ioctl(t->vcpu, KVM_GET_SREGS, &s);
	e = events(t);
	tap_ok(s.cs.base == 0xffff0000 && !e.smi.smm && !e.smi.latched_init,
	       "after INIT: CS base 0xffff0000, out of SMM, nothing latched");
	v = get_msr(t, MSR_SMBASE, &mr);
	tap_ok(v == SMBASE2 && get_msr(t, MSR_SMI_COUNT, &mr) == 0,
	       "INIT keeps SMBASE and zeroes MSR_SMI_COUNT");
}

/* A guest without long mode: the 32-bit map, and a map RSM refuses. */
static void real_mode_smis(void)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	struct tvm t;
	uint32_t n;

	tvm_create(&t, MEM_SIZE);
	memset(smram, 0, SMRAM_SIZE);
	memcpy(smram + SMBASE + 0x8000 - SMRAM_GPA, smi_handler, smi_handler_end - smi_handler);
	memcpy(t.mem + 0x1000, &(uint32_t){ 0xa11a5 }, 4);
	if (set_slot(t.vm, 1 << 16, SMRAM_GPA, smram, SMRAM_SIZE, 0) ||
	    set_slot(t.vm, 1 << 16 | 1, 0, t.mem, ALIAS_SIZE, 0)) {
		tap_diag("SMRAM slots: %s", strerror(errno));
		return;
	}
	tvm_load(&t, 0x4000, g_real, smm_guest_end - g_real);
	tvm_real_mode(&t, 0x4000);
	if (!port_exit(&t, 0x20, "real mode"))
		return;
	ioctl(t.vcpu, KVM_SMI, NULL);
	n = enter_handler(&t, "32-bit SMI");
	tap_ok(n == 1 && map32(SMBASE, 0x7efc) == 0x00020000 &&
	       map32(SMBASE, 0x7ef8) == SMBASE,
	       "without long mode the map is the 32-bit one (revision 0x%x)",
	       map32(SMBASE, 0x7efc));
	if (!tap_ok(map32(SMBASE, 0x7ff0) == 0x4000 + (uint32_t)(g_real_after - g_real) &&
		    map32(SMBASE, 0x7fdc) == 0x1234 && map32(SMBASE, 0x7fe8) == 0x5678 &&
		    map32(SMBASE, 0x7ffc) == 0x60000010 && map32(SMBASE, 0x7fc8) == 0x400,
		    "32-bit map: EIP, EBX, ESI, CR0, DR7"))
		tap_diag("EIP 0x%x EBX 0x%x ESI 0x%x CR0 0x%x DR7 0x%x", map32(SMBASE, 0x7ff0),
			 map32(SMBASE, 0x7fdc), map32(SMBASE, 0x7fe8), map32(SMBASE, 0x7ffc),
			 map32(SMBASE, 0x7fc8));
	if (!leave_handler(&t, 0x21, "32-bit RSM"))
		return;
	ioctl(t.vcpu, KVM_GET_REGS, &r);
	ioctl(t.vcpu, KVM_GET_SREGS, &s);
	if (!tap_ok(r.rbx == 0x1234 && r.rsi == 0x5678 &&
		    r.rip == 0x4000 + (uint64_t)(g_real_after - g_real) &&
		    s.cs.base == 0 && s.cr0 == 0x60000010,
		    "RSM from the 32-bit map restores real mode"))
		tap_diag("rbx 0x%llx rsi 0x%llx rip 0x%llx cs.base 0x%llx cr0 0x%llx",
			 (unsigned long long)r.rbx, (unsigned long long)r.rsi,
			 (unsigned long long)r.rip, (unsigned long long)s.cs.base,
			 (unsigned long long)s.cr0);

	/* CR0.PG without PE in the map: RSM fails into a shutdown, as KVM's. */
	ioctl(t.vcpu, KVM_SMI, NULL);
	if (enter_handler(&t, "bad map SMI") == 2)
		memcpy(smram + MAP(SMBASE, 0x7ffc), &(uint32_t){ 0x80000010 }, 4);
	tap_ok(port_exit(&t, 0x81, "bad map") && tvm_run(&t) == KVM_EXIT_SHUTDOWN,
	       "RSM of a map with CR0.PG without PE is a shutdown");
	tap_ok(!events(&t).smi.smm, "and leaves SMM");
	tvm_destroy(&t);
}

int main(void)
{
	struct tvm t;

	tap_plan(49);
	memset(&t, 0, sizeof(t));
	t.kvm = open_kvm();
	t.vm = ioctl(t.kvm, KVM_CREATE_VM, 0);
	t.mem_size = MEM_SIZE;
	t.mem = guest_alloc(MEM_SIZE);
	smram = guest_alloc(SMRAM_SIZE);
	if (t.vm < 0 || set_slot(t.vm, 0, 0, t.mem, MEM_SIZE, 0) ||
	    ioctl(t.vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		printf("Bail out! VM setup: %s\n", strerror(errno));
		return 1;
	}
	tvm_add_vcpu(&t);
	tvm_cpuid(&t);
	setup_slots_errnos(&t);

	/* The reset vector, for the INIT test: 64 KiB below 4 GiB. */
	{
		uint8_t *top = guest_alloc(0x10000);

		memcpy(top + 0xfff0, reset_stub, reset_stub_end - reset_stub);
		if (set_slot(t.vm, 2, 0xffff0000, top, 0x10000, 0))
			tap_diag("reset slot: %s", strerror(errno));
	}
	memcpy(smram + SMBASE + 0x8000 - SMRAM_GPA, smi_handler, smi_handler_end - smi_handler);
	memcpy(smram + SMBASE2 + 0x8000 - SMRAM_GPA, smi_handler, smi_handler_end - smi_handler);
	memcpy(t.mem + 0x30100, &(uint32_t){ 0x600dcafe }, 4);
	memcpy(t.mem + 0x1000, &(uint32_t){ 0xa11a5 }, 4);
	tvm_load(&t, 0x2000, smm_guest, smm_guest_end - smm_guest);
	tvm_long_mode(&t, GA(g_main));
	tvm_idt_set(&t, 6, GA(g_ud_handler));

	long_mode_smis(&t);
	latched_events(&t);
	tvm_destroy(&t);

	real_mode_smis();
	return tap_done();
}
