/* tests/hostile/guest.h: the hostile guests: CPU modes, scenarios, and the generator that builds one VM's memory and state. */
#ifndef HOSTILE_GUEST_H
#define HOSTILE_GUEST_H

#include "hostile.h"

/* Guest physical layout, all in the first 64 KiB so 16-bit code reaches it. */
#define G_GDT		0x1000
#define G_IDT		0x2000
#define G_TSS		0x3000
#define G_TSS_DF	0x3100
#define G_PT		0x4000	/* page tables up to 0x9fff */
#define G_STUBS		0xa000	/* one 16-byte handler per vector */
#define G_DATA		0xb000	/* pseudo-descriptors, VMCB, XSAVE area */
#define G_IST		0xbf00
#define G_CODE		0xc000
#define G_CODE_END	0xe000
#define G_STACK		0xfff0
#define G_RAM		0x100000

/* The port the handler stubs report vectors on, and the guest's "done". */
#define PORT_VECTOR	0x80
#define PORT_DONE	0x81

enum guest_mode {
	MODE_REAL, MODE_PM16, MODE_PM32, MODE_PM32_PAGING, MODE_PAE,
	MODE_LONG, MODE_COMPAT, NR_MODES
};

enum scenario {
	SC_BYTES, SC_CR, SC_MSR, SC_DR, SC_IO, SC_MMIO, SC_STACK, SC_TRIPLE,
	SC_VIRT, SC_EXC, SC_REGS, SC_MIX, NR_SCENARIOS
};

extern const char *const mode_names[NR_MODES];
extern const char *const scenario_names[NR_SCENARIOS];

struct guest {
	uint8_t *mem;		/* G_RAM bytes at guest physical 0 */
	int mode;
	int scenario;
	struct kvm_sregs sregs;	/* in: the vCPU's reset state; out: the mode's */
	struct kvm_regs regs;
};

/* Fill g->mem, g->sregs and g->regs for (mode, scenario) from @r. */
void guest_build(struct guest *g, struct rng *r);
/* Corrupt some of g->sregs/g->regs the way a hostile VMM would. */
void guest_mutate_state(struct guest *g, struct rng *r);
/* A physical or linear address worth touching: device pages, edges, holes. */
uint64_t guest_addr(struct rng *r, int bits);

#endif
