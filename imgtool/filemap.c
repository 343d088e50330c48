/* imgtool/filemap.c: copying out of a file mapping so that a SIGBUS (file shrunk, I/O error) becomes -EIO. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "img_int.h"

/* The copy this thread is doing, so that the handler knows a fault is ours. */
struct map_copy {
	sigjmp_buf env;
	uintptr_t start, end;
};

/* initial-exec: a signal handler must not reach TLS through a lazy allocation. */
static _Thread_local struct map_copy *volatile map_copy_now
	__attribute__((tls_model("initial-exec")));
static struct sigaction sigbus_prev;
static pthread_once_t sigbus_once = PTHREAD_ONCE_INIT;
static bool sigbus_ready;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	struct map_copy *mc = map_copy_now;
	uintptr_t addr = (uintptr_t)si->si_addr;
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	if (mc && si->si_code > 0 && addr >= mc->start && addr < mc->end) {
		map_copy_now = NULL;
		siglongjmp(mc->env, 1);
	}
	/* Not ours: whoever had SIGBUS before us gets it, else the default death. */
	if (sigbus_prev.sa_handler != SIG_DFL && sigbus_prev.sa_handler != SIG_IGN) {
		if (sigbus_prev.sa_flags & SA_SIGINFO)
			sigbus_prev.sa_sigaction(sig, si, uc);
		else
			sigbus_prev.sa_handler(sig);
		return;
	}
	/* Pending until we return; a fault would repeat anyway. */
	sigaction(SIGBUS, &dfl, NULL);
	raise(SIGBUS);
}

static void sigbus_install(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	sigbus_ready = sigaction(SIGBUS, &sa, &sigbus_prev) == 0;
}

int img_map_copy(void *dst, const void *src, size_t len)
{
	struct map_copy mc;

	pthread_once(&sigbus_once, sigbus_install);
	if (!sigbus_ready)
		return -ENOTSUP;
	mc.start = (uintptr_t)src;
	mc.end = mc.start + len;
	/* Saving the mask: the handler's jump must not leave SIGBUS blocked. */
	if (sigsetjmp(mc.env, 1))
		return -EIO;
	map_copy_now = &mc;
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(dst, src, len);
	atomic_signal_fence(memory_order_seq_cst);
	map_copy_now = NULL;
	return 0;
}
