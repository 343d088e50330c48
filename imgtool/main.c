/* imgtool/main.c: the imgtool command line. */
#include <stdio.h>
#include <string.h>

#include "img.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: imgtool COMMAND [OPTIONS] ARGS...\n"
		"       imgtool --help | --version\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("imgtool %s\n", PROJECT_VERSION);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 1;
}
