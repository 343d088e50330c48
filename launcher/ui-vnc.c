/* launcher/ui-vnc.c: display.type = "vnc": the VGA's screen served over RFB by libvncserver, its viewers' keys and pointer into the PS/2 keyboard and mouse. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <rfb/rfb.h>
#include <rfb/rfbregion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dev-i8042.h"
#include "dev-vga.h"
#include "hw/ps2.h"
#include "ui.h"
#include "vm.h"

/*
 * Threads and locks. One thread, "vnc", does all of libvncserver's work
 * (rfbProcessEvents: accepting viewers, their messages, sending updates)
 * and the refreshes; libvncserver runs no thread of its own, so the
 * framebuffer it sends from is touched by this thread only. The machine
 * (vga, i8042) is attached and detached by main under s->lock, which the
 * thread holds while it renders or injects input: lock order s->lock ->
 * a device's mutex (taken inside pc_vga_update, pc_kbd_key) -> what that
 * device takes. vCPU threads never come here, and no device calls a
 * frontend, so nothing waits on s->lock while holding a device mutex.
 *
 * Updates: when a viewer has asked for one (libvncclient and real viewers
 * ask again after each), at most every REFRESH_MIN_NS, the VGA is asked
 * what changed: an unchanged card (no register or window write, no page of
 * the framebuffer slot in KVM's dirty log) costs that look and nothing
 * else, and looks grow apart, to REFRESH_MAX_NS, while nothing changes
 * (viewer input brings them back). In a VBE mode only the rows holding
 * written pages are redrawn; those are compared with what viewers last
 * got, and only bands of rows that differ, cut to the columns that
 * differ, are copied and marked for sending.
 */

#define REFRESH_MIN_NS	30000000ull	/* 33 looks a second while the screen changes */
#define REFRESH_MAX_NS	240000000ull	/* ... down to 4 when it does not */
#define BAND		16		/* rows compared and sent together */

struct vnc {
	rfbScreenInfoPtr screen;
	uint32_t *fb;			/* what viewers have (XRGB, as rendered) */
	unsigned int width, height;
	uint64_t interval;		/* between looks at the card, ns */
	uint64_t next;			/* the next look, CLOCK_MONOTONIC ns */
	pthread_t thread;
	atomic_bool stop;

