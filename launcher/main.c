/* launcher/main.c: kvm-launch entry: parse the VM file, build the VM, run it. */
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvm-launch [--check] VMFILE\n"
		"       kvm-launch --help | --version\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("kvm-launch %s\n", PROJECT_VERSION);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
