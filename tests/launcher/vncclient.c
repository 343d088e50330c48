/* tests/launcher/vncclient.c: a VNC viewer for tests, on libvncclient: types a string as key events, or watches the screen for a while and counts what it gets. */
/*
 *   vncclient type HOST:PORT TEXT     TEXT as key presses, as a viewer sends
 *                                     them (Shift_L held around shifted
 *                                     symbols and capitals; \n is Return)
 *   vncclient point HOST:PORT DX,DY   the pointer moved DX,DY with the left
 *                                     button held, then released
 *   vncclient watch HOST:PORT SECS    stay connected SECS seconds, asking
 *                                     for updates; prints "updates N rects N
 *                                     bytes N" (the pixels it got)
 * Exit status 0, or 1 when the server cannot be reached.
 */
#include <rfb/rfbclient.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct counts {
	unsigned long updates, rects, bytes;
};

/* libvncclient passes no user pointer to these: the counts hang off the client. */
static void got_rect(rfbClient *c, int x, int y, int w, int h)
{
	struct counts *n = rfbClientGetClientData(c, (void *)got_rect);

	(void)x;
	(void)y;
	n->rects++;
	n->bytes += (unsigned long)w * h * 4;
}

static void finished(rfbClient *c)
{
	struct counts *n = rfbClientGetClientData(c, (void *)got_rect);

	n->updates++;
}

static void quiet(const char *fmt, ...)
{
	(void)fmt;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Let the server see each event apart, as a typist would. */
static void key(rfbClient *c, uint32_t keysym, int down)
{
	SendKeyEvent(c, keysym, down ? TRUE : FALSE);
	usleep(40000);
}

static void type_text(rfbClient *c, const char *s)
{
	/* a US keyboard's shifted symbols */
	static const char shifted[] = "~!@#$%^&*()_+{}|:\"<>?";

	for (; *s; s++) {
		uint32_t ks = (unsigned char)*s;
		int shift = (*s >= 'A' && *s <= 'Z') || strchr(shifted, *s);

		if (*s == '\n')
			ks = 0xff0d, shift = 0;
		if (shift)
			key(c, 0xffe1, 1);
		key(c, ks, 1);
		key(c, ks, 0);
		if (shift)
			key(c, 0xffe1, 0);
	}
}

/* From the middle of the screen, DX right and DY down with the left button held, released. */
static void point(rfbClient *c, const char *delta)
{
	int dx = 0, dy = 0, x = 200, y = 200;

	sscanf(delta, "%d,%d", &dx, &dy);
	SendPointerEvent(c, x, y, 0);
	usleep(100000);
	for (int i = 1; i <= 4; i++) {
		SendPointerEvent(c, x + dx * i / 4, y + dy * i / 4, 1);
		usleep(100000);
	}
	SendPointerEvent(c, x + dx, y + dy, 0);
	usleep(100000);
}

int main(int argc, char **argv)
{
	struct counts n = { 0 };
	rfbClient *c;
	char *host, *colon;
	double end;

	if (argc != 4 || (strcmp(argv[1], "type") && strcmp(argv[1], "watch") && strcmp(argv[1], "point"))) {
		fprintf(stderr, "usage: vncclient type HOST:PORT TEXT | watch HOST:PORT SECS | point HOST:PORT DX,DY\n");
		return 2;
	}
	rfbClientLog = rfbClientErr = quiet;
	/* the guest may end the machine as soon as it has what it wanted */
	signal(SIGPIPE, SIG_IGN);
	c = rfbGetClient(8, 3, 4);
	host = strdup(argv[2]);
	colon = strrchr(host, ':');
	if (!c || !colon) {
		fprintf(stderr, "vncclient: bad address %s\n", argv[2]);
		return 2;
	}
	*colon = 0;
	c->serverHost = host;
	c->serverPort = atoi(colon + 1);
	c->GotFrameBufferUpdate = got_rect;
	c->FinishedFrameBufferUpdate = finished;
	rfbClientSetClientData(c, (void *)got_rect, &n);
	if (!rfbInitClient(c, NULL, NULL)) {
		/* rfbInitClient freed the client */
		fprintf(stderr, "vncclient: cannot connect to %s\n", argv[2]);
		return 1;
	}
	/* typed or pointed: the events are on the wire; a last look lets the server read them */
	if (!strcmp(argv[1], "type")) {
		type_text(c, argv[3]);
		end = now_s() + 0.5;
	} else if (!strcmp(argv[1], "point")) {
		point(c, argv[3]);
		end = now_s() + 0.5;
	} else {
		end = now_s() + atof(argv[3]);
	}
	while (now_s() < end) {
		int r = WaitForMessage(c, 100000);

		if (r < 0 || (r > 0 && !HandleRFBServerMessage(c)))
			break;
	}
	if (!strcmp(argv[1], "watch"))
		printf("updates %lu rects %lu bytes %lu size %dx%d\n", n.updates, n.rects, n.bytes,
		       c->width, c->height);
	rfbClientCleanup(c);
	return 0;
}
