/* launcher/hw/virtio_pci.h: the virtio PCI transport (modern and transitional) for any device model: capabilities, common and legacy registers, features, status, queues, MSI-X and INTx. */
#ifndef HW_VIRTIO_PCI_H
#define HW_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "hw.h"
#include "msi.h"
#include "pci.h"
#include "virtqueue.h"

#define VIRTIO_PCI_VENDOR		0x1af4
#define VIRTIO_PCI_DEVICE_MODERN	0x1040	/* + device type */

/* Feature bits of the transport (bit numbers). */
#define VIRTIO_F_VERSION_1		32

/* Device status (virtio 1.1, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

#define VIRTIO_MSI_NO_VECTOR		0xffff

/* ISR status bits. */
#define VIRTIO_PCI_ISR_QUEUE		0x1
#define VIRTIO_PCI_ISR_CONFIG		0x2

/* Vendor-specific capabilities (struct virtio_pci_cap). */
#define PCI_CAP_ID_VNDR			0x09
#define VIRTIO_PCI_CAP_LEN		2
#define VIRTIO_PCI_CAP_CFG_TYPE		3
#define VIRTIO_PCI_CAP_BAR		4
#define VIRTIO_PCI_CAP_OFFSET		8
#define VIRTIO_PCI_CAP_LENGTH		12
#define VIRTIO_PCI_NOTIFY_CAP_MULT	16
#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4

/* Common configuration (struct virtio_pci_common_cfg). */
#define VIRTIO_PCI_COMMON_DFSELECT	0x00
#define VIRTIO_PCI_COMMON_DF		0x04
#define VIRTIO_PCI_COMMON_GFSELECT	0x08
#define VIRTIO_PCI_COMMON_GF		0x0c
#define VIRTIO_PCI_COMMON_MSIX		0x10
#define VIRTIO_PCI_COMMON_NUMQ		0x12
#define VIRTIO_PCI_COMMON_STATUS	0x14
#define VIRTIO_PCI_COMMON_CFGGENERATION	0x15
#define VIRTIO_PCI_COMMON_Q_SELECT	0x16
#define VIRTIO_PCI_COMMON_Q_SIZE	0x18
#define VIRTIO_PCI_COMMON_Q_MSIX	0x1a
#define VIRTIO_PCI_COMMON_Q_ENABLE	0x1c
#define VIRTIO_PCI_COMMON_Q_NOFF	0x1e
#define VIRTIO_PCI_COMMON_Q_DESCLO	0x20
#define VIRTIO_PCI_COMMON_Q_DESCHI	0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO	0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI	0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO	0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI	0x34
#define VIRTIO_PCI_COMMON_SIZE		0x38

/* Legacy registers in the I/O BAR (transitional devices). */
#define VIRTIO_PCI_HOST_FEATURES	0x00
#define VIRTIO_PCI_GUEST_FEATURES	0x04
#define VIRTIO_PCI_QUEUE_PFN		0x08
#define VIRTIO_PCI_QUEUE_NUM		0x0c
#define VIRTIO_PCI_QUEUE_SEL		0x0e
#define VIRTIO_PCI_QUEUE_NOTIFY		0x10
#define VIRTIO_PCI_STATUS		0x12
#define VIRTIO_PCI_ISR			0x13
#define VIRTIO_MSI_CONFIG_VECTOR	0x14	/* these two while MSI-X is enabled */
#define VIRTIO_MSI_QUEUE_VECTOR		0x16
#define VIRTIO_PCI_CONFIG_OFF(msix)	((msix) ? 0x18 : 0x14)
#define VIRTIO_PCI_QUEUE_ADDR_SHIFT	12

/*
 * Where things are, as QEMU lays them out: BAR0 the legacy registers
 * (transitional only), BAR1 the MSI-X table and PBA, BAR4 (64-bit) the
 * modern regions, one page each.
 */
#define VIRTIO_PCI_LEGACY_BAR		0
#define VIRTIO_PCI_MSIX_BAR		1
#define VIRTIO_PCI_MODERN_BAR		4
#define VIRTIO_PCI_COMMON_OFF		0x0000
#define VIRTIO_PCI_ISR_OFF		0x1000
#define VIRTIO_PCI_DEVICE_OFF		0x2000
#define VIRTIO_PCI_NOTIFY_OFF		0x3000
#define VIRTIO_PCI_MODERN_SIZE		0x4000
#define VIRTIO_PCI_NOTIFY_MULT		4	/* queue q notifies at NOTIFY_OFF + 4q */
#define VIRTIO_PCI_MAX_QUEUES		16

