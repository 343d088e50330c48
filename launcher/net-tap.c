/* launcher/net-tap.c: the tap backend: a host TAP interface, read on the I/O thread under the NIC's mutex. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net-backend.h"
#include "vm.h"

/* Frames read per wake-up: a busy TAP cannot keep the I/O thread from the rest. */
#define TAP_READS_PER_WAKE	64
#define ETH_HDR_LEN		14

/*
 * Everything here but open() and close() runs with the NIC's mutex held:
 * reads in the I/O thread's watch, sends and resume in the NIC's paths.
 */
struct tap {
	struct net_backend b;
	int fd;
	char ifname[IFNAMSIZ];
	char bridge[IFNAMSIZ];
	bool created;			/* made by open(): not persistent, it goes with fd */
	bool joined;			/* open() added it to the bridge */
	bool watching;			/* fd is in the I/O thread's watch list */
	bool broken;			/* a read failed: reading stopped for good */
	uint8_t hdr[NET_VNET_HDR_LEN];
	uint8_t frame[NET_FRAME_MAX];
};

static void tap_readable(void *opaque);

static int tap_watch(struct tap *t)
{
	int ret;

	/* Resume comes from any of the NIC's paths: name its mutex rather than guess it. */
	if (t->b.peer.lock)
		ret = vm_watch_fd_locked(t->b.vm, t->fd, tap_readable, t, t->b.peer.lock);
	else
		ret = vm_watch_fd(t->b.vm, t->fd, tap_readable, t);
	if (ret) {
		net_error(&t->b, "tap %s: the VM watches too many fds already", t->ifname);
		return -1;
	}
	t->watching = true;
	return 0;
}

static void tap_unwatch(struct tap *t)
{
	if (t->watching)
		vm_unwatch_fd(t->b.vm, t->fd);
	t->watching = false;
}

static void tap_readable(void *opaque)
{
	struct tap *t = opaque;
	size_t hdr = t->b.vnet_hdr ? NET_VNET_HDR_LEN : 0;
	struct iovec in[2] = { { t->hdr, sizeof(t->hdr) }, { t->frame, sizeof(t->frame) } };
	int first = hdr ? 0 : 1;

	for (int i = 0; i < TAP_READS_PER_WAKE && !t->b.stalled; i++) {
		ssize_t n = readv(t->fd, in + first, 2 - first);
		struct iovec out[2];

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			net_error(&t->b, "tap %s: %s; no longer read", t->ifname, strerror(errno));
			t->broken = true;
			tap_unwatch(t);
			return;
		}
		if ((size_t)n < hdr + ETH_HDR_LEN) {
			atomic_fetch_add(&t->b.rx_dropped, 1);
			continue;
		}
		if (hdr) {
			/* num_buffers: the kernel skips it; the NIC sets it */
			t->hdr[10] = t->hdr[11] = 0;
		}
		out[0] = (struct iovec){ t->hdr, hdr };
		out[1] = (struct iovec){ t->frame, (size_t)n - hdr };
		if (!net_deliver(&t->b, out + first, 2 - first)) {
			/* level-triggered: stop polling until net_backend_resume() */
			tap_unwatch(t);
			return;
		}
	}
}

static void tap_resume(struct net_backend *b)
{
	struct tap *t = (struct tap *)b;

	if (!t->watching && !t->broken)
		tap_watch(t);
}

static ssize_t tap_send(struct net_backend *b, const struct iovec *iov, int iovcnt)
{
	struct tap *t = (struct tap *)b;

	/* EAGAIN: the TAP's queue is full; the frame is lost, as on a wire */
	return writev(t->fd, iov, iovcnt);
}

static int tap_set_offload(struct net_backend *b, unsigned int tun_flags)
{
	struct tap *t = (struct tap *)b;

	if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0) {
		net_error(b, "tap %s: TUNSETOFFLOAD %#x: %s", t->ifname, tun_flags, strerror(errno));
		return -1;
	}
	return 0;
}

