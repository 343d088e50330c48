/* launcher/hw/e1000_tx.c: the 82540EM's transmit path: legacy, context and data descriptors, checksum insertion, TCP segmentation, VLAN tags. */
#include "e1000_int.h"

#define MIN_FRAME	60		/* TCTL.PSP pads to this (64 with the CRC) */
#define ETH_HLEN	14
#define TCP_FIN		0x01
#define TCP_PSH		0x08

void e1000_tx_reset(struct e1000 *e)
{
	e->tx.started = false;
}

/* ---- checksums ---- */

static uint32_t ones_sum(const uint8_t *p, uint32_t len, uint32_t sum)
{
	uint64_t s = sum;

	for (; len >= 2; p += 2, len -= 2)
		s += get_be16(p);
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

/*
 * The checksum of f[start, end] (end inclusive, 0: to the end of the
 * frame), with the field at `at` as the driver left it (zero, or the
 * pseudo-header sum), stored there. A range outside the frame is skipped.
 */
static void insert_checksum(struct e1000 *e, uint8_t *f, uint32_t len, uint32_t start,
			    uint32_t end, uint32_t at, bool udp)
{
	uint32_t stop = !end || end >= len ? len : end + 1;
	uint16_t c;

	if (start >= stop || at + 2 > len) {
		e1000_warn(e, "checksum from %u to %u into offset %u does not fit a frame of %u: not inserted",
			   start, end, at, len);
		return;
	}
	c = ~ones_sum(f + start, stop - start, 0);
	if (udp && !c)
		c = 0xffff;			/* 0 would say "no checksum" */
	put_be16(f + at, c);
}

/* ---- sending ---- */

static void count_tx(struct e1000 *e, const uint8_t *dst, uint32_t wire)
{
	static const uint32_t upto[] = { 64, 127, 255, 511, 1023, 1522 };
	unsigned int i;

	e1000_stat_add(e, E1000_GPTC, 1);
	e1000_stat_add(e, E1000_TPT, 1);
	e->gotc += wire;
	e->tot += wire;
	if (!memcmp(dst, "\xff\xff\xff\xff\xff\xff", 6))
		e1000_stat_add(e, E1000_BPTC, 1);
	else if (dst[0] & 1)
		e1000_stat_add(e, E1000_MPTC, 1);
	for (i = 0; i < 6 && wire > upto[i]; i++)
		;
	if (i < 6)
		e1000_stat_add(e, E1000_PTC64 + 4 * i, 1);
}

/* One frame to the host: padded (TCTL.PSP), tagged (VLE with CTRL.VME). */
static void tx_send(struct e1000 *e, uint8_t *f, uint32_t len)
{
	const struct e1000_tx_packet *p = &e->tx;
	uint32_t vet = e1000_r(e, E1000_VET);
	uint8_t tag[4] = { vet >> 8, vet, p->special >> 8, p->special };
	struct iovec iov[3];
	int n = 0;

	if ((e1000_r(e, E1000_TCTL) & E1000_TCTL_PSP) && len < MIN_FRAME) {
		memset(f + len, 0, MIN_FRAME - len);
		len = MIN_FRAME;
	}
	if (p->vle && (e1000_r(e, E1000_CTRL) & E1000_CTRL_VME)) {
		iov[n++] = (struct iovec){ f, 12 };
		iov[n++] = (struct iovec){ tag, 4 };
		iov[n++] = (struct iovec){ f + 12, len - 12 };
		len += 4;
	} else {
		iov[n++] = (struct iovec){ f, len };
	}
	count_tx(e, f, len + 4);
	if (e->host.send)
		e->host.send(e->host.ctx, iov, n);
}

/* ---- TCP segmentation ---- */

/* Whether the context describes headers this model can segment safely. */
static bool tso_context_ok(struct e1000 *e, const struct e1000_tx_context *c)
{
	bool ip4 = c->tucmd & E1000_TXD_TUCMD_IP, tcp = c->tucmd & E1000_TXD_TUCMD_TCP;
	const char *why = NULL;

	if (c->mss < E1000_TSO_MIN_MSS)
		why = "MSS below 64";
	else if (c->hdr_len < ETH_HLEN)
		why = "header shorter than Ethernet's";
	else if ((uint32_t)c->hdr_len + c->mss > E1000_MAX_FRAME)
		why = "header and MSS over 16 KiB";
	else if (c->ipcss + (ip4 ? 20u : 40u) > c->hdr_len || (ip4 && c->ipcso + 2u > c->hdr_len))
		why = "IP header beyond HDRLEN";
	else if (c->tucss + (tcp ? 20u : 8u) > c->hdr_len || c->tucso + 2u > c->hdr_len)
		why = "TCP/UDP header beyond HDRLEN";
	if (why)
		e1000_warn(e, "TCP segmentation context refused (HDRLEN %u, MSS %u, IPCSS %u, TUCSS %u): %s; "
			   "send dropped", c->hdr_len, c->mss, c->ipcss, c->tucss, why);
	return !why;
}

/*
 * Send the gathered segment: the header as the driver wrote it, with IP
 * length and identification, TCP sequence number (or UDP length) and
 * checksums for this segment; FIN and PSH only in the last.
 */
static void tso_segment(struct e1000 *e, bool last)
{
	struct e1000_tx_packet *p = &e->tx;
	const struct e1000_tx_context *c = &p->c;
	uint8_t *f = p->frame;
	uint32_t len = p->len, payload = len - c->hdr_len;
	uint32_t l4 = len - c->tucss;

	memcpy(f, p->hdr, c->hdr_len);
	if (c->tucmd & E1000_TXD_TUCMD_IP) {
		put_be16(f + c->ipcss + 2, len - c->ipcss);
		put_be16(f + c->ipcss + 4, get_be16(p->hdr + c->ipcss + 4) + p->segs);
	} else {
		put_be16(f + c->ipcss + 4, len - c->ipcss - 40);
	}
	if (c->tucmd & E1000_TXD_TUCMD_TCP) {
		put_be32(f + c->tucss + 4, get_be32(p->hdr + c->tucss + 4) + p->sent);
		if (!last)
			f[c->tucss + 13] &= ~(TCP_FIN | TCP_PSH);
	} else {
		put_be16(f + c->tucss + 4, l4);
	}
	if (p->popts & E1000_TXD_POPTS_TXSM) {
		/* the driver's pseudo-header sum lacks the length, which differs per segment */
		put_be16(f + c->tucso, ones_sum(f + c->tucso, 2, l4));
		insert_checksum(e, f, len, c->tucss, c->tucse, c->tucso, !(c->tucmd & E1000_TXD_TUCMD_TCP));
	}
	if (p->popts & E1000_TXD_POPTS_IXSM)
		insert_checksum(e, f, len, c->ipcss, c->ipcse, c->ipcso, false);
	tx_send(e, f, len);
	p->segs++;
	p->sent += payload;
	p->len = c->hdr_len;
}

/* TSO bytes: the header first, then payload, a segment sent each time one is full and more follows. */
static void tso_gather(struct e1000 *e, const uint8_t *src, uint32_t len)
{
	struct e1000_tx_packet *p = &e->tx;
	uint32_t hdr_len = p->c.hdr_len, full = hdr_len + p->c.mss, k;

	if (p->hdr_have < hdr_len) {
		k = len < hdr_len - p->hdr_have ? len : hdr_len - p->hdr_have;
		memcpy(p->hdr + p->hdr_have, src, k);
		p->hdr_have += k;
		p->len = p->hdr_have;
		src += k;
		len -= k;
	}
	if (len > E1000_TSO_MAX_PAYLOAD - p->payload) {
		e1000_warn(e, "TCP segmentation of more than %u bytes: send dropped", E1000_TSO_MAX_PAYLOAD);
		p->bad = true;
		return;
	}
	while (len) {
		if (p->len == full)
			tso_segment(e, false);
		k = len < full - p->len ? len : full - p->len;
		memcpy(p->frame + p->len, src, k);
		p->len += k;
		p->payload += k;
		src += k;
		len -= k;
	}
}

/* ---- descriptors ---- */

/* A data (or legacy) descriptor's buffer joins the packet. */
static void tx_gather(struct e1000 *e, uint64_t addr, uint32_t len)
{
	struct e1000_tx_packet *p = &e->tx;
	const uint8_t *src = guest_mem_map(e->mem, addr, len);

	if (!src) {
		e1000_warn(e, "transmit buffer %#llx+%u is outside RAM: packet dropped",
			   (unsigned long long)addr, len);
		p->bad = true;
		return;
	}
	if (p->tso) {
		tso_gather(e, src, len);
		return;
	}
	if (len > E1000_MAX_FRAME - p->len) {
		e1000_warn(e, "transmit frame over %u bytes: dropped", E1000_MAX_FRAME);
		p->bad = true;
		return;
	}
	memcpy(p->frame + p->len, src, len);
	p->len += len;
}

/* EOP: checksums and send, or the last segment. */
static void tx_finish(struct e1000 *e)
{
	struct e1000_tx_packet *p = &e->tx;
	const struct e1000_tx_context *c = &p->c;

	if (p->tso) {
		if (p->hdr_have < c->hdr_len) {
			e1000_warn(e, "TCP segmentation send of %u bytes, shorter than its %u-byte header: dropped",
				   p->hdr_have, c->hdr_len);
			return;
		}
		tso_segment(e, true);
		e1000_stat_add(e, E1000_TSCTC, 1);
		return;
	}
	if (p->len < ETH_HLEN) {
		e1000_warn(e, "transmit frame of %u bytes: dropped", p->len);
		return;
	}
	if (p->legacy_ic)
		insert_checksum(e, p->frame, p->len, p->css, 0, p->cso, false);
	if (p->popts & E1000_TXD_POPTS_TXSM)
		insert_checksum(e, p->frame, p->len, c->tucss, c->tucse, c->tucso,
				!(c->tucmd & E1000_TXD_TUCMD_TCP));
	if (p->popts & E1000_TXD_POPTS_IXSM)
		insert_checksum(e, p->frame, p->len, c->ipcss, c->ipcse, c->ipcso, false);
	tx_send(e, p->frame, p->len);
}

/*
 * A legacy or extended data descriptor. The packet's options (checksums,
 * TSE, VLAN tag) come from its first descriptor, as Linux sets them alike
 * in all; the context is taken as the packet begins.
 */
static void tx_data(struct e1000 *e, const uint8_t *d, bool legacy)
{
	struct e1000_tx_packet *p = &e->tx;
	uint8_t cmd = d[11];
	uint32_t len = legacy ? get_le16(d + 8) : get_le32(d + 8) & 0xfffff;

	if (!p->started) {
		p->started = true;
		p->bad = false;
		p->tso = !legacy && (cmd & E1000_TXD_CMD_TSE);
		p->legacy_ic = legacy && (cmd & E1000_TXD_CMD_IC);
		p->popts = legacy ? 0 : d[13];
		p->css = legacy ? d[13] : 0;
		p->cso = legacy ? d[10] : 0;
		p->vle = cmd & E1000_TXD_CMD_VLE;
		p->special = get_le16(d + 14);
		p->c = e->ctx;
		p->len = p->hdr_have = p->payload = p->sent = p->segs = 0;
		if (p->tso && !tso_context_ok(e, &p->c))
			p->bad = true;
	}
	if (!p->bad && len)
		tx_gather(e, get_le64(d), len);
	if (cmd & E1000_TXD_CMD_EOP) {
		if (!p->bad)
			tx_finish(e);
		p->started = false;
	}
}

static void tx_context(struct e1000 *e, const uint8_t *d)
{
	e->ctx = (struct e1000_tx_context){
		.ipcss = d[0], .ipcso = d[1], .ipcse = get_le16(d + 2),
		.tucss = d[4], .tucso = d[5], .tucse = get_le16(d + 6),
		.paylen = get_le32(d + 8) & 0xfffff, .tucmd = d[11],
		.hdr_len = d[13], .mss = get_le16(d + 14),
	};
}

/*
 * TDT moved (or TCTL enabled the transmitter): every descriptor from TDH
 * up to TDT, at most one lap of the ring, each read once from guest RAM.
 * Descriptors with RS (or a legacy RPS) get DD written back.
 */
void e1000_tx_run(struct e1000 *e)
{
	uint32_t n = e1000_r(e, E1000_TDLEN) / 16, head = e1000_r(e, E1000_TDH);
	uint32_t tail = e1000_r(e, E1000_TDT);
	uint64_t base = (uint64_t)e1000_r(e, E1000_TDBAH) << 32 | e1000_r(e, E1000_TDBAL);
	bool written = false, delay = true;

	if (!(e1000_r(e, E1000_TCTL) & E1000_TCTL_EN) || !e1000_bus_master(e) || head == tail)
		return;
	if (!n || head >= n || tail >= n) {
		e1000_warn(e, "transmit ring unusable (%u descriptors, TDH %u, TDT %u): nothing sent",
			   n, head, tail);
		return;
	}
	for (uint32_t budget = n; head != tail && budget; budget--, head = (head + 1) % n) {
		uint64_t at = base + 16ull * head;
		uint8_t *g = guest_mem_map(e->mem, at, 16), d[16];
		uint8_t cmd, dtyp;
		bool legacy;

		if (!g) {
			e1000_warn(e, "transmit descriptor %u at %#llx is outside RAM: skipped",
				   head, (unsigned long long)at);
			e->tx.bad = e->tx.started;
			continue;
		}
		memcpy(d, g, sizeof(d));
		cmd = d[11];
		legacy = !(cmd & E1000_TXD_CMD_DEXT);
		dtyp = d[10] >> 4;
		if (legacy || dtyp == E1000_TXD_DTYP_DATA) {
			tx_data(e, d, legacy);
		} else if (dtyp == E1000_TXD_DTYP_CTX) {
			tx_context(e, d);
		} else {
			e1000_warn(e, "transmit descriptor %u of unknown type %u: skipped", head, dtyp);
		}
		if (cmd & (E1000_TXD_CMD_RS | (legacy ? E1000_TXD_CMD_RPS : 0))) {
			__atomic_store_n(g + 12, (uint8_t)((d[12] & 0xf0) | E1000_TXD_STAT_DD),
					 __ATOMIC_RELEASE);
			written = true;
			delay &= !!(cmd & E1000_TXD_CMD_IDE);
		}
	}
	e->reg[E1000_TDH / 4] = head;
	if (written)
		e1000_tx_interrupt(e, delay);
	if (head == tail)
		e1000_set_cause(e, E1000_ICR_TXQE);
}
