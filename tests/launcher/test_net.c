/* tests/launcher/test_net.c: the network backends behind a fake NIC: user (libslirp) on loopback, tap in a throwaway network namespace. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "tap.h"
#include "vmm.h"

#define NR_PARSE_TESTS		2
#define NR_USER_TESTS		12
#define NR_TAP_TESTS		15
#define WAIT_MS			3000
#define FRAME_CAP		(65536 + 64)
#define ETHERTYPE_TEST		0x88b5		/* IEEE local experimental */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* ---- a fake NIC: keeps every frame; can refuse them (no rx room) ---- */

struct frame {
	size_t len;
	uint8_t data[];
};

struct fake_nic {
	pthread_mutex_t lock;		/* its "device mutex" */
	pthread_cond_t cond;		/* a frame arrived, or was refused */
	bool full;
	unsigned int refused;
	unsigned int unlocked;		/* receive() calls without the mutex held */
	unsigned int arp_replies;	/* from 10.0.2.2, kept or not */
	bool answer_arp;		/* answer ARP requests for 10.0.2.15 */
	struct net_backend *b;
	struct frame *frames[512];
	unsigned int nr;
};

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }

static size_t put_eth(uint8_t *p, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, type);
	return 14;
}

static size_t arp_frame(uint8_t *p, uint16_t op, const uint8_t *sha, uint32_t spa,
			const uint8_t *tha, uint32_t tpa)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t n = put_eth(p, op == 1 ? bcast : tha, sha, ETH_P_ARP);

	memset(p + n, 0, 46);
	put16(p + n, 1);
	put16(p + n + 2, ETH_P_IP);
	p[n + 4] = 6;
	p[n + 5] = 4;
	put16(p + n + 6, op);
	memcpy(p + n + 8, sha, 6);
	memcpy(p + n + 14, &spa, 4);
	if (tha)
		memcpy(p + n + 18, tha, 6);
	memcpy(p + n + 24, &tpa, 4);
	return 60;
}

/* An ARP frame: its operation, sender and target addresses. */
static bool is_arp(const struct frame *f, uint16_t op, uint32_t spa, uint32_t tpa)
{
	const uint8_t *p = f->data;

	return f->len >= 42 && be16(p + 12) == ETH_P_ARP && be16(p + 20) == op &&
	       !memcmp(p + 28, &spa, 4) && !memcmp(p + 38, &tpa, 4);
}

