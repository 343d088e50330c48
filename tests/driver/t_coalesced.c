/* tests/driver/t_coalesced.c: coalesced PIO and MMIO: capabilities, the ring page, zone errors, which writes go to the ring and which exit, a full ring, a spoiled index, unregistering. */
#include "kvmtest.h"

/* KVM_COALESCED_MMIO_MAX is sized by it */
#ifndef PAGE_SIZE
#define PAGE_SIZE	4096
#endif

extern const uint8_t coal_guest[], coal_guest_end[];
extern const uint8_t g_pio[], g_mmio[], g_flood[];

#define GA(sym)	(0x2000 + (uint64_t)((sym) - coal_guest))
#define PAGE	PAGE_SIZE
#define MMIO	0xc0000000ULL

static struct kvm_coalesced_mmio_ring *ring;

static struct tvm *fresh(struct tvm *t, uint64_t rip)
{
	tvm_create(t, 8 << 20);
	tvm_cpuid(t);
	tvm_load(t, 0x2000, coal_guest, coal_guest_end - coal_guest);
	tvm_long_mode(t, rip);
	ring = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, t->vcpu,
		    2 * PAGE);
	if (ring == MAP_FAILED) {
		printf("Bail out! mmap of the coalesced ring: %s\n", strerror(errno));
		exit(1);
	}
	return t;
}

static void done(struct tvm *t)
{
	munmap(ring, PAGE);
	tvm_destroy(t);
}

static long zone(struct tvm *t, unsigned long req, uint64_t addr, uint32_t size,
		 uint32_t pio)
{
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = size, .pio = pio };

	return xioctl(t->vm, req, &z);
}

/* The ring's entries as text ("P70/1=34 "), consumed as a VMM would. */
static size_t drain(char *buf, size_t size)
{
	size_t n = 0;

	while (ring->first != ring->last && ring->first < KVM_COALESCED_MMIO_MAX) {
		struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[ring->first];
		uint64_t v = 0;

		memcpy(&v, e->data, e->len <= 8 ? e->len : 8);
		n += snprintf(buf + n, size - n, "%c%llx/%u=%llx ", e->pio ? 'P' : 'M',
			      (unsigned long long)e->phys_addr, e->len,
			      (unsigned long long)v);
		ring->first = (ring->first + 1) % KVM_COALESCED_MMIO_MAX;
	}
	return n;
}

/* Run to HLT: each exit as a line, after what the ring held at that exit. */
static void run_log(struct tvm *t, char *log, size_t size)
{
	size_t n = 0;
	int i, r;

	log[0] = 0;
	for (i = 0; i < 20; i++) {
		struct kvm_run *run = t->run;

		r = tvm_run(t);
		n += drain(log + n, size - n);
		if (r == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT) {
			n += snprintf(log + n, size - n, "| O%x/%u=%x\n", run->io.port,
				      run->io.size, tvm_io_val(t));
		} else if (r == KVM_EXIT_IO) {
			tvm_io_set(t, 0);
			n += snprintf(log + n, size - n, "| I%x/%u\n", run->io.port,
				      run->io.size);
		} else if (r == KVM_EXIT_MMIO) {
			uint64_t v = 0;

			memcpy(&v, run->mmio.data, run->mmio.len);
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0, sizeof(run->mmio.data));
			n += snprintf(log + n, size - n, "| %c%u %llx=%llx\n",
				      run->mmio.is_write ? 'W' : 'R', run->mmio.len,
				      (unsigned long long)run->mmio.phys_addr,
				      run->mmio.is_write ? (unsigned long long)v : 0ULL);
		} else {
			n += snprintf(log + n, size - n, "| %s\n",
				      r == KVM_EXIT_HLT ? "HLT" : exit_name(r));
			return;
		}
	}
}

static void check_log(const char *what, const char *log, const char *expect)
{
	if (!tap_ok(!strcmp(log, expect), "%s", what))
		printf("# got:\n%s# want:\n%s", log, expect);
}

static void test_caps(void)
{
	int kvm = open_kvm();
	long size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct tvm t;

	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO) == 2 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) == 1,
	       "KVM_CAP_COALESCED_MMIO is the ring's page offset, 2; COALESCED_PIO 1");
	tap_ok(size >= 3 * PAGE, "vCPU mapping holds the ring page (%ld bytes)", size);
	close(kvm);

	fresh(&t, GA(g_pio));
	tap_ok(ring->first == 0 && ring->last == 0, "the ring starts empty");
	tap_ok(zone(&t, KVM_REGISTER_COALESCED_MMIO, 0x70, 2, 2) == -EINVAL &&
	       zone(&t, KVM_UNREGISTER_COALESCED_MMIO, 0x70, 2, 7) == -EINVAL,
	       "a zone neither MMIO (0) nor PIO (1): EINVAL");
	tap_ok(xioctl(t.vm, KVM_REGISTER_COALESCED_MMIO, NULL) == -EFAULT &&
	       xioctl(t.vm, KVM_UNREGISTER_COALESCED_MMIO, NULL) == -EFAULT,
	       "an unreadable zone: EFAULT");
	tap_ok(zone(&t, KVM_UNREGISTER_COALESCED_MMIO, 0x70, 2, 1) == 0,
	       "unregistering what is not there: 0");
	{
		long r = 0;
		int i;

		for (i = 0; i < 1000 && !r; i++)
			r = zone(&t, KVM_REGISTER_COALESCED_MMIO, 0x1000 + i, 1, 1);
		tap_ok(!r && zone(&t, KVM_REGISTER_COALESCED_MMIO, 0x3000, 1, 1) == -ENOSPC,
		       "1000 port zones, the next one: ENOSPC (%d registered, %ld)", i, r);
		tap_ok(zone(&t, KVM_REGISTER_COALESCED_MMIO, MMIO, 16, 0) == 0,
		       "MMIO zones are counted apart");
	}
	done(&t);
}

