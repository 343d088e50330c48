/* tests/launcher/test_iobus.c: the I/O bus: dispatch by range, offsets, overlaps refused, unclaimed ports. */
#include "tap.h"
#include "iobus.h"

struct dev {
	uint64_t last_off, last_val;
	unsigned int reads, writes;
};

static uint64_t dev_read(void *o, uint64_t off, unsigned int size)
{
	struct dev *d = o;

	(void)size;
	d->reads++;
	d->last_off = off;
	return 0x1234567890abcdefULL;
}

static void dev_write(void *o, uint64_t off, unsigned int size, uint64_t val)
{
	struct dev *d = o;

	(void)size;
	d->writes++;
	d->last_off = off;
	d->last_val = val;
}

static const struct io_ops ops = { dev_read, dev_write };

int main(void)
{
	struct iobus bus = { .name = "port" };
	struct dev a = { 0 }, b = { 0 };
	uint64_t v;

	tap_plan(11);
	tap_ok(iobus_add(&bus, 0x3f8, 8, &ops, &a) == 0, "add 0x3f8-0x3ff");
	tap_ok(iobus_add(&bus, 0x20, 2, &ops, &b) == 0, "add 0x20-0x21");
	tap_ok(iobus_add(&bus, 0x3fc, 8, &ops, &b) == -1, "overlapping range refused");
	tap_ok(iobus_add(&bus, 0x10, 0, &ops, &b) == -1, "empty range refused");
	tap_ok(iobus_write(&bus, 0x3fb, 1, 0x83) && a.last_off == 3 && a.last_val == 0x83,
	       "write reaches the device with the offset from its base");
	tap_ok(iobus_read(&bus, 0x21, 1, &v) && v == 0xef && b.last_off == 1,
	       "a 1-byte read is truncated to 8 bits");
	tap_ok(iobus_read(&bus, 0x20, 2, &v) && v == 0xcdef, "a 2-byte read is truncated to 16 bits");
	tap_ok(!iobus_read(&bus, 0x60, 1, &v) && v == 0xff, "unclaimed port reads all ones");
	tap_ok(!iobus_read(&bus, 0x60, 4, &v) && v == 0xffffffff, "unclaimed dword reads all ones");
	iobus_del(&bus, 0x20, &b);
	tap_ok(!iobus_write(&bus, 0x20, 1, 0), "deleted range no longer claims its ports");
	tap_ok(iobus_add(&bus, 0x20, 2, &ops, &b) == 0, "and can be added again (BAR move)");
	iobus_free(&bus);
	return tap_done();
}
