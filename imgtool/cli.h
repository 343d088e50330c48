/* imgtool/cli.h: shared helpers and verb entry points of the imgtool command. */
#ifndef IMGTOOL_CLI_H
#define IMGTOOL_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "img.h"

/* Each verb gets argv starting at its name; returns the process exit code. */
int cmd_create(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_resize(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_rebase(int argc, char **argv);
int cmd_commit(int argc, char **argv);
int cmd_amend(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_dd(int argc, char **argv);

void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_parse_format(const char *s, enum img_format *fmt);
int cli_parse_compression(const char *s, enum img_compression *c);
const char *cli_compression_name(enum img_compression c);
/* "1 GiB" style, as qemu-img prints sizes. */
void cli_size_str(uint64_t v, char *buf, size_t len);
void cli_json_string(FILE *f, const char *s);
void cli_backing_path(const char *path, const char *backing, char *buf, size_t len);
int cli_nproc(void);
int cli_default_threads(void);
/* Is the buffer all zero bytes? */
int cli_is_zero(const void *buf, size_t len);
void cli_progress(double pct, int enabled);
/* Report a failure on path: the reason, naming the file unless it does. */
void cli_error_in(const char *path, const char *reason);
/* The "Snapshot list:" table of qemu-img snapshot -l and qemu-img info; nothing if n is 0. */
void cli_print_snapshots(const struct img_snapshot *list, int n);

/* Shared by convert and import: ordered parallel writer. */
struct conv_out;
struct img *cli_create_temp(const char *dst, const struct img_create_opts *o,
			    char **tmp_path);
int cli_commit_temp(struct img *out, char *tmp_path, const char *dst);
void cli_abort_temp(struct img *out, char *tmp_path);
int cli_out_opts(char *s, struct img_create_opts *o);
/* Pipeline chunk: 1 MiB (or a 2 MiB cluster); compressed or not, a worker takes that many clusters at a time. */
size_t cli_chunk_size(struct img *out);

#endif
