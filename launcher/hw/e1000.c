/* launcher/hw/e1000.c: the 82540EM's registers, EEPROM, PHY, interrupts and timers, and its receive path. */
#include <stdarg.h>
#include <stdio.h>

#include "e1000_int.h"

#define WARN_WINDOW_NS	10000000000ull	/* at most WARN_BURST messages per 10 s */
#define WARN_BURST	5
#define DELAY_UNIT_NS	1024		/* RDTR, RADV, TIDV, TADV count 1.024 us */
#define ITR_UNIT_NS	256
#define MIN_FRAME	60		/* shorter frames arrive padded, as from a wire */
#define VLAN_FRAME	1522		/* longest frame without RCTL.LPE, CRC included */
#define CRC_LEN		4

/* ---- small services for e1000_tx.c ---- */

uint64_t e1000_now(const struct e1000 *e)
{
	return e->clock ? hw_clock_now(e->clock) : 0;
}

bool e1000_bus_master(const struct e1000 *e)
{
	return pci_cfg_get(&e->pci, PCI_COMMAND, 2) & PCI_COMMAND_MASTER;
}

void e1000_warn(struct e1000 *e, const char *fmt, ...)
{
	uint64_t now = e1000_now(e);
	va_list ap;

	if (!e->warn_count || now - e->warn_since >= WARN_WINDOW_NS) {
		if (e->warn_dropped)
			fprintf(stderr, "kvm-launch: %s: %u more such messages suppressed\n",
				e->name, e->warn_dropped);
		e->warn_since = now;
		e->warn_count = 0;
		e->warn_dropped = 0;
	}
	if (e->warn_count++ >= WARN_BURST) {
		e->warn_dropped++;
		return;
	}
	fprintf(stderr, "kvm-launch: %s: ", e->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void e1000_stat_add(struct e1000 *e, uint32_t off, uint32_t n)
{
	uint32_t *c = &e->reg[off / 4];

	*c = *c > UINT32_MAX - n ? UINT32_MAX : *c + n;
}

/* ---- interrupts ---- */

static void timer_arm(struct e1000 *e, enum e1000_timer t, uint64_t at)
{
	if (e->host.timer_arm)
		e->host.timer_arm(e->host.ctx, t, at);
}

static void timer_cancel(struct e1000 *e, enum e1000_timer t)
{
	if (e->host.timer_cancel)
		e->host.timer_cancel(e->host.ctx, t);
}

static void set_irq(struct e1000 *e, bool level)
{
	e->irq = level;
	if (e->host.set_irq)
		e->host.set_irq(e->host.ctx, level);
}

/*
 * INTA is up while ICR & IMS has a bit. It rises at most once per ITR
 * interval (256 ns units, 0: no limit): a cause that comes sooner waits
 * for the ITR timer. Once up, it stays up until the causes are read
 * (ICR) or masked (IMC).
 */
static void update_irq(struct e1000 *e)
{
	uint64_t interval = (uint64_t)(e1000_r(e, E1000_ITR) & 0xffff) * ITR_UNIT_NS;
	uint64_t now;

	if (!(e1000_r(e, E1000_ICR) & e1000_r(e, E1000_IMS))) {
		if (e->irq)
			set_irq(e, false);
		return;
	}
	if (e->irq)
		return;
	now = e1000_now(e);
	if (interval && e->irq_ever && now - e->last_irq_ns < interval) {
		if (!e->itr_armed) {
			e->itr_armed = true;
			timer_arm(e, E1000_TIMER_ITR, e->last_irq_ns + interval);
		}
		return;
	}
	e->irq_ever = true;
	e->last_irq_ns = now;
	set_irq(e, true);
}

void e1000_set_cause(struct e1000 *e, uint32_t cause)
{
	e->reg[E1000_ICR / 4] |= cause;
	update_irq(e);
}

/*
 * A delay timer pair (RDTR/RADV, TIDV/TADV): the packet timer restarts
 * with every packet, the absolute one runs from the first; whichever
 * ends first raises the cause and stops both. A packet delay of 0 raises
 * at once and disables the absolute timer too.
 */
static void delay_start(struct e1000 *e, enum e1000_timer t, uint64_t *at, uint64_t *abs_at,
			uint32_t delay, uint32_t abs_delay, uint32_t cause)
{
	uint64_t now, first;

	if (!delay) {
		e1000_set_cause(e, cause);
		return;
	}
	now = e1000_now(e);
	*at = now + (uint64_t)delay * DELAY_UNIT_NS;
	if (abs_delay && !*abs_at)
		*abs_at = now + (uint64_t)abs_delay * DELAY_UNIT_NS;
	first = *abs_at && *abs_at < *at ? *abs_at : *at;
	timer_arm(e, t, first);
}

static void delay_fired(struct e1000 *e, enum e1000_timer t, uint64_t *at, uint64_t *abs_at,
			uint32_t cause, uint64_t now)
{
	uint64_t first = *at;

	if (*abs_at && (!first || *abs_at < first))
		first = *abs_at;
	if (!first)
		return;
	if (now < first) {
		timer_arm(e, t, first);
		return;
	}
	*at = *abs_at = 0;
	e1000_set_cause(e, cause);
}

static void delay_flush(struct e1000 *e, enum e1000_timer t, uint64_t *at, uint64_t *abs_at,
			uint32_t cause)
{
	if (!*at && !*abs_at)
		return;
	*at = *abs_at = 0;
	timer_cancel(e, t);
	e1000_set_cause(e, cause);
}

void e1000_tx_interrupt(struct e1000 *e, bool delay)
{
	if (!delay) {
		e1000_set_cause(e, E1000_ICR_TXDW);
		return;
	}
	delay_start(e, E1000_TIMER_TX, &e->tx_delay_at, &e->tx_abs_at,
		    e1000_r(e, E1000_TIDV) & 0xffff, e1000_r(e, E1000_TADV) & 0xffff,
		    E1000_ICR_TXDW);
}

void e1000_timer_fired(struct e1000 *e, enum e1000_timer t, uint64_t now)
{
	switch (t) {
	case E1000_TIMER_ITR:
		e->itr_armed = false;
		update_irq(e);
		break;
	case E1000_TIMER_RX:
		delay_fired(e, t, &e->rx_delay_at, &e->rx_abs_at, E1000_ICR_RXT0, now);
		break;
	case E1000_TIMER_TX:
		delay_fired(e, t, &e->tx_delay_at, &e->tx_abs_at, E1000_ICR_TXDW, now);
		break;
	default:
		break;
	}
}

/* ---- EEPROM: a read-only 93C46 behind EECD's pins, and EERD ---- */

/*
 * Our own image after the 8254x manual's map: the MAC, the IDs the PCI
 * function shows, no PAUSE (word 0x0f: Linux then asks for no flow
 * control), no wake-up (word 0x24), the ID LED word blank (Linux's
 * defaults), and the checksum word that makes the sum 0xbaba.
 */
static void eeprom_build(struct e1000 *e)
{
	uint16_t *w = e->eeprom, sum = 0;

	memset(w, 0, sizeof(e->eeprom));
	for (unsigned int i = 0; i < 3; i++)
		w[i] = e->mac[2 * i] | e->mac[2 * i + 1] << 8;
	w[0x04] = 0xffff;		/* ID LED settings: none */
	w[0x0a] = 0x4000;		/* initialization control 1: signature 01b */
	w[0x0b] = E1000_SUBSYS_ID;
	w[0x0c] = E1000_SUBSYS_VENDOR;
	w[0x0d] = E1000_DEVICE;
	w[0x0e] = E1000_VENDOR;
	for (unsigned int i = 0; i < E1000_EEPROM_WORDS - 1; i++)
		sum += w[i];
	w[E1000_EEPROM_WORDS - 1] = E1000_EEPROM_SUM - sum;
}

#define EE_CMD_BITS	9		/* start bit, 2 opcode bits, 6 address bits */
#define EE_OP_READ	2

static bool eeprom_do(const struct e1000 *e)
{
	unsigned int word, bit;

	if (e->ee.out < 0 || e->ee.out == INT32_MAX)
		return false;			/* the dummy 0 before the data, or idle */
	word = (e->ee.addr + (unsigned int)e->ee.out / 16) % E1000_EEPROM_WORDS;
	bit = 15 - (unsigned int)e->ee.out % 16;
	return e->eeprom[word] >> bit & 1;
}

static uint32_t eecd_read(const struct e1000 *e)
{
	uint32_t v = e->ee.pins | E1000_EECD_PRES;

	if (v & E1000_EECD_REQ)
		v |= E1000_EECD_GNT;
	if (eeprom_do(e))
		v |= E1000_EECD_DO;
	return v;
}

/*
 * Microwire: with CS high, each rising SK edge samples DI; leading zeros
 * before the start bit are ignored. After start, opcode 10b and six
 * address bits, DO gives a dummy 0, then each rising edge the next data
 * bit, from bit 15 down, on through the following words. CS low ends the
 * command. Writes and erases are taken and ignored: the image is ours.
 */
static void eecd_write(struct e1000 *e, uint32_t val)
{
	uint32_t old = e->ee.pins;

	e->ee.pins = val & (E1000_EECD_SK | E1000_EECD_CS | E1000_EECD_DI | E1000_EECD_REQ);
	if (!(val & E1000_EECD_CS)) {
		e->ee.in = 0;
		e->ee.nin = 0;
		e->ee.out = INT32_MAX;
		return;
	}
	if ((old & E1000_EECD_SK) || !(val & E1000_EECD_SK))
		return;				/* not a rising edge */
	if (e->ee.out != INT32_MAX) {
		e->ee.out++;
		return;
	}
	if (e->ee.nin >= EE_CMD_BITS)
		return;				/* a command we ignore: wait for CS low */
	if (!e->ee.nin && !(val & E1000_EECD_DI))
		return;				/* before the start bit */
	e->ee.in = e->ee.in << 1 | !!(val & E1000_EECD_DI);
	if (++e->ee.nin == EE_CMD_BITS && (e->ee.in >> 6 & 3) == EE_OP_READ) {
		e->ee.addr = e->ee.in & 0x3f;
		e->ee.out = -1;
	}
}

static void eerd_write(struct e1000 *e, uint32_t val)
{
	unsigned int addr = val >> E1000_EERD_ADDR_SHIFT & 0xff;
	uint16_t data = addr < E1000_EEPROM_WORDS ? e->eeprom[addr] : 0;

	if (!(val & E1000_EERD_START)) {
		e->reg[E1000_EERD / 4] = val & ~E1000_EERD_DONE;
		return;
	}
	e->reg[E1000_EERD / 4] = (uint32_t)data << E1000_EERD_DATA_SHIFT |
				 addr << E1000_EERD_ADDR_SHIFT | E1000_EERD_DONE;
}

/* ---- PHY: an M88E1011 with autonegotiation done, 1000 Mb/s full duplex ---- */

static const uint16_t phy_default[E1000_PHY_REGS] = {
	[E1000_PHY_CTRL] = 0x1140,		/* autoneg on, full duplex, 1000 */
	[E1000_PHY_STATUS] = 0x796d,		/* 10/100 capable, ext status, AN done, link */
	[E1000_PHY_ID1_REG] = E1000_PHY_ID1,
	[E1000_PHY_ID2_REG] = E1000_PHY_ID2,
	[E1000_PHY_AUTONEG_ADV] = 0x01e1,
	[E1000_PHY_LP_ABILITY] = 0x41e1,	/* the partner: 10/100, acknowledged */
	[E1000_PHY_AUTONEG_EXP] = 0x0001,
	[E1000_PHY_1000T_CTRL] = 0x0300,
	[E1000_PHY_1000T_STATUS] = 0x3c00,	/* receivers OK, partner 1000 FD/HD */
	[E1000_PHY_EXT_STATUS] = 0x3000,
	[E1000_PHY_SPEC_CTRL] = 0x0068,
	[E1000_PHY_SPEC_STATUS] = 0xac00,	/* 1000, full duplex, resolved, link */
};

static bool phy_read_only(unsigned int r)
{
	switch (r) {
	case E1000_PHY_STATUS: case E1000_PHY_ID1_REG: case E1000_PHY_ID2_REG:
	case E1000_PHY_LP_ABILITY: case E1000_PHY_AUTONEG_EXP: case E1000_PHY_1000T_STATUS:
	case E1000_PHY_EXT_STATUS: case E1000_PHY_SPEC_STATUS: case E1000_PHY_RX_ERR_CNTR:
		return true;
	default:
		return false;
	}
}

static void phy_write(struct e1000 *e, unsigned int r, uint16_t v)
{
	if (phy_read_only(r))
		return;
	if (r == E1000_PHY_CTRL) {
		if (v & E1000_MII_CR_RESET) {
			memcpy(e->phy, phy_default, sizeof(e->phy));
			return;
		}
		/* autonegotiation restarts and completes at once: the link stays up */
		v &= ~E1000_MII_CR_RESTART_AN;
	}
	e->phy[r] = v;
}

static void mdic_write(struct e1000 *e, uint32_t val)
{
	unsigned int phy = val >> E1000_MDIC_PHY_SHIFT & 0x1f, r = val >> E1000_MDIC_REG_SHIFT & 0x1f;
	uint32_t op = val & (E1000_MDIC_OP_READ | E1000_MDIC_OP_WRITE);

	val &= ~(E1000_MDIC_READY | E1000_MDIC_ERROR);
	if (phy != E1000_PHY_ADDR || !op || op == (E1000_MDIC_OP_READ | E1000_MDIC_OP_WRITE))
		val |= E1000_MDIC_ERROR;
	else if (op == E1000_MDIC_OP_READ)
		val = (val & ~0xffffu) | e->phy[r];
	else
		phy_write(e, r, val & 0xffff);
	e->reg[E1000_MDIC / 4] = val | E1000_MDIC_READY;
	if (val & E1000_MDIC_INT_EN)
		e1000_set_cause(e, E1000_ICR_MDAC);
}

/* ---- reset and registers ---- */

static void load_mac(struct e1000 *e)
{
	const uint8_t *m = e->mac;

	e->reg[E1000_RAL(0) / 4] = m[0] | m[1] << 8 | m[2] << 16 | (uint32_t)m[3] << 24;
	e->reg[E1000_RAH(0) / 4] = m[4] | m[5] << 8 | E1000_RAH_AV;
}

void e1000_reset(struct e1000 *e)
{
	for (unsigned int t = 0; t < E1000_NR_TIMERS; t++)
		timer_cancel(e, t);
	if (e->irq)
		set_irq(e, false);
	memset(e->reg, 0, sizeof(e->reg));
	e->gorc = e->gotc = e->tor = e->tot = 0;
	e->ioaddr = 0;
	e->irq_ever = e->itr_armed = false;
	e->rx_delay_at = e->rx_abs_at = e->tx_delay_at = e->tx_abs_at = 0;
	e->ee.pins = e->ee.in = e->ee.nin = 0;
	e->ee.out = INT32_MAX;
	memcpy(e->phy, phy_default, sizeof(e->phy));
	memset(&e->ctx, 0, sizeof(e->ctx));
	e1000_tx_reset(e);
	e->reg[E1000_CTRL / 4] = E1000_CTRL_FD | E1000_CTRL_SLU | 0x200;	/* speed 1000 */
	e->reg[E1000_VET / 4] = 0x8100;
	e->reg[E1000_LEDCTL / 4] = 0x07068302;
	e->reg[E1000_PBA / 4] = 0x00100030;	/* 48 KiB receive, 16 KiB transmit */
	load_mac(e);
	/* rx_blocked survives: the backend still holds its frame */
}

static uint32_t status(const struct e1000 *e)
{
	(void)e;
	return E1000_STATUS_FD | E1000_STATUS_LU | E1000_STATUS_SPEED_1000 | E1000_STATUS_ASDV_1000;
}

/* The guest gave receive descriptors (or enabled the receiver) after a refusal. */
static void rx_room_check(struct e1000 *e)
{
	if (!e->rx_blocked || !(e1000_r(e, E1000_RCTL) & E1000_RCTL_EN) ||
	    e1000_r(e, E1000_RDT) == e1000_r(e, E1000_RDH))
		return;
	e->rx_blocked = false;
	if (e->host.rx_room)
		e->host.rx_room(e->host.ctx);
}

static uint32_t ring_len(struct e1000 *e, const char *ring, uint32_t val)
{
	if (val & 0x7f || val > 0xfff80)
		e1000_warn(e, "%s length %#x is not a multiple of 128 bytes below 1 MiB: "
			   "bits ignored", ring, val);
	return val & 0xfff80;
}

/* The 64-bit octet counters: the high half's read clears both. */
static uint32_t octets_read(uint64_t *c, bool high)
{
	uint32_t v = high ? *c >> 32 : (uint32_t)*c;

	if (high)
		*c = 0;
	return v;
}

uint32_t e1000_reg_read(struct e1000 *e, uint32_t off)
{
	uint32_t v;

	off &= ~3u;
	if (off >= E1000_REG_END)
		return 0;
	switch (off) {
	case E1000_STATUS:
		return status(e);
	case E1000_EECD:
		return eecd_read(e);
	case E1000_ICR:
		v = e1000_r(e, E1000_ICR);
		e->reg[E1000_ICR / 4] = 0;
		update_irq(e);
		return v;
	case E1000_ICS:
		return e1000_r(e, E1000_ICR);
	case E1000_IMC:
		return 0;
	case E1000_GORCL: case E1000_GORCH:
		return octets_read(&e->gorc, off == E1000_GORCH);
	case E1000_GOTCL: case E1000_GOTCH:
		return octets_read(&e->gotc, off == E1000_GOTCH);
	case E1000_TORL: case E1000_TORH:
		return octets_read(&e->tor, off == E1000_TORH);
	case E1000_TOTL: case E1000_TOTH:
		return octets_read(&e->tot, off == E1000_TOTH);
	default:
		break;
	}
	v = e->reg[off / 4];
	if (off >= E1000_STATS && off < E1000_STATS_END)
		e->reg[off / 4] = 0;
	return v;
}

void e1000_reg_write(struct e1000 *e, uint32_t off, uint32_t val)
{
	uint32_t *r;

	off &= ~3u;
	if (off >= E1000_REG_END)
		return;
	r = &e->reg[off / 4];
	switch (off) {
	case E1000_CTRL:
		if (val & E1000_CTRL_RST) {
			e1000_reset(e);
			return;
		}
		if (val & E1000_CTRL_PHY_RST)
			memcpy(e->phy, phy_default, sizeof(e->phy));
		*r = val;
		return;
	case E1000_STATUS:
		return;
	case E1000_EECD:
		eecd_write(e, val);
		return;
	case E1000_EERD:
		eerd_write(e, val);
		return;
	case E1000_MDIC:
		mdic_write(e, val);
		return;
	case E1000_ICR:
		*r &= ~val;
		update_irq(e);
		return;
	case E1000_ICS:
		e1000_set_cause(e, val);
		return;
	case E1000_IMS:
		*r |= val;
		update_irq(e);
		return;
	case E1000_IMC:
		e->reg[E1000_IMS / 4] &= ~val;
		update_irq(e);
		return;
	case E1000_ITR:
		*r = val & 0xffff;
		return;
	case E1000_VET:
		*r = val & 0xffff;
		return;
	case E1000_RCTL:
		*r = val;
		rx_room_check(e);
		return;
	case E1000_TCTL:
		*r = val;
		e1000_tx_run(e);
		return;
	case E1000_RDBAL: case E1000_TDBAL:
		*r = val & ~0xfu;
		return;
	case E1000_RDLEN:
		*r = ring_len(e, "receive ring", val);
		return;
	case E1000_TDLEN:
		*r = ring_len(e, "transmit ring", val);
		return;
	case E1000_RDH: case E1000_TDH:
		*r = val & 0xffff;
		return;
	case E1000_RDT:
		*r = val & 0xffff;
		rx_room_check(e);
		return;
	case E1000_TDT:
		*r = val & 0xffff;
		e1000_tx_run(e);
		return;
	case E1000_RDTR:
		*r = val & 0xffff;
		if (val & E1000_RDTR_FPD)
			delay_flush(e, E1000_TIMER_RX, &e->rx_delay_at, &e->rx_abs_at, E1000_ICR_RXT0);
		return;
	case E1000_RADV: case E1000_TIDV: case E1000_TADV:
		*r = val & 0xffff;
		return;
	default:
		break;
	}
	if (off >= E1000_STATS && off < E1000_STATS_END)
		return;
	if (off >= E1000_RAL(0) && off <= E1000_RAH(E1000_NUM_RA - 1) && (off & 4))
		val &= E1000_RAH_AV | 0x3ffff;
	*r = val;
}

/* ---- BAR0 and BAR1 ---- */

/* Registers whose partial writes must not write back what they hold. */
static bool write_only_bits(uint32_t off)
{
	return off == E1000_ICR || off == E1000_ICS || off == E1000_IMS || off == E1000_IMC;
}

static uint64_t mmio_read(void *dev, uint64_t off, unsigned int size)
{
	struct e1000 *e = dev;
	unsigned int shift = (off & 3) * 8;

	if (size == 8)
		return e1000_reg_read(e, off) | (uint64_t)e1000_reg_read(e, off + 4) << 32;
	if (shift + size * 8 > 32)
		return ~0ull >> (64 - size * 8);
	return e1000_reg_read(e, off) >> shift & (~0u >> (32 - size * 8));
}

static void mmio_write(void *dev, uint64_t off, unsigned int size, uint64_t val)
{
	struct e1000 *e = dev;
	unsigned int shift = (off & 3) * 8;
	uint32_t aligned = off & ~3ull, mask, old;

	if (size == 8) {
		e1000_reg_write(e, off, val);
		e1000_reg_write(e, off + 4, val >> 32);
		return;
	}
	if (size == 4 && !shift) {
		e1000_reg_write(e, off, val);
		return;
	}
	if (shift + size * 8 > 32 || aligned >= E1000_REG_END)
		return;
	mask = (~0u >> (32 - size * 8)) << shift;
	old = write_only_bits(aligned) ? 0 : e->reg[aligned / 4];
	e1000_reg_write(e, aligned, (old & ~mask) | ((uint32_t)val << shift & mask));
}

const struct io_ops e1000_mmio_ops = { mmio_read, mmio_write };

/* IOADDR selects a register, IODATA reads or writes it (dword accesses). */
static uint64_t io_read(void *dev, uint64_t off, unsigned int size)
{
	struct e1000 *e = dev;

	if (off == E1000_IOADDR && size == 4)
		return e->ioaddr;
	if (off == E1000_IODATA && size == 4)
		return e->ioaddr < E1000_MMIO_SIZE ? e1000_reg_read(e, e->ioaddr) : 0;
	return ~0ull >> (64 - size * 8);
}

static void io_write(void *dev, uint64_t off, unsigned int size, uint64_t val)
{
	struct e1000 *e = dev;

	if (size != 4)
		return;
	if (off == E1000_IOADDR)
		e->ioaddr = val & 0x1fffc;
	else if (off == E1000_IODATA && e->ioaddr < E1000_MMIO_SIZE)
		e1000_reg_write(e, e->ioaddr, val);
}

const struct io_ops e1000_io_ops = { io_read, io_write };

void e1000_init(struct e1000 *e, const struct e1000_params *p)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", p->name ? p->name : "e1000");
	e->mem = p->mem;
	e->clock = p->clock;
	e->host = p->host;
	memcpy(e->mac, p->mac, sizeof(e->mac));
	eeprom_build(e);
	pci_func_init(&e->pci, E1000_VENDOR, E1000_DEVICE, 0x02000000 | E1000_REVISION, 0);
	pci_cfg_set(&e->pci, PCI_SUBSYSTEM_VENDOR_ID, 2, E1000_SUBSYS_VENDOR);
	pci_cfg_set(&e->pci, PCI_SUBSYSTEM_VENDOR_ID + 2, 2, E1000_SUBSYS_ID);
	pci_func_set_mem_bar(&e->pci, E1000_MMIO_BAR, E1000_MMIO_SIZE, 0, &e1000_mmio_ops, e);
	pci_func_set_bar(&e->pci, E1000_IO_BAR, E1000_IO_SIZE, true, &e1000_io_ops, e);
	pci_func_set_intx_pin(&e->pci, PCI_INTA);
	e->pci.opaque = e;
	e1000_reset(e);
}

/* ---- receive ---- */

static uint32_t rx_buffer_size(uint32_t rctl)
{
	unsigned int sz = rctl >> E1000_RCTL_BSIZE_SHIFT & 3;

	if (rctl & E1000_RCTL_BSEX)
		return sz ? 32768u >> sz : 2048;	/* 16384, 8192, 4096 */
	return 2048u >> sz;
}

/* The 12 bits of the destination address that index the MTA, by RCTL.MO. */
static unsigned int mta_hash(const uint8_t *dst, unsigned int mo)
{
	static const unsigned int shift[4] = { 4, 3, 2, 0 };

	return (dst[4] >> shift[mo] | dst[5] << (8 - shift[mo])) & 0xfff;
}

/* RXDMT0 below this many free descriptors: a half, a quarter or an eighth of the ring (RDMTS 11b is reserved). */
static uint32_t rx_threshold(uint32_t n, uint32_t rctl)
{
	unsigned int rdmts = rctl >> E1000_RCTL_RDMTS_SHIFT & 3;

	return n >> (1 + (rdmts < 2 ? rdmts : 2));
}

static bool rx_address_ok(const struct e1000 *e, const uint8_t *dst)
{
	uint32_t rctl = e1000_r(e, E1000_RCTL);
	bool mcast = dst[0] & 1;
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	unsigned int h;

	if (!mcast && (rctl & E1000_RCTL_UPE))
		return true;
	if (mcast && (rctl & E1000_RCTL_MPE))
		return true;
	if ((rctl & E1000_RCTL_BAM) && !memcmp(dst, bcast, 6))
		return true;
	for (unsigned int i = 0; i < E1000_NUM_RA; i++) {
		uint32_t lo = e1000_r(e, E1000_RAL(i)), hi = e1000_r(e, E1000_RAH(i));
		uint8_t a[6] = { lo, lo >> 8, lo >> 16, lo >> 24, hi, hi >> 8 };

		/* address select 00b: a destination address */
		if ((hi & E1000_RAH_AV) && !(hi >> 16 & 3) && !memcmp(a, dst, 6))
			return true;
	}
	if (!mcast)
		return false;
	h = mta_hash(dst, rctl >> E1000_RCTL_MO_SHIFT & 3);
	return e1000_r(e, E1000_MTA + 4 * (h >> 5)) >> (h & 31) & 1;
}

static void rx_count(struct e1000 *e, const uint8_t *dst, uint32_t wire_len)
{
	static const uint32_t upto[] = { 64, 127, 255, 511, 1023, 1522 };
	unsigned int i;

	e1000_stat_add(e, E1000_GPRC, 1);
	e1000_stat_add(e, E1000_TPR, 1);
	e->gorc += wire_len;
	e->tor += wire_len;
	if (!memcmp(dst, "\xff\xff\xff\xff\xff\xff", 6))
		e1000_stat_add(e, E1000_BPRC, 1);
	else if (dst[0] & 1)
		e1000_stat_add(e, E1000_MPRC, 1);
	for (i = 0; i < 6 && wire_len > upto[i]; i++)
		;
	if (i < 6)
		e1000_stat_add(e, E1000_PRC64 + 4 * i, 1);
}

/* The status byte last, so that the driver sees DD after everything else. */
static void rx_desc_done(uint8_t *d, uint16_t len, uint8_t status, uint8_t errors, uint16_t special)
{
	put_le16(d + 8, len);
	put_le16(d + 10, 0);
	d[13] = errors;
	put_le16(d + 14, special);
	__atomic_store_n(d + 12, status, __ATOMIC_RELEASE);
}

static size_t iov_gather(uint8_t *buf, size_t max, const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > max - n)
			return SIZE_MAX;
		memcpy(buf + n, iov[i].iov_base, iov[i].iov_len);
		n += iov[i].iov_len;
	}
	return n;
}