/*
 * A device model (virtio_rng.c, ...), called with the device's lock held.
 * config_read/config_write see the device-specific configuration, offsets
 * inside [0, config_len) and sizes 1, 2 or 4. set_features tells the
 * features the driver chose (modern: at FEATURES_OK, legacy: at DRIVER_OK);
 * false refuses the combination (modern: FEATURES_OK then stays clear).
 * queue_notify: the driver made buffers available in vq (or DRIVER_OK came
 * with buffers queued); pop, push, virtq_interrupt. reset: forget all.
 */
struct virtio_dev_ops {
	uint16_t type;			/* virtio device ID: 1 net, 4 entropy, ... */
	uint32_t pci_class;		/* class, subclass, prog-if */
	uint64_t features;		/* device and ring feature bits offered */
	unsigned int num_queues;
	uint16_t queue_size;		/* each queue's largest, a power of 2 */
	unsigned int config_len;
	uint32_t (*config_read)(void *dev, unsigned int off, unsigned int size);
	void (*config_write)(void *dev, unsigned int off, unsigned int size, uint32_t val);
	bool (*set_features)(void *dev, uint64_t features);
	void (*queue_notify)(void *dev, struct virtqueue *vq);
	void (*reset)(void *dev);
};

/*
 * The VMM's side, called with the device's lock held. msi.send raises
 * MSI-X vector n (INTx goes through the function's pin on the bus).
 * notify_moved: virtio_pci_notify_addr() may answer differently now (a
 * queue was enabled or reset, a BAR moved), for a VMM that turns
 * notifications into ioeventfds. notify_later: call
 * virtio_pci_queue_notify(q) soon, after other work (virtq_again).
 */
struct virtio_pci_host {
	struct msi_target msi;
	void (*notify_moved)(void *ctx);
	void (*notify_later)(void *ctx, unsigned int q);
	void *ctx;
};

struct virtio_pci_params {
	const char *name;		/* for messages */
	bool transitional;		/* also the legacy interface (BAR0, device ID 0x1000 + n) */
	bool msix;			/* num_queues + 1 MSI-X vectors; else INTx only */
	const struct guest_mem *mem;
	struct virtio_pci_host host;
};

/* Where a queue's notifications arrive: an ioeventfd's parameters. */
struct virtio_pci_notify {
	bool pio;
	uint64_t addr;
	unsigned int len;
	bool match;			/* only writes of data */
	uint64_t data;
};

struct virtio_pci_queue {
	struct virtqueue vq;
	uint16_t size;			/* as the driver set it */
	uint16_t vector;
	bool legacy;			/* enabled through QUEUE_PFN */
	uint64_t desc, avail, used;	/* as the driver set them */
};

struct virtio_pci {
	struct pci_func pci;
	struct pci_msix msix;
	unsigned int nvec;		/* MSI-X vectors, 0 without MSI-X */
	const struct virtio_dev_ops *ops;
	void *dev;
	struct virtio_pci_host host;
	const char *name;
	bool transitional;
	uint64_t device_features;	/* offered: the model's and the transport's */
	uint64_t driver_features;
	uint32_t dfselect, gfselect;
	uint16_t queue_select;
	uint16_t config_vector;
	uint8_t status;
	uint8_t isr;
	uint8_t config_generation;
	struct virtio_pci_queue q[VIRTIO_PCI_MAX_QUEUES];
};

/*
 * Build the function: identity, BARs, capabilities, INTA. 0, or -1 (message
 * printed) when the model asks for what the transport cannot give.
 */
int virtio_pci_init(struct virtio_pci *vp, const struct virtio_dev_ops *ops, void *dev,
		    const struct virtio_pci_params *p);
void virtio_pci_destroy(struct virtio_pci *vp);
/* A device reset, as the driver's write of 0 to the status does. */
void virtio_pci_reset(struct virtio_pci *vp);
/* The driver notified queue q (an ioeventfd fired, or the register write). */
void virtio_pci_queue_notify(struct virtio_pci *vp, unsigned int q);
/* The device configuration changed: new generation, config interrupt. */
void virtio_pci_config_changed(struct virtio_pci *vp);
/* True, with where, when queue q is enabled and its notify register decodes. */
bool virtio_pci_notify_addr(const struct virtio_pci *vp, unsigned int q,
			    struct virtio_pci_notify *where);

#endif
