/* launcher/hw/virtio_pci.c: the virtio PCI transport: capabilities, common and legacy registers, feature negotiation, status, queues, interrupts. */
#include <stdio.h>
#include <string.h>

#include "virtio_pci.h"

/* PCI IDs of transitional devices (virtio 1.1, 4.1.2.3), by device type. */
static const struct {
	uint16_t type, device;
} transitional_ids[] = {
	{ 1, 0x1000 },		/* network */
	{ 2, 0x1001 },		/* block */
	{ 3, 0x1003 },		/* console */
	{ 4, 0x1005 },		/* entropy */
	{ 5, 0x1002 },		/* traditional balloon */
	{ 8, 0x1004 },		/* SCSI host */
	{ 9, 0x1009 },		/* 9P transport */
};

static uint16_t transitional_id(uint16_t type)
{
	for (size_t i = 0; i < sizeof(transitional_ids) / sizeof(transitional_ids[0]); i++)
		if (transitional_ids[i].type == type)
			return transitional_ids[i].device;
	return 0;
}

static struct virtio_pci_queue *selected(struct virtio_pci *vp)
{
	return vp->queue_select < vp->ops->num_queues ? &vp->q[vp->queue_select] : NULL;
}

static void notify_moved(struct virtio_pci *vp)
{
	if (vp->host.notify_moved)
		vp->host.notify_moved(vp->host.ctx);
}

/* ---- interrupts ---- */

static bool msix_on(const struct virtio_pci *vp)
{
	return vp->nvec && pci_msix_enabled(&vp->msix);
}

/*
 * MSI-X when the driver enabled it (NO_VECTOR: no interrupt at all), else
 * the ISR bit and INTx, which stays asserted until the driver reads ISR.
 */
static void interrupt_driver(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (isr_bit == VIRTIO_PCI_ISR_CONFIG)
		vp->isr |= isr_bit;
	if (msix_on(vp)) {
		if (vector != VIRTIO_MSI_NO_VECTOR)
			pci_msix_notify(&vp->msix, vector);
		return;
	}
	vp->isr |= isr_bit;
	pci_func_set_intx(&vp->pci, 1);
}

static uint8_t isr_read_clear(struct virtio_pci *vp)
{
	uint8_t v = vp->isr;

	vp->isr = 0;
	if (vp->pci.intx_level)
		pci_func_set_intx(&vp->pci, 0);
	return v;
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	vp->config_generation++;
	interrupt_driver(vp, vp->config_vector, VIRTIO_PCI_ISR_CONFIG);
}

static void vq_interrupt(void *ctx, struct virtqueue *vq)
{
	struct virtio_pci *vp = ctx;

	interrupt_driver(vp, vp->q[vq->index].vector, VIRTIO_PCI_ISR_QUEUE);
}

