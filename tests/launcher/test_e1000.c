/* tests/launcher/test_e1000.c: the 82540EM model driven as Linux's e1000 drives it (EEPROM, PHY, rings, offloads, interrupts), over a fake guest RAM, and by a hostile guest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/e1000.h"
#include "tap.h"

#define RAM_SIZE	0x800000u
#define RX_RING		0x10000u
#define TX_RING		0x20000u
#define RX_BUF		0x100000u	/* descriptor i's buffer at RX_BUF + i * RX_BUF_STEP */
#define RX_BUF_STEP	0x4000u
#define TX_BUF		0x400000u
#define MAX_SENT	64

static uint8_t *ram;
static struct e1000 *nic;
static uint64_t now = 1000000000;
static int irq_level, irq_raises;
static uint64_t armed[E1000_NR_TIMERS];
static unsigned int rx_rooms;
static unsigned int nsent;
static uint32_t sent_len[MAX_SENT];
static uint8_t sent[MAX_SENT][E1000_MAX_FRAME + 4];

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* ---- the fake VMM ---- */

static void *ram_map(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	return gpa < RAM_SIZE && len <= RAM_SIZE - gpa ? ram + gpa : NULL;
}

static uint64_t clock_now(void *ctx)
{
	(void)ctx;
	return now;
}

static const struct guest_mem mem = { ram_map, NULL };
static const struct hw_clock clk = { clock_now, NULL };

static void h_send(void *ctx, const struct iovec *iov, int iovcnt)
{
	uint32_t n = 0;

	(void)ctx;
	if (nsent == MAX_SENT)
		return;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(sent[nsent] + n, iov[i].iov_base, iov[i].iov_len);
		n += iov[i].iov_len;
	}
	sent_len[nsent++] = n;
}

static void h_irq(void *ctx, int level)
{
	(void)ctx;
	if (level && !irq_level)
		irq_raises++;
	irq_level = level;
}

static void h_arm(void *ctx, enum e1000_timer t, uint64_t at)
{
	(void)ctx;
	armed[t] = at;
}

static void h_cancel(void *ctx, enum e1000_timer t)
{
	(void)ctx;
	armed[t] = 0;
}

static void h_rx_room(void *ctx)
{
	(void)ctx;
	rx_rooms++;
}

/* ---- guest-side helpers ---- */

static uint32_t rd(uint32_t off)
{
	return e1000_mmio_ops.read(nic, off, 4);
}

static void wr(uint32_t off, uint32_t v)
{
	e1000_mmio_ops.write(nic, off, 4, v);
}

static void put16(uint64_t a, uint16_t v) { ram[a] = v; ram[a + 1] = v >> 8; }
static void put32(uint64_t a, uint32_t v) { put16(a, v); put16(a + 2, v >> 16); }
static void put64(uint64_t a, uint64_t v) { put32(a, v); put32(a + 4, v >> 32); }
static uint16_t get16(uint64_t a) { return ram[a] | ram[a + 1] << 8; }
static uint16_t be16(const uint8_t *p) { return p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)be16(p) << 16 | be16(p + 2); }
static void wbe16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void wbe32(uint8_t *p, uint32_t v) { wbe16(p, v >> 16); wbe16(p + 2, v); }

static void fire_if_due(enum e1000_timer t)
{
	if (armed[t] && armed[t] <= now) {
		armed[t] = 0;
		e1000_timer_fired(nic, t, now);
	}
}

