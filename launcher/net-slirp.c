/* launcher/net-slirp.c: the user backend: libslirp, loaded at run time, in a thread of its own ("slirp"). */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "net-backend.h"

/* Frames for the NIC waiting for the slirp thread to deliver them: beyond, dropped. */
#define SLIRP_QUEUE_MAX		256
/* Frames delivered per taking of the NIC's mutex. */
#define SLIRP_DELIVER_BATCH	32

/* The QEMU user network: the guest 10.0.2.15 (DHCP), the host 10.0.2.2, DNS 10.0.2.3. */
#define SLIRP_NET		"10.0.2.0"
#define SLIRP_MASK		"255.255.255.0"
#define SLIRP_HOST		"10.0.2.2"
#define SLIRP_DHCP_START	"10.0.2.15"
#define SLIRP_DNS		"10.0.2.3"
#define SLIRP_PREFIX6		"fec0::"
#define SLIRP_HOST6		"fec0::2"
#define SLIRP_DNS6		"fec0::3"

/*
 * Locks. libslirp is not thread-safe and keeps process-wide state (its
 * clock "curtime", DNS caches), so every call into it, for every
 * instance, is made under slirp_lock, which also guards each backend's
 * frame queue, timers and quit flag. Lock order: NIC mutex -> slirp_lock.
 *
 * libslirp calls send_packet with slirp_lock held, also from inside
 * slirp_input on the NIC's tx path with the NIC's mutex held: so it only
 * queues the frame and wakes the slirp thread, which delivers the queue
 * with slirp_lock released and the NIC's mutex taken (taking slirp_lock
 * only to unlink each frame).
 */
static pthread_mutex_t slirp_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread bool on_slirp_thread;

/* libslirp, opened when a user backend is made: linked in, glib would be in every run. */
struct libslirp {
	void *handle;
	Slirp *(*create)(const SlirpConfig *, const SlirpCb *, void *);
	void (*cleanup)(Slirp *);
	void (*pollfds_fill)(Slirp *, uint32_t *, SlirpAddPollCb, void *);
	void (*pollfds_poll)(Slirp *, int, SlirpGetREventsCb, void *);
	void (*input)(Slirp *, const uint8_t *, int);
	void (*handle_timer)(Slirp *, SlirpTimerId, void *);
	int (*add_hostfwd)(Slirp *, int, struct in_addr, int, struct in_addr, int);
};

struct slirp_timer {
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms;		/* on the clock_get_ns clock; -1: not armed */
	struct slirp_timer *next;
};

struct queued_frame {
	size_t len;
	uint8_t data[];
};

struct user_net {
	struct net_backend b;
	struct libslirp lib;
	Slirp *slirp;
	SlirpCb cb;			/* libslirp keeps a pointer to it */
	pthread_t thread;
	bool started;
	int wake_fd;			/* eventfd: frames queued, timers moved, resume, quit */

	/* the slirp thread's: what slirp_pollfds_fill asked to poll (pfd[0]: wake_fd) */
	struct pollfd *pfd;
	unsigned int nr_pfd, max_pfd;

	/* under slirp_lock */
	bool quit;
	struct slirp_timer *timers;
	struct queued_frame *queue[SLIRP_QUEUE_MAX];
	unsigned int q_head, q_len;
	uint8_t tx[NET_FRAME_MAX];	/* a frame from the NIC in pieces, gathered */
};

static int libslirp_open(struct libslirp *l, char *err, size_t errlen)
{
	void *h = dlopen("libslirp.so.0", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(err, errlen, "cannot load libslirp: %s", dlerror());
		return -1;
	}
#define SYM(field, name) (l->field = (__typeof__(l->field))dlsym(h, name))
	if (!SYM(create, "slirp_new") ||
	    !SYM(cleanup, "slirp_cleanup") ||
	    !SYM(pollfds_fill, "slirp_pollfds_fill") ||
	    !SYM(pollfds_poll, "slirp_pollfds_poll") ||
	    !SYM(input, "slirp_input") ||
	    !SYM(handle_timer, "slirp_handle_timer") ||
	    !SYM(add_hostfwd, "slirp_add_hostfwd")) {
		snprintf(err, errlen, "libslirp lacks %s", dlerror());
		dlclose(h);
		return -1;
	}
#undef SYM
	l->handle = h;
	return 0;
}