/* virtio 1.1, 2.1.2: the device stops and tells the driver once it runs. */
static void vq_broken(void *ctx, struct virtqueue *vq)
{
	struct virtio_pci *vp = ctx;

	(void)vq;
	if (vp->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	vp->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (vp->status & VIRTIO_STATUS_DRIVER_OK)
		interrupt_driver(vp, vp->config_vector, VIRTIO_PCI_ISR_CONFIG);
}

static bool vq_again(void *ctx, struct virtqueue *vq)
{
	struct virtio_pci *vp = ctx;

	if (!vp->host.notify_later)
		return false;
	vp->host.notify_later(vp->host.ctx, vq->index);
	return true;
}

static const struct virtq_ops vq_ops = { vq_interrupt, vq_broken, vq_again };

/* ---- status, features, queues ---- */

static void reset_state(struct virtio_pci *vp)
{
	for (unsigned int i = 0; i < vp->ops->num_queues; i++) {
		struct virtio_pci_queue *q = &vp->q[i];

		virtq_disable(&q->vq);
		q->size = vp->ops->queue_size;
		q->vector = VIRTIO_MSI_NO_VECTOR;
		q->legacy = false;
		q->desc = q->avail = q->used = 0;
	}
	vp->driver_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_select = 0;
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	vp->status = 0;
	vp->isr = 0;
}

void virtio_pci_reset(struct virtio_pci *vp)
{
	reset_state(vp);
	if (vp->pci.intx_level)
		pci_func_set_intx(&vp->pci, 0);
	if (vp->ops->reset)
		vp->ops->reset(vp->dev);
	notify_moved(vp);
}

/* Modern FEATURES_OK: VERSION_1, nothing not offered, and the model agrees. */
static bool features_acceptable(struct virtio_pci *vp)
{
	uint64_t f = vp->driver_features;
	const char *why = NULL;

	if (f & ~vp->device_features)
		why = "features not offered";
	else if (!(f >> VIRTIO_F_VERSION_1 & 1))
		why = "no VIRTIO_F_VERSION_1 on the modern interface";
	else if (vp->ops->set_features && !vp->ops->set_features(vp->dev, f))
		why = "a combination the device refuses";
	if (!why)
		return true;
	fprintf(stderr, "kvm-launch: %s: FEATURES_OK refused for features %#llx (offered %#llx): %s\n",
		vp->name, (unsigned long long)f, (unsigned long long)vp->device_features, why);
	return false;
}

/* DRIVER_OK: the device may use the queues now, and looks at them once. */
static void driver_ok(struct virtio_pci *vp, bool legacy)
{
	if (legacy && vp->ops->set_features)
		vp->ops->set_features(vp->dev, vp->driver_features);
	for (unsigned int i = 0; i < vp->ops->num_queues; i++)
		virtq_set_features(&vp->q[i].vq, vp->driver_features);
	for (unsigned int i = 0; i < vp->ops->num_queues; i++)
		virtio_pci_queue_notify(vp, i);
}

static void set_status(struct virtio_pci *vp, uint8_t val, bool legacy)
{
	uint8_t old = vp->status;

	if (!val) {
		virtio_pci_reset(vp);
		return;
	}
	/* NEEDS_RESET is the device's to set, the driver's to clear by a reset */
	val = (val & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
	if (!legacy && (val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_acceptable(vp))
		val &= ~VIRTIO_STATUS_FEATURES_OK;
	vp->status = val;
	if ((val & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
		driver_ok(vp, legacy);
}

static void queue_enable(struct virtio_pci *vp, struct virtio_pci_queue *q)
{
	q->legacy = false;
	if (q->size > vp->ops->queue_size)
		virtq_set_broken(&q->vq, "size %u is larger than the %u offered", q->size,
				 vp->ops->queue_size);
	else
		virtq_enable(&q->vq, q->size, q->desc, q->avail, q->used, vp->driver_features);
	notify_moved(vp);
}

/* Legacy QUEUE_PFN: the rings at a page, of the queue's fixed size; 0 stops it. */
static void queue_set_pfn(struct virtio_pci *vp, struct virtio_pci_queue *q, uint32_t pfn)
{
	if (!pfn) {
		virtq_disable(&q->vq);
		q->legacy = false;
		q->desc = q->avail = q->used = 0;
		notify_moved(vp);
		return;
	}
	if (q->vq.enabled)
		return;
	q->size = vp->ops->queue_size;
	virtq_legacy_layout(q->size, (uint64_t)pfn << VIRTIO_PCI_QUEUE_ADDR_SHIFT, &q->desc,
			    &q->avail, &q->used);
	q->legacy = true;
	virtq_enable(&q->vq, q->size, q->desc, q->avail, q->used, vp->driver_features);
	notify_moved(vp);
}

static uint16_t vector_or_none(const struct virtio_pci *vp, uint32_t v)
{
	return v < vp->nvec ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

void virtio_pci_queue_notify(struct virtio_pci *vp, unsigned int q)
{
	struct virtqueue *vq;

	/* virtio 1.1, 3.1.2: no buffers are used before DRIVER_OK */
	if (q >= vp->ops->num_queues || !(vp->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (vp->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	vq = &vp->q[q].vq;
	if (vq->enabled && !vq->broken)
		vp->ops->queue_notify(vp->dev, vq);
}

/* ---- register files ---- */

/* A register: offset and size (at most 4; 64-bit fields are two halves). */
struct reg {
	uint8_t off, size;
};

typedef uint32_t (*reg_get_fn)(struct virtio_pci *vp, unsigned int off);
typedef void (*reg_set_fn)(struct virtio_pci *vp, unsigned int off, uint32_t val);

/*
 * Accesses of any size and alignment: each register the access overlaps
 * gives or takes its bytes (a partial write merges with the current value).
 */
static uint64_t regs_read(struct virtio_pci *vp, const struct reg *regs, unsigned int n,
			  reg_get_fn get, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++) {
		const struct reg *r = &regs[i];
		uint32_t rv;

		if (r->off >= off + size || r->off + r->size <= off)
			continue;
		rv = get(vp, r->off);
		for (unsigned int b = 0; b < r->size; b++) {
			uint64_t a = r->off + b;

			if (a >= off && a < off + size)
				v |= (uint64_t)(rv >> (8 * b) & 0xff) << (8 * (a - off));
		}
	}
	return v;
}

static void regs_write(struct virtio_pci *vp, const struct reg *regs, unsigned int n,
		       reg_get_fn get, reg_set_fn set, uint64_t off, unsigned int size,
		       uint64_t val)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct reg *r = &regs[i];
		uint32_t rv;

		if (r->off >= off + size || r->off + r->size <= off)
			continue;
		rv = get(vp, r->off);
		for (unsigned int b = 0; b < r->size; b++) {
			uint64_t a = r->off + b;

			if (a >= off && a < off + size)
				rv = (rv & ~(0xffu << (8 * b))) |
				     (uint32_t)(val >> (8 * (a - off)) & 0xff) << (8 * b);
		}
		set(vp, r->off, rv);
	}
}

/* The device-specific configuration, shared by both interfaces. */
static uint64_t dev_config_read(struct virtio_pci *vp, uint64_t off, unsigned int size)
{
	if (size == 8)
		return dev_config_read(vp, off, 4) | dev_config_read(vp, off + 4, 4) << 32;
	if (!vp->ops->config_read || off >= vp->ops->config_len ||
	    size > vp->ops->config_len - off)
		return 0;
	return vp->ops->config_read(vp->dev, off, size);
}

static void dev_config_write(struct virtio_pci *vp, uint64_t off, unsigned int size, uint64_t val)
{
	if (size == 8) {
		dev_config_write(vp, off, 4, (uint32_t)val);
		dev_config_write(vp, off + 4, 4, val >> 32);
		return;
	}
	if (vp->ops->config_write && off < vp->ops->config_len &&
	    size <= vp->ops->config_len - off)
		vp->ops->config_write(vp->dev, off, size, (uint32_t)val);
}

/* ---- modern: common configuration, ISR, device config, notify (BAR4) ---- */

static const struct reg common_regs[] = {
	{ VIRTIO_PCI_COMMON_DFSELECT, 4 }, { VIRTIO_PCI_COMMON_DF, 4 },
	{ VIRTIO_PCI_COMMON_GFSELECT, 4 }, { VIRTIO_PCI_COMMON_GF, 4 },
	{ VIRTIO_PCI_COMMON_MSIX, 2 }, { VIRTIO_PCI_COMMON_NUMQ, 2 },
	{ VIRTIO_PCI_COMMON_STATUS, 1 }, { VIRTIO_PCI_COMMON_CFGGENERATION, 1 },
	{ VIRTIO_PCI_COMMON_Q_SELECT, 2 }, { VIRTIO_PCI_COMMON_Q_SIZE, 2 },
	{ VIRTIO_PCI_COMMON_Q_MSIX, 2 }, { VIRTIO_PCI_COMMON_Q_ENABLE, 2 },
	{ VIRTIO_PCI_COMMON_Q_NOFF, 2 },
	{ VIRTIO_PCI_COMMON_Q_DESCLO, 4 }, { VIRTIO_PCI_COMMON_Q_DESCHI, 4 },
	{ VIRTIO_PCI_COMMON_Q_AVAILLO, 4 }, { VIRTIO_PCI_COMMON_Q_AVAILHI, 4 },
	{ VIRTIO_PCI_COMMON_Q_USEDLO, 4 }, { VIRTIO_PCI_COMMON_Q_USEDHI, 4 },
};
#define NR_COMMON_REGS	(sizeof(common_regs) / sizeof(common_regs[0]))

static uint32_t feature_word(uint64_t features, uint32_t select)
{
	return select < 2 ? (uint32_t)(features >> (32 * select)) : 0;
}

static uint32_t common_get(struct virtio_pci *vp, unsigned int off)
{
	struct virtio_pci_queue *q = selected(vp);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: return vp->dfselect;
	case VIRTIO_PCI_COMMON_DF: return feature_word(vp->device_features, vp->dfselect);
	case VIRTIO_PCI_COMMON_GFSELECT: return vp->gfselect;
	case VIRTIO_PCI_COMMON_GF: return feature_word(vp->driver_features, vp->gfselect);
	case VIRTIO_PCI_COMMON_MSIX: return vp->config_vector;
	case VIRTIO_PCI_COMMON_NUMQ: return vp->ops->num_queues;
	case VIRTIO_PCI_COMMON_STATUS: return vp->status;
	case VIRTIO_PCI_COMMON_CFGGENERATION: return vp->config_generation;
	case VIRTIO_PCI_COMMON_Q_SELECT: return vp->queue_select;
	}
	if (!q)		/* a queue that does not exist: size 0, no vector */
		return off == VIRTIO_PCI_COMMON_Q_MSIX ? VIRTIO_MSI_NO_VECTOR : 0;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE: return q->size;
	case VIRTIO_PCI_COMMON_Q_MSIX: return q->vector;
	case VIRTIO_PCI_COMMON_Q_ENABLE: return q->vq.enabled && !q->legacy;
	case VIRTIO_PCI_COMMON_Q_NOFF: return vp->queue_select;
	case VIRTIO_PCI_COMMON_Q_DESCLO: return (uint32_t)q->desc;
	case VIRTIO_PCI_COMMON_Q_DESCHI: return q->desc >> 32;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: return (uint32_t)q->avail;
	case VIRTIO_PCI_COMMON_Q_AVAILHI: return q->avail >> 32;
	case VIRTIO_PCI_COMMON_Q_USEDLO: return (uint32_t)q->used;
	case VIRTIO_PCI_COMMON_Q_USEDHI: return q->used >> 32;
	}
	return 0;
}

static void set_half(uint64_t *field, bool high, uint32_t val)
{
	if (high)
		*field = (*field & 0xffffffffull) | (uint64_t)val << 32;
	else
		*field = (*field & ~0xffffffffull) | val;
}

static void common_set(struct virtio_pci *vp, unsigned int off, uint32_t val)
{
	struct virtio_pci_queue *q = selected(vp);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dfselect = val;
		return;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->gfselect = val;
		return;
	case VIRTIO_PCI_COMMON_GF:
		/* fixed once FEATURES_OK is set */
		if (vp->gfselect < 2 && !(vp->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&vp->driver_features, vp->gfselect, val);
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->config_vector = vector_or_none(vp, val);
		return;
	case VIRTIO_PCI_COMMON_STATUS:
		set_status(vp, val, false);
		return;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_select = val;
		return;
	}
	if (!q)
		return;
	if (off == VIRTIO_PCI_COMMON_Q_MSIX) {
		q->vector = vector_or_none(vp, val);
		return;
	}
	/* the rest configures a queue, which must not change while it runs */
	if (q->vq.enabled)
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE: q->size = val; break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		/* virtio 1.1, 4.1.4.3.2: the driver never writes 0 */
		if (val == 1)
			queue_enable(vp, q);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO: set_half(&q->desc, false, val); break;
	case VIRTIO_PCI_COMMON_Q_DESCHI: set_half(&q->desc, true, val); break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: set_half(&q->avail, false, val); break;
	case VIRTIO_PCI_COMMON_Q_AVAILHI: set_half(&q->avail, true, val); break;
	case VIRTIO_PCI_COMMON_Q_USEDLO: set_half(&q->used, false, val); break;
	case VIRTIO_PCI_COMMON_Q_USEDHI: set_half(&q->used, true, val); break;
	}
}

static bool in_region(uint64_t off, uint64_t base)
{
	return off >= base && off - base < 0x1000;
}

static uint64_t modern_read(void *opaque, uint64_t off, unsigned int size)
{
	struct virtio_pci *vp = opaque;

	if (off < VIRTIO_PCI_COMMON_SIZE)
		return regs_read(vp, common_regs, NR_COMMON_REGS, common_get, off, size);
	if (off == VIRTIO_PCI_ISR_OFF)
		return isr_read_clear(vp);
	if (in_region(off, VIRTIO_PCI_DEVICE_OFF))
		return dev_config_read(vp, off - VIRTIO_PCI_DEVICE_OFF, size);
	return 0;
}

static void modern_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct virtio_pci *vp = opaque;
	uint64_t n;

	if (off < VIRTIO_PCI_COMMON_SIZE) {
		regs_write(vp, common_regs, NR_COMMON_REGS, common_get, common_set, off, size, val);
	} else if (in_region(off, VIRTIO_PCI_DEVICE_OFF)) {
		dev_config_write(vp, off - VIRTIO_PCI_DEVICE_OFF, size, val);
	} else if (in_region(off, VIRTIO_PCI_NOTIFY_OFF)) {
		/* the address names the queue (no VIRTIO_F_NOTIFICATION_DATA) */
		n = off - VIRTIO_PCI_NOTIFY_OFF;
		if (n % VIRTIO_PCI_NOTIFY_MULT == 0)
			virtio_pci_queue_notify(vp, n / VIRTIO_PCI_NOTIFY_MULT);
	}
}

static const struct io_ops modern_ops = { modern_read, modern_write };

/* ---- legacy registers (BAR0, transitional devices) ---- */

static const struct reg legacy_regs[] = {
	{ VIRTIO_PCI_HOST_FEATURES, 4 }, { VIRTIO_PCI_GUEST_FEATURES, 4 },
	{ VIRTIO_PCI_QUEUE_PFN, 4 }, { VIRTIO_PCI_QUEUE_NUM, 2 },
	{ VIRTIO_PCI_QUEUE_SEL, 2 }, { VIRTIO_PCI_QUEUE_NOTIFY, 2 },
	{ VIRTIO_PCI_STATUS, 1 }, { VIRTIO_PCI_ISR, 1 },
	/* only while MSI-X is enabled: */
	{ VIRTIO_MSI_CONFIG_VECTOR, 2 }, { VIRTIO_MSI_QUEUE_VECTOR, 2 },
};

static unsigned int nr_legacy_regs(const struct virtio_pci *vp)
{
	return msix_on(vp) ? 10 : 8;
}

static uint32_t legacy_get(struct virtio_pci *vp, unsigned int off)
{
	struct virtio_pci_queue *q = selected(vp);

	switch (off) {
	case VIRTIO_PCI_HOST_FEATURES: return (uint32_t)vp->device_features;
	case VIRTIO_PCI_GUEST_FEATURES: return (uint32_t)vp->driver_features;
	case VIRTIO_PCI_QUEUE_PFN:
		return q && q->legacy && q->vq.enabled ? q->desc >> VIRTIO_PCI_QUEUE_ADDR_SHIFT : 0;
	case VIRTIO_PCI_QUEUE_NUM: return q ? vp->ops->queue_size : 0;
	case VIRTIO_PCI_QUEUE_SEL: return vp->queue_select;
	case VIRTIO_PCI_STATUS: return vp->status;
	case VIRTIO_PCI_ISR: return vp->isr;
	case VIRTIO_MSI_CONFIG_VECTOR: return vp->config_vector;
	case VIRTIO_MSI_QUEUE_VECTOR: return q ? q->vector : VIRTIO_MSI_NO_VECTOR;
	}
	return 0;
}

static void legacy_set(struct virtio_pci *vp, unsigned int off, uint32_t val)
{
	struct virtio_pci_queue *q = selected(vp);

	switch (off) {
	case VIRTIO_PCI_GUEST_FEATURES:
		/* a legacy device takes the offered subset */
		vp->driver_features = val & (uint32_t)vp->device_features;
		break;
	case VIRTIO_PCI_QUEUE_PFN:
		if (q)
			queue_set_pfn(vp, q, val);
		break;
	case VIRTIO_PCI_QUEUE_SEL:
		vp->queue_select = val;
		break;
	case VIRTIO_PCI_QUEUE_NOTIFY:
		virtio_pci_queue_notify(vp, val);
		break;
	case VIRTIO_PCI_STATUS:
		set_status(vp, val, true);
		break;
	case VIRTIO_MSI_CONFIG_VECTOR:
		vp->config_vector = vector_or_none(vp, val);
		break;
	case VIRTIO_MSI_QUEUE_VECTOR:
		if (q)
			q->vector = vector_or_none(vp, val);
		break;
	}
}

static uint64_t legacy_read(void *opaque, uint64_t off, unsigned int size)
{
	struct virtio_pci *vp = opaque;
	unsigned int cfg = VIRTIO_PCI_CONFIG_OFF(msix_on(vp));
	uint64_t v;

	if (off >= cfg)
		return dev_config_read(vp, off - cfg, size);
	v = regs_read(vp, legacy_regs, nr_legacy_regs(vp), legacy_get, off, size);
	if (off <= VIRTIO_PCI_ISR && off + size > VIRTIO_PCI_ISR)
		isr_read_clear(vp);
	return v;
}

static void legacy_write(void *opaque, uint64_t off, unsigned int size, uint64_t val)
{
	struct virtio_pci *vp = opaque;
	unsigned int cfg = VIRTIO_PCI_CONFIG_OFF(msix_on(vp));

	if (off >= cfg)
		dev_config_write(vp, off - cfg, size, val);
	else
		regs_write(vp, legacy_regs, nr_legacy_regs(vp), legacy_get, legacy_set, off, size, val);
}

static const struct io_ops legacy_ops = { legacy_read, legacy_write };

/* ---- the function ---- */

bool virtio_pci_notify_addr(const struct virtio_pci *vp, unsigned int q,
			    struct virtio_pci_notify *where)
{
	const struct virtio_pci_queue *pq;
	uint64_t base;

	if (q >= vp->ops->num_queues || !vp->q[q].vq.enabled)
		return false;
	pq = &vp->q[q];
	base = vp->pci.bar[pq->legacy ? VIRTIO_PCI_LEGACY_BAR : VIRTIO_PCI_MODERN_BAR].mapped;
	if (!base)
		return false;
	if (pq->legacy)	/* one port for all queues: the value names the queue */
		*where = (struct virtio_pci_notify){ .pio = true, .len = 2, .match = true,
			.addr = base + VIRTIO_PCI_QUEUE_NOTIFY, .data = q };
	else
		*where = (struct virtio_pci_notify){ .pio = false, .len = 2,
			.addr = base + VIRTIO_PCI_NOTIFY_OFF + (uint64_t)q * VIRTIO_PCI_NOTIFY_MULT };
	return true;
}

static void bar_moved(struct pci_func *f, unsigned int n, uint64_t old, uint64_t new_base)
{
	(void)old;
	(void)new_base;
	if (n == VIRTIO_PCI_LEGACY_BAR || n == VIRTIO_PCI_MODERN_BAR)
		notify_moved(f->opaque);
}

/* A struct virtio_pci_cap (and notify_off_multiplier) pointing into BAR4. */
static int add_cap(struct pci_func *f, uint8_t type, uint32_t off, uint32_t len)
{
	unsigned int size = type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 20 : 16;
	unsigned int c = pci_cap_add(f, PCI_CAP_ID_VNDR, size);

	if (!c)
		return -1;
	f->cfg[c + VIRTIO_PCI_CAP_LEN] = size;
	f->cfg[c + VIRTIO_PCI_CAP_CFG_TYPE] = type;
	f->cfg[c + VIRTIO_PCI_CAP_BAR] = VIRTIO_PCI_MODERN_BAR;
	pci_cfg_set(f, c + VIRTIO_PCI_CAP_OFFSET, 4, off);
	pci_cfg_set(f, c + VIRTIO_PCI_CAP_LENGTH, 4, len);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		pci_cfg_set(f, c + VIRTIO_PCI_NOTIFY_CAP_MULT, 4, VIRTIO_PCI_NOTIFY_MULT);
	return 0;
}

int virtio_pci_init(struct virtio_pci *vp, const struct virtio_dev_ops *ops, void *dev,
		    const struct virtio_pci_params *p)
{
	struct pci_func *f = &vp->pci;
	uint16_t legacy_id = transitional_id(ops->type);
	uint32_t legacy_size = 0x20;

	memset(vp, 0, sizeof(*vp));
	vp->name = p->name ? p->name : "virtio";
	if (!ops->num_queues || ops->num_queues > VIRTIO_PCI_MAX_QUEUES || !ops->queue_size ||
	    (ops->queue_size & (ops->queue_size - 1)) || ops->config_len > 0x1000 ||
	    (p->transitional && !legacy_id)) {
		fprintf(stderr, "kvm-launch: %s: the virtio PCI transport cannot offer this device\n",
			vp->name);
		return -1;
	}
	vp->ops = ops;
	vp->dev = dev;
	vp->host = p->host;
	vp->transitional = p->transitional;
	vp->device_features = ops->features | 1ull << VIRTIO_F_VERSION_1;

	/* transitional: revision 0 and the legacy ID, the type as subsystem ID */
	pci_func_init(f, VIRTIO_PCI_VENDOR,
		      p->transitional ? legacy_id : VIRTIO_PCI_DEVICE_MODERN + ops->type,
		      ops->pci_class << 8 | (p->transitional ? 0 : 1), 0);
	pci_cfg_set(f, PCI_SUBSYSTEM_VENDOR_ID, 2, VIRTIO_PCI_VENDOR);
	pci_cfg_set(f, PCI_SUBSYSTEM_VENDOR_ID + 2, 2, ops->type);
	pci_func_set_intx_pin(f, PCI_INTA);
	f->opaque = vp;
	f->bar_moved = bar_moved;
	if (p->transitional) {
		while (legacy_size < VIRTIO_PCI_CONFIG_OFF(true) + ops->config_len)
			legacy_size <<= 1;
		pci_func_set_bar(f, VIRTIO_PCI_LEGACY_BAR, legacy_size, true, &legacy_ops, vp);
	}
	pci_func_set_mem_bar(f, VIRTIO_PCI_MODERN_BAR, VIRTIO_PCI_MODERN_SIZE, PCI_BAR_MEM_64,
			     &modern_ops, vp);
	if (add_cap(f, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, 0x1000) ||
	    add_cap(f, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 0x1000) ||
	    (ops->config_len && add_cap(f, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF, 0x1000)) ||
	    add_cap(f, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF, 0x1000))
		return -1;
	if (p->msix) {
		if (pci_msix_init_bar(&vp->msix, f, ops->num_queues + 1, VIRTIO_PCI_MSIX_BAR,
				      &p->host.msi)) {
			fprintf(stderr, "kvm-launch: %s: no room for MSI-X\n", vp->name);
			return -1;
		}
		vp->nvec = ops->num_queues + 1;
	}
	for (unsigned int i = 0; i < ops->num_queues; i++)
		virtq_init(&vp->q[i].vq, i, vp->name, p->mem, &vq_ops, vp);
	reset_state(vp);
	return 0;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (vp->nvec)
		pci_msix_destroy(&vp->msix);
	vp->nvec = 0;
}
