/* launcher/ui.c: the display frontend display.type names, opened once and attached to each machine. */
#include <stddef.h>

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