/*
 * Store f[0, len) in descriptors from RDH on (the caller checked there are
 * enough and that each is in RAM). A buffer outside RAM ends the frame
 * there, its descriptor marked with RXE. Returns the new head.
 */
static uint32_t rx_store(struct e1000 *e, const uint8_t *f, uint32_t len, uint8_t status,
			 uint16_t special)
{
	uint64_t base = (uint64_t)e1000_r(e, E1000_RDBAH) << 32 | e1000_r(e, E1000_RDBAL);
	uint32_t n = e1000_r(e, E1000_RDLEN) / 16, head = e1000_r(e, E1000_RDH);
	uint32_t bufsz = rx_buffer_size(e1000_r(e, E1000_RCTL));

	for (uint32_t done = 0; done < len; head = (head + 1) % n) {
		uint8_t *d = guest_mem_map(e->mem, base + 16ull * head, 16);
		uint64_t buf = get_le64(d);
		uint32_t chunk = len - done < bufsz ? len - done : bufsz;
		uint8_t *p = guest_mem_map(e->mem, buf, chunk);
		bool last = done + chunk == len;

		if (!p) {
			e1000_warn(e, "receive buffer %#llx+%u (descriptor %u) is outside RAM: frame dropped",
				   (unsigned long long)buf, chunk, head);
			rx_desc_done(d, 0, E1000_RXD_STAT_DD | E1000_RXD_STAT_EOP, E1000_RXD_ERR_RXE, 0);
			return (head + 1) % n;
		}
		memcpy(p, f + done, chunk);
		done += chunk;
		rx_desc_done(d, chunk, status | (last ? E1000_RXD_STAT_EOP : 0), 0, special);
	}
	return head;
}

