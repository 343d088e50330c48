/* launcher/hw/e1000.h: the Intel 82540EM gigabit Ethernet controller (8086:100e) as Linux's e1000 drives it: registers, EEPROM, PHY, descriptor rings, checksum and TCP segmentation offload. */
#ifndef HW_E1000_H
#define HW_E1000_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "hw.h"
#include "pci.h"

/* Identity: an Intel PRO/1000 MT Desktop Adapter, the board the 82540EM sits on. */
#define E1000_VENDOR		0x8086
#define E1000_DEVICE		0x100e
#define E1000_SUBSYS_VENDOR	0x8086
#define E1000_SUBSYS_ID		0x001e
#define E1000_REVISION		0x03

/* BAR0: the registers (memory); BAR1: IOADDR/IODATA, the same registers through ports. */
#define E1000_MMIO_BAR		0
#define E1000_MMIO_SIZE		0x20000
#define E1000_IO_BAR		1
#define E1000_IO_SIZE		0x40
#define E1000_IOADDR		0x00
#define E1000_IODATA		0x04

#define E1000_EEPROM_WORDS	64	/* a 93C46: Microwire, 6 address bits */
#define E1000_EEPROM_SUM	0xbaba	/* words 0..63 add up to this */
#define E1000_PHY_ADDR		1	/* where Linux looks for the M88E1011 */
#define E1000_PHY_ID1		0x0141
#define E1000_PHY_ID2		0x0c20	/* M88E1011, revision 0 */
#define E1000_MAX_FRAME		16384	/* longest frame either way, without CRC */
#define E1000_TSO_MAX_PAYLOAD	(256 * 1024)	/* per TSO send: 4x Linux's 64 KiB */
#define E1000_TSO_MIN_MSS	64

/* Register offsets in BAR0. */
#define E1000_CTRL	0x0000
#define E1000_STATUS	0x0008
#define E1000_EECD	0x0010
#define E1000_EERD	0x0014
#define E1000_CTRL_EXT	0x0018
#define E1000_MDIC	0x0020
#define E1000_FCAL	0x0028
#define E1000_FCAH	0x002c
#define E1000_FCT	0x0030
#define E1000_VET	0x0038
#define E1000_ICR	0x00c0
#define E1000_ITR	0x00c4
#define E1000_ICS	0x00c8
#define E1000_IMS	0x00d0
#define E1000_IMC	0x00d8
#define E1000_RCTL	0x0100
#define E1000_TCTL	0x0400
#define E1000_TIPG	0x0410
#define E1000_LEDCTL	0x0e00
#define E1000_PBA	0x1000
#define E1000_RDBAL	0x2800
#define E1000_RDBAH	0x2804
#define E1000_RDLEN	0x2808
#define E1000_RDH	0x2810
#define E1000_RDT	0x2818
#define E1000_RDTR	0x2820
#define E1000_RADV	0x282c
#define E1000_TDBAL	0x3800
#define E1000_TDBAH	0x3804
#define E1000_TDLEN	0x3808
#define E1000_TDH	0x3810
#define E1000_TDT	0x3818
#define E1000_TIDV	0x3820
#define E1000_TADV	0x382c
#define E1000_STATS	0x4000	/* 64 counters to 0x40fc, cleared by reading */
#define E1000_STATS_END	0x4100
#define E1000_MPC	0x4010
#define E1000_PRC64	0x405c
#define E1000_GPRC	0x4074
#define E1000_BPRC	0x4078
#define E1000_MPRC	0x407c
#define E1000_GPTC	0x4080
#define E1000_GORCL	0x4088
#define E1000_GORCH	0x408c
#define E1000_GOTCL	0x4090
#define E1000_GOTCH	0x4094
#define E1000_RNBC	0x40a0
#define E1000_ROC	0x40ac
#define E1000_TORL	0x40c0
#define E1000_TORH	0x40c4
#define E1000_TOTL	0x40c8
#define E1000_TOTH	0x40cc
#define E1000_TPR	0x40d0
#define E1000_TPT	0x40d4
#define E1000_PTC64	0x40d8
#define E1000_MPTC	0x40f0
#define E1000_BPTC	0x40f4
#define E1000_TSCTC	0x40f8
#define E1000_TSCTFC	0x40fc
#define E1000_RXCSUM	0x5000
#define E1000_MTA	0x5200	/* 128 dwords: the multicast hash table */
#define E1000_RAL(n)	(0x5400 + 8 * (n))
#define E1000_RAH(n)	(0x5404 + 8 * (n))
#define E1000_VFTA	0x5600	/* 128 dwords: the VLAN filter table */
#define E1000_WUC	0x5800
#define E1000_WUFC	0x5808
#define E1000_WUS	0x5810
#define E1000_MANC	0x5820
#define E1000_NUM_RA	16
#define E1000_MTA_WORDS	128
/* Registers at and above this read 0 and ignore writes (wake-up filters, packet buffer). */
#define E1000_REG_END	0x6000