static bool fake_receive(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct fake_nic *nic = opaque;
	struct frame *f;
	size_t len = 0;

	if (!pthread_mutex_trylock(&nic->lock)) {
		nic->unlocked++;
		pthread_mutex_unlock(&nic->lock);
	}
	if (nic->full) {
		nic->refused++;
		pthread_cond_broadcast(&nic->cond);
		return false;
	}
	f = malloc(sizeof(*f) + FRAME_CAP);
	if (!f)
		return true;
	for (int i = 0; i < iovcnt && len + iov[i].iov_len <= FRAME_CAP; i++) {
		memcpy(f->data + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	f->len = len;
	/* the guest answers who-has 10.0.2.15 (tx from the rx path: the NIC's mutex held) */
	if (nic->answer_arp && nic->b && is_arp(f, 1, ip4("10.0.2.2"), ip4("10.0.2.15"))) {
		uint8_t reply[60];
		struct iovec r = { reply, arp_frame(reply, 2, guest_mac, ip4("10.0.2.15"),
						    f->data + 6, ip4("10.0.2.2")) };

		net_backend_send(nic->b, &r, 1);
	}
	if (is_arp(f, 2, ip4("10.0.2.2"), ip4("10.0.2.15")))
		nic->arp_replies++;
	if (nic->nr < sizeof(nic->frames) / sizeof(nic->frames[0]))
		nic->frames[nic->nr++] = f;
	else
		free(f);
	pthread_cond_broadcast(&nic->cond);
	return true;
}

static void nic_init(struct fake_nic *nic)
{
	pthread_condattr_t ca;

	memset(nic, 0, sizeof(*nic));
	pthread_mutex_init(&nic->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&nic->cond, &ca);
	pthread_condattr_destroy(&ca);
}

/* Forget the frames kept so far; the NIC's mutex held. */
static void nic_clear(struct fake_nic *nic)
{
	while (nic->nr)
		free(nic->frames[--nic->nr]);
}

static void nic_free(struct fake_nic *nic)
{
	nic_clear(nic);
	pthread_mutex_destroy(&nic->lock);
	pthread_cond_destroy(&nic->cond);
}

static struct timespec deadline(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

/* The first kept frame that match() takes, waiting up to ms; the NIC's mutex held. */
static const struct frame *nic_wait(struct fake_nic *nic, bool (*match)(const struct frame *, void *),
				    void *arg, int ms)
{
	struct timespec end = deadline(ms);

	for (;;) {
		for (unsigned int i = 0; i < nic->nr; i++)
			if (match(nic->frames[i], arg))
				return nic->frames[i];
		if (pthread_cond_timedwait(&nic->cond, &nic->lock, &end) == ETIMEDOUT)
			return NULL;
	}
}

/* Wait until receive() has refused n frames; the NIC's mutex held. */
static bool nic_wait_refused(struct fake_nic *nic, unsigned int n, int ms)
{
	struct timespec end = deadline(ms);

	while (nic->refused < n)
		if (pthread_cond_timedwait(&nic->cond, &nic->lock, &end) == ETIMEDOUT)
			return false;
	return true;
}

/* As the NIC's tx path does: its mutex held. */
static ssize_t nic_send(struct fake_nic *nic, const uint8_t *frame, size_t len)
{
	struct iovec iov[2] = { { (void *)frame, 14 }, { (void *)(frame + 14), len - 14 } };
	ssize_t n;

	pthread_mutex_lock(&nic->lock);
	n = net_backend_send(nic->b, iov, 2);
	pthread_mutex_unlock(&nic->lock);
	return n;
}

/* ---- stderr of a call, to check its message ---- */

struct capture {
	FILE *tmp;
	int saved;
};

static void capture_begin(struct capture *c)
{
	fflush(stderr);
	c->tmp = tmpfile();
	c->saved = dup(2);
	if (c->tmp)
		dup2(fileno(c->tmp), 2);
}

static void capture_end(struct capture *c, char *buf, size_t len)
{
	size_t n = 0;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	if (c->tmp) {
		rewind(c->tmp);
		n = fread(buf, 1, len - 1, c->tmp);
		fclose(c->tmp);
	}
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	tap_diag("stderr: %s", buf);
}

/* ---- user: libslirp ---- */

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += be16(p + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* DHCPDISCOVER from guest_mac, broadcast, its options area padded to BOOTP's 312 bytes. */
static size_t dhcp_discover(uint8_t *p)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const size_t bootp_len = 236 + 312;
	size_t n = put_eth(p, bcast, guest_mac, ETH_P_IP);
	uint8_t *ip = p + n, *udp = ip + 20, *bp = udp + 8;

	memset(ip, 0, 20 + 8 + bootp_len);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 8 + bootp_len));
	ip[8] = 64;
	ip[9] = 17;
	memset(ip + 16, 0xff, 4);
	put16(ip + 10, ip_checksum(ip, 20));
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, (uint16_t)(8 + bootp_len));
	bp[0] = 1;			/* BOOTREQUEST */
	bp[1] = 1;
	bp[2] = 6;
	memcpy(bp + 4, "\x12\x34\x56\x78", 4);
	memcpy(bp + 28, guest_mac, 6);
	memcpy(bp + 236, "\x63\x82\x53\x63", 4);
	memcpy(bp + 240, "\x35\x01\x01\xff", 4);	/* DHCP message type DISCOVER; end */
	return n + 20 + 8 + bootp_len;
}

/* IPv4 in Ethernet: the IP header, else NULL. */
static const uint8_t *ipv4(const struct frame *f, uint8_t proto, size_t min_payload)
{
	const uint8_t *ip = f->data + 14;
	size_t ihl;

	if (f->len < 14 + 20 || be16(f->data + 12) != ETH_P_IP || (ip[0] >> 4) != 4 || ip[9] != proto)
		return NULL;
	ihl = (size_t)(ip[0] & 15) * 4;
	return f->len >= 14 + ihl + min_payload ? ip : NULL;
}

