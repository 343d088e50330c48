/* launcher/main.c: kvm-launch entry: parse the VM file, build the VM, run it. */
#include <stdio.h>
#include <string.h>

#include "arch/linux.h"
#include "config.h"
#include "dev-vga.h"
#include "ui.h"
#include "vmm.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvm-launch [--check] VMFILE\n"
		"       kvm-launch --cache-kernel BZIMAGE\n"
		"       kvm-launch --help | --version\n");
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct ui ui;
	bool check = false;
	const char *file = NULL;
	int i, status;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("kvm-launch %s\n", PROJECT_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--cache-kernel") && i + 2 == argc) {
			char err[512];

			if (linux_cache_kernel(argv[i + 1], err, sizeof(err))) {
				fprintf(stderr, "kvm-launch: %s: %s\n", argv[i + 1], err);
				return 1;
			}
			return 0;
		} else if (!strcmp(argv[i], "--check")) {
			check = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "kvm-launch: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		} else if (!file) {
			file = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!file) {
		usage(stderr);
		return 2;
	}
	if (config_load(file, &cfg))
		return 2;
	if (check) {
		config_free(&cfg);
		return 0;
	}
	/* the display frontend outlives resets: viewers stay connected */
	if (ui_open(&ui, &cfg)) {
		config_free(&cfg);
		return 1;
	}
	/* A reset re-creates the whole machine from the same validated file. */
	for (;;) {
		struct vm *vm = vm_create(&cfg);
		enum vm_end end;

		if (!vm) {
			status = 1;
			break;
		}
		ui_attach(&ui, vm);
		vm_run(vm);
		vm_screendump(vm, false);
		ui_detach(&ui);
		end = vm->end;
		status = vm->exit_status;
		vm_destroy(vm);
		if (end != VM_END_RESET || cfg.on_reset != ON_RESET_RESTART)
			break;
	}
	ui_close(&ui);
	config_free(&cfg);
	return status;
}