static void test_pio(void)
{
	char log[1024];
	struct tvm t;

	fresh(&t, GA(g_pio));
	tap_ok(zone(&t, KVM_REGISTER_COALESCED_MMIO, 0x70, 2, 1) == 0, "port zone 0x70-0x71");
	run_log(&t, log, sizeof(log));
	check_log("PIO: byte and word writes in the zone go to the ring in order; "
		  "a dword past it, a read and another port exit", log,
		  "P70/1=34 P70/2=1234 | O70/4=aabbccdd\n"
		  "| I70/1\n"
		  "P71/1=5a | O72/1=5a\n"
		  "| HLT\n");
	done(&t);
}

static void test_mmio(void)
{
	char log[1024];
	struct tvm t;

	fresh(&t, GA(g_mmio));
	tap_ok(zone(&t, KVM_REGISTER_COALESCED_MMIO, MMIO, 16, 0) == 0, "MMIO zone of 16 bytes");
	/* a port zone at the same numbers changes nothing for MMIO */
	zone(&t, KVM_REGISTER_COALESCED_MMIO, MMIO + 16, 16, 1);
	run_log(&t, log, sizeof(log));
	check_log("MMIO: writes in the zone go to the ring; a read and a write past it exit", log,
		  "Mc0000000/4=11223344 Mc0000008/8=102030405060708 | R4 c0000000=0\n"
		  "| W2 c0000010=5566\n"
		  "Mc000000f/1=77 | HLT\n");
	done(&t);
}

/*
 * How many writes the ring takes from (first, last) before KVM calls it
 * full. KVM computes the room as (first - last - 1) % MAX in 32 bits, so
 * with first at 0 the wrap-around makes it full at 85 of 170 entries (2^32
 * - 86 is a multiple of 170); once first has moved on it holds 169.
 */
static unsigned int ring_room(uint32_t first, uint32_t last)
{
	unsigned int n = 0;

	while ((uint32_t)(first - last - 1) % KVM_COALESCED_MMIO_MAX) {
		last = (last + 1) % KVM_COALESCED_MMIO_MAX;
		n++;
	}
	return n;
}

static void test_full(void)
{
	unsigned int room = ring_room(0, 0), n = 0, bad = 0, i;
	struct tvm t;
	int r;

	fresh(&t, GA(g_flood));
	zone(&t, KVM_REGISTER_COALESCED_MMIO, 0x70, 1, 1);
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x70 && tvm_io_val(&t) == room,
	       "a full ring: write %u exits (%s)", room, exit_name(r));
	for (i = ring->first; i != ring->last; i = (i + 1) % KVM_COALESCED_MMIO_MAX) {
		bad += ring->coalesced_mmio[i].data[0] != (uint8_t)n;
		n++;
	}
	tap_ok(n == room && !bad, "it holds the %u writes before, in order", n);
	ring->first = ring->last;
	room = ring_room(ring->first, ring->last);
	r = tvm_run(&t);
	n = (ring->last + KVM_COALESCED_MMIO_MAX - ring->first) % KVM_COALESCED_MMIO_MAX;
	tap_ok(r == KVM_EXIT_HLT && room >= n && n == 200 - ring_room(0, 0) - 1 &&
	       ring->coalesced_mmio[ring->first].data[0] == ring_room(0, 0) + 1,
	       "emptied (room for %u), it takes the other %u (%s)", room, n, exit_name(r));
	done(&t);
}

static void test_spoiled_and_unregister(void)
{
	char log[1024];
	struct tvm t;
	int r;

	fresh(&t, GA(g_pio));
	zone(&t, KVM_REGISTER_COALESCED_MMIO, 0x70, 2, 1);
	ring->last = 5000;
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x70 && t.run->io.size == 1 &&
	       ring->last == 5000 && ring->coalesced_mmio[0].len == 0,
	       "an index past the ring: the write exits, the page is left alone");
	ring->first = ring->last = 0;
	/* unregistering MMIO at those numbers leaves the port zone */
	zone(&t, KVM_UNREGISTER_COALESCED_MMIO, 0x70, 2, 0);
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && t.run->io.size == 4 && ring->last == 1,
	       "the zone of the other space stays (%s)", exit_name(r));
	ring->first = ring->last;
	/* a range inside the zone takes the whole zone away */
	tap_ok(zone(&t, KVM_UNREGISTER_COALESCED_MMIO, 0x71, 1, 1) == 0, "unregister 0x71");
	run_log(&t, log, sizeof(log));
	check_log("unregistered: every write exits", log,
		  "| I70/1\n| O71/1=5a\n| O72/1=5a\n| HLT\n");
	done(&t);
}

int main(void)
{
	tap_plan(8 + 2 + 2 + 3 + 4);
	test_caps();
	test_pio();
	test_mmio();
	test_full();
	test_spoiled_and_unregister();
	return tap_done();
}