static bool is_dhcp_offer(const struct frame *f, void *arg)
{
	const uint8_t *ip = ipv4(f, 17, 8 + 240), *udp, *bp;
	size_t ihl, end;
	uint32_t yiaddr = ip4("10.0.2.15");

	(void)arg;
	if (!ip)
		return false;
	ihl = (size_t)(ip[0] & 15) * 4;
	udp = ip + ihl;
	bp = udp + 8;
	if (be16(udp) != 67 || be16(udp + 2) != 68 || bp[0] != 2 || memcmp(bp + 16, &yiaddr, 4) ||
	    memcmp(bp + 236, "\x63\x82\x53\x63", 4))
		return false;
	end = f->len - (size_t)(bp - f->data);
	for (size_t i = 240; i + 2 < end && bp[i] != 255; i += bp[i] ? 2u + bp[i + 1] : 1u)
		if (bp[i] == 53 && bp[i + 1] == 1)
			return bp[i + 2] == 2;	/* DHCPOFFER */
	return false;
}

static bool is_arp_reply_from(const struct frame *f, void *arg)
{
	return is_arp(f, 2, ip4(arg), ip4("10.0.2.15")) && !memcmp(f->data, guest_mac, 6);
}

/* A TCP SYN (not SYN-ACK) to 10.0.2.15, port *arg. */
static bool is_syn_to_guest(const struct frame *f, void *arg)
{
	const uint8_t *ip = ipv4(f, 6, 20), *tcp;
	uint32_t guest = ip4("10.0.2.15");

	if (!ip || memcmp(ip + 16, &guest, 4))
		return false;
	tcp = ip + (ip[0] & 15) * 4;
	return be16(tcp + 2) == *(uint16_t *)arg && (tcp[13] & 0x12) == 0x02;
}

/* A loopback TCP port nobody listens on (bound and released), or a listening socket's. */
static uint16_t loopback_port(int *listen_fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint16_t port = 0;

	if (s < 0)
		return 0;
	if (!bind(s, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(s, (struct sockaddr *)&sa, &len) && (!listen_fd || !listen(s, 1)))
		port = ntohs(sa.sin_port);
	if (listen_fd && port)
		*listen_fd = s;
	else
		close(s);
	return port;
}

static void test_hostfwd_parse(void)
{
	static const char *const bad[] = {
		"tcp:127.0.0.1:2222:22", "icmp::1-:1", "tcp::0-:22", "tcp::70000-:22",
		"tcp::22-10.0.3.1:22", "tcp::22-10.0.2.2:22", "tcp::22-:x", "tcp:localhost:22-:22",
		"tcp::22-:", "",
	};
	struct net_hostfwd f, g, h;
	char err[256];
	bool ok, refused = true;

	ok = !net_hostfwd_parse("tcp:127.0.0.1:2222-:22", &f, err, sizeof(err)) &&
	     !f.udp && f.host_addr.s_addr == ip4("127.0.0.1") && f.host_port == 2222 &&
	     f.guest_addr.s_addr == ip4("10.0.2.15") && f.guest_port == 22 &&
	     !net_hostfwd_parse("udp::5353-10.0.2.20:53", &g, err, sizeof(err)) &&
	     g.udp && g.host_addr.s_addr == htonl(INADDR_ANY) && g.host_port == 5353 &&
	     g.guest_addr.s_addr == ip4("10.0.2.20") && g.guest_port == 53 &&
	     !net_hostfwd_parse(":127.0.0.1:8080-:80", &h, err, sizeof(err)) && !h.udp;
	tap_ok(ok, "hostfwd: QEMU's syntax; no protocol: tcp; no host address: any; no guest's: 10.0.2.15");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (!net_hostfwd_parse(bad[i], &f, err, sizeof(err)) || !err[0]) {
			tap_diag("\"%s\" accepted", bad[i]);
			refused = false;
		}
	}
	tap_ok(refused, "hostfwd: bad rules refused, each with a reason (%s)", err);
}

static struct net_backend *user_create(struct fake_nic *nic, struct cfg_nic *cfg)
{
	struct net_peer peer = { fake_receive, nic, &nic->lock };
	struct net_backend *b = net_backend_create(NULL, cfg, &peer);

	pthread_mutex_lock(&nic->lock);
	nic->b = b;
	pthread_mutex_unlock(&nic->lock);
	return b;
}