	pthread_mutex_t lock;		/* the machine below, keys, the pointer */
	struct pc_vga *vga;
	struct i8042_dev *kbd;
	struct vga_screen scr;		/* the card's last picture (XRGB) */
	struct ui_keys keys;
	bool pointer_known;
	int px, py, buttons;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Our pixels as they are: XRGB, red in bits 16-23 (libvncserver's default is 0-7). */
static void set_format(rfbScreenInfoPtr screen)
{
	screen->serverFormat.redShift = 16;
	screen->serverFormat.greenShift = 8;
	screen->serverFormat.blueShift = 0;
}

/* A new picture size: a new framebuffer, all of it sent. */
static int resize(struct vnc *s, const struct vga_screen *scr)
{
	uint32_t *fb = malloc((size_t)scr->width * scr->height * 4), *old = s->fb;
	rfbClientIteratorPtr it;
	rfbClientPtr cl;

	if (!fb)
		return -1;
	for (unsigned int y = 0; y < scr->height; y++)
		memcpy(fb + (size_t)y * scr->width, (const uint8_t *)scr->pixels + (size_t)y * scr->stride,
		       (size_t)scr->width * 4);
	s->fb = fb;
	s->width = scr->width;
	s->height = scr->height;
	rfbNewFramebuffer(s->screen, (char *)fb, (int)scr->width, (int)scr->height, 8, 3, 4);
	/* it set the default format again, and each viewer's translation for it */
	set_format(s->screen);
	it = rfbGetClientIterator(s->screen);
	while ((cl = rfbClientIteratorNext(it)))
		s->screen->setTranslateFunction(cl);
	rfbReleaseClientIterator(it);
	free(old);
	return 0;
}

/* Copy what changed in rows [y0, y1) into the framebuffer and mark it, a band at a time. */
static bool update(struct vnc *s, const struct vga_screen *scr, unsigned int y0, unsigned int y1)
{
	bool changed = false;

	for (unsigned int b0 = y0 - y0 % BAND; b0 < y1; b0 += BAND) {
		unsigned int b1 = b0 + BAND < s->height ? b0 + BAND : s->height;
		unsigned int left = s->width, right = 0;

		for (unsigned int y = b0 < y0 ? y0 : b0; y < b1 && y < y1; y++) {
			const uint32_t *src = (const uint32_t *)((const uint8_t *)scr->pixels +
								  (size_t)y * scr->stride);
			const uint32_t *dst = s->fb + (size_t)y * s->width;
			unsigned int x;

			if (!memcmp(src, dst, (size_t)s->width * 4))
				continue;
			for (x = 0; x < left && src[x] == dst[x]; x++)
				;
			left = x;
			for (x = s->width; x > right && src[x - 1] == dst[x - 1]; x--)
				;
			right = x;
		}
		if (left >= right)
			continue;
		for (unsigned int y = b0 < y0 ? y0 : b0; y < b1 && y < y1; y++)
			memcpy(s->fb + (size_t)y * s->width + left,
			       (const uint8_t *)scr->pixels + (size_t)y * scr->stride + left * 4,
			       (size_t)(right - left) * 4);
		rfbMarkRectAsModified(s->screen, (int)left, (int)b0, (int)right, (int)b1);
		changed = true;
	}
	return changed;
}

/* Whether something changed. */
static bool refresh(struct vnc *s)
{
	unsigned int y0 = 0, y1 = 0;
	bool changed = false;

	pthread_mutex_lock(&s->lock);
	if (s->vga && pc_vga_update(s->vga, &s->scr, &y0, &y1) > 0) {
		if (s->scr.width != s->width || s->scr.height != s->height)
			changed = !resize(s, &s->scr);
		else
			changed = update(s, &s->scr, y0, y1);
	}
	pthread_mutex_unlock(&s->lock);
	return changed;
}

/* A viewer waits for an update: what makes a look worth its cost. */
static bool update_wanted(rfbScreenInfoPtr screen)
{
	rfbClientIteratorPtr it = rfbGetClientIterator(screen);
	rfbClientPtr cl;
	bool wanted = false;

	while (!wanted && (cl = rfbClientIteratorNext(it)))
		wanted = cl->state == RFB_NORMAL && !sraRgnEmpty(cl->requestedRegion);
	rfbReleaseClientIterator(it);
	return wanted;
}

static void emit_key(void *ctx, uint16_t code, bool down)
{
	struct vnc *s = ctx;

	pc_kbd_key(s->kbd, code, down);
}

static void on_key(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	struct vnc *s = cl->screen->screenData;

	s->interval = REFRESH_MIN_NS;	/* the screen will answer: look soon */
	s->next = 0;
	pthread_mutex_lock(&s->lock);
	if (s->kbd)
		ui_keysym(&s->keys, keysym, down, emit_key, s);
	pthread_mutex_unlock(&s->lock);
}

/*
 * Viewers give absolute positions, the PS/2 mouse reports motion: the
 * difference from the last position (the guest's acceleration may make
 * its pointer drift from the viewer's). Buttons: RFB 1 left, 2 middle,
 * 4 right, 8 and 16 a wheel notch up or down.
 */
static void on_pointer(int mask, int x, int y, rfbClientPtr cl)
{
	struct vnc *s = cl->screen->screenData;
	int dx, dy, dz = 0;
	uint8_t b = 0;

	s->interval = REFRESH_MIN_NS;
	s->next = 0;
	pthread_mutex_lock(&s->lock);
	if (!s->pointer_known) {
		s->px = x;
		s->py = y;
		s->pointer_known = true;
	}
	dx = x - s->px;
	dy = s->py - y;
	if (mask & 8 & ~s->buttons)
		dz = -1;
	if (mask & 16 & ~s->buttons)
		dz = 1;
	if (mask & 1)
		b |= PS2_BUTTON_LEFT;
	if (mask & 2)
		b |= PS2_BUTTON_MIDDLE;
	if (mask & 4)
		b |= PS2_BUTTON_RIGHT;
	if (s->kbd && (dx || dy || dz || (mask & 7) != (s->buttons & 7)))
		pc_mouse_event(s->kbd, dx, dy, dz, b);
	s->px = x;
	s->py = y;
	s->buttons = mask;
	pthread_mutex_unlock(&s->lock);
}

static void client_gone(rfbClientPtr cl)
{
	fprintf(stderr, "\r\nkvm-launch: vnc: %s disconnected\r\n", cl->host ? cl->host : "a viewer");
}

static enum rfbNewClientAction client_new(rfbClientPtr cl)
{
	cl->clientGoneHook = client_gone;
	fprintf(stderr, "\r\nkvm-launch: vnc: %s connected\r\n", cl->host ? cl->host : "a viewer");
	/*
	 * Before its ServerInit: the size it learns is the card's now, for
	 * viewers that cannot follow a resize (vncsnapshot).
	 */
	refresh(cl->screen->screenData);
	return RFB_CLIENT_ACCEPT;
}

static void *vnc_main(void *arg)
{
	struct vnc *s = arg;

	s->interval = REFRESH_MIN_NS;
	while (!atomic_load(&s->stop)) {
		uint64_t now;

		rfbProcessEvents(s->screen, REFRESH_MIN_NS / 1000);
		now = now_ns();
		/* nobody waiting for an update: the card is not even asked */
		if (now < s->next || !update_wanted(s->screen))
			continue;
		if (refresh(s)) {
			s->interval = REFRESH_MIN_NS;
			rfbProcessEvents(s->screen, 0);	/* sent now, not after the next wait */
		} else if (s->interval < REFRESH_MAX_NS)
			s->interval += REFRESH_MIN_NS;
		s->next = now + s->interval;
	}
	return NULL;
}

/*
 * The listen socket is ours: getaddrinfo takes host names and IPv6, and a
 * failure is told with its reason, which libvncserver's own bind only logs.
 */
static int listen_on(const struct vm_config *cfg)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	char port[8], shown[300];
	int fd = -1, err = 0, one = 1, gai;

	snprintf(port, sizeof(port), "%u", cfg->listen_port);
	if (!cfg->listen_host)
		snprintf(shown, sizeof(shown), ":%s", port);
	else if (strchr(cfg->listen_host, ':'))
		snprintf(shown, sizeof(shown), "[%s]:%s", cfg->listen_host, port);
	else
		snprintf(shown, sizeof(shown), "%s:%s", cfg->listen_host, port);
	gai = getaddrinfo(cfg->listen_host, port, &hints, &res);
	if (gai) {
		fprintf(stderr, "%s:%d: display.listen: %s: %s\n", cfg->path, cfg->listen_line, shown,
			gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 8) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "%s:%d: display.listen: %s: %s\n", cfg->path, cfg->listen_line, shown,
			strerror(err));
	return fd;
}

static void vnc_free(struct vnc *s)
{
	if (s->screen) {
		rfbShutdownServer(s->screen, TRUE);	/* closes the listen socket too */
		rfbScreenCleanup(s->screen);
	}
	vga_screen_free(&s->scr);
	free(s->fb);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void *vnc_open(const struct vm_config *cfg)
{
	char prog[] = "kvm-launch", *argv[] = { prog, NULL };
	struct vnc *s = calloc(1, sizeof(*s));
	int argc = 1, fd;

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	fd = listen_on(cfg);
	if (fd < 0) {
		vnc_free(s);
		return NULL;
	}
	/* what it logs (every viewer's pixel format...) is not the user's business */
	rfbLogEnable(FALSE);
	s->width = 640;
	s->height = 480;
	s->fb = calloc((size_t)s->width * s->height, 4);
	s->screen = rfbGetScreen(&argc, argv, (int)s->width, (int)s->height, 8, 3, 4);
	if (!s->fb || !s->screen) {
		fprintf(stderr, "kvm-launch: vnc: out of memory\n");
		close(fd);
		vnc_free(s);
		return NULL;
	}
	set_format(s->screen);
	s->screen->frameBuffer = (char *)s->fb;
	s->screen->desktopName = cfg->name;
	s->screen->alwaysShared = TRUE;
	s->screen->deferUpdateTime = 0;	/* refresh() already gathers a frame's changes */
	s->screen->port = 0;		/* libvncserver binds nothing: */
	s->screen->ipv6port = 0;
	s->screen->autoPort = FALSE;
	s->screen->httpPort = 0;
	s->screen->screenData = s;
	s->screen->kbdAddEvent = on_key;
	s->screen->ptrAddEvent = on_pointer;
	s->screen->newClientHook = client_new;
	rfbInitServer(s->screen);
	/* ... it serves our socket */
	s->screen->listenSock = fd;
	FD_SET(fd, &s->screen->allFds);
	if (fd > s->screen->maxFd)
		s->screen->maxFd = fd;
	if (ui_thread_start(&s->thread, vnc_main, s, "vnc")) {
		vnc_free(s);
		return NULL;
	}
	return s;
}

static void vnc_attach(void *state, struct vm *vm)
{
	struct vnc *s = state;

	pthread_mutex_lock(&s->lock);
	s->vga = vm_device(vm, "vga");
	s->kbd = vm_device(vm, "i8042");
	s->scr.valid = false;		/* a new card: draw it whole */
	memset(&s->keys, 0, sizeof(s->keys));
	pthread_mutex_unlock(&s->lock);
}

static void vnc_detach(void *state)
{
	struct vnc *s = state;

	pthread_mutex_lock(&s->lock);
	s->vga = NULL;
	s->kbd = NULL;
	pthread_mutex_unlock(&s->lock);
}

static void vnc_close(void *state)
{
	struct vnc *s = state;

	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	vnc_free(s);
}

const struct ui_ops ui_vnc_ops = {
	.name = "vnc",
	.open = vnc_open, .attach = vnc_attach, .detach = vnc_detach, .close = vnc_close,
};