/* ---- hostfwd rules ---- */

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int net_hostfwd_parse(const char *rule, struct net_hostfwd *fwd, char *err, size_t errlen)
{
	char buf[128], *proto, *haddr, *hport, *gaddr, *gport;
	struct in_addr net, mask, host, dns;
	uint32_t g;

	memset(fwd, 0, sizeof(*fwd));
	if (strlen(rule) >= sizeof(buf))
		goto syntax;
	strcpy(buf, rule);
	/* [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport */
	proto = buf;
	haddr = strchr(proto, ':');
	if (!haddr)
		goto syntax;
	*haddr++ = '\0';
	hport = strchr(haddr, ':');
	if (!hport)
		goto syntax;
	*hport++ = '\0';
	gaddr = strchr(hport, '-');
	if (!gaddr)
		goto syntax;
	*gaddr++ = '\0';
	gport = strchr(gaddr, ':');
	if (!gport)
		goto syntax;
	*gport++ = '\0';

	if (!strcmp(proto, "udp"))
		fwd->udp = true;
	else if (*proto && strcmp(proto, "tcp")) {
		snprintf(err, errlen, "protocol \"%s\": tcp or udp", proto);
		return -1;
	}
	/* as QEMU: no host address, every address */
	fwd->host_addr.s_addr = htonl(INADDR_ANY);
	if (*haddr && inet_pton(AF_INET, haddr, &fwd->host_addr) != 1) {
		snprintf(err, errlen, "host address \"%s\" is not an IPv4 address", haddr);
		return -1;
	}
	if (parse_port(hport, &fwd->host_port)) {
		snprintf(err, errlen, "host port \"%s\" is not a number from 1 to 65535", hport);
		return -1;
	}
	inet_pton(AF_INET, SLIRP_DHCP_START, &fwd->guest_addr);
	if (*gaddr && inet_pton(AF_INET, gaddr, &fwd->guest_addr) != 1) {
		snprintf(err, errlen, "guest address \"%s\" is not an IPv4 address", gaddr);
		return -1;
	}
	inet_pton(AF_INET, SLIRP_NET, &net);
	inet_pton(AF_INET, SLIRP_MASK, &mask);
	inet_pton(AF_INET, SLIRP_HOST, &host);
	inet_pton(AF_INET, SLIRP_DNS, &dns);
	g = fwd->guest_addr.s_addr;
	if ((g & mask.s_addr) != net.s_addr || g == net.s_addr || g == (net.s_addr | ~mask.s_addr) ||
	    g == host.s_addr || g == dns.s_addr) {
		snprintf(err, errlen, "guest address %s is not a guest's in %s/24", gaddr, SLIRP_NET);
		return -1;
	}
	if (parse_port(gport, &fwd->guest_port)) {
		snprintf(err, errlen, "guest port \"%s\" is not a number from 1 to 65535", gport);
		return -1;
	}
	return 0;
syntax:
	snprintf(err, errlen, "\"%s\" is not [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport",
		 rule);
	return -1;
}

/* ---- what libslirp calls (slirp_lock held, but for clock_get_ns and notify) ---- */