/*
 * Two "vCPUs" send ARP requests (each under the NIC's mutex, as a tx
 * path) while the slirp thread delivers the replies (taking it): the
 * lock order under load. Each keeps at most STRESS_INFLIGHT requests
 * unanswered, well within the backend's queue, so none may be lost.
 */
#define STRESS_THREADS	2
#define STRESS_FRAMES	2048
#define STRESS_BURST	32
#define STRESS_INFLIGHT	64

static atomic_uint stress_sent;
static unsigned int stress_base;

static void *stress_sender(void *arg)
{
	struct fake_nic *nic = arg;
	uint8_t frame[60];
	size_t len = arp_frame(frame, 1, guest_mac, ip4("10.0.2.15"), NULL, ip4("10.0.2.2"));
	bool ok = true;

	for (int i = 0; i < STRESS_FRAMES && ok; i += STRESS_BURST) {
		struct timespec end = deadline(WAIT_MS);

		for (int j = 0; j < STRESS_BURST; j++) {
			nic_send(nic, frame, len);
			atomic_fetch_add(&stress_sent, 1);
		}
		pthread_mutex_lock(&nic->lock);
		while (ok && atomic_load(&stress_sent) - (nic->arp_replies - stress_base) > STRESS_INFLIGHT)
			ok = pthread_cond_timedwait(&nic->cond, &nic->lock, &end) != ETIMEDOUT;
		pthread_mutex_unlock(&nic->lock);
	}
	return NULL;
}

static void stress(struct fake_nic *nic)
{
	pthread_t t[STRESS_THREADS];
	unsigned int want = 0, got;
	struct timespec end;
	int n = 0;

	pthread_mutex_lock(&nic->lock);
	stress_base = nic->arp_replies;
	pthread_mutex_unlock(&nic->lock);
	for (; n < STRESS_THREADS; n++)
		if (pthread_create(&t[n], NULL, stress_sender, nic))
			break;
	while (n--)
		pthread_join(t[n], NULL);
	want = atomic_load(&stress_sent);
	end = deadline(WAIT_MS);
	pthread_mutex_lock(&nic->lock);
	while (nic->arp_replies - stress_base < want &&
	       pthread_cond_timedwait(&nic->cond, &nic->lock, &end) != ETIMEDOUT)
		;
	got = nic->arp_replies - stress_base;
	pthread_mutex_unlock(&nic->lock);
	tap_ok(want == STRESS_THREADS * STRESS_FRAMES && got == want,
	       "user: %u ARP requests from %d threads, a few in flight each: %u answers",
	       want, STRESS_THREADS, got);
}

