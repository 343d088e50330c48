/* imgtool/main.c: the imgtool command line: verb dispatch and helpers shared by the verbs. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} verbs[] = {
	{ "create", cmd_create, "create [-q] [-f FMT] [-b BACKING [-F FMT]] [-o OPTS] [--force] FILE [SIZE]" },
	{ "info", cmd_info, "info [-f FMT] [--output=human|json] FILE" },
	{ "convert", cmd_convert, "convert [-q] [-p] [-c] [-f FMT] [-O FMT] [-B BACKING [-F FMT]] [-o OPTS] [-j THREADS] SRC DST" },
	{ "check", cmd_check, "check [-q] [-f FMT] [-r leaks|all] [--output=human|json] FILE" },
	{ "compare", cmd_compare, "compare [-q] [-s] [-f FMT] [-F FMT] A B" },
	{ "resize", cmd_resize, "resize [-q] [-f FMT] [--shrink] FILE [+|-]SIZE" },
	{ "map", cmd_map, "map [-f FMT] [--output=human|json] FILE" },
	{ "import", cmd_import, "import [-q] [-p] [-c] [-O FMT] [-o OPTS] [-j THREADS] ARCHIVE DST" },
	{ "rebase", cmd_rebase, "rebase [-q] [-p] [-f FMT] [-u] -b BACKING [-F BACKING_FMT] FILE" },
	{ "commit", cmd_commit, "commit [-q] [-p] [-f FMT] [-d] [-b BASE] FILE" },
	{ "amend", cmd_amend, "amend [-q] [-p] [-f FMT] -o OPTS FILE" },
	{ "snapshot", cmd_snapshot, "snapshot [-q] [-f FMT] [-l | -a SNAPSHOT | -c SNAPSHOT | -d SNAPSHOT] FILE" },
	{ "measure", cmd_measure, "measure [--output=human|json] [-O FMT] [-o OPTS] [--size N | [-f FMT] FILE]" },
	{ "dd", cmd_dd, "dd [-f FMT] [-O FMT] [bs=N] [count=N] [skip=N] if=INPUT of=OUTPUT" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: imgtool COMMAND [OPTIONS] ARGS...\n       imgtool --help | --version\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  imgtool %s\n", verbs[i].usage);
	fprintf(f, "\nFormats: raw, qcow2. Sizes take K, M, G, T suffixes (powers of 1024).\n");
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("imgtool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_parse_format(const char *s, enum img_format *fmt)
{
	if (img_parse_format(s, fmt) < 0) {
		cli_error("Unknown file format '%s'", s);
		return -1;
	}
	return 0;
}

void cli_size_str(uint64_t v, char *buf, size_t len)
{
	static const char *sfx[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int i = v ? (int)(floor(log2((double)v)) / 10) : 0;

	if (i > 6)
		i = 6;
	snprintf(buf, len, "%0.3g %s", (double)v / (double)(1ull << (10 * i)), sfx[i]);
}

/*
 * One code point of (modified) UTF-8 at s, as qemu's mod_utf8_codepoint:
 * -1 for a byte that starts no valid sequence (overlong, surrogate, past
 * U+10FFFF, cut short), *end past what was consumed.
 */
static int utf8_codepoint(const unsigned char *s, const unsigned char **end)
{
	static const int min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	unsigned char c = *s;
	int n, cp;

	*end = s + 1;
	if (c < 0x80)
		return c;
	n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (!n)
		return -1;
	cp = c & (0x7f >> n);
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return *end = s + i, -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	*end = s + n;
	if (n == 2 && cp == 0)
		return 0;	/* modified UTF-8's NUL */
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	return cp;
}

/* qemu's path_combine: a backing file name relative to the directory of the image, as its path was given. */
void cli_backing_path(const char *path, const char *backing, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (backing[0] == '/' || !slash)
		snprintf(buf, len, "%s", backing);
	else
		snprintf(buf, len, "%.*s%s", (int)(slash - path + 1), path, backing);
}

