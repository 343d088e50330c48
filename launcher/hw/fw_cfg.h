/* launcher/hw/fw_cfg.h: QEMU firmware configuration device (ports 0x510-0x51b). */
#ifndef HW_FW_CFG_H
#define HW_FW_CFG_H

#include "hw.h"

/* Port layout as SeaBIOS and Linux's qemu_fw_cfg expect it on x86. */
#define FW_CFG_PORT_BASE	0x510
#define FW_CFG_PORT_COUNT	0x0c	/* selector, data, DMA address hi/lo */
#define FW_CFG_OFF_SELECTOR	0x00
#define FW_CFG_OFF_DATA		0x01
#define FW_CFG_OFF_DMA_HIGH	0x04
#define FW_CFG_OFF_DMA_LOW	0x08

/* Fixed keys (the "legacy" items; everything newer is a named file). */
#define FW_CFG_SIGNATURE	0x0000
#define FW_CFG_ID		0x0001
#define FW_CFG_RAM_SIZE		0x0003
#define FW_CFG_NOGRAPHIC	0x0004
#define FW_CFG_NB_CPUS		0x0005
#define FW_CFG_BOOT_MENU	0x000e
#define FW_CFG_MAX_CPUS		0x000f
#define FW_CFG_FILE_DIR		0x0019
#define FW_CFG_FILE_FIRST	0x0020
#define FW_CFG_KEY_MASK		0x3fff	/* without the write and arch bits */
#define FW_CFG_ARCH_LOCAL	0x8000

/* FW_CFG_ID feature bits. */
#define FW_CFG_VERSION_TRADITIONAL	0x01
#define FW_CFG_VERSION_DMA		0x02

/* DMA control word bits (big endian in guest memory). */
#define FW_CFG_DMA_CTL_ERROR	0x01
#define FW_CFG_DMA_CTL_READ	0x02
#define FW_CFG_DMA_CTL_SKIP	0x04
#define FW_CFG_DMA_CTL_SELECT	0x08
#define FW_CFG_DMA_CTL_WRITE	0x10

#define FW_CFG_MAX_FILE_NAME	56	/* including the terminating NUL */

struct fw_cfg;

/*
 * mem gives the DMA interface access to guest RAM; with mem == NULL the
 * device advertises only the byte-wise port interface.
 */
struct fw_cfg *fw_cfg_create(const struct guest_mem *mem);
void fw_cfg_destroy(struct fw_cfg *cfg);

/* Item contents are copied. Adding an existing key replaces it. */
int fw_cfg_add_bytes(struct fw_cfg *cfg, uint16_t key, const void *data,
		     size_t len);
int fw_cfg_add_u16(struct fw_cfg *cfg, uint16_t key, uint16_t val);
int fw_cfg_add_u32(struct fw_cfg *cfg, uint16_t key, uint32_t val);
int fw_cfg_add_u64(struct fw_cfg *cfg, uint16_t key, uint64_t val);

/*
 * Named file, listed in the directory at FW_CFG_FILE_DIR. Returns the key
 * it was given (>= FW_CFG_FILE_FIRST), or -1 with errno set (EINVAL for a
 * bad name, EEXIST for a duplicate, ENOSPC, ENOMEM).
 */
int fw_cfg_add_file(struct fw_cfg *cfg, const char *name, const void *data,
		    size_t len);

/* Port accessors; register them at FW_CFG_PORT_BASE, FW_CFG_PORT_COUNT. */
extern const struct io_ops fw_cfg_io_ops;

#endif