static void test_user(void)
{
	struct cfg_nic cfg = { .backend = NIC_BACKEND_USER };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint8_t frame[1024];
	char rule[64], msg[1024];
	struct capture cap;
	struct fake_nic nic;
	struct net_backend *b;
	uint16_t port, guest_port = 22;
	const struct frame *f;
	int s, listener = -1;
	size_t len;
	bool ok;

	nic_init(&nic);
	nic.answer_arp = true;
	port = loopback_port(NULL);
	snprintf(rule, sizeof(rule), "tcp:127.0.0.1:%u-:%u", port, guest_port);
	cfg.hostfwd[cfg.nr_hostfwd++] = rule;
	b = user_create(&nic, &cfg);
	if (!tap_ok(b != NULL, "user: created with hostfwd %s (libslirp opened)", rule)) {
		for (int i = 1; i < NR_USER_TESTS; i++)
			tap_skip("no user backend", "user");
		nic_free(&nic);
		return;
	}
	tap_ok(!net_backend_vnet_hdr(b) && net_backend_set_offload(b, TUN_F_CSUM) == 0,
	       "user: no vnet headers; offloads ignored");

	len = dhcp_discover(frame);
	ok = nic_send(&nic, frame, len) == (ssize_t)len;
	pthread_mutex_lock(&nic.lock);
	f = nic_wait(&nic, is_dhcp_offer, NULL, WAIT_MS);
	pthread_mutex_unlock(&nic.lock);
	tap_ok(ok && f, "user: a DHCPDISCOVER is answered with a DHCPOFFER of 10.0.2.15");

	len = arp_frame(frame, 1, guest_mac, ip4("10.0.2.15"), NULL, ip4("10.0.2.2"));
	nic_send(&nic, frame, len);
	pthread_mutex_lock(&nic.lock);
	f = nic_wait(&nic, is_arp_reply_from, "10.0.2.2", WAIT_MS);
	pthread_mutex_unlock(&nic.lock);
	tap_ok(f != NULL, "user: ARP who-has 10.0.2.2 is answered");

	/* the host connects to the forwarded port: the guest sees the SYN */
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	sa.sin_port = htons(port);
	ok = s >= 0 && (!connect(s, (struct sockaddr *)&sa, sizeof(sa)) || errno == EINPROGRESS);
	pthread_mutex_lock(&nic.lock);
	f = nic_wait(&nic, is_syn_to_guest, &guest_port, WAIT_MS);
	pthread_mutex_unlock(&nic.lock);
	tap_ok(ok && f, "user: a connection to 127.0.0.1:%u reaches the guest as a SYN to 10.0.2.15:%u",
	       port, guest_port);
	if (s >= 0)
		close(s);
	stress(&nic);
	tap_ok(nic.unlocked == 0, "user: receive() always with the NIC's mutex held");
	net_backend_destroy(b);
	tap_ok(true, "user: destroyed (its thread joined)");

	/* a port in use: the backend is refused, saying why */
	port = loopback_port(&listener);
	snprintf(rule, sizeof(rule), "tcp:127.0.0.1:%u-:22", port);
	cfg.hostfwd[0] = rule;
	capture_begin(&cap);
	b = user_create(&nic, &cfg);
	capture_end(&cap, msg, sizeof(msg));
	tap_ok(!b && strstr(msg, "kvm-launch: nic 0: ") && strstr(msg, rule) &&
	       strstr(msg, strerror(EADDRINUSE)),
	       "user: a hostfwd on a port in use fails the backend, with the reason");
	net_backend_destroy(b);
	if (listener >= 0)
		close(listener);

	/* a full NIC: the frame is held, nothing more comes until resume */
	cfg.nr_hostfwd = 0;
	nic.answer_arp = false;
	b = user_create(&nic, &cfg);
	pthread_mutex_lock(&nic.lock);
	nic_clear(&nic);
	nic.full = true;
	nic.refused = 0;
	pthread_mutex_unlock(&nic.lock);
	if (!b) {
		tap_skip("no user backend", "user: hold");
		tap_skip("no user backend", "user: resume");
		tap_skip("no user backend", "user: hold");
		nic_free(&nic);
		return;
	}
	len = arp_frame(frame, 1, guest_mac, ip4("10.0.2.15"), NULL, ip4("10.0.2.2"));
	nic_send(&nic, frame, len);
	pthread_mutex_lock(&nic.lock);
	ok = nic_wait_refused(&nic, 1, WAIT_MS);
	pthread_mutex_unlock(&nic.lock);
	len = arp_frame(frame, 1, guest_mac, ip4("10.0.2.15"), NULL, ip4("10.0.2.3"));
	nic_send(&nic, frame, len);
	usleep(300 * 1000);
	pthread_mutex_lock(&nic.lock);
	tap_ok(ok && nic.refused == 1 && nic.nr == 0,
	       "user: receive() refusing a frame stops delivery (refused %u, kept %u)", nic.refused,
	       nic.nr);
	nic.full = false;
	net_backend_resume(b);
	/* the held frame first, delivered by resume itself */
	ok = nic.nr >= 1 && is_arp_reply_from(nic.frames[0], "10.0.2.2");
	f = nic_wait(&nic, is_arp_reply_from, "10.0.2.3", WAIT_MS);
	tap_ok(ok, "user: net_backend_resume() delivers the held frame first");
	tap_ok(f && nic.nr == 2 && f == nic.frames[1],
	       "user: then the frames queued meanwhile, in order (%u)", nic.nr);
	pthread_mutex_unlock(&nic.lock);
	net_backend_destroy(b);
	nic_free(&nic);
}

/* The VM services the backends and the I/O thread use, as this test gives them. */
const struct vm_config *vm_config(const struct vm *vm)
{
	return vm->cfg;
}

void vm_request_exit(struct vm *vm, int status)
{
	(void)vm;
	(void)status;
}