bool e1000_receive(struct e1000 *e, const struct iovec *iov, int iovcnt)
{
	uint32_t rctl = e1000_r(e, E1000_RCTL), vet = e1000_r(e, E1000_VET);
	uint32_t n, head, tail, bufsz, need, avail, thresh;
	uint64_t base;
	uint8_t *f = e->rx_frame, status = E1000_RXD_STAT_DD | E1000_RXD_STAT_IXSM;
	uint16_t special = 0;
	size_t len;
	uint32_t wire;
	bool tagged;

	if (!(rctl & E1000_RCTL_EN) || !e1000_bus_master(e))
		return true;
	len = iov_gather(f, E1000_MAX_FRAME, iov, iovcnt);
	if (len == SIZE_MAX || len < 14 || (!(rctl & E1000_RCTL_LPE) && len + CRC_LEN > VLAN_FRAME)) {
		if (len == SIZE_MAX || len >= 14)
			e1000_stat_add(e, E1000_ROC, 1);
		return true;
	}
	tagged = vet && len >= 18 && get_be16(f + 12) == vet;
	if (tagged && (rctl & E1000_RCTL_VFE)) {
		unsigned int vid = get_be16(f + 14) & 0xfff;

		if (!(e1000_r(e, E1000_VFTA + 4 * (vid >> 5)) >> (vid & 31) & 1))
			return true;
	}
	if (!rx_address_ok(e, f))
		return true;
	wire = (len < MIN_FRAME ? MIN_FRAME : len) + CRC_LEN;
	if (tagged && (e1000_r(e, E1000_CTRL) & E1000_CTRL_VME)) {
		special = get_be16(f + 14);
		memmove(f + 12, f + 16, len - 16);
		len -= 4;
		status |= E1000_RXD_STAT_VP;
	}
	if (len < MIN_FRAME) {
		memset(f + len, 0, MIN_FRAME - len);
		len = MIN_FRAME;
	}
	/* The CRC is not computed: zeros where the driver expects 4 bytes (Linux drops them). */
	if (!(rctl & E1000_RCTL_SECRC)) {
		memset(f + len, 0, CRC_LEN);
		len += CRC_LEN;
	}

	n = e1000_r(e, E1000_RDLEN) / 16;
	head = e1000_r(e, E1000_RDH);
	tail = e1000_r(e, E1000_RDT);
	bufsz = rx_buffer_size(rctl);
	need = (len + bufsz - 1) / bufsz;
	if (!n || head >= n || tail >= n || need >= n) {
		e1000_warn(e, "receive ring unusable (%u descriptors, RDH %u, RDT %u, frame of %zu needs %u): "
			   "frame dropped", n, head, tail, len, need);
		e1000_stat_add(e, E1000_MPC, 1);
		return true;
	}
	avail = (tail + n - head) % n;
	if (avail < need) {
		e->rx_blocked = true;
		e1000_stat_add(e, E1000_RNBC, 1);
		return false;
	}
	base = (uint64_t)e1000_r(e, E1000_RDBAH) << 32 | e1000_r(e, E1000_RDBAL);
	for (uint32_t k = 0; k < need; k++) {
		uint64_t at = base + 16ull * ((head + k) % n);

		if (!guest_mem_map(e->mem, at, 16)) {
			e1000_warn(e, "receive descriptor %u at %#llx is outside RAM: frame dropped",
				   (head + k) % n, (unsigned long long)at);
			e1000_stat_add(e, E1000_MPC, 1);
			return true;
		}
	}
	head = rx_store(e, f, len, status, special);
	e->reg[E1000_RDH / 4] = head;
	rx_count(e, e->rx_frame, wire);

	delay_start(e, E1000_TIMER_RX, &e->rx_delay_at, &e->rx_abs_at,
		    e1000_r(e, E1000_RDTR) & 0xffff, e1000_r(e, E1000_RADV) & 0xffff, E1000_ICR_RXT0);
	thresh = rx_threshold(n, rctl);
	if ((tail + n - head) % n <= thresh)
		e1000_set_cause(e, E1000_ICR_RXDMT0);
	return true;
}