static void new_nic(void)
{
	struct e1000_params p = {
		.name = "test e1000", .mem = &mem, .clock = &clk,
		.host = { h_send, h_irq, h_arm, h_cancel, h_rx_room, NULL },
	};

	memcpy(p.mac, mac, 6);
	memset(ram, 0, RAM_SIZE);
	memset(armed, 0, sizeof(armed));
	irq_level = irq_raises = 0;
	rx_rooms = nsent = 0;
	e1000_init(nic, &p);
	pci_cfg_set(&nic->pci, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
}

/* EEPROM word by Microwire bit-banging, Linux's e1000_read_eeprom step by step. */
static void eecd(uint32_t v) { wr(E1000_EECD, v); }

static void ee_clock(uint32_t *v)
{
	eecd(*v |= E1000_EECD_SK);
	eecd(*v &= ~E1000_EECD_SK);
}

static bool ee_dummy_zero = true;	/* DO read 0 between the address and the data */

static int ee_read(unsigned int addr)
{
	uint32_t v = rd(E1000_EECD) | E1000_EECD_REQ;
	unsigned int cmd = 0x6 << 6 | addr;
	uint16_t data = 0;

	eecd(v);
	if (!(rd(E1000_EECD) & E1000_EECD_GNT))
		return -1;
	v &= ~(E1000_EECD_DI | E1000_EECD_SK);
	eecd(v);
	eecd(v |= E1000_EECD_CS);
	for (int i = 8; i >= 0; i--) {
		v = (v & ~E1000_EECD_DI) | (cmd >> i & 1 ? E1000_EECD_DI : 0);
		eecd(v);
		ee_clock(&v);
	}
	v &= ~E1000_EECD_DI;
	eecd(v);
	ee_dummy_zero &= !(rd(E1000_EECD) & E1000_EECD_DO);
	for (int i = 0; i < 16; i++) {
		eecd(v |= E1000_EECD_SK);
		data = data << 1 | !!(rd(E1000_EECD) & E1000_EECD_DO);
		eecd(v &= ~E1000_EECD_SK);
	}
	/* standby, then release */
	eecd(v &= ~(E1000_EECD_CS | E1000_EECD_SK));
	eecd(v |= E1000_EECD_SK);
	eecd(v |= E1000_EECD_CS);
	eecd(v &= ~E1000_EECD_SK);
	eecd(v &= ~(E1000_EECD_CS | E1000_EECD_DI));
	ee_clock(&v);
	eecd(v & ~E1000_EECD_REQ);
	return data;
}

static uint16_t eerd(unsigned int addr)
{
	wr(E1000_EERD, addr << E1000_EERD_ADDR_SHIFT | E1000_EERD_START);
	return rd(E1000_EERD) >> E1000_EERD_DATA_SHIFT;
}

static int mdic(uint32_t op, unsigned int phy, unsigned int reg, uint16_t data)
{
	uint32_t v;

	wr(E1000_MDIC, op | phy << E1000_MDIC_PHY_SHIFT | reg << E1000_MDIC_REG_SHIFT | data);
	v = rd(E1000_MDIC);
	if (!(v & E1000_MDIC_READY) || (v & E1000_MDIC_ERROR))
		return -1;
	return v & 0xffff;
}

/* ---- receive ---- */

/* A ring of n descriptors, buffers of RCTL's size, all given to the NIC but one. */
static void rx_setup(unsigned int n, uint32_t rctl)
{
	for (unsigned int i = 0; i < n; i++) {
		put64(RX_RING + 16 * i, RX_BUF + RX_BUF_STEP * i);
		put64(RX_RING + 16 * i + 8, 0);
	}
	wr(E1000_RDBAL, RX_RING);
	wr(E1000_RDBAH, 0);
	wr(E1000_RDLEN, n * 16);
	wr(E1000_RDH, 0);
	wr(E1000_RDT, n - 1);
	wr(E1000_RCTL, rctl | E1000_RCTL_EN);
}

static uint8_t frame[E1000_MAX_FRAME];

static void make_frame(const uint8_t *dst, uint32_t len)
{
	memcpy(frame, dst, 6);
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01", 6);
	wbe16(frame + 12, 0x0800);
	for (uint32_t i = 14; i < len; i++)
		frame[i] = (uint8_t)(i * 7);
}

static bool rx(uint32_t len)
{
	struct iovec iov[2] = { { frame, 10 }, { frame + 10, len - 10 } };

	return e1000_receive(nic, iov, 2);
}

static uint8_t rx_status(unsigned int i) { return ram[RX_RING + 16 * i + 12]; }
static uint16_t rx_length(unsigned int i) { return get16(RX_RING + 16 * i + 8); }

/* ---- transmit ---- */

static unsigned int tx_n;		/* descriptors written so far */

static void tx_setup(unsigned int n)
{
	memset(ram + TX_RING, 0, 16 * n);
	wr(E1000_TDBAL, TX_RING);
	wr(E1000_TDBAH, 0);
	wr(E1000_TDLEN, n * 16);
	wr(E1000_TDH, 0);
	wr(E1000_TDT, 0);
	wr(E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP);
	tx_n = 0;
}

static void tx_legacy(uint64_t buf, uint16_t len, uint8_t cmd)
{
	uint64_t d = TX_RING + 16 * tx_n++;

	put64(d, buf);
	put32(d + 8, len | (uint32_t)cmd << 24);
	put32(d + 12, 0);
}

static void tx_ctx(uint8_t ipcss, uint8_t ipcso, uint16_t ipcse, uint8_t tucss, uint8_t tucso,
		   uint32_t paylen, uint8_t tucmd, uint8_t hdr_len, uint16_t mss)
{
	uint64_t d = TX_RING + 16 * tx_n++;

	ram[d] = ipcss;
	ram[d + 1] = ipcso;
	put16(d + 2, ipcse);
	ram[d + 4] = tucss;
	ram[d + 5] = tucso;
	put16(d + 6, 0);
	put32(d + 8, paylen | (uint32_t)(tucmd | E1000_TXD_CMD_DEXT) << 24);
	ram[d + 12] = 0;
	ram[d + 13] = hdr_len;
	put16(d + 14, mss);
}

static void tx_data(uint64_t buf, uint32_t len, uint8_t cmd, uint8_t popts)
{
	uint64_t d = TX_RING + 16 * tx_n++;

	put64(d, buf);
	put32(d + 8, len | E1000_TXD_DTYP_DATA << 20 | (uint32_t)(cmd | E1000_TXD_CMD_DEXT) << 24);
	ram[d + 12] = 0;
	ram[d + 13] = popts;
	put16(d + 14, 0);
}

static void tx_go(void)
{
	wr(E1000_TDT, tx_n);
}

/* ---- checksums, the test's own ---- */

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
	for (; len > 1; p += 2, len -= 2)
		s += be16(p);
	if (len)
		s += p[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* IPv4 header at ip: its checksum checks out. */
static bool ip_ok(const uint8_t *ip)
{
	return fold(sum16(ip, (ip[0] & 15) * 4, 0)) == 0xffff;
}

/* TCP or UDP over IPv4 at ip: the checksum, pseudo-header included, checks out. */
static bool l4_ok(const uint8_t *ip)
{
	unsigned int ihl = (ip[0] & 15) * 4, len = be16(ip + 2) - ihl;
	uint32_t s = sum16(ip + 12, 8, 0) + ip[9] + len;

	return fold(sum16(ip + ihl, len, s)) == 0xffff;
}

/* Ethernet + IPv4 + TCP (20 + 20 bytes) with payload, at TX_BUF; checksum fields as Linux leaves them. */
static void make_tcp(uint8_t *f, uint32_t payload, bool tso)
{
	uint8_t *ip = f + 14, *tcp = f + 34;
	uint32_t ps;

	memcpy(f, "\x02\x00\x00\x00\x00\x02", 6);
	memcpy(f + 6, mac, 6);
	wbe16(f + 12, 0x0800);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	wbe16(ip + 2, tso ? 0 : 40 + payload);
	wbe16(ip + 4, 0x1234);			/* identification */
	ip[6] = 0x40;				/* don't fragment */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
	if (!tso)
		wbe16(ip + 10, ~fold(sum16(ip, 20, 0)));
	wbe16(tcp, 40000);
	wbe16(tcp + 2, 80);
	wbe32(tcp + 4, 0x10000000);		/* sequence */
	wbe32(tcp + 8, 0x20000000);
	tcp[12] = 5 << 4;
	tcp[13] = 0x10 | 0x08 | 0x01;		/* ACK PSH FIN */
	wbe16(tcp + 14, 65535);
	for (uint32_t i = 0; i < payload; i++)
		tcp[20 + i] = (uint8_t)(i * 13 + 5);
	/* the pseudo-header sum (TSO: without the length) */
	ps = sum16(ip + 12, 8, 0) + 6 + (tso ? 0 : 20 + payload);
	wbe16(tcp + 16, fold(ps));
}

int main(void)
{
	uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t other[6] = { 0x52, 0x54, 0x00, 0x99, 0x99, 0x99 };
	uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
	uint16_t words[E1000_EEPROM_WORDS], sum;
	bool ok;

	ram = calloc(1, RAM_SIZE);
	nic = calloc(1, sizeof(*nic));
	if (!ram || !nic)
		return 1;
	tap_plan(44);
	new_nic();

	/* ---- identity, EEPROM, PHY ---- */
	tap_ok(pci_cfg_get(&nic->pci, PCI_VENDOR_ID, 4) == 0x100e8086 &&
	       pci_cfg_get(&nic->pci, PCI_SUBSYSTEM_VENDOR_ID, 4) == 0x001e8086 &&
	       pci_cfg_get(&nic->pci, PCI_REVISION_ID, 4) >> 8 == 0x020000 &&
	       nic->pci.bar[0].size == E1000_MMIO_SIZE && !nic->pci.bar[0].io &&
	       nic->pci.bar[1].size == E1000_IO_SIZE && nic->pci.bar[1].io &&
	       nic->pci.cfg[PCI_INTERRUPT_PIN] == PCI_INTA,
	       "PCI: 8086:100e, subsystem 8086:001e, Ethernet class, 128 KiB BAR0, I/O BAR1, INTA");

	sum = 0;
	for (unsigned int i = 0; i < E1000_EEPROM_WORDS; i++)
		sum += words[i] = eerd(i);
	tap_ok(words[0] == 0x5452 && words[1] == 0x1200 && words[2] == 0x5634 && sum == 0xbaba &&
	       (rd(E1000_EERD) & E1000_EERD_DONE),
	       "EERD: the MAC in words 0-2, the 64 words add up to 0xbaba");
	ok = !(rd(E1000_EECD) & E1000_EECD_SIZE) && (rd(E1000_EECD) & E1000_EECD_PRES);
	sum = 0;
	for (unsigned int i = 0; i < E1000_EEPROM_WORDS; i++) {
		int w = ee_read(i);

		ok &= w == words[i];
		sum += w;
	}
	tap_ok(ok && sum == 0xbaba && ee_dummy_zero,
	       "EECD bit-banging (Microwire, as Linux): the same 64 words, checksum 0xbaba, a dummy 0 first");
	tap_ok(words[0x0d] == 0x100e && words[0x0e] == 0x8086 && words[0x0b] == 0x001e &&
	       !(words[0x0f] & 0x3000), "EEPROM: device and subsystem IDs, no PAUSE in word 0x0f");
	tap_ok(rd(E1000_RAL(0)) == 0x12005452 && rd(E1000_RAH(0)) == (0x5634 | E1000_RAH_AV),
	       "RAL0/RAH0 hold the MAC, address valid");
	tap_ok(mdic(E1000_MDIC_OP_READ, 1, E1000_PHY_ID1_REG, 0) == 0x0141 &&
	       mdic(E1000_MDIC_OP_READ, 1, E1000_PHY_ID2_REG, 0) == 0x0c20 &&
	       (mdic(E1000_MDIC_OP_READ, 1, E1000_PHY_STATUS, 0) & 0x24) == 0x24 &&
	       mdic(E1000_MDIC_OP_READ, 1, E1000_PHY_1000T_STATUS, 0) == 0x3c00,
	       "MDIC: M88E1011 IDs, link up with autonegotiation complete, 1000T status");
	mdic(E1000_MDIC_OP_WRITE, 1, E1000_PHY_AUTONEG_ADV, 0x0de1);
	ok = mdic(E1000_MDIC_OP_READ, 1, E1000_PHY_AUTONEG_ADV, 0) == 0x0de1;
	mdic(E1000_MDIC_OP_WRITE, 1, E1000_PHY_CTRL, 0x1140 | E1000_MII_CR_RESET);
	tap_ok(ok && mdic(E1000_MDIC_OP_READ, 1, E1000_PHY_AUTONEG_ADV, 0) == 0x01e1 &&
	       mdic(E1000_MDIC_OP_READ, 1, E1000_PHY_CTRL, 0) == 0x1140 &&
	       mdic(E1000_MDIC_OP_READ, 2, E1000_PHY_ID1_REG, 0) == -1,
	       "MDIC: writes stick, PHY reset restores them, another PHY address errs");
	tap_ok((rd(E1000_STATUS) & 0xc3) == (E1000_STATUS_FD | E1000_STATUS_LU | E1000_STATUS_SPEED_1000),
	       "STATUS: link up, full duplex, 1000 Mb/s");

	/* CTRL.RST through the I/O BAR, as Linux resets an 82540 */
	wr(E1000_RCTL, E1000_RCTL_EN);
	wr(E1000_RAL(0), 0);
	wr(E1000_IMS, E1000_ICR_LSC);
	e1000_io_ops.write(nic, E1000_IOADDR, 4, E1000_CTRL);
	e1000_io_ops.write(nic, E1000_IODATA, 4, E1000_CTRL_RST);
	e1000_io_ops.write(nic, E1000_IOADDR, 4, E1000_STATUS);
	tap_ok(!rd(E1000_RCTL) && !rd(E1000_IMS) && rd(E1000_RAL(0)) == 0x12005452 &&
	       !(rd(E1000_CTRL) & E1000_CTRL_RST) &&
	       e1000_io_ops.read(nic, E1000_IODATA, 4) == rd(E1000_STATUS),
	       "IOADDR/IODATA: CTRL.RST resets the registers and reloads the MAC; IODATA reads STATUS");

	/* ---- interrupts ---- */
	wr(E1000_ICS, E1000_ICR_LSC);
	ok = !irq_level;
	wr(E1000_IMS, E1000_ICR_LSC | E1000_ICR_RXT0);
	ok &= irq_level == 1;
	tap_ok(ok && rd(E1000_ICR) == E1000_ICR_LSC && !irq_level && !rd(E1000_ICR),
	       "ICS sets a cause, IMS unmasks it onto INTA, reading ICR returns and clears it, INTA falls");
	wr(E1000_ICS, E1000_ICR_RXT0);
	ok = irq_level == 1;
	wr(E1000_IMC, E1000_ICR_RXT0);
	ok &= !irq_level;
	wr(E1000_IMS, E1000_ICR_RXT0);
	tap_ok(ok && irq_level == 1 && rd(E1000_ICR) == E1000_ICR_RXT0 && !irq_level,
	       "IMC masks a pending cause (INTA falls), IMS brings it back");

	now += 1000000;
	wr(E1000_ITR, 1000);			/* 256 us between interrupts */
	wr(E1000_ICS, E1000_ICR_RXT0);
	ok = irq_level == 1;
	rd(E1000_ICR);
	now += 10000;
	wr(E1000_ICS, E1000_ICR_RXT0);
	ok &= !irq_level && armed[E1000_TIMER_ITR] == now - 10000 + 256000;
	now += 100000;
	fire_if_due(E1000_TIMER_ITR);
	ok &= !irq_level;
	now += 146000;
	fire_if_due(E1000_TIMER_ITR);
	tap_ok(ok && irq_level == 1, "ITR: a cause 10 us after an interrupt waits for the 256 us interval");
	rd(E1000_ICR);
	wr(E1000_ITR, 0);
	now += 1000;
	wr(E1000_ICS, E1000_ICR_RXT0);
	tap_ok(irq_level == 1, "ITR 0: no throttling");
	rd(E1000_ICR);

	/* ---- receive ---- */
	new_nic();
	wr(E1000_IMS, E1000_ICR_RXT0);
	rx_setup(8, E1000_RCTL_BAM);
	make_frame(mac, 100);
	ok = rx(100);
	tap_ok(ok && rx_status(0) == (E1000_RXD_STAT_DD | E1000_RXD_STAT_EOP | E1000_RXD_STAT_IXSM) &&
	       rx_length(0) == 104 && !memcmp(ram + RX_BUF, frame, 100) && rd(E1000_RDH) == 1 &&
	       irq_level == 1 && (rd(E1000_ICR) & E1000_ICR_RXT0),
	       "a unicast frame for our MAC: one descriptor, DD EOP, length with the CRC, RXT0");
	make_frame(bcast, 42);
	tap_ok(rx(42) && rx_length(1) == 64 && rd(E1000_RDH) == 2 && ram[RX_BUF + RX_BUF_STEP + 50] == 0,
	       "a 42-byte broadcast (BAM): padded to 60, plus the CRC");
	make_frame(other, 100);
	ok = rx(100) && rd(E1000_RDH) == 2;
	wr(E1000_RCTL, rd(E1000_RCTL) | E1000_RCTL_UPE);
	tap_ok(ok && rx(100) && rd(E1000_RDH) == 3, "another unicast address: dropped; taken with UPE");
	wr(E1000_RCTL, E1000_RCTL_EN);
	make_frame(bcast, 60);
	ok = rx(60) && rd(E1000_RDH) == 3;
	make_frame(mcast, 60);
	ok &= rx(60) && rd(E1000_RDH) == 3;
	/* MO 0: bits 47:36 of the address index the MTA */
	{
		unsigned int h = (mcast[4] >> 4 | mcast[5] << 4) & 0xfff;

		wr(E1000_MTA + 4 * (h >> 5), 1u << (h & 31));
	}
	ok &= rx(60) && rd(E1000_RDH) == 4;
	mcast[5]++;
	make_frame(mcast, 60);
	ok &= rx(60) && rd(E1000_RDH) == 4;
	wr(E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_MPE);
	tap_ok(ok && rx(60) && rd(E1000_RDH) == 5,
	       "broadcast without BAM dropped; multicast by MTA hash only, or all with MPE");
	wr(E1000_RAL(3), 0x99005452);
	wr(E1000_RAH(3), 0x9999 | E1000_RAH_AV);
	wr(E1000_RCTL, E1000_RCTL_EN);
	make_frame(other, 70);
	tap_ok(rx(70) && rd(E1000_RDH) == 6, "a second address in RAL3/RAH3 is taken");

	/* a frame over three 256-byte buffers, around the end of the ring */
	new_nic();
	rx_setup(8, 3 << E1000_RCTL_BSIZE_SHIFT);
	wr(E1000_RDH, 6);
	wr(E1000_RDT, 5);
	make_frame(mac, 600);
	ok = rx(600);
	tap_ok(ok && rx_status(6) == (E1000_RXD_STAT_DD | E1000_RXD_STAT_IXSM) && rx_length(6) == 256 &&
	       rx_status(7) == (E1000_RXD_STAT_DD | E1000_RXD_STAT_IXSM) && rx_length(7) == 256 &&
	       (rx_status(0) & E1000_RXD_STAT_EOP) && rx_length(0) == 92 && rd(E1000_RDH) == 1 &&
	       !memcmp(ram + RX_BUF + 6 * RX_BUF_STEP, frame, 256) &&
	       !memcmp(ram + RX_BUF + 7 * RX_BUF_STEP, frame + 256, 256) &&
	       !memcmp(ram + RX_BUF, frame + 512, 88),
	       "600 bytes in 256-byte buffers: three descriptors, 6, 7 and 0 (wrap), EOP on the last");

	/* without LPE: 1522 bytes with the CRC at most, what Linux's 1522-byte buffers hold */
	new_nic();
	rx_setup(8, 0);
	make_frame(mac, 1519);
	ok = rx(1519) && rd(E1000_RDH) == 0 && rd(E1000_ROC) == 1;
	tap_ok(ok && rx(1518) && rx_length(0) == 1522,
	       "without LPE: 1519 bytes dropped (ROC), 1518 taken (1522 with the CRC)");

	/* BSEX: 16 KiB buffers take a long frame with LPE */
	new_nic();
	rx_setup(8, E1000_RCTL_BSEX | 1 << E1000_RCTL_BSIZE_SHIFT);
	make_frame(mac, 9000);
	ok = rx(9000) && rd(E1000_RDH) == 0;
	wr(E1000_RCTL, rd(E1000_RCTL) | E1000_RCTL_LPE);
	tap_ok(ok && rx(9000) && rx_length(0) == 9004 && (rx_status(0) & E1000_RXD_STAT_EOP),
	       "9000 bytes: dropped without LPE; with LPE in one 16 KiB (BSEX) buffer");

	/* no room: refused, then rx_room() once the guest moves RDT */
	new_nic();
	rx_setup(8, 0);
	make_frame(mac, 100);
	ok = true;
	for (unsigned int i = 0; i < 7; i++)
		ok &= rx(100);
	ok &= rd(E1000_RDH) == 7;
	ok &= !rx(100) && !rx_rooms && rd(E1000_RNBC) == 1;
	wr(E1000_RDT, 7);
	ok &= !rx_rooms;			/* nothing given yet */
	wr(E1000_RDT, 0);
	tap_ok(ok && rx_rooms == 1 && rx(100) && rd(E1000_RDH) == 0,
	       "ring full: receive refuses (RNBC), RDT moving on calls rx_room, the frame then fits");
	tap_ok((rd(E1000_ICR) & E1000_ICR_RXDMT0) != 0, "RXDMT0 as free descriptors fall to half the ring");
	tap_ok(rd(E1000_GPRC) == 8 && rd(E1000_GPRC) == 0 && rd(E1000_TPR) == 8 &&
	       rd(E1000_GORCL) == 8 * 104 && rd(E1000_GORCH) == 0 && rd(E1000_GORCL) == 0,
	       "GPRC, TPR, GORC count and clear on read");

	/* RDTR: the receive interrupt waits for a quiet 1.024 us unit count; RADV caps it */
	new_nic();
	wr(E1000_IMS, E1000_ICR_RXT0);
	rx_setup(8, 0);
	wr(E1000_RDTR, 100);
	wr(E1000_RADV, 150);
	make_frame(mac, 100);
	rx(100);
	ok = !irq_level && armed[E1000_TIMER_RX] == now + 102400;
	now += 80000;
	rx(100);
	ok &= armed[E1000_TIMER_RX] == now - 80000 + 153600;
	now += 80000;
	fire_if_due(E1000_TIMER_RX);
	tap_ok(ok && irq_level == 1 && rd(E1000_ICR) == E1000_ICR_RXT0,
	       "RDTR delays RXT0, each frame restarts it, RADV ends the wait");
	rx(100);
	wr(E1000_RDTR, 100 | E1000_RDTR_FPD);
	tap_ok(irq_level == 1 && !armed[E1000_TIMER_RX] && !(rd(E1000_RDTR) & E1000_RDTR_FPD),
	       "RDTR.FPD flushes the delayed interrupt at once");

	/* VLAN: stripped into the descriptor with CTRL.VME, filtered with VFE */
	new_nic();
	rx_setup(8, 0);
	wr(E1000_CTRL, rd(E1000_CTRL) | E1000_CTRL_VME);
	make_frame(mac, 100);
	memmove(frame + 16, frame + 12, 84);
	wbe16(frame + 12, 0x8100);
	wbe16(frame + 14, 0x2005);		/* priority 1, VID 5 */
	ok = rx(104) && rx_length(0) == 104 && (rx_status(0) & E1000_RXD_STAT_VP) &&
	     get16(RX_RING + 14) == 0x2005 && be16(ram + RX_BUF + 12) == 0x0800;
	wr(E1000_RCTL, rd(E1000_RCTL) | E1000_RCTL_VFE);
	ok &= rx(104) && rd(E1000_RDH) == 1;
	wr(E1000_VFTA, 1 << 5);
	tap_ok(ok && rx(104) && rd(E1000_RDH) == 2,
	       "VLAN: the tag stripped into special (VP), dropped by VFE until VFTA has VID 5");

	/* ---- transmit ---- */
	new_nic();
	wr(E1000_IMS, E1000_ICR_TXDW);
	tx_setup(8);
	make_frame(other, 100);
	memcpy(ram + TX_BUF, frame, 100);
	tx_legacy(TX_BUF, 100, E1000_TXD_CMD_EOP | E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS);
	tx_go();
	tap_ok(nsent == 1 && sent_len[0] == 100 && !memcmp(sent[0], frame, 100) &&
	       (ram[TX_RING + 12] & E1000_TXD_STAT_DD) && rd(E1000_TDH) == 1 && irq_level == 1 &&
	       (rd(E1000_ICR) & (E1000_ICR_TXDW | E1000_ICR_TXQE)) == (E1000_ICR_TXDW | E1000_ICR_TXQE),
	       "a legacy descriptor: the frame reaches send(), DD written back, TXDW and TXQE");
	memcpy(ram + TX_BUF + 0x1000, frame + 40, 60);
	tx_legacy(TX_BUF, 40, 0);
	tx_legacy(TX_BUF + 0x1000, 60, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS);
	tx_go();
	tap_ok(nsent == 2 && sent_len[1] == 100 && !memcmp(sent[1], frame, 100) &&
	       !(ram[TX_RING + 16 + 12] & E1000_TXD_STAT_DD) && (ram[TX_RING + 32 + 12] & E1000_TXD_STAT_DD),
	       "a frame over two descriptors: one send, DD only where RS asked");
	memcpy(ram + TX_BUF, frame, 20);
	tx_legacy(TX_BUF, 20, E1000_TXD_CMD_EOP);
	tx_go();
	tap_ok(nsent == 3 && sent_len[2] == 60 && !sent[2][59] && rd(E1000_GPTC) == 3 &&
	       rd(E1000_TPT) == 3 && rd(E1000_GPTC) == 0,
	       "TCTL.PSP pads a 20-byte frame to 60; GPTC and TPT count");

	/* checksum offload: a context, then data descriptors with TXSM and IXSM */
	new_nic();
	tx_setup(8);
	make_tcp(ram + TX_BUF, 300, false);
	wbe16(ram + TX_BUF + 24, 0);		/* IP checksum left to the NIC */
	tx_ctx(14, 24, 33, 34, 50, 0, E1000_TXD_TUCMD_TCP | E1000_TXD_TUCMD_IP, 0, 0);
	tx_data(TX_BUF, 100, 0, E1000_TXD_POPTS_TXSM | E1000_TXD_POPTS_IXSM);
	tx_data(TX_BUF + 100, 254, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS, 0);
	tx_go();
	tap_ok(nsent == 1 && sent_len[0] == 354 && ip_ok(sent[0] + 14) && l4_ok(sent[0] + 14) &&
	       !memcmp(sent[0] + 54, ram + TX_BUF + 54, 300),
	       "checksum offload: TCP checksum (pseudo-header sum from the driver) and IP header checksum filled");

	/* TSO: 20 KiB of TCP payload cut into MSS 1460 segments */
	new_nic();
	tx_setup(16);
	make_tcp(ram + TX_BUF, 20480, true);
	tx_ctx(14, 24, 33, 34, 50, 20480,
	       E1000_TXD_TUCMD_TCP | E1000_TXD_TUCMD_IP | E1000_TXD_CMD_TSE, 54, 1460);
	tx_data(TX_BUF, 54 + 4000, E1000_TXD_CMD_TSE, E1000_TXD_POPTS_TXSM | E1000_TXD_POPTS_IXSM);
	for (uint32_t off = 4054; off < 54 + 20480; off += 4096) {
		uint32_t len = 54 + 20480 - off < 4096 ? 54 + 20480 - off : 4096;

		tx_data(TX_BUF + off, len, E1000_TXD_CMD_TSE |
			(off + len == 54 + 20480 ? E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS : 0),
			E1000_TXD_POPTS_TXSM | E1000_TXD_POPTS_IXSM);
	}
	tx_go();
	ok = nsent == 15;
	for (unsigned int i = 0; ok && i < nsent; i++) {
		uint32_t pay = i < 14 ? 1460 : 20480 - 14 * 1460;
		const uint8_t *ip = sent[i] + 14, *tcp = sent[i] + 34;

		ok &= sent_len[i] == 54 + pay && be16(ip + 2) == 40 + pay && be16(ip + 4) == 0x1234 + i &&
		      ip_ok(ip) && l4_ok(ip) && be32(tcp + 4) == 0x10000000 + 1460 * i &&
		      tcp[13] == (i < 14 ? 0x10 : 0x19) &&
		      !memcmp(tcp + 20, ram + TX_BUF + 54 + 1460 * i, pay);
		if (!ok)
			tap_diag("segment %u: len %u ip len %u id %#x seq %#x flags %#x ip_ok %d l4_ok %d",
				 i, sent_len[i], be16(ip + 2), be16(ip + 4), be32(tcp + 4), tcp[13],
				 ip_ok(ip), l4_ok(ip));
	}
	tap_ok(ok && (ram[TX_RING + 16 * (tx_n - 1) + 12] & E1000_TXD_STAT_DD) && rd(E1000_TSCTC) == 1,
	       "TSO of 20 KiB: 15 segments, IP length, ID and checksum, TCP sequence, checksum, and FIN/PSH only in the last");

	/* TIDV: descriptors with IDE delay TXDW */
	new_nic();
	wr(E1000_IMS, E1000_ICR_TXDW);
	wr(E1000_TIDV, 8);
	tx_setup(8);
	memcpy(ram + TX_BUF, frame, 100);
	tx_legacy(TX_BUF, 100, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS | E1000_TXD_CMD_IDE);
	tx_go();
	ok = nsent == 1 && !irq_level && armed[E1000_TIMER_TX] == now + 8 * 1024;
	now += 8 * 1024;
	fire_if_due(E1000_TIMER_TX);
	tap_ok(ok && irq_level == 1, "TIDV: TXDW for an IDE descriptor after the delay");

	/* VLAN insertion with VLE and CTRL.VME */
	new_nic();
	tx_setup(8);
	wr(E1000_CTRL, rd(E1000_CTRL) | E1000_CTRL_VME);
	make_frame(other, 100);
	memcpy(ram + TX_BUF, frame, 100);
	tx_legacy(TX_BUF, 100, E1000_TXD_CMD_EOP | E1000_TXD_CMD_VLE);
	put16(TX_RING + 14, 0x0007);
	tx_go();
	tap_ok(nsent == 1 && sent_len[0] == 104 && be16(sent[0] + 12) == 0x8100 && be16(sent[0] + 14) == 7 &&
	       !memcmp(sent[0] + 16, frame + 12, 88), "VLE: an 802.1Q tag (VET, special) after the addresses");

	/* partial register accesses */
	wr(E1000_RDTR, 0);
	e1000_mmio_ops.write(nic, E1000_RDTR + 1, 1, 0x12);
	tap_ok(rd(E1000_RDTR) == 0x1200 && e1000_mmio_ops.read(nic, E1000_RAH(0) + 2, 2) == 0x8000,
	       "byte and word accesses reach their part of a register");

	/* ---- a hostile guest ---- */
	new_nic();
	tx_setup(8);
	wr(E1000_TDBAL, RAM_SIZE - 32);		/* descriptors 2.. beyond RAM */
	memcpy(ram + TX_BUF, frame, 100);
	tx_n = 0;
	wr(E1000_TDT, 6);
	tap_ok(nsent == 0 && rd(E1000_TDH) == 6, "descriptors outside RAM: skipped, nothing sent, no crash");

	tx_setup(8);
	tx_legacy(RAM_SIZE - 50, 100, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS);
	memcpy(ram + TX_BUF, frame, 100);
	tx_legacy(TX_BUF, 100, E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS);
	tx_go();
	tap_ok(nsent == 1 && (ram[TX_RING + 12] & E1000_TXD_STAT_DD) && rd(E1000_TDH) == 2,
	       "a buffer crossing the end of RAM: that packet dropped (DD still written), the next sent");

	tx_setup(8);
	wr(E1000_TDT, 9);
	ok = rd(E1000_TDH) == 0;
	wr(E1000_TDLEN, 8 * 16 + 8);
	tap_ok(ok && rd(E1000_TDLEN) == 128 && nsent == 1, "TDT beyond the ring: nothing done; a TDLEN not a multiple of 128 is cut");

	tx_setup(8);
	make_tcp(ram + TX_BUF, 3000, true);
	tx_ctx(14, 24, 33, 34, 50, 3000, E1000_TXD_TUCMD_TCP | E1000_TXD_TUCMD_IP | E1000_TXD_CMD_TSE, 54, 0);
	tx_data(TX_BUF, 54 + 3000, E1000_TXD_CMD_TSE | E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS,
		E1000_TXD_POPTS_TXSM);
	tx_ctx(14, 24, 33, 34, 50, 3000, E1000_TXD_TUCMD_TCP | E1000_TXD_TUCMD_IP | E1000_TXD_CMD_TSE, 255, 16300);
	tx_data(TX_BUF, 54 + 3000, E1000_TXD_CMD_TSE | E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS,
		E1000_TXD_POPTS_TXSM);
	tx_ctx(14, 24, 33, 250, 50, 3000, E1000_TXD_TUCMD_TCP | E1000_TXD_TUCMD_IP | E1000_TXD_CMD_TSE, 54, 1000);
	tx_data(TX_BUF, 54 + 3000, E1000_TXD_CMD_TSE | E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS,
		E1000_TXD_POPTS_TXSM);
	tx_go();
	tap_ok(nsent == 1 && (ram[TX_RING + 16 + 12] & E1000_TXD_STAT_DD) &&
	       (ram[TX_RING + 80 + 12] & E1000_TXD_STAT_DD) && rd(E1000_TDH) == 6,
	       "TSO contexts with MSS 0, header + MSS over 16 KiB, TCP header past HDRLEN: sends dropped, DD written");

	tx_setup(8);
	for (unsigned int i = 0; i < 5; i++)
		tx_legacy(TX_BUF, 4000, i == 4 ? E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS : 0);
	memcpy(ram + TX_BUF, frame, 100);
	tx_legacy(TX_BUF, 100, E1000_TXD_CMD_EOP);
	tx_go();
	tap_ok(nsent == 2 && sent_len[1] == 100, "a 20000-byte frame (over 16 KiB): dropped, the next one sent");

	/* a ring of 4096 empty descriptors, TDT just behind TDH: one lap, then it stops */
	tx_setup(4096);
	wr(E1000_TDH, 1);
	wr(E1000_TDT, 0);
	tap_ok(rd(E1000_TDH) == 0 && nsent == 2, "TDT one behind TDH on 4096 descriptors: one lap, done");

	new_nic();
	rx_setup(8, 0);
	wr(E1000_RDBAL, RAM_SIZE);
	make_frame(mac, 100);
	ok = rx(100) && rd(E1000_RDH) == 0;
	rx_setup(8, 0);
	put64(RX_RING, RAM_SIZE - 50);
	ok &= rx(100) && (ram[RX_RING + 13] & E1000_RXD_ERR_RXE) && (rx_status(0) & E1000_RXD_STAT_EOP) &&
	      rd(E1000_RDH) == 1;
	tap_ok(ok && rx(100) && rd(E1000_RDH) == 2 && rx_length(1) == 104,
	       "receive descriptors outside RAM: frame dropped; a buffer outside RAM: RXE; the next frame fine");

	rx_setup(8, 3 << E1000_RCTL_BSIZE_SHIFT);
	wr(E1000_RCTL, rd(E1000_RCTL) | E1000_RCTL_LPE);
	make_frame(mac, 2000);
	ok = rx(2000) && rd(E1000_RDH) == 0;
	wr(E1000_RDLEN, 0);
	tap_ok(ok && rx(100) && !rx_rooms,
	       "a frame needing more descriptors than the ring has, or no ring: dropped, not held");

	/* a short iovec chain: a 10-byte frame */
	rx_setup(8, E1000_RCTL_UPE);
	tap_ok(rx(11) && rd(E1000_RDH) == 0, "a runt under 14 bytes: dropped");

	free(nic);
	free(ram);
	return tap_done();
}
