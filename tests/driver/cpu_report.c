/*
 * tests/driver/cpu_report.c: what /dev/kvm tells a VMM about the guest CPU,
 * one line per fact, for tests/driver/cpuhost.t to diff between lanes:
 * KVM_GET_SUPPORTED_CPUID, KVM_GET_MSR_INDEX_LIST, the feature MSRs and
 * their values, and which listed MSRs a new vCPU refuses to KVM_GET_MSRS
 * and to KVM_SET_MSRS of the value just read (what QEMU does at start).
 */
#include "kvmtest.h"

#define MAX_CPUID	256
#define MAX_MSRS	1024

static void report_cpuid(int kvm, struct kvm_cpuid2 *c)
{
	uint32_t i;

	c->nent = MAX_CPUID;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		printf("cpuid error %s\n", strerror(errno));
		c->nent = 0;
		return;
	}
	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		printf("cpuid %08x.%02x flags %x: %08x %08x %08x %08x\n",
		       e->function, e->index, e->flags,
		       e->eax, e->ebx, e->ecx, e->edx);
	}
}

static struct kvm_msr_list *msr_list(int kvm, unsigned long ioc)
{
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + MAX_MSRS * 4);

	l->nmsrs = MAX_MSRS;
	if (ioctl(kvm, ioc, l) < 0)
		l->nmsrs = 0;
	return l;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* One MSR through KVM_GET_MSRS/KVM_SET_MSRS on fd: 1 when done. */
static int msr_io(int fd, unsigned long ioc, uint32_t index, uint64_t *data)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = index, .e.data = *data };
	int r = ioctl(fd, ioc, &m);

	*data = m.e.data;
	return r;
}

int main(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + MAX_CPUID * sizeof(c->entries[0]));
	struct kvm_msr_list *l, *f;
	int kvm = open_kvm();
	int vm, vcpu;
	uint32_t i;

	report_cpuid(kvm, c);

	l = msr_list(kvm, KVM_GET_MSR_INDEX_LIST);
	qsort(l->indices, l->nmsrs, 4, cmp_u32);
	for (i = 0; i < l->nmsrs; i++)
		printf("msr_index %08x\n", l->indices[i]);

	f = msr_list(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST);
	qsort(f->indices, f->nmsrs, 4, cmp_u32);
	for (i = 0; i < f->nmsrs; i++) {
		uint64_t v = 0;

		if (msr_io(kvm, KVM_GET_MSRS, f->indices[i], &v) == 1)
			printf("feature_msr %08x = %016llx\n", f->indices[i],
			       (unsigned long long)v);
		else
			printf("feature_msr %08x unreadable\n", f->indices[i]);
	}

	/* A vCPU with the supported CPUID, as QEMU -cpu host sets it up. */
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		printf("vm error %s\n", strerror(errno));
		return 1;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0 || ioctl(vcpu, KVM_SET_CPUID2, c) < 0) {
		printf("vcpu error %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < l->nmsrs; i++) {
		uint64_t v = 0;

		if (msr_io(vcpu, KVM_GET_MSRS, l->indices[i], &v) != 1)
			printf("vcpu_msr %08x get refused\n", l->indices[i]);
		else if (msr_io(vcpu, KVM_SET_MSRS, l->indices[i], &v) != 1)
			printf("vcpu_msr %08x set of %llx refused\n",
			       l->indices[i], (unsigned long long)v);
	}
	printf("cpu_report done\n");
	return 0;
}
