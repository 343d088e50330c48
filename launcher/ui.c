/* launcher/ui.c: the display frontend display.type names, opened once and attached to each machine. */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ui.h"

int ui_open(struct ui *ui, const struct vm_config *cfg)
{
	ui->ops = NULL;
	ui->state = NULL;
	switch (cfg->display) {
	case CFG_DISPLAY_VNC:
		ui->ops = &ui_vnc_ops;
		break;
	case CFG_DISPLAY_TERMINAL:
		ui->ops = &ui_terminal_ops;
		break;
	default:
		return 0;	/* none; headless: screendumps only */
	}
	ui->state = ui->ops->open(cfg);
	if (!ui->state) {
		ui->ops = NULL;
		return -1;
	}
	return 0;
}

void ui_attach(struct ui *ui, struct vm *vm)
{
	if (ui->ops)
		ui->ops->attach(ui->state, vm);
}

void ui_detach(struct ui *ui)
{
	if (ui->ops)
		ui->ops->detach(ui->state);
}

void ui_close(struct ui *ui)
{
	if (ui->ops)
		ui->ops->close(ui->state);
	ui->ops = NULL;
	ui->state = NULL;
}

int ui_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, const char *name)
{
	sigset_t all, old;
	int err;

	/*
	 * Signals are the I/O thread's (its signalfd) and the vCPUs' kick: the
	 * frontend starts before the machine blocks them, so its thread blocks
	 * every one itself; a SIGUSR2 or SIGTERM delivered to it would end
	 * kvm-launch. Faults (SIGSEGV...) reach it whatever the mask.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		fprintf(stderr, "kvm-launch: %s: thread: %s\n", name, strerror(err));
		return -1;
	}
	pthread_setname_np(*thread, name);
	return 0;
}