static void wake(struct user_net *u)
{
	uint64_t one = 1;

	if (write(u->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		net_error(&u->b, "user: waking the slirp thread: %s", strerror(errno));
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct user_net *u = opaque;
	struct queued_frame *f;

	if (u->q_len == SLIRP_QUEUE_MAX || len > NET_FRAME_MAX ||
	    !(f = malloc(sizeof(*f) + len))) {
		/* as a wire would: TCP retransmits, the guest resends its ARP */
		atomic_fetch_add(&u->b.rx_dropped, 1);
		return (ssize_t)len;
	}
	f->len = len;
	memcpy(f->data, buf, len);
	u->queue[(u->q_head + u->q_len++) % SLIRP_QUEUE_MAX] = f;
	/* the slirp thread delivers before it sleeps again */
	if (!on_slirp_thread)
		wake(u);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	net_error(opaque, "user: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct user_net *u = opaque;
	struct slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = u->timers;
	u->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct user_net *u = opaque;

	for (struct slirp_timer **p = &u->timers; *p; p = &(*p)->next)
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct slirp_timer *t = timer;

	if (!t)
		return;
	t->expire_ms = expire_ms < 0 ? 0 : expire_ms;
	if (!on_slirp_thread)
		wake(opaque);		/* its poll may sleep past the new deadline */
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	/* slirp_pollfds_fill names every fd each round */
	(void)fd;
	(void)opaque;
}

static void cb_notify(void *opaque)
{
	wake(opaque);
}

static int add_poll(int fd, int events, void *opaque)
{
	struct user_net *u = opaque;
	short ev = 0;

	if (u->nr_pfd == u->max_pfd) {
		unsigned int max = u->max_pfd ? 2 * u->max_pfd : 16;
		struct pollfd *p = realloc(u->pfd, max * sizeof(*p));

		if (!p)
			return -1;	/* not polled this round */
		u->pfd = p;
		u->max_pfd = max;
	}
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	u->pfd[u->nr_pfd] = (struct pollfd){ .fd = fd, .events = ev };
	return (int)u->nr_pfd++;
}

static int get_revents(int idx, void *opaque)
{
	struct user_net *u = opaque;
	short rev;
	int ret = 0;

	if (idx < 1 || (unsigned int)idx >= u->nr_pfd)
		return 0;
	rev = u->pfd[idx].revents;
	if (rev & POLLIN)
		ret |= SLIRP_POLL_IN;
	if (rev & POLLOUT)
		ret |= SLIRP_POLL_OUT;
	if (rev & POLLPRI)
		ret |= SLIRP_POLL_PRI;
	if (rev & (POLLERR | POLLNVAL))
		ret |= SLIRP_POLL_ERR;
	if (rev & POLLHUP)
		ret |= SLIRP_POLL_HUP;
	return ret;
}

/* ---- the slirp thread ---- */

/* Fire the due timers (slirp_lock held); the poll timeout in ms, or -1. */
static int run_timers(struct user_net *u)
{
	struct slirp_timer *t;
	int64_t now, next;

	for (;;) {
		now = cb_clock_get_ns(NULL) / 1000000;
		next = -1;
		for (t = u->timers; t; t = t->next) {
			if (t->expire_ms < 0)
				continue;
			if (t->expire_ms <= now)
				break;
			if (next < 0 || t->expire_ms < next)
				next = t->expire_ms;
		}
		if (!t)
			return next < 0 ? -1 : next - now > 1000 ? 1000 : (int)(next - now);
		/* a handler may free or re-arm timers: look again after each */
		t->expire_ms = -1;
		u->lib.handle_timer(u->slirp, t->id, t->cb_opaque);
	}
}

static struct queued_frame *dequeue(struct user_net *u)
{
	struct queued_frame *f = NULL;

	pthread_mutex_lock(&slirp_lock);
	if (u->q_len) {
		f = u->queue[u->q_head];
		u->q_head = (u->q_head + 1) % SLIRP_QUEUE_MAX;
		u->q_len--;
	}
	pthread_mutex_unlock(&slirp_lock);
	return f;
}

/* Hand the queued frames to the NIC, slirp_lock released, until it has no room. */
static void deliver(struct user_net *u)
{
	pthread_mutex_t *nic = u->b.peer.lock;
	bool more = true;

	while (more) {
		if (nic)
			pthread_mutex_lock(nic);
		for (int i = 0; i < SLIRP_DELIVER_BATCH; i++) {
			struct queued_frame *f = u->b.stalled ? NULL : dequeue(u);
			struct iovec iov;

			if (!f) {
				more = false;
				break;
			}
			iov = (struct iovec){ f->data, f->len };
			/* refused: net_deliver keeps a copy; resume() delivers it */
			net_deliver(&u->b, &iov, 1);
			free(f);
		}
		if (nic)
			pthread_mutex_unlock(nic);
	}
}

static void *slirp_main(void *arg)
{
	struct user_net *u = arg;
	int polled = 0;

	on_slirp_thread = true;
	pthread_mutex_lock(&slirp_lock);
	while (!u->quit) {
		uint32_t timeout = UINT32_MAX;
		int timer_ms, ms;
		uint64_t drain;

		if (polled)
			u->lib.pollfds_poll(u->slirp, polled < 0, get_revents, u);
		timer_ms = run_timers(u);
		u->nr_pfd = 1;
		u->lib.pollfds_fill(u->slirp, &timeout, add_poll, u);
		ms = timeout == UINT32_MAX ? -1 : timeout > 1000 ? 1000 : (int)timeout;
		if (timer_ms >= 0 && (ms < 0 || timer_ms < ms))
			ms = timer_ms;
		pthread_mutex_unlock(&slirp_lock);

		/* frames queued by the last round, or by the NIC's tx since */
		deliver(u);
		polled = poll(u->pfd, u->nr_pfd, ms) < 0 ? -1 : 1;
		if (polled > 0 && u->pfd[0].revents & POLLIN &&
		    read(u->wake_fd, &drain, sizeof(drain)) < 0 && errno != EAGAIN)
			polled = -1;
		pthread_mutex_lock(&slirp_lock);
	}
	pthread_mutex_unlock(&slirp_lock);
	return NULL;
}

/* ---- the backend ---- */

static ssize_t user_send(struct net_backend *b, const struct iovec *iov, int iovcnt)
{
	struct user_net *u = (struct user_net *)b;
	const uint8_t *frame;
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > sizeof(u->tx))
		return -1;
	pthread_mutex_lock(&slirp_lock);
	if (iovcnt == 1) {
		frame = iov[0].iov_base;
	} else {
		size_t off = 0;

		for (int i = 0; i < iovcnt; i++) {
			memcpy(u->tx + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		frame = u->tx;
	}
	u->lib.input(u->slirp, frame, (int)len);
	pthread_mutex_unlock(&slirp_lock);
	return (ssize_t)len;
}

static void user_resume(struct net_backend *b)
{
	wake((struct user_net *)b);
}

static int add_hostfwds(struct user_net *u, const struct cfg_nic *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_hostfwd; i++) {
		struct net_hostfwd fwd;
		char err[256], addr[INET_ADDRSTRLEN];

		if (net_hostfwd_parse(cfg->hostfwd[i], &fwd, err, sizeof(err))) {
			net_error(&u->b, "user: hostfwd %s", err);
			return -1;
		}
		errno = 0;
		if (u->lib.add_hostfwd(u->slirp, fwd.udp, fwd.host_addr, fwd.host_port,
				       fwd.guest_addr, fwd.guest_port) < 0) {
			inet_ntop(AF_INET, &fwd.host_addr, addr, sizeof(addr));
			net_error(&u->b, "user: hostfwd \"%s\": cannot listen on %s %s:%u: %s",
				  cfg->hostfwd[i], fwd.udp ? "udp" : "tcp", addr, fwd.host_port,
				  errno ? strerror(errno) : "refused by libslirp");
			return -1;
		}
	}
	return 0;
}

static void free_state(struct user_net *u)
{
	while (u->timers)
		cb_timer_free(u->timers, u);
	for (; u->q_len; u->q_len--, u->q_head = (u->q_head + 1) % SLIRP_QUEUE_MAX)
		free(u->queue[u->q_head]);
	free(u->pfd);
	u->pfd = NULL;
	if (u->wake_fd >= 0)
		close(u->wake_fd);
}

static int user_open(struct net_backend *b, const struct cfg_nic *cfg)
{
	struct user_net *u = (struct user_net *)b;
	SlirpConfig sc = { .version = 4 };
	sigset_t all, old;
	char err[512];
	int ret;

	u->wake_fd = -1;
	if (libslirp_open(&u->lib, err, sizeof(err))) {
		net_error(b, "user: %s", err);
		return -1;
	}
	u->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	u->pfd = malloc(16 * sizeof(*u->pfd));
	if (u->wake_fd < 0 || !u->pfd) {
		net_error(b, "user: %s", strerror(errno));
		goto fail;
	}
	u->max_pfd = 16;
	u->pfd[0] = (struct pollfd){ .fd = u->wake_fd, .events = POLLIN };
	u->nr_pfd = 1;

	u->cb = (SlirpCb){
		.send_packet = cb_send_packet,
		.guest_error = cb_guest_error,
		.clock_get_ns = cb_clock_get_ns,
		.timer_free = cb_timer_free,
		.timer_mod = cb_timer_mod,
		.register_poll_fd = cb_register_poll_fd,
		.unregister_poll_fd = cb_register_poll_fd,
		.notify = cb_notify,
		.timer_new_opaque = cb_timer_new_opaque,
	};
	sc.in_enabled = true;
	inet_pton(AF_INET, SLIRP_NET, &sc.vnetwork);
	inet_pton(AF_INET, SLIRP_MASK, &sc.vnetmask);
	inet_pton(AF_INET, SLIRP_HOST, &sc.vhost);
	inet_pton(AF_INET, SLIRP_DHCP_START, &sc.vdhcp_start);
	inet_pton(AF_INET, SLIRP_DNS, &sc.vnameserver);
	/* IPv6 on, as QEMU's: the guest gets fec0::/64 by router advertisement */
	sc.in6_enabled = true;
	inet_pton(AF_INET6, SLIRP_PREFIX6, &sc.vprefix_addr6);
	sc.vprefix_len = 64;
	inet_pton(AF_INET6, SLIRP_HOST6, &sc.vhost6);
	inet_pton(AF_INET6, SLIRP_DNS6, &sc.vnameserver6);

	pthread_mutex_lock(&slirp_lock);
	u->slirp = u->lib.create(&sc, &u->cb, u);
	ret = u->slirp ? add_hostfwds(u, cfg) : -1;
	pthread_mutex_unlock(&slirp_lock);
	if (!u->slirp) {
		net_error(b, "user: libslirp refused its configuration");
		goto fail;
	}
	if (ret)
		goto fail;

	/* Quit signals go to the I/O thread's signalfd: none may land here. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&u->thread, NULL, slirp_main, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		net_error(b, "user: thread: %s", strerror(ret));
		goto fail;
	}
	pthread_setname_np(u->thread, "slirp");
	u->started = true;
	return 0;
fail:
	if (u->slirp) {
		pthread_mutex_lock(&slirp_lock);
		u->lib.cleanup(u->slirp);
		pthread_mutex_unlock(&slirp_lock);
	}
	free_state(u);
	dlclose(u->lib.handle);
	return -1;
}

static void user_close(struct net_backend *b)
{
	struct user_net *u = (struct user_net *)b;

	if (u->started) {
		pthread_mutex_lock(&slirp_lock);
		u->quit = true;
		pthread_mutex_unlock(&slirp_lock);
		wake(u);
		pthread_join(u->thread, NULL);
	}
	pthread_mutex_lock(&slirp_lock);
	u->lib.cleanup(u->slirp);
	pthread_mutex_unlock(&slirp_lock);
	free_state(u);
	dlclose(u->lib.handle);
}

const struct net_backend_ops net_slirp_ops = {
	.name = "user",
	.size = sizeof(struct user_net),
	.open = user_open,
	.close = user_close,
	.send = user_send,
	.resume = user_resume,
};