#define E1000_CTRL_FD		0x00000001
#define E1000_CTRL_SLU		0x00000040
#define E1000_CTRL_RST		0x04000000
#define E1000_CTRL_VME		0x40000000
#define E1000_CTRL_PHY_RST	0x80000000

#define E1000_STATUS_FD		0x00000001
#define E1000_STATUS_LU		0x00000002
#define E1000_STATUS_SPEED_1000	0x00000080
#define E1000_STATUS_ASDV_1000	0x00000200

#define E1000_EECD_SK		0x00000001
#define E1000_EECD_CS		0x00000002
#define E1000_EECD_DI		0x00000004
#define E1000_EECD_DO		0x00000008
#define E1000_EECD_REQ		0x00000040
#define E1000_EECD_GNT		0x00000080
#define E1000_EECD_PRES		0x00000100
#define E1000_EECD_SIZE		0x00000200	/* clear: 64 words */

/* EERD of the 82540 (the 82541 and later moved DONE and ADDR). */
#define E1000_EERD_START	0x00000001
#define E1000_EERD_DONE		0x00000010
#define E1000_EERD_ADDR_SHIFT	8
#define E1000_EERD_DATA_SHIFT	16

#define E1000_MDIC_REG_SHIFT	16
#define E1000_MDIC_PHY_SHIFT	21
#define E1000_MDIC_OP_WRITE	0x04000000
#define E1000_MDIC_OP_READ	0x08000000
#define E1000_MDIC_READY	0x10000000
#define E1000_MDIC_INT_EN	0x20000000
#define E1000_MDIC_ERROR	0x40000000

/* Interrupt causes (ICR, ICS, IMS, IMC). */
#define E1000_ICR_TXDW		0x00000001
#define E1000_ICR_TXQE		0x00000002
#define E1000_ICR_LSC		0x00000004
#define E1000_ICR_RXSEQ		0x00000008
#define E1000_ICR_RXDMT0	0x00000010
#define E1000_ICR_RXO		0x00000040
#define E1000_ICR_RXT0		0x00000080
#define E1000_ICR_MDAC		0x00000200

#define E1000_RCTL_EN		0x00000002
#define E1000_RCTL_UPE		0x00000008
#define E1000_RCTL_MPE		0x00000010
#define E1000_RCTL_LPE		0x00000020
#define E1000_RCTL_RDMTS_SHIFT	8
#define E1000_RCTL_MO_SHIFT	12
#define E1000_RCTL_BAM		0x00008000
#define E1000_RCTL_BSIZE_SHIFT	16
#define E1000_RCTL_VFE		0x00040000
#define E1000_RCTL_BSEX		0x02000000
#define E1000_RCTL_SECRC	0x04000000

#define E1000_TCTL_EN		0x00000002
#define E1000_TCTL_PSP		0x00000008

#define E1000_RAH_AV		0x80000000
#define E1000_RDTR_FPD		0x80000000

/* Receive descriptor: status and error bits. */
#define E1000_RXD_STAT_DD	0x01
#define E1000_RXD_STAT_EOP	0x02
#define E1000_RXD_STAT_IXSM	0x04
#define E1000_RXD_STAT_VP	0x08
#define E1000_RXD_ERR_RXE	0x80

