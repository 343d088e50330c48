/* launcher/hw/fw_cfg.c: QEMU fw_cfg model: keyed items, file directory, byte port and DMA. */
#include "fw_cfg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct fw_cfg_item {
	uint16_t key;
	uint8_t *data;
	uint32_t len;
};

struct fw_cfg_file {
	char name[FW_CFG_MAX_FILE_NAME];
	uint16_t key;
	uint32_t len;
};

struct fw_cfg {
	struct guest_mem mem;
	bool has_dma;

	struct fw_cfg_item *items;
	size_t nitems;
	struct fw_cfg_file *files;
	size_t nfiles;

	/* Selected item (NULL when the key has no item) and read offset. */
	uint16_t cur_key;
	const struct fw_cfg_item *cur;
	uint32_t cur_off;

	uint32_t dma_high;
};

static const uint8_t fw_cfg_dma_signature[8] = "QEMU CFG";

static struct fw_cfg_item *fw_cfg_find(struct fw_cfg *cfg, uint16_t key)
{
	for (size_t i = 0; i < cfg->nitems; i++)
		if (cfg->items[i].key == key)
			return &cfg->items[i];
	return NULL;
}

static void fw_cfg_select(struct fw_cfg *cfg, uint16_t key)
{
	cfg->cur_key = key;
	cfg->cur = fw_cfg_find(cfg, key & ~0x4000);
	cfg->cur_off = 0;
}

int fw_cfg_add_bytes(struct fw_cfg *cfg, uint16_t key, const void *data,
		     size_t len)
{
	struct fw_cfg_item *item;
	uint8_t *copy;

	if (len > UINT32_MAX) {
		errno = EFBIG;
		return -1;
	}
	copy = malloc(len ? len : 1);
	if (!copy) {
		errno = ENOMEM;
		return -1;
	}
	if (len)
		memcpy(copy, data, len);

	item = fw_cfg_find(cfg, key);
	if (!item) {
		struct fw_cfg_item *grown;

		grown = realloc(cfg->items, (cfg->nitems + 1) * sizeof(*grown));
		if (!grown) {
			free(copy);
			errno = ENOMEM;
			return -1;
		}
		cfg->items = grown;
		item = &cfg->items[cfg->nitems++];
		item->key = key;
		item->data = NULL;
	}
	free(item->data);
	item->data = copy;
	item->len = (uint32_t)len;
	/* realloc may have moved the array under the current selection. */
	fw_cfg_select(cfg, cfg->cur_key);
	return 0;
}

int fw_cfg_add_u16(struct fw_cfg *cfg, uint16_t key, uint16_t val)
{
	uint8_t b[2] = { val, val >> 8 };

	return fw_cfg_add_bytes(cfg, key, b, sizeof(b));
}

int fw_cfg_add_u32(struct fw_cfg *cfg, uint16_t key, uint32_t val)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++)
		b[i] = val >> (8 * i);
	return fw_cfg_add_bytes(cfg, key, b, sizeof(b));
}

int fw_cfg_add_u64(struct fw_cfg *cfg, uint16_t key, uint64_t val)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = val >> (8 * i);
	return fw_cfg_add_bytes(cfg, key, b, sizeof(b));
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* The directory: a big-endian count, then 64-byte entries sorted by name. */
static int fw_cfg_rebuild_dir(struct fw_cfg *cfg)
{
	size_t len = 4 + cfg->nfiles * 64;
	uint8_t *dir = calloc(1, len);
	int ret;

	if (!dir) {
		errno = ENOMEM;
		return -1;
	}
	put_be32(dir, (uint32_t)cfg->nfiles);
	for (size_t i = 0; i < cfg->nfiles; i++) {
		uint8_t *e = dir + 4 + i * 64;

		put_be32(e, cfg->files[i].len);
		put_be16(e + 4, cfg->files[i].key);
		memcpy(e + 8, cfg->files[i].name, FW_CFG_MAX_FILE_NAME);
	}
	ret = fw_cfg_add_bytes(cfg, FW_CFG_FILE_DIR, dir, len);
	free(dir);
	return ret;
}

int fw_cfg_add_file(struct fw_cfg *cfg, const char *name, const void *data,
		    size_t len)
{
	struct fw_cfg_file *grown;
	size_t namelen = name ? strlen(name) : 0;
	size_t pos;
	uint16_t key;

	if (namelen == 0 || namelen >= FW_CFG_MAX_FILE_NAME) {
		errno = EINVAL;
		return -1;
	}
	for (pos = 0; pos < cfg->nfiles; pos++) {
		int c = strcmp(name, cfg->files[pos].name);

		if (c == 0) {
			errno = EEXIST;
			return -1;
		}
		if (c < 0)
			break;
	}
	if (FW_CFG_FILE_FIRST + cfg->nfiles > FW_CFG_KEY_MASK) {
		errno = ENOSPC;
		return -1;
	}
	key = (uint16_t)(FW_CFG_FILE_FIRST + cfg->nfiles);
	if (fw_cfg_add_bytes(cfg, key, data, len))
		return -1;

	grown = realloc(cfg->files, (cfg->nfiles + 1) * sizeof(*grown));
	if (!grown) {
		errno = ENOMEM;
		return -1;
	}
	cfg->files = grown;
	memmove(&cfg->files[pos + 1], &cfg->files[pos],
		(cfg->nfiles - pos) * sizeof(*grown));
	memset(&cfg->files[pos], 0, sizeof(*grown));
	memcpy(cfg->files[pos].name, name, namelen);
	cfg->files[pos].key = key;
	cfg->files[pos].len = (uint32_t)len;
	cfg->nfiles++;
	if (fw_cfg_rebuild_dir(cfg))
		return -1;
	return key;
}