/* ---- tap: in a child, in a network namespace of its own ---- */

static int result_fd = -1;		/* the child's test points, one byte each, to the parent */

static int child_ok(int ok, const char *fmt, ...)
{
	va_list ap;
	char c = ok ? '1' : '0';

	va_start(ap, fmt);
	tap_vresult(ok, fmt, ap);
	va_end(ap);
	if (write(result_fd, &c, 1) != 1)
		_exit(100);
	return ok;
}

static void child_skip(const char *reason, const char *name)
{
	char c = '1';

	tap_skip(reason, "%s", name);
	if (write(result_fd, &c, 1) != 1)
		_exit(100);
}

static uint64_t mono_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void io_start(struct vm *vm)
{
	atomic_store(&vm->stop, false);
	iothread_start(vm);
}

/* Stopped before a backend goes, as vm_destroy() has it. */
static void io_stop(struct vm *vm)
{
	atomic_store(&vm->stop, true);
	iothread_stop(vm);
}

static struct net_backend *tap_create(struct vm *vm, struct fake_nic *nic, struct cfg_nic *cfg)
{
	struct net_peer peer = { fake_receive, nic, &nic->lock };
	struct net_backend *b;

	/* as vm.c around a device's create() */
	vm->creating = &nic->lock;
	b = net_backend_create(vm, cfg, &peer);
	vm->creating = NULL;
	pthread_mutex_lock(&nic->lock);
	nic->b = b;
	pthread_mutex_unlock(&nic->lock);
	return b;
}

static void tap_destroy(struct vm *vm, struct fake_nic *nic)
{
	io_stop(vm);
	net_backend_destroy(nic->b);
	nic->b = NULL;
	io_start(vm);
}

static bool if_up(int ctl, const char *name)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	return !ioctl(ctl, SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_UP);
}

static size_t test_frame(uint8_t *p, const char *marker)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	size_t n = put_eth(p, bcast, host_mac, ETHERTYPE_TEST);

	memset(p + n, 0, 46);
	snprintf((char *)p + n, 46, "%s", marker);
	return 60;
}

/* A test frame with marker, behind a vnet header of zeros. */
static bool is_marked_vnet(const struct frame *f, void *marker)
{
	static const uint8_t zero[12];

	return f->len == 12 + 60 && !memcmp(f->data, zero, 12) &&
	       be16(f->data + 12 + 12) == ETHERTYPE_TEST && !strcmp((char *)f->data + 12 + 14, marker);
}

/* The raw socket sees a frame with marker come in from the TAP's fd. */
static bool host_sees(int raw, const char *marker)
{
	uint8_t buf[2048];
	struct timespec end = deadline(WAIT_MS);

	for (;;) {
		struct pollfd pfd = { raw, POLLIN, 0 };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct timespec now;
		ssize_t n;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0 || poll(&pfd, 1, (int)ms) <= 0)
			return false;
		n = recvfrom(raw, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n >= 60 && from.sll_pkttype != PACKET_OUTGOING && be16(buf + 12) == ETHERTYPE_TEST &&
		    !strcmp((char *)buf + 14, marker))
			return true;
	}
}

static int raw_socket(const char *ifname)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)if_nametoindex(ifname),
	};
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (s >= 0 && bind(s, (struct sockaddr *)&sll, sizeof(sll))) {
		close(s);
		s = -1;
	}
	return s;
}

static void drop_cap_net_admin(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return;
	data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
	syscall(SYS_capset, &hdr, data);
}