/* Transmit descriptors: the command byte (bits 31:24 of the second dword). */
#define E1000_TXD_CMD_EOP	0x01
#define E1000_TXD_CMD_IFCS	0x02
#define E1000_TXD_CMD_IC	0x04	/* legacy: insert checksum */
#define E1000_TXD_CMD_TSE	0x04	/* extended: TCP segmentation */
#define E1000_TXD_CMD_RS	0x08
#define E1000_TXD_CMD_RPS	0x10
#define E1000_TXD_CMD_DEXT	0x20
#define E1000_TXD_CMD_VLE	0x40
#define E1000_TXD_CMD_IDE	0x80
/* Context descriptor TUCMD (also the command byte). */
#define E1000_TXD_TUCMD_TCP	0x01
#define E1000_TXD_TUCMD_IP	0x02	/* IPv4 (else IPv6) */
/* Descriptor type (bits 23:20 of the second dword) with DEXT. */
#define E1000_TXD_DTYP_CTX	0x0
#define E1000_TXD_DTYP_DATA	0x1
#define E1000_TXD_POPTS_IXSM	0x01
#define E1000_TXD_POPTS_TXSM	0x02
#define E1000_TXD_STAT_DD	0x01

/* PHY registers (MII and the M88E1011's own). */
#define E1000_PHY_CTRL		0x00
#define E1000_PHY_STATUS	0x01
#define E1000_PHY_ID1_REG	0x02
#define E1000_PHY_ID2_REG	0x03
#define E1000_PHY_AUTONEG_ADV	0x04
#define E1000_PHY_LP_ABILITY	0x05
#define E1000_PHY_AUTONEG_EXP	0x06
#define E1000_PHY_1000T_CTRL	0x09
#define E1000_PHY_1000T_STATUS	0x0a
#define E1000_PHY_EXT_STATUS	0x0f
#define E1000_PHY_SPEC_CTRL	0x10
#define E1000_PHY_SPEC_STATUS	0x11
#define E1000_PHY_RX_ERR_CNTR	0x15
#define E1000_PHY_REGS		32
#define E1000_MII_CR_RESTART_AN	0x0200
#define E1000_MII_CR_RESET	0x8000
#define E1000_MII_SR_LINK	0x0004
#define E1000_MII_SR_AN_DONE	0x0020

/* The model's timers, each armed and cancelled through the host. */
enum e1000_timer {
	E1000_TIMER_ITR,	/* the throttled interrupt may be raised */
	E1000_TIMER_RX,		/* RDTR/RADV: receive interrupt delay */
	E1000_TIMER_TX,		/* TIDV/TADV: transmit interrupt delay */
	E1000_NR_TIMERS,
};

/*
 * The VMM's side, called with the device's lock held. send: one frame
 * for the network (Ethernet header first, no CRC; the iovecs are the
 * model's and valid only during the call). set_irq: the INTA level.
 * timer_arm: call e1000_timer_fired(t) at deadline_ns (hw_clock time),
 * replacing an earlier arming of t. rx_room: e1000_receive refused a
 * frame for want of descriptors and the guest has since given some.
 */
struct e1000_host {
	void (*send)(void *ctx, const struct iovec *iov, int iovcnt);
	void (*set_irq)(void *ctx, int level);
	void (*timer_arm)(void *ctx, enum e1000_timer t, uint64_t deadline_ns);
	void (*timer_cancel)(void *ctx, enum e1000_timer t);
	void (*rx_room)(void *ctx);
	void *ctx;
};

struct e1000_params {
	const char *name;		/* for messages: "e1000 nics[0]" */
	uint8_t mac[6];
	const struct guest_mem *mem;
	const struct hw_clock *clock;
	struct e1000_host host;
};

/* The one context descriptor the 82540 keeps (checksum offsets, TSO). */
struct e1000_tx_context {
	uint8_t ipcss, ipcso, tucss, tucso, tucmd, hdr_len;
	uint16_t ipcse, tucse, mss;
	uint32_t paylen;
};

