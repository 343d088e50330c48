/* tests/launcher/test_fwcfg.c: fw_cfg model: byte port, file directory, DMA, bad requests. */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "hw/fw_cfg.h"

/* A 64 KiB "guest RAM" at gpa 0x10000 for the DMA interface. */
#define RAM_BASE 0x10000u
#define RAM_SIZE 0x10000u
static uint8_t ram[RAM_SIZE];

static void *ram_map(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	if (gpa < RAM_BASE || len > RAM_SIZE || gpa - RAM_BASE > RAM_SIZE - len)
		return NULL;
	return ram + (gpa - RAM_BASE);
}

static const struct guest_mem mem = { .map = ram_map };

static void sel(struct fw_cfg *c, uint16_t key)
{
	fw_cfg_io_ops.write(c, FW_CFG_OFF_SELECTOR, 2, key);
}

static void readn(struct fw_cfg *c, void *buf, size_t n)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)fw_cfg_io_ops.read(c, FW_CFG_OFF_DATA, 1);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* Start a DMA request the way SeaBIOS does: outl(cpu_to_be32(addr), 0x518). */
static uint32_t dma(struct fw_cfg *c, uint32_t desc_gpa, uint32_t control,
		    uint32_t len, uint64_t addr)
{
	uint8_t *d = ram + (desc_gpa - RAM_BASE);

	put_be32(d, control);
	put_be32(d + 4, len);
	put_be32(d + 8, (uint32_t)(addr >> 32));
	put_be32(d + 12, (uint32_t)addr);
	fw_cfg_io_ops.write(c, FW_CFG_OFF_DMA_LOW, 4, __builtin_bswap32(desc_gpa));
	return be32(d);
}