static void tap_child(void)
{
	struct vm_config vc = { .nr_nics = 1 };
	struct cfg_nic *cfg = &vc.nics[0];
	char name[IFNAMSIZ], pers[IFNAMSIZ], br[IFNAMSIZ], msg[1024];
	struct vm *vm = calloc(1, sizeof(*vm));
	const char *mark_in = "from the host", *mark_out = "from the guest";
	uint8_t hdr[12] = { 0 }, frame[64];
	struct ifreq ifr = { 0 };
	struct capture cap;
	struct fake_nic nic;
	struct net_backend *b;
	const struct frame *f;
	struct iovec iov[2];
	int ctl, raw, fd, ok;
	size_t len;

	alarm(30);
	if (unshare(CLONE_NEWNET)) {
		snprintf(msg, sizeof(msg), "no network namespace of our own: %s", strerror(errno));
		for (int i = 0; i < NR_TAP_TESTS; i++)
			child_skip(msg, "tap");
		return;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "/dev/net/tun: %s", strerror(errno));
		for (int i = 0; i < NR_TAP_TESTS; i++)
			child_skip(msg, "tap");
		return;
	}
	close(fd);
	/* no IPv6 chatter (DAD, router solicitations) among the test's frames */
	for (const char *const *p = (const char *const[]){ "all", "default", NULL }; *p; p++) {
		char path[96];
		FILE *sys;

		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", *p);
		sys = fopen(path, "w");
		if (sys) {
			fputs("1\n", sys);
			fclose(sys);
		}
	}
	ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	vm->cfg = &vc;
	vm->clock = (struct hw_clock){ mono_ns, NULL };
	vm->wake_fd = vm->signal_fd = -1;
	if (iothread_setup(vm) || iothread_start(vm))
		_exit(100);
	nic_init(&nic);

	snprintf(name, sizeof(name), "kltap%d", (int)getpid() % 100000);
	*cfg = (struct cfg_nic){ .backend = NIC_BACKEND_TAP, .ifname = name };
	b = tap_create(vm, &nic, cfg);
	child_ok(b && if_nametoindex(name), "tap: %s made in a fresh network namespace", name);
	if (!b) {
		for (int i = 1; i < NR_TAP_TESTS; i++)
			child_skip("no TAP", "tap");
		return;
	}
	child_ok(net_backend_vnet_hdr(b), "tap: vnet headers (IFF_VNET_HDR, 12 bytes)");
	child_ok(if_up(ctl, name), "tap: the interface is up");

	raw = raw_socket(name);
	len = test_frame(frame, mark_in);
	ok = raw >= 0 && send(raw, frame, len, 0) == (ssize_t)len;
	pthread_mutex_lock(&nic.lock);
	f = nic_wait(&nic, is_marked_vnet, (void *)mark_in, WAIT_MS);
	pthread_mutex_unlock(&nic.lock);
	child_ok(ok && f, "tap: a frame from the host side comes through receive() behind a vnet header");

	len = test_frame(frame, mark_out);
	iov[0] = (struct iovec){ hdr, sizeof(hdr) };
	iov[1] = (struct iovec){ frame, len };
	pthread_mutex_lock(&nic.lock);
	ok = net_backend_send(b, iov, 2) == (ssize_t)(sizeof(hdr) + len);
	pthread_mutex_unlock(&nic.lock);
	child_ok(ok && host_sees(raw, mark_out), "tap: a frame sent reaches the host side");

	pthread_mutex_lock(&nic.lock);
	ok = net_backend_set_offload(b, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) == 0 &&
	     net_backend_set_offload(b, 0) == 0;
	pthread_mutex_unlock(&nic.lock);
	child_ok(ok, "tap: offloads set (TUNSETOFFLOAD)");

	/* a full NIC: the TAP is not read until resume, which delivers the held frame first */
	pthread_mutex_lock(&nic.lock);
	nic_clear(&nic);
	nic.full = true;
	pthread_mutex_unlock(&nic.lock);
	len = test_frame(frame, "first");
	ok = send(raw, frame, len, 0) == (ssize_t)len;
	pthread_mutex_lock(&nic.lock);
	ok = ok && nic_wait_refused(&nic, 1, WAIT_MS);
	pthread_mutex_unlock(&nic.lock);
	len = test_frame(frame, "second");
	ok = ok && send(raw, frame, len, 0) == (ssize_t)len;
	usleep(300 * 1000);
	pthread_mutex_lock(&nic.lock);
	ok = ok && nic.refused == 1 && nic.nr == 0;
	nic.full = false;
	net_backend_resume(b);
	ok = ok && nic.nr == 1 && is_marked_vnet(nic.frames[0], "first");
	f = nic_wait(&nic, is_marked_vnet, "second", WAIT_MS);
	ok = ok && f == nic.frames[1];
	child_ok(ok, "tap: a refused frame is held, the TAP not read, until resume delivers it first");
	child_ok(nic.unlocked == 0, "tap: receive() always with the NIC's mutex held");
	pthread_mutex_unlock(&nic.lock);
	if (raw >= 0)
		close(raw);
	tap_destroy(vm, &nic);
	child_ok(!if_nametoindex(name), "tap: the TAP it made goes with it");

	/* an existing persistent TAP: used, and left there */
	snprintf(pers, sizeof(pers), "klpers%d", (int)getpid() % 100000);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", pers);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	ok = fd >= 0 && !ioctl(fd, TUNSETIFF, &ifr) && !ioctl(fd, TUNSETPERSIST, 1);
	if (fd >= 0)
		close(fd);
	cfg->ifname = pers;
	b = ok ? tap_create(vm, &nic, cfg) : NULL;
	ok = b && if_up(ctl, pers);
	tap_destroy(vm, &nic);
	child_ok(ok && if_nametoindex(pers), "tap: attaches to an existing persistent TAP, leaves it");

	/* a bridge to join */
	snprintf(br, sizeof(br), "klbr%d", (int)getpid() % 100000);
	if (ioctl(ctl, SIOCBRADDBR, br)) {
		snprintf(msg, sizeof(msg), "no bridge: %s", strerror(errno));
		child_skip(msg, "tap: joins a bridge");
	} else {
		cfg->ifname = name;
		cfg->bridge = br;
		b = tap_create(vm, &nic, cfg);
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", br);
		ifr.ifr_ifindex = (int)if_nametoindex(name);
		/* leaving works only for a port */
		child_ok(b && !ioctl(ctl, SIOCBRDELIF, &ifr), "tap: joins bridge %s", br);
		tap_destroy(vm, &nic);
		cfg->bridge = NULL;
	}

	/* no name: the first free kl%d, gone with the backend */
	cfg->ifname = NULL;
	b = tap_create(vm, &nic, cfg);
	child_ok(b && if_nametoindex("kl0"), "tap: no ifname: a new TAP named kl0");
	tap_destroy(vm, &nic);
	child_ok(!if_nametoindex("kl0"), "tap: kl0 removed with the backend");

	/* refusals, with their reasons */
	cfg->ifname = "lo";
	capture_begin(&cap);
	b = tap_create(vm, &nic, cfg);
	capture_end(&cap, msg, sizeof(msg));
	child_ok(!b && strstr(msg, "kvm-launch: nic 0: tap lo: ") && strstr(msg, "not a TAP"),
		 "tap: an interface that is not a TAP is refused, saying so");
	tap_destroy(vm, &nic);

	drop_cap_net_admin();
	snprintf(name, sizeof(name), "klnocap%d", (int)getpid() % 100000);
	cfg->ifname = name;
	capture_begin(&cap);
	b = tap_create(vm, &nic, cfg);
	capture_end(&cap, msg, sizeof(msg));
	child_ok(!b && strstr(msg, name) && strstr(msg, "CAP_NET_ADMIN"),
		 "tap: making one without CAP_NET_ADMIN is refused, naming it and the reason");
	tap_destroy(vm, &nic);

	io_stop(vm);
	iothread_free(vm);
	nic_free(&nic);
	free(vm);
	close(ctl);
}

static void test_tap(void)
{
	int pipefd[2], status, failed = 0, got = 0;
	char c;
	pid_t pid;

	fflush(stdout);
	if (pipe2(pipefd, O_CLOEXEC))
		tap_skip_all("pipe");
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		result_fd = pipefd[1];
		tap_child();
		fflush(stdout);
		_exit(0);
	}
	close(pipefd[1]);
	while (pid > 0 && read(pipefd[0], &c, 1) == 1) {
		got++;
		failed += c != '1';
	}
	close(pipefd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	/* the child's points are printed; count them here */
	tap.run += got;
	tap.failed += failed;
	if (got < NR_TAP_TESTS)
		tap_diag("the tap child ended early (status %#x)", pid > 0 ? status : -1);
	for (; got < NR_TAP_TESTS; got++)
		tap_ok(0, "tap: not run");
}

int main(void)
{
	alarm(120);
	tap_plan(NR_PARSE_TESTS + NR_USER_TESTS + NR_TAP_TESTS);
	test_hostfwd_parse();
	test_user();
	test_tap();
	return tap_done();
}