/* Whether ifname is already a port of bridge (sysfs: of the netns that mounted it). */
static bool in_bridge(const char *ifname, const char *bridge)
{
	char path[64 + IFNAMSIZ], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/master", ifname);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(basename(target), bridge);
}

/* Attach fd to the TAP named in *ifr, or have the kernel make one. */
static int tap_attach(struct tap *t, struct ifreq *ifr, bool existed)
{
	unsigned int features = 0;
	int err;

	if (ioctl(t->fd, TUNGETFEATURES, &features) < 0)
		features = 0;
	ifr->ifr_flags = IFF_TAP | IFF_NO_PI | (features & IFF_VNET_HDR ? IFF_VNET_HDR : 0);
	if (!ioctl(t->fd, TUNSETIFF, ifr))
		goto attached;
	err = errno;
	if (ifr->ifr_flags & IFF_VNET_HDR) {
		ifr->ifr_flags &= ~IFF_VNET_HDR;
		if (!ioctl(t->fd, TUNSETIFF, ifr))
			goto attached;
	}
	if (strchr(ifr->ifr_name, '%'))
		net_error(&t->b, "tap: cannot create one: %s%s", strerror(err),
			  err == EPERM ? " (creating a TAP needs CAP_NET_ADMIN)" : "");
	else if (err == EPERM && existed)
		net_error(&t->b, "tap %s: not allowed to use it: %s (the TAP belongs to another "
			  "user or group; or it needs CAP_NET_ADMIN)", ifr->ifr_name, strerror(err));
	else if (err == EPERM)
		net_error(&t->b, "tap %s: does not exist, and creating it needs CAP_NET_ADMIN: %s",
			  ifr->ifr_name, strerror(err));
	else if (err == EINVAL && existed)
		net_error(&t->b, "tap %s: the interface exists and is not a TAP", ifr->ifr_name);
	else if (err == EBUSY)
		net_error(&t->b, "tap %s: in use by another process: %s", ifr->ifr_name,
			  strerror(err));
	else
		net_error(&t->b, "tap %s: %s", ifr->ifr_name, strerror(err));
	return -1;
attached:
	memcpy(t->ifname, ifr->ifr_name, IFNAMSIZ);
	t->ifname[IFNAMSIZ - 1] = '\0';
	t->created = !existed;
	t->b.vnet_hdr = ifr->ifr_flags & IFF_VNET_HDR;
	if (t->b.vnet_hdr) {
		int len = NET_VNET_HDR_LEN;

		if (ioctl(t->fd, TUNSETVNETHDRSZ, &len) < 0) {
			net_error(&t->b, "tap %s: TUNSETVNETHDRSZ: %s", t->ifname, strerror(errno));
			return -1;
		}
		/* a persistent TAP keeps its last user's offloads: none until the guest asks */
		if (ioctl(t->fd, TUNSETOFFLOAD, 0UL) < 0) {
			net_error(&t->b, "tap %s: TUNSETOFFLOAD: %s", t->ifname, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Up, and in the bridge when asked; ctl: a socket for the interface ioctls. */
static int tap_configure(struct tap *t, int ctl, const char *bridge)
{
	struct ifreq ifr = { 0 };

	memcpy(ifr.ifr_name, t->ifname, IFNAMSIZ);
	if (ioctl(ctl, SIOCGIFFLAGS, &ifr) < 0) {
		net_error(&t->b, "tap %s: SIOCGIFFLAGS: %s", t->ifname, strerror(errno));
		return -1;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(ctl, SIOCSIFFLAGS, &ifr) < 0) {
			if (t->created) {
				net_error(&t->b, "tap %s: cannot bring it up: %s", t->ifname,
					  strerror(errno));
				return -1;
			}
			/* a TAP prepared for this user: its owner may still bring it up */
			net_error(&t->b, "tap %s: warning: it is down and cannot be brought up "
				  "from here (%s): no frames pass until it is", t->ifname,
				  strerror(errno));
		}
	}
	if (!bridge)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", bridge);
	ifr.ifr_ifindex = (int)if_nametoindex(t->ifname);
	if (!ioctl(ctl, SIOCBRADDIF, &ifr)) {
		t->joined = true;
		snprintf(t->bridge, sizeof(t->bridge), "%s", bridge);
		return 0;
	}
	if (errno == EBUSY && in_bridge(t->ifname, bridge))
		return 0;
	if (errno == ENODEV)
		net_error(&t->b, "tap %s: cannot join bridge %s: no such interface", t->ifname,
			  bridge);
	else if (errno == EOPNOTSUPP || errno == EINVAL)
		net_error(&t->b, "tap %s: cannot join bridge %s: it is not a bridge", t->ifname,
			  bridge);
	else
		net_error(&t->b, "tap %s: cannot join bridge %s: %s%s", t->ifname, bridge,
			  strerror(errno), errno == EPERM ? " (needs CAP_NET_ADMIN)" :
			  errno == EBUSY ? " (a port of another bridge?)" : "");
	return -1;
}

static void tap_leave_bridge(struct tap *t)
{
	struct ifreq ifr = { 0 };
	int ctl;

	/* a created TAP leaves with its fd; an existing one is left as found */
	if (!t->joined || t->created)
		return;
	ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctl < 0)
		return;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->bridge);
	ifr.ifr_ifindex = (int)if_nametoindex(t->ifname);
	if (ioctl(ctl, SIOCBRDELIF, &ifr) < 0)
		net_error(&t->b, "tap %s: leaving bridge %s: %s", t->ifname, t->bridge,
			  strerror(errno));
	close(ctl);
}

static int tap_open(struct net_backend *b, const struct cfg_nic *cfg)
{
	struct tap *t = (struct tap *)b;
	struct ifreq ifr = { 0 };
	bool existed = false;
	int ctl = -1;

	t->fd = -1;
	if (!b->vm) {
		net_error(b, "tap: needs a VM's I/O thread");
		return -1;
	}
	if (cfg->ifname) {
		if (!*cfg->ifname || strlen(cfg->ifname) >= IFNAMSIZ || strchr(cfg->ifname, '/')) {
			net_error(b, "tap \"%s\": not an interface name (1 to %d characters, no '/')",
				  cfg->ifname, IFNAMSIZ - 1);
			return -1;
		}
		memcpy(ifr.ifr_name, cfg->ifname, strlen(cfg->ifname));
		existed = if_nametoindex(cfg->ifname) != 0;
	} else {
		/* the kernel picks the first free kl0, kl1, ... */
		snprintf(ifr.ifr_name, IFNAMSIZ, "kl%%d");
	}
	if (cfg->bridge && (!*cfg->bridge || strlen(cfg->bridge) >= IFNAMSIZ)) {
		net_error(b, "bridge \"%s\": not an interface name", cfg->bridge);
		return -1;
	}
	t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (t->fd < 0) {
		net_error(b, "tap: /dev/net/tun: %s%s", strerror(errno),
			  errno == ENOENT || errno == ENODEV ? " (no tun driver?)" : "");
		return -1;
	}
	if (tap_attach(t, &ifr, existed))
		goto fail;
	ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctl < 0) {
		net_error(b, "tap %s: socket: %s", t->ifname, strerror(errno));
		goto fail;
	}
	if (tap_configure(t, ctl, cfg->bridge))
		goto fail;
	close(ctl);
	ctl = -1;
	if (tap_watch(t))
		goto fail;
	return 0;
fail:
	if (ctl >= 0)
		close(ctl);
	tap_leave_bridge(t);
	close(t->fd);
	return -1;
}

static void tap_close(struct net_backend *b)
{
	struct tap *t = (struct tap *)b;

	tap_unwatch(t);
	tap_leave_bridge(t);
	close(t->fd);
}

const struct net_backend_ops net_tap_ops = {
	.name = "tap",
	.size = sizeof(struct tap),
	.open = tap_open,
	.close = tap_close,
	.send = tap_send,
	.set_offload = tap_set_offload,
	.resume = tap_resume,
};