int main(void)
{
	struct fw_cfg *c, *nodma;
	uint8_t buf[256];
	uint32_t u32;
	uint64_t u64;
	int k1, k2;

	tap_plan(27);

	c = fw_cfg_create(&mem);
	nodma = fw_cfg_create(NULL);
	if (!tap_ok(c && nodma, "create"))
		return tap_done();

	sel(c, FW_CFG_SIGNATURE);
	readn(c, buf, 4);
	tap_ok(!memcmp(buf, "QEMU", 4), "signature reads QEMU byte by byte");
	readn(c, buf, 2);
	tap_ok(buf[0] == 0 && buf[1] == 0, "reading past the end gives zeros");

	sel(c, FW_CFG_ID);
	readn(c, &u32, 4);
	tap_ok(u32 == (FW_CFG_VERSION_TRADITIONAL | FW_CFG_VERSION_DMA),
	       "ID advertises DMA when guest memory is given");
	sel(nodma, FW_CFG_ID);
	readn(nodma, &u32, 4);
	tap_ok(u32 == FW_CFG_VERSION_TRADITIONAL, "ID without DMA: traditional only");
	tap_ok(fw_cfg_io_ops.read(nodma, FW_CFG_OFF_DMA_HIGH, 4) == 0xffffffffu,
	       "no DMA signature without DMA");
	tap_ok(fw_cfg_io_ops.read(c, FW_CFG_OFF_DMA_HIGH, 4) ==
	       (uint32_t)('Q' | 'E' << 8 | 'M' << 16 | 'U' << 24),
	       "DMA signature bytes at 0x514");

	fw_cfg_add_u64(c, FW_CFG_RAM_SIZE, 0x123456789abcdefull);
	sel(c, FW_CFG_RAM_SIZE);
	readn(c, &u64, 8);
	tap_ok(u64 == 0x123456789abcdefull, "u64 item is little endian");

	sel(c, 0x1234);
	readn(c, buf, 3);
	tap_ok(!buf[0] && !buf[1] && !buf[2], "unknown key reads zeros");

	k1 = fw_cfg_add_file(c, "etc/zeta", "zz", 2);
	k2 = fw_cfg_add_file(c, "bootorder", "/x\n", 3);
	tap_ok(k1 == FW_CFG_FILE_FIRST && k2 == FW_CFG_FILE_FIRST + 1,
	       "files get keys from 0x20 up");

	sel(c, FW_CFG_FILE_DIR);
	readn(c, buf, 4 + 2 * 64);
	tap_ok(be32(buf) == 2, "directory count is big endian");
	tap_ok(!strcmp((char *)buf + 4 + 8, "bootorder") &&
	       !strcmp((char *)buf + 4 + 64 + 8, "etc/zeta"),
	       "directory is sorted by name");
	tap_ok(be32(buf + 4) == 3 && buf[4 + 4] == 0 && buf[4 + 5] == k2,
	       "directory entry: size and key big endian");

	sel(c, (uint16_t)k1);
	readn(c, buf, 2);
	tap_ok(!memcmp(buf, "zz", 2), "file content through its key");

	errno = 0;
	tap_ok(fw_cfg_add_file(c, "bootorder", "", 0) < 0 && errno == EEXIST,
	       "duplicate file name refused");
	memset(buf, 'a', 60);
	buf[60] = 0;
	errno = 0;
	tap_ok(fw_cfg_add_file(c, (char *)buf, "", 0) < 0 && errno == EINVAL,
	       "56-byte name refused");
	errno = 0;
	tap_ok(fw_cfg_add_file(c, "", "", 0) < 0 && errno == EINVAL,
	       "empty name refused");

	/* DMA: select + read in one request, as qemu_cfg_read_entry does. */
	memset(ram, 0xee, sizeof(ram));
	u32 = dma(c, RAM_BASE, (uint32_t)FW_CFG_SIGNATURE << 16 |
		  FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 6, RAM_BASE + 0x100);
	tap_ok(u32 == 0, "DMA select+read completes with control 0");
	tap_ok(!memcmp(ram + 0x100, "QEMU\0\0", 6) && ram[0x106] == 0xee,
	       "DMA read copies the item, zero-fills past its end, no more");

	u32 = dma(c, RAM_BASE, (uint32_t)k2 << 16 | FW_CFG_DMA_CTL_SELECT |
		  FW_CFG_DMA_CTL_SKIP, 1, 0);
	tap_ok(u32 == 0, "DMA select+skip");
	u32 = dma(c, RAM_BASE, FW_CFG_DMA_CTL_READ, 2, RAM_BASE + 0x200);
	tap_ok(u32 == 0 && !memcmp(ram + 0x200, "x\n", 2),
	       "DMA read continues after the skip");
	sel(c, (uint16_t)k2);
	readn(c, buf, 1);
	tap_ok(buf[0] == '/', "port reads share the selection with DMA");

	u32 = dma(c, RAM_BASE, FW_CFG_DMA_CTL_READ, 16, 0x100000);
	tap_ok(u32 == FW_CFG_DMA_CTL_ERROR, "DMA read into non-RAM sets error");
	u32 = dma(c, RAM_BASE, (uint32_t)k1 << 16 | FW_CFG_DMA_CTL_SELECT |
		  FW_CFG_DMA_CTL_WRITE, 2, RAM_BASE + 0x300);
	tap_ok(u32 == FW_CFG_DMA_CTL_ERROR, "DMA write to a read-only item sets error");

	/* A high half applies to the next request only. */
	fw_cfg_io_ops.write(c, FW_CFG_OFF_DMA_HIGH, 4, __builtin_bswap32(1));
	u32 = dma(c, RAM_BASE, FW_CFG_DMA_CTL_READ, 0, 0);
	tap_ok(be32(ram) == FW_CFG_DMA_CTL_READ,
	       "descriptor above 4 GiB (not RAM here) left untouched");
	u32 = dma(c, RAM_BASE, FW_CFG_DMA_CTL_READ, 0, 0);
	tap_ok(u32 == 0, "high address half reset after a request");

	/* The selector replaced by a later add keeps working. */
	fw_cfg_add_u16(c, FW_CFG_NB_CPUS, 3);
	sel(c, FW_CFG_NB_CPUS);
	u32 = 0;
	readn(c, &u32, 2);
	tap_ok(u32 == 3, "u16 item");

	fw_cfg_destroy(c);
	fw_cfg_destroy(nodma);
	return tap_done();
}