/* The packet being gathered from transmit descriptors until EOP. */
struct e1000_tx_packet {
	bool started;			/* a data descriptor was seen */
	bool bad;			/* dropped: skip to EOP */
	bool tso;
	bool legacy_ic;			/* legacy descriptor asked for a checksum */
	bool vle;			/* insert a VLAN tag (CTRL.VME permitting) */
	uint8_t popts, css, cso;
	uint16_t special;		/* the tag */
	struct e1000_tx_context c;	/* the context as the packet began */
	uint32_t len;			/* bytes in frame (TSO: of the segment, header included) */
	uint32_t hdr_have;		/* TSO: header bytes gathered */
	uint32_t payload;		/* TSO: payload bytes taken so far */
	uint32_t sent;			/* TSO: payload bytes already sent in segments */
	uint32_t segs;
	uint8_t hdr[256];		/* TSO: the header as the guest wrote it */
	uint8_t frame[E1000_MAX_FRAME];
};

struct e1000 {
	struct pci_func pci;		/* on the bus: identity, BAR0, BAR1, INTA */
	char name[48];
	const struct guest_mem *mem;
	const struct hw_clock *clock;
	struct e1000_host host;
	uint8_t mac[6];

	uint32_t reg[E1000_REG_END / 4];	/* what plain registers hold */
	uint64_t gorc, gotc, tor, tot;		/* 64-bit octet counters */
	uint32_t ioaddr;

	uint16_t eeprom[E1000_EEPROM_WORDS];
	struct {
		uint32_t pins;		/* SK, CS, DI, REQ as last written */
		uint32_t in;		/* command bits shifted in */
		unsigned int nin;
		unsigned int addr;	/* the word a READ asked for */
		int out;		/* data bits shifted out: -1 the dummy 0, INT32_MAX idle */
	} ee;
	uint16_t phy[E1000_PHY_REGS];

	/* interrupts: INTA follows ICR & IMS, at most once per ITR interval */
	bool irq;
	uint64_t last_irq_ns;		/* when INTA last rose (irq_ever) */
	bool irq_ever;
	bool itr_armed;
	uint64_t rx_delay_at, rx_abs_at;	/* 0: not running */
	uint64_t tx_delay_at, tx_abs_at;
	bool rx_blocked;		/* a frame was refused for want of descriptors */

	struct e1000_tx_context ctx;
	struct e1000_tx_packet tx;
	uint8_t rx_frame[E1000_MAX_FRAME + 64];

	/* rate limit of guest-error messages */
	uint64_t warn_since;
	unsigned int warn_count, warn_dropped;
};

/*
 * A powered-up 82540EM with p's MAC in its EEPROM (and RAL0/RAH0), link
 * up at 1000 Mb/s full duplex, receiver and transmitter disabled.
 */
void e1000_init(struct e1000 *e, const struct e1000_params *p);
/* CTRL.RST: registers to their defaults; PCI config space is kept. */
void e1000_reset(struct e1000 *e);

/*
 * A frame from the network (Ethernet header first, without CRC). true:
 * taken (stored, or dropped by the filters, a disabled receiver or a
 * misprogrammed ring); false: no free receive descriptors, the caller
 * keeps the frame and offers it again after host.rx_room().
 */
bool e1000_receive(struct e1000 *e, const struct iovec *iov, int iovcnt);

/* The host's timer t expired (now_ns: hw_clock time). */
void e1000_timer_fired(struct e1000 *e, enum e1000_timer t, uint64_t now_ns);

/* Register access as through BAR0 (offset in the BAR; 4-byte accesses). */
uint32_t e1000_reg_read(struct e1000 *e, uint32_t off);
void e1000_reg_write(struct e1000 *e, uint32_t off, uint32_t val);

/* BAR0 and BAR1 accessors, dev = the struct e1000. */
extern const struct io_ops e1000_mmio_ops;
extern const struct io_ops e1000_io_ops;

#endif