struct fw_cfg *fw_cfg_create(const struct guest_mem *mem)
{
	struct fw_cfg *cfg = calloc(1, sizeof(*cfg));
	uint32_t id = FW_CFG_VERSION_TRADITIONAL;

	if (!cfg)
		return NULL;
	if (mem && mem->map) {
		cfg->mem = *mem;
		cfg->has_dma = true;
		id |= FW_CFG_VERSION_DMA;
	}
	if (fw_cfg_add_bytes(cfg, FW_CFG_SIGNATURE, "QEMU", 4) ||
	    fw_cfg_add_u32(cfg, FW_CFG_ID, id) ||
	    fw_cfg_rebuild_dir(cfg)) {
		fw_cfg_destroy(cfg);
		return NULL;
	}
	fw_cfg_select(cfg, FW_CFG_SIGNATURE);
	return cfg;
}

void fw_cfg_destroy(struct fw_cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nitems; i++)
		free(cfg->items[i].data);
	free(cfg->items);
	free(cfg->files);
	free(cfg);
}

/* Reads past the end of an item (or of no item) return zeros, like QEMU. */
static uint8_t fw_cfg_read_byte(struct fw_cfg *cfg)
{
	if (!cfg->cur || cfg->cur_off >= cfg->cur->len)
		return 0;
	return cfg->cur->data[cfg->cur_off++];
}

/*
 * One DMA request: a 16-byte big-endian descriptor {control, length,
 * address} at gpa. The transfer completes before the port write returns,
 * so the guest's poll of the control word sees it done at once.
 */
static void fw_cfg_dma(struct fw_cfg *cfg, uint64_t gpa)
{
	uint8_t *desc = guest_mem_map(&cfg->mem, gpa, 16);
	uint32_t control, len;
	uint64_t addr;
	uint8_t *buf = NULL;

	if (!desc)
		return;	/* nowhere to report the error: the guest sees no change */
	control = get_be32(desc);
	len = get_be32(desc + 4);
	addr = (uint64_t)get_be32(desc + 8) << 32 | get_be32(desc + 12);

	if (control & FW_CFG_DMA_CTL_SELECT)
		fw_cfg_select(cfg, control >> 16);

	if (control & FW_CFG_DMA_CTL_READ) {
		buf = len ? guest_mem_map(&cfg->mem, addr, len) : NULL;
		if (len && !buf)
			goto error;
		for (uint32_t i = 0; i < len; i++)
			buf[i] = fw_cfg_read_byte(cfg);
	} else if (control & FW_CFG_DMA_CTL_WRITE) {
		/* No item of ours is writable. */
		goto error;
	} else if (control & FW_CFG_DMA_CTL_SKIP) {
		uint32_t left = cfg->cur && cfg->cur_off < cfg->cur->len ?
				cfg->cur->len - cfg->cur_off : 0;

		cfg->cur_off += len < left ? len : left;
	}
	put_be32(desc, 0);
	return;
error:
	put_be32(desc, FW_CFG_DMA_CTL_ERROR);
}

static uint64_t fw_cfg_io_read(void *dev, uint64_t offset, unsigned int size)
{
	struct fw_cfg *cfg = dev;
	uint64_t val = 0;

	for (unsigned int i = 0; i < size; i++) {
		uint64_t off = offset + i;
		uint8_t b = 0xff;

		if (off == FW_CFG_OFF_DATA)
			/* The data port is one byte wide: a wide read takes one byte. */
			b = i == 0 ? fw_cfg_read_byte(cfg) : 0;
		else if (off >= FW_CFG_OFF_DMA_HIGH && off < FW_CFG_PORT_COUNT)
			b = cfg->has_dma ?
			    fw_cfg_dma_signature[off - FW_CFG_OFF_DMA_HIGH] : 0xff;
		val |= (uint64_t)b << (8 * i);
	}
	return val;
}

static uint32_t bswap_size(uint64_t val, unsigned int size)
{
	uint32_t out = 0;

	for (unsigned int i = 0; i < size; i++)
		out = out << 8 | ((val >> (8 * i)) & 0xff);
	return out;
}

static void fw_cfg_io_write(void *dev, uint64_t offset, unsigned int size,
			    uint64_t val)
{
	struct fw_cfg *cfg = dev;

	switch (offset) {
	case FW_CFG_OFF_SELECTOR:
		if (size >= 2)
			fw_cfg_select(cfg, (uint16_t)val);
		break;
	case FW_CFG_OFF_DMA_HIGH:
		if (cfg->has_dma && size == 4)
			cfg->dma_high = bswap_size(val, 4);
		break;
	case FW_CFG_OFF_DMA_LOW:
		if (cfg->has_dma && size == 4) {
			uint64_t gpa = (uint64_t)cfg->dma_high << 32 |
				       bswap_size(val, 4);

			/* The high half holds only for one request (QEMU does the same). */
			cfg->dma_high = 0;
			fw_cfg_dma(cfg, gpa);
		}
		break;
	default:
		/* Writes through the data port are obsolete; ignore them. */
		break;
	}
}

const struct io_ops fw_cfg_io_ops = {
	.read = fw_cfg_io_read,
	.write = fw_cfg_io_write,
};