/* A JSON string, escaped byte for byte as qemu's JSON writer does. */
void cli_json_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str, *end;

	fputc('"', f);
	for (; *s; s = end) {
		int cp = utf8_codepoint(s, &end);

		switch (cp) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (cp < 0)
				cp = 0xfffd;
			if (cp > 0xffff)
				fprintf(f, "\\u%04X\\u%04X", 0xd800 + ((cp - 0x10000) >> 10),
					0xdc00 + ((cp - 0x10000) & 0x3ff));
			else if (cp < 0x20 || cp >= 0x7f)
				fprintf(f, "\\u%04X", cp);
			else
				fputc(cp, f);
		}
	}
	fputc('"', f);
}

int cli_nproc(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* Two workers per CPU: a worker blocked on a read leaves its CPU to another. */
int cli_default_threads(void)
{
	int n = 2 * cli_nproc();

	return n > 32 ? 32 : n;
}

int cli_is_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* First 16 bytes by hand, then the buffer against itself shifted. */
	for (size_t i = 0; i < len && i < 16; i++)
		if (p[i])
			return 0;
	return len <= 16 || !memcmp(p, p + 16, len - 16);
}

void cli_progress(double pct, int enabled)
{
	if (!enabled)
		return;
	printf("    (%.2f/100%%)\r", pct);
	fflush(stdout);
}

struct img *cli_create_temp(const char *dst, const struct img_create_opts *o, char **tmp_path)
{
	struct img_create_opts opts = *o;
	char err[512];
	struct stat st;
	struct img *img;
	int fd;

	/*
	 * The image is written next to dst and renamed over it: never over a
	 * device, a FIFO or a socket (a rename would replace /dev/null).
	 */
	if (!stat(dst, &st) && !S_ISREG(st.st_mode)) {
		*tmp_path = NULL;
		cli_error("'%s' is not a regular file: imgtool writes images to regular files only", dst);
		return NULL;
	}
	if (asprintf(tmp_path, "%s.imgtool-XXXXXX", dst) < 0) {
		*tmp_path = NULL;
		cli_error("out of memory");
		return NULL;
	}
	fd = mkstemp(*tmp_path);
	if (fd < 0) {
		cli_error("could not create a temporary file next to '%s': %s", dst, strerror(errno));
		free(*tmp_path);
		*tmp_path = NULL;
		return NULL;
	}
	close(fd);
	opts.force = true;
	if (img_create(*tmp_path, &opts, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		unlink(*tmp_path);
		free(*tmp_path);
		*tmp_path = NULL;
		return NULL;
	}
	img = img_open(*tmp_path, opts.format, 0, err, sizeof(err));
	if (!img) {
		cli_error("%s", err);
		unlink(*tmp_path);
		free(*tmp_path);
		*tmp_path = NULL;
	}
	return img;
}

int cli_commit_temp(struct img *out, char *tmp_path, const char *dst)
{
	int ret = img_flush(out);

	img_close(out);
	if (ret < 0) {
		cli_error("error while flushing '%s': %s", dst, strerror(-ret));
	} else if (chmod(tmp_path, 0644) < 0 || rename(tmp_path, dst) < 0) {
		cli_error("could not rename to '%s': %s", dst, strerror(errno));
		ret = -1;
	}
	if (ret < 0)
		unlink(tmp_path);
	free(tmp_path);
	return ret < 0 ? -1 : 0;
}

size_t cli_chunk_size(struct img *out)
{
	size_t cs = img_get_cluster_size(out);

	return cs > (1u << 20) ? cs : 1u << 20;
}

void cli_abort_temp(struct img *out, char *tmp_path)
{
	img_close(out);
	if (tmp_path)
		unlink(tmp_path);
	free(tmp_path);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("imgtool %s\n", PROJECT_VERSION);
		return 0;
	}
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	cli_error("Command not found: %s", argv[1]);
	usage(stderr);
	return 1;
}
